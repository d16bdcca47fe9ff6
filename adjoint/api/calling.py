"""What every transform shares: argument checks (callables, argnums,
chunk sizes), the differentiated inputs as pytree leaves (``_Inputs``), the
output's leaves, the compiled transform of the function a call runs
(``compiled_call``, ``_Finder``: bound methods, partials and callable
objects taken apart, NumPy functions wrapped), and ``_user_errors``, which
re-raises adjoint's errors about user code without the library's frames."""
import functools
import inspect
import linecache
import types
from typing import cast

import numpy as np

from ..backend import cache
from . import derivatives
from .. import errors, made, rules, runtime
from ..frontend import operator_calls, parameter_kinds
from ..frontend.ir import arity_of, callable_name, is_library, specialized_parameters
from ..frontend.normalize_call_forms import CALLS_AS_HELPERS
from . import pytree
from ..constants import stop_gradient
from .hints import F

rules.nondifferentiable(stop_gradient)


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


def _check_chunk_size(chunk_size):
    if chunk_size is None:
        return
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
        raise errors.chunk_size_error(chunk_size)

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
            elif isinstance(exc, errors.TransformError) and exc.location is not None:
                errors.located_in_user_code(exc)  # refused in generated code differentiated again
            elif isinstance(exc, errors.SourceUnavailableError) and len(exc.args) == 1:
                # a call through a value (f = np.maximum.accumulate; f(x)) refused while generated code ran
                place = errors.user_line_of_traceback(exc.__traceback__)
                if place is not None:
                    exc.args = (f"{errors.SourceLocation(*place)}: {exc.args[0]}",)
            raise exc.with_traceback(None) from None
        except runtime.MissingRule as exc:  # a branch without a derivative rule ran
            raise errors.no_rule_that_ran(str(exc)) from None
        except runtime.InPlaceRefused as exc:  # an update in place that NumPy would show elsewhere
            raise errors.refused_that_ran(str(exc)) from None
        except runtime.ValueRefused as exc:  # a value a helper refused (dirichlet's k - 1 form): the user's line
            raise errors.value_refused_at(exc, errors.user_line_of_traceback(exc.__traceback__)) from None
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
    # (a Python function with a rule of adjoint's, scipy.special.logsumexp, is
    # differentiated by its rule, as its calls in the user's code are: its
    # source is the library's internals)
    if hasattr(func, "__code__") and not _has_custom_rule(func) and not constant and rules.lookup(func) is None:
        return func
    # (operator.mul, np.gradient: no rule of their own, but a call of them in
    # source is differentiated, as a * b and as a runtime helper)
    called_in_source = operator_calls.is_operator_function(func) or _hashable_in(func, CALLS_AS_HELPERS)
    if rules.lookup(func) is None and not constant and not called_in_source:
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


def _hashable_in(value, table):
    try:
        return value in table
    except TypeError:
        return False


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


def compiled_call(func, nargs, positions, has_aux=False, for_caller=False, skipped=0, keywords=(), mode="vjp",
                  objects=None, outside_ok=False, real_params=True, top_level=False):
    """The compiled VJP (``mode="jvp"``: JVP) of calling ``func`` with
    ``nargs`` positional arguments and ``keywords``, differentiated at
    ``positions`` (counted among the positional ones). ``objects``: see
    ``object_arguments`` (for a plain Python function); ``outside_ok``: see
    ``cache.get_vjp``; ``top_level``: the user called the transform of
    ``func`` (``hessian(f)(x)``), not code being differentiated, so a
    derivative ``func`` may change the module's objects and lists with
    differentiated values (nothing else reads them, derivatives.py)."""
    if mode == "jvp":
        def get(function, wrt, arity=None, objects=None):
            return cache.get_jvp(function, wrt, has_aux, arity=arity, for_caller=for_caller, objects=objects,
                                 outside_ok=outside_ok, real_params=real_params)
    else:
        def get(function, wrt, arity=None, objects=None):
            return cache.get_vjp(function, wrt, has_aux, for_caller, arity=arity, objects=objects,
                                 outside_ok=outside_ok, real_params=real_params)
    if made.of(func) is not None:  # a derivative differentiated again: its code
        func = derivatives.derivative_function(func, nargs, keywords=keywords, objects=objects,
                                               top_level=top_level)
    function, leading, fixed = _callable_parts(func)
    _refuse_library_callable(func, function)
    if (function is not func and isinstance(function, types.FunctionType) and not _has_custom_rule(function)
            and rules.lookup(func) is None):  # (a method with a rule of its own, stats.norm.logpdf: below)
        shifted = tuple(p + len(leading) for p in positions)
        arity = arity_of(function, nargs + len(leading), tuple({**fixed, **dict.fromkeys(keywords)}))
        return _FixedArguments(get(function, shifted, arity), leading, fixed, skipped)
    if function is not func and rules.lookup(function) is not None:
        # A partial (or method) of a NumPy function: its wrapper takes every argument.
        names = tuple(dict.fromkeys(tuple(fixed) + tuple(keywords)))
        wrapper = _differentiable(function, nargs + len(leading), names)
        shifted = tuple(p + len(leading) for p in positions)
        return _FixedArguments(get(wrapper, shifted), leading, fixed, skipped)
    differentiable = _differentiable(func, nargs, keywords)
    compiled = get(differentiable, positions, arity_of(differentiable, nargs, keywords),
                   objects if differentiable is func else None)
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
            function) and not (function is not func and rules.lookup(func) is not None):
        target = function  # (a method with a rule of its own, stats.norm.logpdf: below)
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


#: argument types that are never objects of the user's classes (checked first: the common case)
_PLAIN_ARGUMENTS = frozenset({np.ndarray, float, int, bool, complex, tuple, list, dict, type(None), str,
                              np.float64, np.float32})


def object_arguments(func, args, positions, keywords=None):
    """``((parameter name, class), ...)`` of the arguments of a call of the
    plain function ``func`` that are objects of the user's classes, outside
    the differentiated ``positions``: the transform follows those whose
    methods set attributes (``model.step(x)`` storing ``self.h``,
    normalize_objects), so it is made for their classes. None when there is
    none (the common case, checked by type only)."""
    found = None
    for position, arg in enumerate(args):
        if type(arg) in _PLAIN_ARGUMENTS or position in positions:
            continue
        from ..frontend.normalize_objects import user_instance

        code = func.__code__
        names = code.co_varnames[:code.co_argcount]
        if position < len(names) and user_instance(arg):
            found = (found or ()) + ((names[position], type(arg)),) + _held_objects(names[position], arg, args,
                                                                                    keywords)
        elif code.co_flags & inspect.CO_VARARGS and position >= len(names) and user_instance(arg):
            from ..frontend.normalize_star import star_object_key  # f(x, *models)

            vararg = code.co_varnames[code.co_argcount + code.co_kwonlyargcount]
            found = (found or ()) + ((star_object_key(vararg, position - len(names)), type(arg)),)
    for name, arg in (keywords or {}).items():  # f(x, model=m)
        if type(arg) in _PLAIN_ARGUMENTS:
            continue
        from ..frontend.normalize_objects import user_instance

        code = func.__code__
        if name in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount] and user_instance(arg):
            found = (found or ()) + ((name, type(arg)),) + _held_objects(name, arg, args, keywords)
    kinds = parameter_kinds.argument_kinds(func, args, keywords)
    if kinds:  # (parameters whose kind, array or list, decides what an operator means)
        found = (found or ()) + ((parameter_kinds.KINDS_KEY, kinds),)
    return found


def _held_objects(name, obj, args=(), keywords=None):
    """The objects ``obj``, the argument ``name``, holds: see
    frontend.held_objects (the other arguments may hold them too)."""
    from ..frontend.held_objects import held_objects

    others = [a for a in list(args) + list((keywords or {}).values()) if a is not obj]
    return held_objects(name, obj, others)


class _Finder:
    """Finds the compiled VJP that a wrapper made by jacrev/grad/vjp runs.
    For a plain Python function the last one found per argument count and
    positions is remembered, and only checked (``is_current``) on each call."""

    def __init__(self, func, mode="vjp"):
        self.func = func
        self.mode = mode
        self.plain = type(func) is types.FunctionType
        self.found = {}
        self.inner = None  # the function the derivatives are of (found at the first call)

    def __call__(self, args, positions, has_aux, keywords=()):
        values = None
        if isinstance(keywords, dict):  # (the keyword arguments themselves: objects among them are followed)
            values, keywords = keywords, tuple(keywords)
        if self.inner is None:
            inner = self.func
            while made.of(inner) is not None:
                inner = made.of(inner)[0]  # (a derivative given objects of the user's classes: hessian(f, 1)(model, x))
            self.inner = inner
        inner = self.inner
        objects = object_arguments(inner, args, positions, values) if type(inner) is types.FunctionType else None
        if not self.plain:
            noted = parameter_kinds.sensitivity(inner)
            compiled = compiled_call(self.func, len(args), positions, has_aux, keywords=keywords, mode=self.mode,
                                     objects=objects, top_level=True)
            if type(inner) is types.FunctionType and parameter_kinds.sensitivity(inner) != noted:
                compiled = compiled_call(self.func, len(args), positions, has_aux, keywords=keywords,
                                         mode=self.mode, objects=object_arguments(inner, args, positions, values),
                                         top_level=True)
            return compiled
        key = (len(args), positions, has_aux, keywords, objects)
        found = self.found.get(key)
        if found is not None and found[0] == cache.generation and found[1].is_current():
            return found[1]
        _check_call(self.func, args, keywords)
        noted = parameter_kinds.sensitivity(inner)
        compiled = compiled_call(self.func, len(args), positions, has_aux, keywords=keywords, mode=self.mode,
                                 objects=objects, top_level=True)
        if parameter_kinds.sensitivity(inner) != noted:  # made again for the kinds of this call's arguments
            objects = object_arguments(inner, args, positions, values)
            key = (len(args), positions, has_aux, keywords, objects)
            compiled = compiled_call(self.func, len(args), positions, has_aux, keywords=keywords, mode=self.mode,
                                     objects=objects, top_level=True)
        self.found[key] = (cache.generation, compiled)
        return compiled
