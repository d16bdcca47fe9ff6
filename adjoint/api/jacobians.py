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
import os
import types
import warnings
from typing import Any, Optional, cast

import numpy as np

from ..backend import cache
from . import derivatives
from . import progress as _progress
from .. import errors, made, rules, runtime
from ..frontend.ir import arity_of, callable_name, is_library, specialized_parameters
from . import pytree
from .hints import ArgNums, F, Function, Maker, Mode


from ..constants import no_grad, stop_gradient  # noqa: E402 (re-exported)

rules.nondifferentiable(stop_gradient)


def defvjp(fn: F, *vjp_makers: Maker, batched: bool = False) -> F:
    """Register the reverse-mode derivative of ``fn``, which adjoint then treats
    as a primitive (its rule wins over its source).

    Args:
        fn: The function (one without Python source, or one to keep opaque).
        *vjp_makers: One per positional argument of ``fn`` (``None`` for an
            argument without derivative), each called as ``maker(ans, *args,
            **kwargs)`` with ``fn``'s result and arguments, returning
            ``g -> contribution``.
        batched: With ``False``, ``g`` is one cotangent shaped like ``ans``
            (called once per row of a chunk); with ``True`` it has a leading
            batch axis, and so must the contribution (one call per chunk).

    Returns:
        ``fn`` itself.

    Raises:
        TypeError: ``fn`` or a maker is not callable.

    Examples:
        >>> import numpy as np, adjoint
        >>> def softplus(x):
        ...     return np.log1p(np.exp(x))
        >>> _ = adjoint.defvjp(softplus, lambda ans, x: lambda g: g / (1.0 + np.exp(-x)))
        >>> adjoint.grad(lambda x: np.sum(softplus(x)))(np.array([0.0]))
        array([0.5])
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
    """Register the forward-mode derivative of ``fn``.

    Args:
        fn: The function.
        *jvp_makers: One per positional argument (``None`` for an argument
            without derivative), each called as ``maker(ans, *args, **kwargs)``,
            returning ``t -> contribution`` for one tangent ``t`` shaped like that
            argument (adjoint calls it per tangent row).

    Returns:
        ``fn`` itself.

    Raises:
        TypeError: ``fn`` or a maker is not callable.

    Examples:
        >>> import numpy as np, adjoint
        >>> def cube(x):
        ...     return x ** 3
        >>> _ = adjoint.defjvp(cube, lambda ans, x: lambda t: 3.0 * x ** 2 * t)
        >>> adjoint.jacfwd(lambda x: cube(x) + x)(np.array([2.0]))
        array([[13.]])
    """
    if not callable(fn):
        raise TypeError(f"defjvp needs a function, got {type(fn).__name__}.")
    for position, maker in enumerate(jvp_makers):
        if maker is not None and not callable(maker):
            raise TypeError(f"defjvp: maker {position} of {getattr(fn, '__name__', fn)} is not callable.")
    rules.CUSTOM_JVPS[fn] = rules.CustomJVP(fn, jvp_makers)
    cache.clear()
    return fn


# ------------------------------------------------------------------ checks

def _check_function(func, transform):
    if not callable(func):
        raise errors.not_a_function_error(transform, func)


def _check_progress(progress):
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {type(progress).__name__} ({progress!r}).")


def _check_executor(executor):
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise errors.executor_type_error(executor)


def _check_chunk_size(chunk_size):
    if chunk_size is None:
        return
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
        raise errors.chunk_size_error(chunk_size)


# ------------------------------------------------------------------ memory budget

#: bytes jacrev and jacfwd may use by default with chunk_size=None (see set_memory_budget)
DEFAULT_MEMORY_BUDGET = 256 * 2 ** 20
_UNITS = {"": 1, "b": 1, "k": 2 ** 10, "kb": 2 ** 10, "kib": 2 ** 10, "m": 2 ** 20, "mb": 2 ** 20,
          "mib": 2 ** 20, "g": 2 ** 30, "gb": 2 ** 30, "gib": 2 ** 30}
#: the budget set by set_memory_budget; None: ADJOINT_MEMORY_BUDGET, or the default
_budget = None


def set_memory_budget(nbytes):
    """Set how many bytes ``jacrev`` and ``jacfwd`` may use for one Jacobian
    with ``chunk_size=None``: the Jacobian itself, plus the identity basis of
    one chunk and the batched pass over it (an estimate from the sizes of the
    output, the inputs and the values the backward pass reads). Chunks are
    chosen to stay under it.

    Args:
        nbytes: The budget in bytes (an int greater than 0), or ``None`` for
            the default: the ``ADJOINT_MEMORY_BUDGET`` environment variable
            (bytes, or a number with a unit: ``512M``, ``2GiB``) if set,
            else 256 MiB.

    Returns:
        The budget in force before (what ``get_memory_budget()`` returned).

    Raises:
        TypeError: ``nbytes`` is not an int or None.
        ValueError: ``nbytes`` is not greater than 0.

    A Jacobian larger than the budget, or a pass over a single row (column)
    that does not fit beside it, raises ``adjoint.MemoryBudgetError`` naming
    the sizes.

    Examples:
        >>> import adjoint
        >>> before = adjoint.set_memory_budget(64 * 2**20)
        >>> adjoint.get_memory_budget()
        67108864
        >>> _ = adjoint.set_memory_budget(None)
    """
    global _budget
    if nbytes is not None and (isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer))):
        raise TypeError(f"set_memory_budget takes a number of bytes (an int) or None, got "
                        f"{type(nbytes).__name__} ({nbytes!r}).")
    if nbytes is not None and nbytes <= 0:
        raise ValueError(f"set_memory_budget: the budget must be greater than 0 bytes, got {nbytes}.")
    previous = get_memory_budget()
    _budget = None if nbytes is None else int(nbytes)
    return previous


def get_memory_budget():
    """The memory budget of ``jacrev`` and ``jacfwd`` (see ``set_memory_budget``).

    Returns:
        The budget in bytes.

    Raises:
        ValueError: ``ADJOINT_MEMORY_BUDGET`` is set to something that is
            not a memory size.

    Examples:
        >>> import adjoint
        >>> adjoint.get_memory_budget() > 0
        True
    """
    if _budget is not None:
        return _budget
    text = os.environ.get("ADJOINT_MEMORY_BUDGET", "").strip()
    if not text:
        return DEFAULT_MEMORY_BUDGET
    number = text.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ")
    unit = text[len(number):].strip().lower()
    try:
        value = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        value = 0
    if not value >= 1:
        raise ValueError(f"ADJOINT_MEMORY_BUDGET={text!r} is not a memory size: give a number of bytes, "
                         "or a number with a unit (512M, 512MiB, 2G).")
    return int(value)


def _array_elements(value):
    """How many array elements ``value`` (residuals: arrays, lists and tuples
    of them) holds."""
    if isinstance(value, np.ndarray):
        return value.size
    if isinstance(value, (tuple, list)):
        total = 0
        for item in value:
            total += item.size if type(item) is np.ndarray else _array_elements(item)
        return total
    if isinstance(value, dict):
        return sum(_array_elements(item) for item in value.values())
    return 0


def _jacobian_bytes(n_out, inputs):
    if len(inputs.leaves) == 1 and len(inputs.leaves[0]) == 1 and type(inputs.leaves[0][0]) is np.ndarray:
        leaf = inputs.leaves[0][0]  # the common case: one array
        return n_out * leaf.size * leaf.itemsize
    return n_out * sum(np.size(leaf) * np.result_type(leaf).itemsize for leaves in inputs.leaves
                       for leaf in leaves)


def _passes_per_chunk(mode, name, n_out, n_in, itemsize, jacobian_bytes, others, budget=None):
    """How many rows (jacrev) or columns (jacfwd) of the basis one chunk may
    take under the memory budget: each costs its basis vector and a batched
    copy of the output, of the inputs and of the ``others`` values the pass
    goes through (an estimate). Raises MemoryBudgetError if the Jacobian
    does not fit, or not even one row (column) fits beside it. ``budget``:
    get_memory_budget(), if the caller has read it already."""
    if budget is None:
        budget = get_memory_budget()
    if jacobian_bytes > budget:
        raise errors.jacobian_too_large_error(mode, name, n_out, n_in, jacobian_bytes, budget)
    basis = n_out if mode == "jacrev" else n_in
    per_pass = itemsize * (basis + n_out + n_in + others)
    fits = (budget - jacobian_bytes) // per_pass
    if fits < 1:
        raise errors.chunk_too_large_error(mode, name, n_out, n_in, per_pass, budget - jacobian_bytes, budget)
    return fits


def _name(func):
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__


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
        raise errors.not_array_input_error(argnum, path, leaf)
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
        except (errors.TransformError, errors.SourceUnavailableError, errors.MemoryBudgetError) as exc:
            if isinstance(exc, errors.TransformError) and exc.location is None and exc.construct:
                place = errors.user_line_of_traceback(exc.__traceback__)  # refused while generated code ran
                if place is not None:
                    errors.with_location(exc, place)
            raise exc.with_traceback(None) from None
        except runtime.MissingRule as exc:  # a branch without a derivative rule ran
            raise errors.no_rule_that_ran(str(exc)) from None
        except runtime.InPlaceRefused as exc:  # an update in place that NumPy would show elsewhere
            raise errors.refused_that_ran(str(exc)) from None
        except MemoryError as exc:  # NumPy's own, in generated code (the budget's chunks were not enough)
            raise errors.memory_error_in_derivative_code(exc, errors.user_line_of_traceback(exc.__traceback__),
                                             getattr(fn, "__name__", "the transform").strip("_")) from None
        except Exception as exc:  # raised in the generated code: name the user's line
            errors.add_user_line_note(exc, errors.user_line_of_traceback(exc.__traceback__))
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


def _refuse_library_callable(func, function):
    """``func`` is an object (``np.vectorize(f)``) whose ``__call__`` is
    NumPy's (or another library's) own Python code: refused, not transformed."""
    if (function is not func and isinstance(function, types.FunctionType) and is_library(function)
            and not (function.__module__ or "").startswith("adjoint") and not _has_custom_rule(func)
            and rules.lookup(func) is None):
        vectorized = isinstance(func, np.vectorize)
        pyfunc = getattr(getattr(func, "pyfunc", None), "__name__", None)
        name = f"np.vectorize({pyfunc})" if vectorized and pyfunc else callable_name(func)
        raise errors.library_callable_error(None, name, vectorized)


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
        self.leading, self.keywords, self.skipped = leading, keywords, skipped  # (for parallel.py)
        self.independent = getattr(compiled, "independent", None)
        self.augmented_params = getattr(compiled, "augmented_params", {})
        if getattr(compiled, "jvp", None) is not None:
            jvp = compiled.jvp
            # (derivatives._forward_text writes the call out from these: a derivative differentiated again)
            self.fixed_call = (jvp, tuple(leading), dict(keywords), skipped)
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
            return cache.get_jvp(function, wrt, has_aux, arity=arity, for_caller=for_caller)
    else:
        def get(function, wrt, arity=None):
            return cache.get_vjp(function, wrt, has_aux, for_caller, arity=arity)
    if made.of(func) is not None:  # a derivative differentiated again: its code
        func = derivatives.derivative_function(func, nargs)
    function, leading, fixed = _callable_parts(func)
    _refuse_library_callable(func, function)
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
    _refuse_library_callable(func, function)
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
        compiled = cache.get_jvp(target, wrt, False, arity=arity, for_caller=True)
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
           chunk_size: Optional[int] = None, progress: bool = False, sparse: bool = False,
           executor: Any = None) -> Function:
    """The Jacobian of ``func`` with respect to the arguments at ``argnums``, by
    reverse mode: one forward pass, then the generated backward pass over
    chunks of ``chunk_size`` rows of the output's identity basis.

    Means what ``torch.func.jacrev`` means, on NumPy arrays. Usable as a
    decorator (``@jacrev``, ``@partial(jacrev, argnums=1)``); the result keeps
    ``func``'s name and docstring.

    Args:
        func: A Python function (or a NumPy function with a rule, a bound
            method, a ``functools.partial``, an object with ``__call__``) of
            arrays, floats and pytrees (tuples, lists, dicts, namedtuples) of them.
        argnums: The position of the argument to differentiate with respect to
            (an int, negative values wrap), or a non-empty tuple of positions.
        has_aux: ``func`` returns ``(output, aux)``; ``aux`` is passed through
            undifferentiated.
        chunk_size: Rows of the output's identity basis per backward call:
            ``None`` all at once, ``1`` one at a time. The result does not depend on it.
        progress: Report progress over the chunks on stderr (a bar through
            ``tqdm`` when it is installed, a plain line otherwise).
        sparse: Return ``scipy.sparse.csr_matrix`` blocks of shape
            ``(output size, input size)``, computed by one backward pass per
            chunk of row colours of the detected sparsity pattern (see
            ``adjoint.sparsity``; needs SciPy).
        executor: ``None``, or a ``concurrent.futures.Executor`` (a thread
            pool, a process pool, a Dask client's executor) that runs the
            chunks of rows in parallel; the generated code travels to worker
            processes as source. The result equals the serial one. Give
            ``chunk_size`` too (``None`` picks chunks by the memory budget
            alone, often one). See docs/parallel.md.

    Returns:
        A function taking ``func``'s arguments and returning the Jacobian: one
        block of shape ``output.shape + input.shape`` (the input's dtype) per
        output leaf and selected input leaf, structured as the output, each
        output leaf holding the argument's structure (a tuple of them for tuple
        ``argnums``); ``(jacobian, aux)`` with ``has_aux``.

    Raises:
        TypeError: ``func`` is not callable, ``argnums`` or ``chunk_size`` has
            the wrong type, a selected argument is not a float array, or the
            output is not made of float arrays.
        ValueError: ``argnums`` out of range, empty or repeated, ``chunk_size``
            not positive, or an empty output.
        adjoint.TransformError: ``func`` cannot be differentiated (the message
            names the file and line, what was found and what to do).

    Examples:
        >>> import numpy as np, adjoint
        >>> def f(x, y):
        ...     return np.sin(x) * y
        >>> adjoint.jacrev(f)(np.array([0.0, 1.0]), 2.0)
        array([[2.        , 0.        ],
               [0.        , 1.08060461]])
        >>> dx, dy = adjoint.jacrev(f, argnums=(0, 1))(np.array([0.0, 1.0]), 2.0)
        >>> dy
        array([0.        , 0.84147098])
    """
    _check_function(func, "jacrev")
    _check_chunk_size(chunk_size)
    _check_progress(progress)
    _check_executor(executor)
    if _check_sparse(sparse, progress, executor):
        from . import sparse as _sparse
        return _sparse.sparse_jacrev(func, argnums, has_aux, chunk_size)

    find = _Finder(func)

    @functools.wraps(func)
    def jacobian_fn(*args, **kwargs):
        return _jacrev_call(find, argnums, has_aux, chunk_size, args, kwargs, progress, executor)

    made.register(jacobian_fn, func, "jacrev", argnums, has_aux)
    return jacobian_fn


@_user_errors
def _jacrev_call(find, argnums, has_aux, chunk_size, args, kwargs, progress=False, executor=None):
    positions = _check_argnums(argnums, len(args))
    inputs = _Inputs(args, positions)
    compiled = find(inputs.args, positions, has_aux, tuple(kwargs))
    result, residuals = compiled.forward(*inputs.args, **kwargs)
    output, aux = result if has_aux else (result, None)
    out_leaves, out_treedef = _output_leaves(output)
    total = sum(leaf.size for leaf in out_leaves)
    n_in = sum(np.size(leaf) for leaves in inputs.leaves for leaf in leaves)
    name = _name(find.func)
    jacobian_bytes = _jacobian_bytes(total, inputs)
    budget = get_memory_budget()
    if chunk_size is None and total:
        itemsize = max(leaf.dtype.itemsize for leaf in out_leaves)
        chunk_size = _passes_per_chunk("jacrev", name, total, n_in, itemsize, jacobian_bytes,
                                       _array_elements(residuals), budget)
        if chunk_size >= total:
            chunk_size = None
        elif total > n_in:
            warnings.warn(errors.tall_reverse_warning(name, total, n_in, -(-total // chunk_size),
                                                      budget), RuntimeWarning, stacklevel=4)
    elif jacobian_bytes > budget:
        raise errors.jacobian_too_large_error("jacrev", name, total, n_in, jacobian_bytes, get_memory_budget())
    try:
        if (type(argnums) is int and not has_aux and chunk_size is None and not progress
                and executor is None and inputs.treedefs[0] is pytree.LEAF):
            jacobian = _array_jacobian(compiled, residuals, output, inputs.leaves[0][0])
            if jacobian is not None:
                return jacobian
        with _progress.Progress(progress, "jacrev", name) as report:
            if executor is not None:
                from . import parallel

                jacobian = parallel.jacrev_chunks(executor, compiled, residuals, out_leaves, out_treedef, inputs,
                                                  max(1, min(chunk_size or total, total)), name, report)
            else:
                jacobian = _pull_back_basis(compiled, residuals, out_leaves, out_treedef, inputs, chunk_size,
                                            report)
    except MemoryError as error:
        if isinstance(error, errors.MemoryBudgetError):
            raise
        raise errors.out_of_memory_error("jacrev", name, total, n_in, chunk_size or total, error) from None
    _zero_independent_blocks(jacobian, getattr(compiled, "independent", None), output)
    blocks = _assemble(jacobian, out_leaves, out_treedef, inputs, isinstance(argnums, int))
    return (blocks, aux) if has_aux else blocks


def _array_jacobian(compiled, residuals, output, x):
    """The common case, array in and array out, all rows at once, without
    the pytree bookkeeping; None if the output is not a float array."""
    if not ((type(output) is np.ndarray or type(output) is np.float64) and output.dtype.kind == "f"):
        return None
    bar, = compiled.backward(residuals, runtime.identity_rows(output.shape, output.dtype))  # read-only, shared
    shape = output.shape + np.shape(x)
    dtype = np.result_type(x)
    if bar is None:
        return np.zeros(shape, dtype=dtype)
    if type(bar) is np.ndarray and bar.dtype == dtype:  # the common case: a float array, nothing to convert
        result = bar.reshape(shape)
        # (an adjoint that is the basis itself, or a view of it, is read-only: copied)
        return result if result.flags.writeable else result.copy()
    return _result(bar, shape, dtype)


def _result(bar, shape, dtype):
    """An adjoint the backward pass returned, as an array of ``shape`` and
    ``dtype`` that the caller owns: a cotangent broadcast back by a
    reduction is a read-only view, copied here."""
    result = np.reshape(np.asarray(_real(bar)), shape).astype(dtype, copy=False)  # (an absent adjoint: zeros)
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


def _pull_back_basis(compiled, residuals, out_leaves, out_treedef, inputs, chunk_size, report=None):
    """For every input leaf, the Jacobian as an ``(N, leaf.size)`` matrix
    (``report(done, total)`` is told of each chunk pulled back)."""
    total = sum(leaf.size for leaf in out_leaves)
    chunk = total if chunk_size is None else max(1, min(chunk_size, total))
    if total == 0:  # an empty output: an empty Jacobian, no pass needed
        return [[np.zeros((0, np.size(leaf)), dtype=np.result_type(leaf)) for leaf in leaves]
                for leaves in inputs.leaves]
    if chunk == total:  # one batched call: its adjoints are the matrices
        adjoints = compiled.backward(residuals, _basis_chunk(out_leaves, out_treedef, 0, total))
        if report is not None:
            report(total, total)
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
        if report is not None:
            report(stop, total)
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
           chunk_size: Optional[int] = None, progress: bool = False, sparse: bool = False,
           executor: Any = None) -> Function:
    """The Jacobian of ``func`` by forward mode: the generated tangent code runs
    over chunks of ``chunk_size`` columns of the inputs' identity basis (all at
    once by default).

    Same arguments, checks and result structure as ``jacrev``; prefer it when
    the inputs have fewer elements than the outputs.

    Args:
        func: The function to differentiate (as for ``jacrev``).
        argnums: An int or a non-empty tuple of ints: the arguments differentiated.
        has_aux: ``func`` returns ``(output, aux)``.
        chunk_size: Columns of the inputs' identity basis per call of the
            tangent code (``None``: all at once).
        progress: Report progress over the chunks on stderr.
        sparse: Return ``scipy.sparse.csr_matrix`` blocks, computed by one
            forward pass per chunk of column colours (Curtis-Powell-Reid) of
            the detected sparsity pattern (see ``adjoint.sparsity``).
        executor: ``None``, or a ``concurrent.futures.Executor`` running the
            chunks of columns in parallel (as for ``jacrev``).

    Returns:
        A function returning the Jacobian, laid out as ``jacrev``'s
        (``(jacobian, aux)`` with ``has_aux``).

    Raises:
        TypeError: As ``jacrev``.
        ValueError: As ``jacrev``.
        adjoint.NoRuleError: A function ``func`` calls has no forward-mode rule.

    Examples:
        >>> import numpy as np, adjoint
        >>> def circle(t):
        ...     return np.stack([np.cos(t), np.sin(t), t ** 2])
        >>> np.round(adjoint.jacfwd(circle)(1.0), 3)
        array([-0.841,  0.54 ,  2.   ])
    """
    _check_function(func, "jacfwd")
    _check_chunk_size(chunk_size)
    _check_progress(progress)
    _check_executor(executor)
    if _check_sparse(sparse, progress, executor):
        from . import sparse as _sparse
        return _sparse.sparse_jacfwd(func, argnums, has_aux, chunk_size)
    find = _Finder(func, mode="jvp")

    @functools.wraps(func)
    def jacobian_fn(*args, **kwargs):
        return _jacfwd_call(find, argnums, has_aux, chunk_size, args, kwargs, progress, executor)

    made.register(jacobian_fn, func, "jacfwd", argnums, has_aux)
    return jacobian_fn


def _input_basis(inputs, start, stop):
    """Columns ``start:stop`` of the identity over every selected input
    element: one tangent per argument, shaped like it with a leading axis."""
    rows = stop - start
    if len(inputs.leaves) == 1 and len(inputs.leaves[0]) == 1 and start == 0:
        leaf = inputs.leaves[0][0]
        if rows == np.size(leaf):  # the common case, one array, all columns: the identity (the caller's own)
            seed = np.eye(rows, dtype=np.result_type(leaf)).reshape((rows,) + np.shape(leaf))
            return (pytree.unflatten(inputs.treedefs[0], [seed]),)
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
def _jacfwd_call(find, argnums, has_aux, chunk_size, args, kwargs, progress=False, executor=None):
    positions = _check_argnums(argnums, len(args))
    inputs = _Inputs(args, positions)
    compiled = find(inputs.args, positions, has_aux, tuple(kwargs))
    in_sizes = [np.size(leaf) for leaves in inputs.leaves for leaf in leaves]
    total = sum(in_sizes)
    name = _name(find.func)
    itemsize = max([np.result_type(leaf).itemsize for leaves in inputs.leaves for leaf in leaves] or [8])
    if chunk_size is not None:
        chunk = max(1, min(chunk_size, total))
    else:
        # The output's size is known after the first chunk: until then it
        # is taken to be the inputs' (all columns at once for small inputs).
        budget = get_memory_budget()
        chunk = max(1, min(total, budget // (itemsize * 4 * max(total, 1))))
    columns = []  # per output leaf: list of (rows, out.size) blocks
    output = aux = None
    out_leaves = out_treedef = None
    # A function that changes its arguments in place changes the caller's
    # arrays once, as the plain call does: every chunk but the last runs on copies.
    changes_arguments = bool(getattr(compiled, "augmented_params", None))
    with _progress.Progress(progress, "jacfwd", name) as report:
        start = 0
        if executor is not None:
            from . import parallel

            output, aux, out_leaves, out_treedef, columns = parallel.jacfwd_chunks(
                executor, compiled, inputs, kwargs, has_aux, chunk, name, report)
        while executor is None:
            stop = min(start + chunk, total)
            args, keywords = ((inputs.args, kwargs) if not changes_arguments or stop >= total
                              else copy.deepcopy((inputs.args, kwargs)))
            try:
                result, out_dot = compiled.jvp((stop - start,) + _input_basis(inputs, start, stop), *args, **keywords)
            except MemoryError as error:
                if isinstance(error, errors.MemoryBudgetError):
                    raise
                n_out = None if out_leaves is None else sum(leaf.size for leaf in out_leaves)
                raise errors.out_of_memory_error("jacfwd", name, n_out, total, stop - start, error) from None
            if out_leaves is None:
                output, aux = result if has_aux else (result, None)
                out_leaves, out_treedef = _output_leaves(output)
                n_out = sum(leaf.size for leaf in out_leaves)
                jacobian_bytes = _jacobian_bytes(n_out, inputs)
                if chunk_size is None and n_out and total:
                    chunk = _passes_per_chunk("jacfwd", name, n_out, total, itemsize, jacobian_bytes, n_out, budget)
                elif jacobian_bytes > get_memory_budget():
                    raise errors.jacobian_too_large_error("jacfwd", name, n_out, total, jacobian_bytes,
                                                          get_memory_budget())
            dots = _leaf_adjoints(out_dot, out_treedef)
            columns.append([np.zeros((stop - start, leaf.size), dtype=leaf.dtype) if dot is None
                            else np.reshape(_real(dot), (stop - start, leaf.size))
                            for dot, leaf in zip(dots, out_leaves, strict=True)])
            report(stop, total)
            start = stop
            if start >= total:
                break
    if len(columns) == 1 and len(out_leaves) == 1 and len(inputs.leaves) == 1 and len(inputs.leaves[0]) == 1:
        # one chunk, one output array, one input array: one transposing copy
        matrices = [[np.array(columns[0][0].T, dtype=np.result_type(inputs.leaves[0][0]), order="C")]]
    else:
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
    """The output of ``func`` at ``primals`` and its Jacobian applied to
    ``tangents``, by the generated forward-mode code.

    Args:
        func: The function to differentiate.
        primals: A tuple with one entry per positional argument of ``func``.
        tangents: A tuple of the same structure and shapes as ``primals``.
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        ``(output, tangent_out)``, or ``(output, tangent_out, aux)`` with ``has_aux``.

    Raises:
        TypeError: ``primals`` or ``tangents`` is not a tuple, or a primal is
            not a float array.
        ValueError: The tangents do not match the primals in number,
            structure or shapes.

    Examples:
        >>> import numpy as np, adjoint
        >>> out, tangent = adjoint.jvp(np.sin, (np.array([0.0, 1.0]),), (np.array([1.0, 1.0]),))
        >>> tangent
        array([1.        , 0.54030231])
    """
    _check_function(func, "jvp")
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


def hessian(func: Function, argnums: ArgNums = 0, *, sparse: bool = False) -> Function:
    """The Hessian of ``func``: ``jacfwd(jacrev(func, argnums), argnums)``,
    forward mode over the generated reverse-mode code. For one 1-d array
    argument whose Hessian pattern holds at every point and needs fewer
    colours than half its size, calls after the first use compressed
    passes (one per colour) and return the same dense array.

    Args:
        func: A function with a single 0-d output (for a vector output each
            output element gets its own Hessian).
        argnums: An int or a tuple of ints.
        sparse: Return a ``scipy.sparse.csr_matrix`` (argnums one int, for
            one array argument), computed by one pass per chunk of colours
            of a distance-2 colouring of the detected pattern.

    Returns:
        A function returning the Hessian, of shape ``output.shape +
        input.shape + input.shape``.

    Raises:
        TypeError: As ``jacrev``.
        ValueError: As ``jacrev``.

    Examples:
        >>> import numpy as np, adjoint
        >>> def f(x):
        ...     return x[0] ** 2 * x[1]
        >>> adjoint.hessian(f)(np.array([1.0, 3.0]))
        array([[6., 2.],
               [2., 0.]])
    """
    _check_function(func, "hessian")
    from . import sparse as _sparse
    if _check_sparse(sparse):
        return _sparse.sparse_hessian(func, argnums)
    return _sparse.dense_hessian(func, argnums)


def _check_sparse(sparse, progress=False, executor=None):
    if not isinstance(sparse, bool):
        raise TypeError(f"sparse must be True or False, got {type(sparse).__name__} ({sparse!r}).")
    if sparse and progress:
        raise ValueError("progress=True is not available with sparse=True (a sparse Jacobian takes one pass "
                         "per colour, usually a few): drop one of them.")
    if sparse and executor is not None:
        raise ValueError("executor= is not available with sparse=True (a sparse Jacobian takes one pass per "
                         "colour, usually a few, run here): drop one of them.")
    return sparse


# ------------------------------------------------------------------ vjp, grad

def vjp(func: Function, *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """The output of ``func`` at ``primals``, and a function pulling cotangents
    back through it (the vector-Jacobian product).

    The forward pass runs now, once; ``vjp_fn(cotangent)`` may be called any
    number of times and returns one adjoint per primal.

    Args:
        func: The function to differentiate (every argument is differentiated).
        *primals: The arguments, float arrays or pytrees of them.
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        ``(output, vjp_fn)``, or ``(output, vjp_fn, aux)`` with ``has_aux``.
        ``vjp_fn`` takes a cotangent with the output's structure and shapes and
        returns a tuple with one entry per primal, shaped like it.

    Raises:
        TypeError: A primal is not a float array.
        ValueError: (from ``vjp_fn``) the cotangent's structure or shapes
            differ from the output's.

    Examples:
        >>> import numpy as np, adjoint
        >>> out, vjp_fn = adjoint.vjp(np.multiply, np.array([1.0, 2.0]), np.array([3.0, 4.0]))
        >>> vjp_fn(np.array([1.0, 10.0]))
        (array([ 3., 40.]), array([ 1., 20.]))
    """
    _check_function(func, "vjp")
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
    """The gradient of ``func``, whose output must be a single 0-d value.

    Args:
        func: A function returning one number (a 0-d array or NumPy scalar).
        argnums: An int, or a non-empty tuple of ints (negative values wrap).
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        A function returning the gradient, shaped (and structured) like the
        argument at ``argnums`` (a tuple of them for tuple ``argnums``);
        ``(gradient, aux)`` with ``has_aux``.

    Raises:
        TypeError: As ``jacrev``.
        ValueError: As ``jacrev``, and when the output is not a single 0-d
            value (use ``jacrev``, or reduce the output).

    Examples:
        >>> import numpy as np, adjoint
        >>> def energy(x):
        ...     return np.sum(x ** 2) / 2.0
        >>> adjoint.grad(energy)(np.array([1.0, -2.0]))
        array([ 1., -2.])
    """
    _check_function(func, "grad")
    find = _Finder(func)

    @functools.wraps(func)
    def grad_fn(*args, **kwargs):
        return _grad_call(find, argnums, has_aux, args, kwargs)

    made.register(grad_fn, func, "grad", argnums, has_aux)
    return grad_fn


def value_and_grad(func, argnums=0, *, has_aux=False):
    """``grad``, returning the value of ``func`` too, from the same forward pass.

    The convention is JAX's (``jax.value_and_grad``); ``torch.func.grad_and_value``
    returns the pair the other way round.

    Args:
        func: A function returning one number (a 0-d array or NumPy scalar).
        argnums: An int, or a non-empty tuple of ints (negative values wrap).
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        A function returning ``(value, gradient)``, or ``((value, aux),
        gradient)`` with ``has_aux``; the gradient as ``grad`` gives it.

    Raises:
        TypeError: As ``grad``.
        ValueError: As ``grad``.

    Examples:
        >>> import numpy as np, adjoint
        >>> def loss(w):
        ...     return np.sum((w - 1.0) ** 2)
        >>> value, gradient = adjoint.value_and_grad(loss)(np.array([0.0, 3.0]))
        >>> float(value), gradient
        (5.0, array([-2.,  4.]))
    """
    _check_function(func, "value_and_grad")
    find = _Finder(func)

    @functools.wraps(func)
    def value_and_grad_fn(*args, **kwargs):
        return _grad_call(find, argnums, has_aux, args, kwargs, with_value=True)

    made.register(value_and_grad_fn, func, "value_and_grad", argnums, has_aux)
    return value_and_grad_fn


@_user_errors
def _grad_call(find, argnums, has_aux, args, kwargs, with_value=False):
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
                gradient = bar.reshape(x.shape)
            else:
                gradient = _strip_batch(bar, pytree.LEAF, [x])
            return (result, gradient) if with_value else gradient
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
    if with_value:
        value = pytree.map_leaves(_copy_array, output)
        return ((value, aux), gradients) if has_aux else (value, gradients)
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
    """The generated derivative code of ``func`` as Python source text.

    A derivative made by ``jacrev``, ``jacfwd`` or ``grad`` shows the function
    written over its generated code first. The code of your functions that it
    calls follows.

    Args:
        func: A function (or a derivative made by a transform).
        argnums: The arguments differentiated (or batched, for ``mode="vmap"``).
        mode: ``"vjp"`` the reverse-mode forward and backward functions,
            ``"jvp"`` the forward-mode (tangent) function, ``"vmap"`` the batched
            function (arguments batched along their first axis).
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        The source text (a str).

    Raises:
        ValueError: An unknown ``mode``.
        adjoint.TransformError: ``func`` cannot be transformed.

    Examples:
        >>> import numpy as np, adjoint
        >>> def f(x):
        ...     return np.sin(x) * x
        >>> print(adjoint.source(f).split("def f_backward")[1])  # doctest: +ELLIPSIS
        (residuals, out_bar):
            # backward pass: adjoints of x
        ...
    """
    _check_function(func, "source")
    if mode not in ("vjp", "jvp", "vmap"):
        raise ValueError(f"mode={mode!r}: expected 'vjp' (reverse mode), 'jvp' (forward mode) "
                         "or 'vmap' (batched).")
    compiled = compiled_for_source(func, argnums, has_aux, mode)
    # The code of the user's functions it calls follows, as they are called.
    from ..backend.compile import transforms_reached

    if isinstance(compiled, derivatives.JacobianVJP):
        # reverse mode of a derivative (source(grad(f))): the function written
        # over the generated code of f, then that code (its reverse transform
        # is forward mode over that function, see derivatives.JacobianVJP)
        function = compiled.function
        parts = [inspect.getsource(function).rstrip("\n")]
        parts += [t.source for t in transforms_reached(function.__adjoint_derivative__)]
        return "\n\n".join(parts)
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
cache.CALLEES.makers = (jacrev, jacfwd, grad, hessian, value_and_grad)
derivatives.API.update(check_argnums=_check_argnums, compiled_call=compiled_call, differentiable=_differentiable,
                       jacfwd=jacfwd, get_vmap=cache.get_vmap)
