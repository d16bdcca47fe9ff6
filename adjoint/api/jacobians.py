"""The transforms of SPEC.md: argument checks, pytrees and the chunk loop.

``jacrev`` runs the generated forward function once, then the generated
backward function over chunks of rows of the output's identity basis (each
chunk built directly, never the full identity). ``vjp`` and ``grad`` drive
the same compiled code. Errors about the user's code are re-raised here with
the library's internal frames dropped, so the traceback ends at the user's
call.
"""
import copy
import functools
import inspect
import linecache
import types
from typing import Any, Optional, cast

import numpy as np

from ..backend import cache
from . import derivatives
from .. import errors, made, rules, runtime
from ..frontend.ir import arity_of, specialized_parameters
from . import pytree
from ..backend.compile import user_line_of_traceback
from .hints import ArgNums, F, Function, Maker, Mode


from ..constants import no_grad, stop_gradient  # noqa: E402 (re-exported)

rules.nondifferentiable(stop_gradient)


def defvjp(fn: F, *vjp_makers: Maker, batched: bool = False) -> F:
    """Register the derivative of ``fn`` (a primitive for adjoint from now on).

    One maker per positional argument of ``fn`` (None for an argument that
    gets no derivative). Each maker is called as ``maker(ans, *args,
    **kwargs)`` and returns ``g -> contribution``. With ``batched=False`` ``g``
    is one cotangent shaped like ``ans``; with ``batched=True`` it has a
    leading batch axis and so must the contribution.
    """
    if not callable(fn):
        raise TypeError(f"defvjp needs a function, got {type(fn).__name__}.")
    for position, maker in enumerate(vjp_makers):
        if maker is not None and not callable(maker):
            raise TypeError(f"defvjp: maker {position} of {getattr(fn, '__name__', fn)} is not callable.")
    rules.CUSTOM_VJPS[fn] = rules.CustomVJP(fn, vjp_makers, bool(batched))
    cache.clear()
    return fn


def defjvp(fn: F, *jvp_makers: Maker) -> F:
    """Register the forward-mode derivative of ``fn``: one maker per
    positional argument (None for an argument without derivative), called
    as ``maker(ans, *args, **kwargs)``, returning ``t -> contribution`` for
    one tangent shaped like that argument (adjoint calls it per tangent row)."""
    if not callable(fn):
        raise TypeError(f"defjvp needs a function, got {type(fn).__name__}.")
    for position, maker in enumerate(jvp_makers):
        if maker is not None and not callable(maker):
            raise TypeError(f"defjvp: maker {position} of {getattr(fn, '__name__', fn)} is not callable.")
    rules.CUSTOM_JVPS[fn] = rules.CustomJVP(fn, jvp_makers)
    cache.clear()
    return fn


# ------------------------------------------------------------------ checks

def _check_chunk_size(chunk_size):
    if chunk_size is None:
        return
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
        raise errors.chunk_size_error(chunk_size)


_checked_argnums = {}


def _check_argnums(argnums, nargs):
    """Positions as a tuple, wrapped Python-style, validated per SPEC.md."""
    key = (argnums, nargs)
    cached = _checked_argnums.get(key) if type(argnums) is int else None
    if cached is not None:
        return cached
    positions = _validate_argnums(argnums, nargs)
    if type(argnums) is int:  # 0.0 == 0 and True == 1: only cache real ints
        _checked_argnums[key] = positions
    return positions


def _validate_argnums(argnums, nargs):
    if isinstance(argnums, bool) or not isinstance(argnums, (int, tuple)):
        raise errors.argnums_type_error(argnums)
    as_tuple = argnums if isinstance(argnums, tuple) else (argnums,)
    if not as_tuple:
        raise errors.argnums_empty_error()
    positions = []
    for argnum in as_tuple:
        if isinstance(argnum, bool) or not isinstance(argnum, int):
            raise errors.argnum_element_error(argnum)
        if not -nargs <= argnum < nargs:
            raise errors.argnum_range_error(argnum, nargs)
        positions.append(argnum % nargs)
    if len(set(positions)) != len(positions):
        raise errors.argnums_unique_error(argnums)
    return tuple(positions)


def _as_input_leaf(leaf, argnum, path):
    if isinstance(leaf, float) and not isinstance(leaf, np.floating):
        return np.float64(leaf)
    dtype = getattr(leaf, "dtype", None)
    if dtype is None or not isinstance(leaf, (np.ndarray, np.generic)):
        raise errors.not_float_input_error(argnum, path, type(leaf).__name__)
    if np.issubdtype(dtype, np.complexfloating):
        raise errors.complex_error(f"argument {argnum}", path)
    if not np.issubdtype(dtype, np.floating):
        raise errors.not_float_input_error(argnum, path, dtype)
    return leaf


class _Inputs:
    """The selected arguments, flattened, checked, floats made 0-d arrays."""

    def __init__(self, args, positions):
        self.args = list(args)
        self.positions = positions
        self.treedefs = []
        self.leaves = []
        for position in positions:
            arg = self.args[position]
            if type(arg) is np.ndarray and arg.dtype.kind == "f":  # the common case, fast
                self.treedefs.append(pytree.LEAF)
                self.leaves.append([arg])
                continue
            leaves, treedef = pytree.flatten(arg)
            paths = pytree.leaf_paths(treedef)
            leaves = [_as_input_leaf(leaf, position, path) for leaf, path in zip(leaves, paths, strict=True)]
            self.args[position] = pytree.unflatten(treedef, leaves)
            self.treedefs.append(treedef)
            self.leaves.append(leaves)


def _output_leaves(output):
    if (type(output) is np.ndarray or type(output) is np.float64) and output.dtype.kind == "f":
        return [np.asarray(output)], pytree.LEAF
    if output is None:
        raise errors.empty_output_error()
    leaves, treedef = pytree.flatten(output)
    if not leaves:
        raise errors.empty_output_error()
    paths = pytree.leaf_paths(treedef)
    arrays = []
    for leaf, path in zip(leaves, paths, strict=True):
        if isinstance(leaf, (bool, np.bool_)) or leaf is None or isinstance(leaf, (str, bytes)):
            raise errors.not_array_output_error(path, leaf)
        if isinstance(leaf, (int, np.integer)):
            raise errors.integer_output_error(path, type(leaf).__name__)
        if not isinstance(leaf, (float, complex, np.ndarray, np.generic)):
            raise errors.not_array_output_error(path, leaf)
        array = np.asarray(leaf)
        if np.issubdtype(array.dtype, np.complexfloating):
            raise errors.complex_error("output", path)
        if not np.issubdtype(array.dtype, np.floating):
            raise errors.integer_output_error(path, array.dtype)
        arrays.append(array)
    return arrays, treedef


def _leaf_adjoints(adjoint, treedef):
    """Flatten a parameter's adjoint along its primal structure; None holes
    stay None (zero)."""
    if treedef.kind == "leaf":
        return [adjoint]
    if adjoint is None:
        return [None] * treedef.num_leaves
    if treedef.kind == "dict":
        items = [adjoint[k] for k in treedef.meta]
    elif isinstance(adjoint, np.ndarray):
        # A list or tuple that NumPy read as one array (np.sin(p)): one
        # adjoint, whose items follow the batch axis.
        items = [adjoint[:, i] for i in range(len(treedef.children))]
    else:
        items = list(adjoint)
    out = []
    for item, child in zip(items, treedef.children, strict=True):
        out.extend(_leaf_adjoints(item, child))
    return out


def _user_errors(fn: F) -> F:
    """Re-raise adjoint's errors about user code without library frames
    (the signature of ``fn`` is kept: ``source``'s is public)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (errors.TransformError, errors.SourceUnavailableError) as exc:
            raise exc.with_traceback(None) from None
        except runtime.MissingRule as exc:  # a branch without a derivative rule ran
            raise errors.no_rule_that_ran(str(exc)) from None
        except runtime.InPlaceRefused as exc:  # an update in place that NumPy would show elsewhere
            raise errors.refused_that_ran(str(exc)) from None
        except Exception as exc:  # raised in the generated code: name the user's line
            errors.add_user_line_note(exc, user_line_of_traceback(exc.__traceback__))
            raise

    return cast(F, wrapper)


# ------------------------------------------------------------------ primitives

_wrappers = {}


def _differentiable(func, nargs, keywords=()):
    """``func`` itself, or for a function without source that has a rule
    (``np.sin``) a one-line Python wrapper that calls it, with ``nargs``
    positional arguments and the ``keywords`` the caller passes."""
    constant = rules.is_nondifferentiable(func)  # stop_gradient, np.floor: no derivative
    if hasattr(func, "__code__") and not _has_custom_rule(func) and not constant:
        return func
    if rules.lookup(func) is None and not constant:
        raise errors.SourceUnavailableError(
            f"{func!r} has no Python source and no derivative rule. Register one with "
            "adjoint.defvjp, or differentiate a Python function that calls it."
        )
    key = (func, nargs, keywords)
    if key not in _wrappers:
        name = getattr(func, "__name__", "primitive")
        positional = [f"x{i}" for i in range(nargs)]
        if any(not k.isidentifier() or k in positional or k == "primitive" for k in keywords):
            raise TypeError(f"cannot pass the keyword arguments {', '.join(keywords)} to {name}.")
        params = ", ".join(positional + (["*"] + list(keywords) if keywords else []))
        arguments = ", ".join(positional + [f"{k}={k}" for k in keywords])
        filename = f"<adjoint wrapper of {name}({params})>"  # one text per wrapper, for linecache
        text = f"def {name}({params}):\n    return primitive({arguments})\n"
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        namespace = {"primitive": func}
        exec(compile(text, filename, "exec"), namespace)
        _wrappers[key] = namespace[name]
    return _wrappers[key]


def _has_custom_rule(func):
    try:
        return func in rules.CUSTOM_VJPS or func in rules.CUSTOM_JVPS
    except TypeError:
        return False


def _callable_parts(func):
    """``(function, leading, keywords)``: the Python function that calling
    ``func`` runs, with the arguments that go in front of the caller's (a
    bound method's object, a functools.partial's arguments, a callable
    object itself) and the keywords a partial fixes."""
    leading, keywords = (), {}
    while True:
        if isinstance(func, functools.partial):
            leading = tuple(func.args) + leading
            keywords = {**func.keywords, **keywords}
            func = func.func
        elif isinstance(func, types.MethodType) and isinstance(func.__func__, types.FunctionType):
            leading = (func.__self__,) + leading
            func = func.__func__
        elif not isinstance(func, (types.FunctionType, type)) and isinstance(
                getattr(type(func), "__call__", None), types.FunctionType):
            leading = (func,) + leading  # an object whose class defines __call__ in Python
            func = type(func).__call__
        else:
            return func, leading, keywords


class _FixedArguments:
    """The compiled VJP (or JVP) of a function called with arguments fixed in
    front and keywords fixed: the forward pass takes the remaining arguments.
    The backward pass returns ``skipped`` zero (None) adjoints first, for
    arguments the caller counts but the function does not take."""

    def __init__(self, compiled, leading, keywords, skipped=0):
        self.compiled = compiled
        self.independent = getattr(compiled, "independent", None)
        self.augmented_params = getattr(compiled, "augmented_params", {})
        if getattr(compiled, "jvp", None) is not None:
            jvp = compiled.jvp
            self.jvp = lambda tangents, *args, **kwargs: jvp(
                tuple(tangents)[:1] + tuple(tangents)[1 + skipped:], *leading, *args, **{**keywords, **kwargs})
            self.forward = self.backward = None
            return
        self.forward = functools.partial(compiled.forward, *leading, **keywords)
        self.backward = compiled.backward
        if skipped:
            self.backward = lambda residuals, g: (None,) * skipped + tuple(compiled.backward(residuals, g))

    def is_current(self):
        return self.compiled.is_current()


def compiled_call(func, nargs, positions, has_aux=False, for_caller=False, skipped=0, keywords=(), mode="vjp"):
    """The compiled VJP (``mode="jvp"``: JVP) of calling ``func`` with
    ``nargs`` positional arguments and ``keywords``, differentiated at
    ``positions`` (counted among the positional ones)."""
    if mode == "jvp":
        def get(function, wrt, arity=None):
            return cache.get_jvp(function, wrt, has_aux, arity=arity)
    else:
        def get(function, wrt, arity=None):
            return cache.get_vjp(function, wrt, has_aux, for_caller, arity=arity)
    if made.of(func) is not None:  # a derivative differentiated again: its code
        func = derivatives.derivative_function(func, nargs)
    function, leading, fixed = _callable_parts(func)
    if function is not func and isinstance(function, types.FunctionType) and not _has_custom_rule(function):
        shifted = tuple(p + len(leading) for p in positions)
        arity = arity_of(function, nargs + len(leading), tuple({**fixed, **dict.fromkeys(keywords)}))
        return _FixedArguments(get(function, shifted, arity), leading, fixed, skipped)
    if function is not func and rules.lookup(function) is not None:
        # A partial (or method) of a NumPy function: its wrapper takes every argument.
        names = tuple(dict.fromkeys(tuple(fixed) + tuple(keywords)))
        wrapper = _differentiable(function, nargs + len(leading), names)
        shifted = tuple(p + len(leading) for p in positions)
        return _FixedArguments(get(wrapper, shifted), leading, fixed, skipped)
    func = _differentiable(func, nargs, keywords)
    compiled = get(func, positions, arity_of(func, nargs, keywords))
    return _FixedArguments(compiled, (), {}, skipped) if skipped else compiled


def transform_call(func, args, kwargs, differentiated, mode="vjp"):
    """For ``func(*args, **kwargs)`` in generated code, where the callee or the
    number of arguments is known only when it runs: ``(compiled, call_args,
    call_kwargs, order)``, the transform (reverse mode for another transformed
    function's caller, or forward mode) of the Python function that the call
    runs, the arguments to call it with (a bound method's object and a
    partial's arguments in front), and ``order``: the entries of
    ``differentiated`` (positional indices into ``args``, or keyword names)
    in the order of the transform's differentiated parameters."""
    if made.of(func) is not None:  # a derivative differentiated again: its code
        func = derivatives.derivative_function(func, len(args))
    function, leading, fixed = _callable_parts(func)
    call_args, call_kwargs = list(leading) + list(args), {**fixed, **kwargs}
    if isinstance(function, types.FunctionType) and not _has_custom_rule(function) and not rules.is_nondifferentiable(
            function):
        target = function
    elif function is not func and rules.lookup(function) is not None:
        target = _differentiable(function, len(call_args), tuple(call_kwargs))
    else:
        call_args, call_kwargs = list(args), dict(kwargs)
        leading = ()
        target = _differentiable(func, len(call_args), tuple(call_kwargs))
    _check_call(target, call_args, call_kwargs)
    names = specialized_parameters(target, len(call_args), tuple(call_kwargs))
    code = target.__code__
    double = None
    if code.co_flags & inspect.CO_VARKEYWORDS:
        double = code.co_varnames[code.co_argcount + code.co_kwonlyargcount
                                  + (1 if code.co_flags & inspect.CO_VARARGS else 0)]
    positions = []
    for ref in differentiated:
        if isinstance(ref, int):
            positions.append(ref + len(leading))
        else:
            positions.append(names.index(ref) if ref in names else names.index(f"{double}[{ref!r}]"))
    order = sorted(range(len(positions)), key=lambda k: positions[k])
    wrt = tuple(positions[k] for k in order)
    arity = arity_of(target, len(call_args), tuple(call_kwargs))
    if mode == "jvp":
        compiled = cache.get_jvp(target, wrt, False, arity=arity)
    else:
        compiled = cache.get_vjp(target, wrt, False, for_caller=True, arity=arity)
    return compiled, call_args, call_kwargs, order


def _check_call(func, args, keywords):
    """A call that does not fit ``func``'s parameters fails here, naming
    ``func``, not in the generated forward function (checked once per
    number of arguments and keywords)."""
    try:
        inspect.signature(func, follow_wrapped=False).bind(*args, **dict.fromkeys(keywords))
    except TypeError as error:
        raise TypeError(f"{getattr(func, '__name__', func)}(): {error}") from None
    except ValueError:
        pass  # no signature to check against (some built-ins)


class _Finder:
    """Finds the compiled VJP that a wrapper made by jacrev/grad/vjp runs.
    For a plain Python function the last one found per argument count and
    positions is remembered, and only checked (``is_current``) on each call."""

    def __init__(self, func, mode="vjp"):
        self.func = func
        self.mode = mode
        self.plain = type(func) is types.FunctionType
        self.found = {}

    def __call__(self, args, positions, has_aux, keywords=()):
        if not self.plain:
            return compiled_call(self.func, len(args), positions, has_aux, keywords=keywords, mode=self.mode)
        key = (len(args), positions, has_aux, keywords)
        found = self.found.get(key)
        if found is not None and found[0] == cache.generation and found[1].is_current():
            return found[1]
        _check_call(self.func, args, keywords)
        compiled = compiled_call(self.func, len(args), positions, has_aux, keywords=keywords, mode=self.mode)
        self.found[key] = (cache.generation, compiled)
        return compiled


# ------------------------------------------------------------------ jacrev

def jacrev(func: Function, argnums: ArgNums = 0, *, has_aux: bool = False,
           chunk_size: Optional[int] = None) -> Function:
    """The Jacobian of ``func`` with respect to the arguments at ``argnums``,
    by reverse mode: one forward pass, then the generated backward pass over
    chunks of ``chunk_size`` rows of the output's identity basis."""
    _check_chunk_size(chunk_size)

    find = _Finder(func)

    @functools.wraps(func)
    def jacobian_fn(*args, **kwargs):
        return _jacrev_call(find, argnums, has_aux, chunk_size, args, kwargs)

    made.register(jacobian_fn, func, "jacrev", argnums, has_aux)
    return jacobian_fn


@_user_errors
def _jacrev_call(find, argnums, has_aux, chunk_size, args, kwargs):
    positions = _check_argnums(argnums, len(args))
    inputs = _Inputs(args, positions)
    compiled = find(inputs.args, positions, has_aux, tuple(kwargs))
    result, residuals = compiled.forward(*inputs.args, **kwargs)
    if type(argnums) is int and not has_aux and chunk_size is None and inputs.treedefs[0] is pytree.LEAF:
        jacobian = _array_jacobian(compiled, residuals, result, inputs.leaves[0][0])
        if jacobian is not None:
            return jacobian
    output, aux = result if has_aux else (result, None)
    out_leaves, out_treedef = _output_leaves(output)
    jacobian = _pull_back_basis(compiled, residuals, out_leaves, out_treedef, inputs, chunk_size)
    _zero_independent_blocks(jacobian, getattr(compiled, "independent", None), output)
    blocks = _assemble(jacobian, out_leaves, out_treedef, inputs, isinstance(argnums, int))
    return (blocks, aux) if has_aux else blocks


def _array_jacobian(compiled, residuals, output, x):
    """The common case, array in and array out, all rows at once, without
    the pytree bookkeeping; None if the output is not a float array."""
    if not ((type(output) is np.ndarray or type(output) is np.float64) and output.dtype.kind == "f"):
        return None
    size = output.size
    basis = np.eye(size, dtype=output.dtype).reshape((size,) + output.shape)
    bar, = compiled.backward(residuals, basis)
    shape = output.shape + np.shape(x)
    dtype = np.result_type(x)
    if bar is None:
        return np.zeros(shape, dtype=dtype)
    return _result(bar, shape, dtype)


def _result(bar, shape, dtype):
    """An adjoint the backward pass returned, as an array of ``shape`` and
    ``dtype`` that the caller owns: a cotangent broadcast back by a
    reduction is a read-only view, copied here."""
    result = np.reshape(_real(bar), shape).astype(dtype, copy=False)
    return result if result.flags.writeable else result.copy()


def _real(bar):
    """``bar``, refused if a complex value reached it (casting would drop
    the imaginary part silently)."""
    if np.iscomplexobj(bar):
        raise errors.complex_derivative_error()
    return bar


def _basis_chunk(out_leaves, out_treedef, start, stop):
    """Rows ``start:stop`` of the identity over all output elements, one
    array per output leaf, shaped ``(rows,) + leaf.shape``."""
    rows = stop - start
    if len(out_leaves) == 1 and rows == out_leaves[0].size:
        leaf = out_leaves[0]
        return pytree.unflatten(out_treedef, [np.eye(rows, dtype=leaf.dtype).reshape((rows,) + leaf.shape)])
    seeds = []
    offset = 0
    for leaf in out_leaves:
        size = leaf.size
        seed = np.zeros((rows, size), dtype=leaf.dtype)
        first, last = max(start, offset), min(stop, offset + size)
        if first < last:
            picked = np.arange(first, last)
            seed[picked - start, picked - offset] = 1
        seeds.append(seed.reshape((rows,) + leaf.shape))
        offset += size
    return pytree.unflatten(out_treedef, seeds)


def _pull_back_basis(compiled, residuals, out_leaves, out_treedef, inputs, chunk_size):
    """For every input leaf, the Jacobian as an ``(N, leaf.size)`` matrix."""
    total = sum(leaf.size for leaf in out_leaves)
    chunk = total if chunk_size is None else max(1, min(chunk_size, total))
    if total == 0:  # an empty output: an empty Jacobian, no pass needed
        return [[np.zeros((0, np.size(leaf)), dtype=np.result_type(leaf)) for leaf in leaves]
                for leaves in inputs.leaves]
    if chunk == total:  # one batched call: its adjoints are the matrices
        adjoints = compiled.backward(residuals, _basis_chunk(out_leaves, out_treedef, 0, total))
        return [
            [
                np.zeros((total, np.size(leaf)), dtype=np.result_type(leaf)) if bar is None
                else _result(bar, (total, -1), np.result_type(leaf))
                for bar, leaf in zip(_leaf_adjoints(param_bar, treedef), leaves, strict=True)
            ]
            for param_bar, treedef, leaves in zip(adjoints, inputs.treedefs, inputs.leaves, strict=True)
        ]
    matrices = [
        [np.zeros((total, leaf.size), dtype=np.result_type(leaf)) for leaf in leaves]
        for leaves in inputs.leaves
    ]
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        seed = _basis_chunk(out_leaves, out_treedef, start, stop)
        adjoints = compiled.backward(residuals, seed)
        for param_bar, treedef, param_matrices in zip(adjoints, inputs.treedefs, matrices, strict=True):
            for bar, matrix in zip(_leaf_adjoints(param_bar, treedef), param_matrices, strict=True):
                if bar is not None:
                    matrix[start:stop] = np.reshape(_real(bar), (stop - start, -1))
    return matrices


def _zero_independent_blocks(matrices, independent, output):
    """Exact zeros for the blocks of returned items that cannot depend on an
    argument (the batched backward pass multiplies their zero rows by the
    other items' partial derivatives, which may be infinite or NaN)."""
    if independent is None:
        return
    count, pairs = independent
    if not pairs or not isinstance(output, (tuple, list, dict)) or len(output) != count:
        return
    items = list(output.values()) if isinstance(output, dict) else list(output)
    offsets = [0]
    for item in items:
        offsets.append(offsets[-1] + sum(np.size(leaf) for leaf in pytree.flatten(item)[0]))
    for item, argument in pairs:
        if argument < len(matrices):
            for matrix in matrices[argument]:
                matrix[offsets[item]:offsets[item + 1]] = 0


def _assemble(matrices, out_leaves, out_treedef, inputs, single):
    blocks_per_output = []
    offset = 0
    for leaf in out_leaves:
        rows = slice(offset, offset + leaf.size)
        per_arg = []
        for treedef, leaves, param_matrices in zip(inputs.treedefs, inputs.leaves, matrices, strict=True):
            in_blocks = [
                matrix[rows].reshape(leaf.shape + np.shape(in_leaf))
                for matrix, in_leaf in zip(param_matrices, leaves, strict=True)
            ]
            per_arg.append(pytree.unflatten(treedef, in_blocks))
        blocks_per_output.append(per_arg[0] if single else tuple(per_arg))
        offset += leaf.size
    return pytree.unflatten(out_treedef, blocks_per_output)


# ------------------------------------------------------------------ forward mode

def jacfwd(func: Function, argnums: ArgNums = 0, *, has_aux: bool = False,
           chunk_size: Optional[int] = None) -> Function:
    """The Jacobian of ``func`` with respect to the arguments at ``argnums``,
    by forward mode: the generated tangent code runs over chunks of
    ``chunk_size`` columns of the inputs' identity basis (all at once by
    default). Same arguments, checks and result structure as ``jacrev``;
    prefer it when the inputs are fewer than the outputs."""
    _check_chunk_size(chunk_size)
    find = _Finder(func, mode="jvp")

    @functools.wraps(func)
    def jacobian_fn(*args, **kwargs):
        return _jacfwd_call(find, argnums, has_aux, chunk_size, args, kwargs)

    made.register(jacobian_fn, func, "jacfwd", argnums, has_aux)
    return jacobian_fn


def _input_basis(inputs, start, stop):
    """Columns ``start:stop`` of the identity over every selected input
    element: one tangent per argument, shaped like it with a leading axis."""
    rows = stop - start
    tangents = []
    offset = 0
    for treedef, leaves in zip(inputs.treedefs, inputs.leaves, strict=True):
        leaf_tangents = []
        for leaf in leaves:
            size = np.size(leaf)
            seed = np.zeros((rows, size), dtype=np.result_type(leaf))
            first, last = max(start, offset), min(stop, offset + size)
            if first < last:
                picked = np.arange(first, last)
                seed[picked - start, picked - offset] = 1
            leaf_tangents.append(seed.reshape((rows,) + np.shape(leaf)))
            offset += size
        tangents.append(pytree.unflatten(treedef, leaf_tangents))
    return tuple(tangents)


@_user_errors
def _jacfwd_call(find, argnums, has_aux, chunk_size, args, kwargs):
    positions = _check_argnums(argnums, len(args))
    inputs = _Inputs(args, positions)
    compiled = find(inputs.args, positions, has_aux, tuple(kwargs))
    in_sizes = [np.size(leaf) for leaves in inputs.leaves for leaf in leaves]
    total = sum(in_sizes)
    chunk = total if chunk_size is None else max(1, min(chunk_size, total))
    columns = []  # per output leaf: list of (rows, out.size) blocks
    output = aux = None
    out_leaves = out_treedef = None
    # A function that changes its arguments in place changes the caller's
    # arrays once, as the plain call does: every chunk but the last runs on copies.
    changes_arguments = bool(getattr(compiled, "augmented_params", None))
    for start in range(0, max(total, 1), max(chunk, 1)):
        stop = min(start + chunk, total)
        args, keywords = ((inputs.args, kwargs) if not changes_arguments or stop >= total
                          else copy.deepcopy((inputs.args, kwargs)))
        result, out_dot = compiled.jvp((stop - start,) + _input_basis(inputs, start, stop), *args, **keywords)
        if out_leaves is None:
            output, aux = result if has_aux else (result, None)
            out_leaves, out_treedef = _output_leaves(output)
        dots = _leaf_adjoints(out_dot, out_treedef)
        columns.append([np.zeros((stop - start, leaf.size), dtype=leaf.dtype) if dot is None
                        else np.reshape(_real(dot), (stop - start, leaf.size))
                        for dot, leaf in zip(dots, out_leaves, strict=True)])
    # (out.size, in_total) per output leaf, split into one matrix per input leaf
    matrices = []
    per_out = [np.concatenate([c[i] for c in columns], axis=0).T for i in range(len(out_leaves))]
    offset = 0
    for leaves in inputs.leaves:
        per_arg = []
        for leaf in leaves:
            size = np.size(leaf)
            per_arg.append(np.concatenate([m[:, offset:offset + size] for m in per_out], axis=0)
                           .astype(np.result_type(leaf), copy=False))
            offset += size
        matrices.append(per_arg)
    _zero_independent_blocks(matrices, getattr(compiled, "independent", None), output)
    blocks = _assemble(matrices, out_leaves, out_treedef, inputs, isinstance(argnums, int))
    return (blocks, aux) if has_aux else blocks


def jvp(func: Function, primals: tuple[Any, ...], tangents: tuple[Any, ...], *,
        has_aux: bool = False) -> tuple[Any, ...]:
    """``(output, tangent_out)`` (``(output, tangent_out, aux)`` with has_aux):
    the Jacobian of ``func`` at ``primals`` applied to ``tangents``, by the
    generated forward-mode code. ``primals`` and ``tangents`` are tuples with
    one entry per argument, of the same structure and shapes."""
    return _jvp_call(_Finder(func, mode="jvp"), primals, tangents, has_aux)


@_user_errors
def _jvp_call(find, primals, tangents, has_aux):
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise TypeError("jvp: expected primals and tangents to be tuples, one entry per argument "
                        f"(got {type(primals).__name__} and {type(tangents).__name__}).")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: expected as many tangents as primals (got {len(tangents)} tangents "
                         f"for {len(primals)} primals).")
    positions = tuple(range(len(primals)))
    inputs = _Inputs(primals, positions)
    batched = []
    for position, (tangent, treedef, leaves) in enumerate(zip(tangents, inputs.treedefs, inputs.leaves,
                                                              strict=True)):
        t_leaves, t_treedef = pytree.flatten(tangent)
        shapes = [np.shape(t) for t in t_leaves]
        expected = [np.shape(leaf) for leaf in leaves]
        if t_treedef != treedef or shapes != expected:
            raise errors.cotangent_mismatch_error(
                f"{treedef!r} with shapes {expected}", f"{t_treedef!r} with shapes {shapes}",
                what=f"tangent {position}")
        batched.append(pytree.unflatten(treedef, [
            np.array(t, dtype=np.result_type(leaf))[None] for t, leaf in zip(t_leaves, leaves, strict=True)]))
    compiled = find(inputs.args, positions, has_aux)
    result, out_dot = compiled.jvp((1,) + tuple(batched), *inputs.args)
    output, aux = result if has_aux else (result, None)
    out_leaves, out_treedef = _output_leaves(output)
    tangent_out = _strip_batch(out_dot, out_treedef, out_leaves)
    return (output, tangent_out, aux) if has_aux else (output, tangent_out)


def hessian(func: Function, argnums: ArgNums = 0) -> Function:
    """The Hessian of ``func``: ``jacfwd(jacrev(func, argnums), argnums)``."""
    return jacfwd(jacrev(func, argnums), argnums)


# ------------------------------------------------------------------ vjp, grad

def vjp(func: Function, *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """``(output, vjp_fn)`` (``(output, vjp_fn, aux)`` with has_aux): the
    forward pass runs now, once; ``vjp_fn(cotangent)`` may be called any
    number of times and returns one adjoint per primal."""
    return _vjp_call(_Finder(func), primals, has_aux)


@_user_errors
def _vjp_call(find, primals, has_aux):
    positions = tuple(range(len(primals)))
    # vjp_fn may be called long after this returns: it keeps its own copies
    # of the primals, and hands out a copy of the output, so that changing
    # either in place later cannot change its results.
    given = primals
    primals = tuple(pytree.map_leaves(_copy_array, p) for p in primals)
    inputs = _Inputs(primals, positions)
    compiled = find(inputs.args, positions, has_aux)
    result, residuals = compiled.forward(*inputs.args)
    if getattr(compiled, "augmented_params", None):
        # The function changed its arguments in place (our copies): the
        # caller's arrays change as the plain call changes them.
        for caller, copied in zip(given, primals, strict=True):
            for leaf, new in zip(pytree.flatten(caller)[0], pytree.flatten(copied)[0], strict=True):
                if isinstance(leaf, np.ndarray) and leaf is not new:
                    np.copyto(leaf, new)
    output, aux = result if has_aux else (result, None)
    out_leaves, out_treedef = _output_leaves(output)
    output = pytree.map_leaves(_copy_array, output)

    @_user_errors
    def vjp_fn(cotangent):
        ct_leaves, ct_treedef = pytree.flatten(cotangent)
        shapes = [np.shape(c) for c in ct_leaves]
        expected = [leaf.shape for leaf in out_leaves]
        if ct_treedef != out_treedef or shapes != expected:
            raise errors.cotangent_mismatch_error(
                f"{out_treedef!r} with shapes {expected}", f"{ct_treedef!r} with shapes {shapes}"
            )
        for path, leaf in enumerate(ct_leaves):
            if np.iscomplexobj(leaf):
                raise errors.complex_error("cotangent leaf ", path)
            if not isinstance(leaf, (int, float, np.ndarray, np.generic)) or np.asarray(leaf).dtype.kind not in "fiub":
                raise errors.cotangent_leaf_error(path, leaf)
        seeds = [np.array(c, dtype=leaf.dtype)[None] for c, leaf in zip(ct_leaves, out_leaves, strict=True)]
        try:
            adjoints = compiled.backward(residuals, pytree.unflatten(out_treedef, seeds))
        except runtime.MissingRule as exc:
            raise errors.no_rule_that_ran(str(exc)) from None
        return tuple(
            _strip_batch(bar, treedef, leaves)
            for bar, treedef, leaves in zip(adjoints, inputs.treedefs, inputs.leaves, strict=True)
        )

    return (output, vjp_fn, aux) if has_aux else (output, vjp_fn)


def grad(func: Function, argnums: ArgNums = 0, *, has_aux: bool = False) -> Function:
    """The gradient of ``func``, whose output must be a single 0-d value."""

    find = _Finder(func)

    @functools.wraps(func)
    def grad_fn(*args, **kwargs):
        return _grad_call(find, argnums, has_aux, args, kwargs)

    made.register(grad_fn, func, "grad", argnums, has_aux)
    return grad_fn


@_user_errors
def _grad_call(find, argnums, has_aux, args, kwargs):
    positions = _check_argnums(argnums, len(args))
    x = args[positions[0]] if type(argnums) is int and not has_aux else None
    if type(x) is np.ndarray and x.dtype == np.float64:
        # The common case, one float64 array in and a float64 out, without
        # the pytree bookkeeping.
        compiled = find(args, positions, False, tuple(kwargs))
        result, residuals = compiled.forward(*args, **kwargs)
        if type(result) is np.float64:
            bar, = compiled.backward(residuals, np.ones(1))
            if type(bar) is np.ndarray and bar.dtype == np.float64 and bar.flags.writeable:
                return bar.reshape(x.shape)
            return _strip_batch(bar, pytree.LEAF, [x])
        inputs = _Inputs(args, positions)  # takes the arguments as they are
    else:
        inputs = _Inputs(args, positions)
        compiled = find(inputs.args, positions, has_aux, tuple(kwargs))
        result, residuals = compiled.forward(*inputs.args, **kwargs)
    output, aux = result if has_aux else (result, None)
    out_leaves, out_treedef = _output_leaves(output)
    if out_treedef.kind != "leaf" or out_leaves[0].ndim != 0:
        what = (f"shape {out_leaves[0].shape}" if out_treedef.kind == "leaf"
                else f"a {out_treedef!r} container")
        raise errors.non_scalar_grad_error(what)
    adjoints = compiled.backward(residuals, np.ones((1,), dtype=out_leaves[0].dtype))
    gradients = tuple(
        _strip_batch(bar, treedef, leaves)
        for bar, treedef, leaves in zip(adjoints, inputs.treedefs, inputs.leaves, strict=True)
    )
    if isinstance(argnums, int):
        gradients = gradients[0]
    return (gradients, aux) if has_aux else gradients


def _copy_array(leaf):
    return leaf.copy() if isinstance(leaf, np.ndarray) else leaf


def _strip_batch(param_bar, treedef, leaves):
    """A parameter's adjoint for a batch of one, without the batch axis, with
    the parameter's structure, dtypes and zeros where it got no adjoint."""
    if treedef is pytree.LEAF:
        leaf = leaves[0]
        if param_bar is None:
            return np.zeros(np.shape(leaf), dtype=np.result_type(leaf))
        return _result(param_bar, np.shape(leaf), np.result_type(leaf))
    leaf_bars = [
        np.zeros(np.shape(leaf), dtype=np.result_type(leaf)) if bar is None
        else _result(bar, np.shape(leaf), np.result_type(leaf))
        for bar, leaf in zip(_leaf_adjoints(param_bar, treedef), leaves, strict=True)
    ]
    return pytree.unflatten(treedef, leaf_bars)


# ------------------------------------------------------------------ source

@_user_errors
def source(func: Function, argnums: ArgNums = 0, *, mode: Mode = "vjp", has_aux: bool = False) -> str:
    """The generated derivative code of ``func`` as Python source text:
    ``mode="vjp"`` the reverse-mode forward and backward functions,
    ``mode="jvp"`` the forward-mode (tangent) function, ``mode="vmap"`` the
    batched function with the arguments at ``argnums`` batched along their
    first axis; followed by the code of the user's functions it calls. A
    derivative made by jacrev, jacfwd or grad shows the function written over
    its generated code first."""
    if mode not in ("vjp", "jvp", "vmap"):
        raise ValueError(f"mode={mode!r}: expected 'vjp' (reverse mode), 'jvp' (forward mode) "
                         "or 'vmap' (batched).")
    compiled = compiled_for_source(func, argnums, has_aux, mode)
    # The code of the user's functions it calls follows, as they are called.
    from ..backend.compile import transforms_reached

    return "\n\n".join(transform.source for transform in transforms_reached(compiled))


def compiled_for_source(func, argnums, has_aux, mode="vjp"):
    """The transform ``source`` prints and the CLI exports: of the Python
    function that runs, with argnums counted as the caller passes them (a
    bound method's or partial's fixed arguments come first)."""
    def get(function, positions):
        if mode == "jvp":
            return cache.get_jvp(function, positions, has_aux)
        if mode == "vmap":
            return cache.get_vmap(function, positions)
        return cache.get_vjp(function, positions, has_aux)

    if made.of(func) is not None:
        count = _positional_count(made.of(func)[0])
        func = derivatives.derivative_function(func, count)
    function, leading, _ = _callable_parts(func)
    if leading and isinstance(function, types.FunctionType):
        count = _positional_count(function) - len(leading)
        positions = tuple(p + len(leading) for p in _check_argnums(argnums, count))
        return get(function, positions)
    func = _differentiable(func, _positional_count(func))
    return get(func, _check_argnums(argnums, _positional_count(func)))


def _positional_count(func):
    code = getattr(func, "__code__", None)
    if code is None:
        nin = getattr(func, "nin", None)
        return nin or 1
    return code.co_argcount


# What the layers below ask the API for, handed to them here so that none
# of them imports it: the transformer for callees known only when generated
# code runs, and what a derivative made by a transform computes.
runtime.DYNAMIC.update(get_vjp=cache.get_vjp, compiled_call=compiled_call, arity_of=arity_of,
                       transform_call=transform_call)
cache.CALLEES.derivative_function = derivatives.derivative_function
cache.CALLEES.makers = (jacrev, jacfwd, grad, hessian)
derivatives.API.update(check_argnums=_check_argnums, compiled_call=compiled_call, differentiable=_differentiable,
                       jacfwd=jacfwd, get_vmap=cache.get_vmap)
