"""Derivatives as Python functions that can be transformed again.

A function made by ``jacrev``, ``jacfwd`` or ``grad`` is, to the API, a
wrapper around a chunk loop. To differentiate it again (``jacfwd(jacrev(f))``,
``grad(grad(f))``, ``def g(x): return grad(f)(x) * x``), the transformer is
handed instead the function that ``derivative_function`` writes: a few lines
of Python source that call the generated code of the first transform and
build the Jacobian from it::

    def f_jacrev(x):
        out, residuals = f_forward(x)
        x_bar, = f_backward(residuals, rt.output_basis(out))
        return rt.jacobian_from_rows(x_bar, out, x)

``f_forward`` and ``f_backward`` are the generated functions themselves (their
source is registered with linecache), so the next transform reads and
differentiates them like any other code: higher order is source
transformation all the way down (DESIGN.md convention 3).

Guarantees: the function takes the positional parameters of the original
function (and its defaults) and returns what the wrapper returns for array
arguments and outputs, ``(jacobian, aux)`` with ``has_aux``.
"""
import inspect
import linecache
import re
import types
import weakref

from .. import errors, rules
from .. import runtime as rt
from ..frontend import parameter_kinds
from .inlined import inlined_text
from .inlined import register as register_lines

#: wrapper -> {number of arguments: (the derivative function, its compiled
#: transform)}, kept by the wrapper itself (see backend.cache.stored_on) or,
#: for a wrapper that is not a Python function, weakly: never by this module
_SLOT = "__adjoint_derivative_functions__"
_made = weakref.WeakKeyDictionary()
from ..made import derived, of, register, vmap_of  # noqa: E402,F401 (what transforms made)

#: what this module needs of the API and the cache, installed by adjoint.api
#: (compiled_call, check_argnums, differentiable, jacfwd, get_vmap), so that
#: neither imports the other both ways
API = {}


def derivative_function(wrapper, nargs, purpose="derivative", keywords=(), objects=None, top_level=False):
    """The Python function computing ``wrapper(*args, **kwargs)`` for
    ``nargs`` positional arguments and the keyword names ``keywords``
    (keyword-only parameters of the function written, passed on to the
    differentiated function and never differentiated), written over the
    generated code it runs (``purpose``: what it is for, "derivative" or
    "vmap", named by errors). ``objects``: the classes of the objects of the
    user's classes among the arguments (``calling.object_arguments``), whose
    changes the code follows (``hessian(f, 1)(model, x)``). ``top_level``:
    the user called the transform of the function written
    (``hessian(f)(x)``): ``f`` may set attributes of objects of its module
    and items of its lists to differentiated values, which nothing reads
    between the passes written here (api/passes.py restores them)."""
    made_for = _made_for(wrapper)
    keywords = tuple(keywords)
    key = (nargs, keywords) if keywords else nargs
    if objects:
        key = (key, objects)
    if top_level:
        key = (key, "top level")
    made = made_for.get(key)
    if made is not None and made[1].is_current():
        return made[0]
    func, kind, argnums, has_aux = of(wrapper)
    if kind == "value_and_grad":
        raise errors.value_and_grad_transformed_error(getattr(func, "__name__", "f"))
    if kind == "vmap":
        function, compiled = _vmapped(func, argnums, has_aux, nargs)
        made_for[key] = (function, compiled)
        return function
    positions = API["check_argnums"](argnums, nargs)
    params = _parameters(func, nargs)
    name = getattr(func, "__name__", "f")
    name = name if name.isidentifier() else "f"
    _check_keywords(name, kind, params, keywords)
    inlined = None
    # (objects given at the top level, hessian(f, 1)(model, x): the changes of objects the function did not
    # make are followed through the passes written here, and nothing else reads them. A derivative called
    # inside a differentiated function gets no objects: such changes stay refused, its caller may read them.)
    if kind == "jacfwd" or of(func) is not None:
        # (A derivative of a derivative is written in forward mode: its
        # reverse transform is itself forward mode, see JacobianVJP.)
        compiled = API["compiled_call"](func, nargs, positions, has_aux, mode="jvp", keywords=keywords,
                                        objects=objects)
        text, namespace = _forward_text(name, kind, params, positions, argnums, has_aux, compiled, keywords)
    else:
        compiled = API["compiled_call"](func, nargs, positions, has_aux, for_caller=True, keywords=keywords,
                                        objects=objects, outside_ok=bool(parameter_kinds.user_objects(objects)) or top_level
                                        or purpose == "vmap")
        stores = getattr(compiled, "outside_stores", None)
        if (purpose == "vmap" and stores and not parameter_kinds.user_objects(objects)
                and not top_level):  # vmap(jacrev(f)), f changing MODEL.a.W
            raise errors.vmap_changed_module_state(stores[0])
        text, namespace = _reverse_text(name, kind, params, positions, argnums, has_aux, compiled, keywords)
        if not keywords:  # (keyword arguments: the calls, which pass them on)
            inlined = inlined_text(name, kind, params, positions, argnums, has_aux, compiled)
    changed = getattr(compiled, "augmented_params", None)
    if changed:
        # (each pass of the next transform would change the caller's array again)
        parameter, location = next(iter(changed.items()))
        raise errors.changed_argument_twice_error(name, kind, parameter, location, purpose)
    shown = ", ".join(params + [f"{k}=..." for k in keywords])
    filename = f"<adjoint {kind} of {name}({shown}), argnums={argnums!r}>"
    from ..backend.compile import unique_filename

    if inlined is not None:
        # the passes written into the function, which runs in their namespace (api/inlined.py)
        text, own = inlined
        filename = unique_filename(filename, text)
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        exec(compile(text, filename, "exec"), compiled.namespace)
        function = compiled.namespace.pop(f"{name}_{kind}")
        function.__adjoint_owner__ = weakref.ref(compiled)
        register_lines(filename, text, own, compiled)
    else:
        filename = unique_filename(filename, text)
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        namespace.update({"rt": rt, "__name__": "adjoint_generated"})
        exec(compile(text, filename, "exec"), namespace)
        function = namespace[f"{name}_{kind}"]
    function.__adjoint_derivative__ = compiled
    function.__adjoint_vjp__ = lambda positions, has_aux: JacobianVJP(function, positions, has_aux)
    derived(function, wrapper)  # (errors name it as the user wrote it: jacrev(f))
    made_for[key] = (function, compiled)
    return function


def _made_for(wrapper):
    """The derivative functions already written for ``wrapper``, by number of arguments."""
    from ..backend import cache

    if type(wrapper) is types.FunctionType:
        return cache.stored_on(wrapper, _SLOT) or cache.store_on(wrapper, _SLOT)
    return _made.setdefault(wrapper, {})


def _parameters(func, nargs):
    code = getattr(func, "__code__", None)
    if code is not None and code.co_argcount >= nargs and not code.co_flags & inspect.CO_VARARGS:
        names = list(code.co_varnames[:nargs])
        if all(n.isidentifier() and not n.startswith("_adjoint") for n in names):
            return [n if n not in ("rt", "residuals", "tangents") else f"{n}_arg" for n in names]
    return [f"x{i}" for i in range(nargs)]


#: names the written derivative functions use themselves: not keywords they can pass on
_OWN_NAMES = {"rt", "out", "out_dot", "result", "aux", "residuals", "total", "tangents", "value", "blocks",
              "output", "g"}


def _check_keywords(name, kind, params, keywords):
    """Keyword arguments of a derivative's call become keyword-only
    parameters of the function written for it: refused, with what to do,
    where they cannot be (a name the function uses, or not an identifier)."""
    taken = set(params) | _OWN_NAMES | {f"{p}_bar" for p in params} | {f"{p}_dot" for p in params}
    bad = [k for k in keywords if not k.isidentifier() or k in taken or k.startswith(name + "_")]
    if bad:
        raise TypeError(f"cannot pass the keyword argument(s) {', '.join(bad)} to {kind} of {name} when it is "
                        "differentiated again: pass them by position, or fix them with functools.partial.")


def signature_with_keywords(params, keywords):
    """``x, y, *, axis`` for the parameters and keyword-only ``keywords``."""
    return ", ".join(list(params) + (["*"] + list(keywords) if keywords else []))


def call_with_keywords(pieces, keywords):
    """``x, y, axis=axis``: a call passing ``keywords`` on by name."""
    return ", ".join(list(pieces) + [f"{k}={k}" for k in keywords])


def _reverse_text(name, kind, params, positions, argnums, has_aux, compiled, keywords=()):
    forward, backward = f"{name}_forward", f"{name}_backward"
    namespace = {forward: compiled.forward, backward: compiled.backward}
    bars = [f"{params[p]}_bar" for p in positions]
    lines = [f"def {name}_{kind}({signature_with_keywords(params, keywords)}):"]
    result = "result" if has_aux else "out"
    lines.append(f"    {result}, residuals = {forward}({call_with_keywords(params, keywords)})")
    if has_aux:
        lines.append("    out, aux = result")
    seed = "rt.scalar_seed(out)" if kind == "grad" else "rt.output_basis(out)"
    lines.append(f"    {', '.join(bars)}, = {backward}(residuals, {seed})")
    helper = "gradient_from_row" if kind == "grad" else "jacobian_from_rows"
    blocks = [f"rt.{helper}({bar}, out, {params[p]})" for bar, p in zip(bars, positions, strict=True)]
    value = blocks[0] if isinstance(argnums, int) else f"({', '.join(blocks)},)"
    lines.append(f"    return {value}, aux" if has_aux else f"    return {value}")
    return "\n".join(lines) + "\n", namespace


def _forward_text(name, kind, params, positions, argnums, has_aux, compiled, keywords=()):
    jvp = f"{name}_jvp"
    namespace = {jvp: compiled.jvp}
    call_args = ", ".join(params)
    fixed = getattr(compiled, "fixed_call", None)
    if fixed is not None and not fixed[3]:
        # A callable object, bound method or partial: its fixed arguments (the
        # object first) written into the call of the generated JVP itself, so
        # that the next transform reads that code (the JVP's wrapper is a lambda).
        raw, leading, fixed_keywords, _ = fixed
        namespace = {jvp: raw}
        pieces = []
        for i, value in enumerate(leading):
            namespace[f"{name}_fixed_{i}"] = value
            pieces.append(f"{name}_fixed_{i}")
        pieces.extend(params)
        for i, (key, value) in enumerate(fixed_keywords.items()):
            namespace[f"{name}_fixed_keyword_{i}"] = value
            pieces.append(f"{key}={name}_fixed_keyword_{i}")
        call_args = ", ".join(pieces)
    call_args = call_with_keywords([call_args], keywords)
    dots = [f"{params[p]}_dot" for p in positions]
    lines = [f"def {name}_{kind}({signature_with_keywords(params, keywords)}):"]
    sizes = " + ".join(f"rt.size_of({params[p]})" for p in positions)
    lines.append(f"    total = {sizes}")
    offset = "0"
    for dot, p in zip(dots, positions, strict=True):
        lines.append(f"    {dot} = rt.input_basis({params[p]}, {offset}, total)")
        offset = f"{offset} + rt.size_of({params[p]})" if offset != "0" else f"rt.size_of({params[p]})"
    result = "result" if has_aux else "out"
    lines.append(f"    {result}, out_dot = {jvp}((total, {', '.join(dots)}), {call_args})")
    if has_aux:
        lines.append("    out, aux = result")
    # the tangent of all inputs at once, split into one block per argument
    offset = "0"
    blocks = []
    for p in positions:
        blocks.append(f"rt.jacobian_from_columns(out_dot, out, {params[p]}, {offset})")
        offset = f"{offset} + rt.size_of({params[p]})" if offset != "0" else f"rt.size_of({params[p]})"
    # (an output container holds a tuple of blocks per leaf, as jacfwd returns them)
    value = blocks[0] if isinstance(argnums, int) else f"rt.jacobian_blocks(({', '.join(blocks)},), out)"
    lines.append(f"    return {value}, aux" if has_aux else f"    return {value}")
    return "\n".join(lines) + "\n", namespace



def _vmapped(func, in_dims, out_dims, nargs):
    """The function a ``vmap`` wrapper computes, written over the batched
    code: batch axes moved to the front, the batched function, the result's
    batch axis moved to ``out_dims``."""
    if of(func) is not None:  # a vmap of a derivative or of a vmap: its code
        func = derivative_function(func, nargs, "vmap")
    per_arg = in_dims if isinstance(in_dims, tuple) else (in_dims,) * nargs
    if len(per_arg) != nargs or any(d is not None and not isinstance(d, int) for d in per_arg) or not (
            isinstance(out_dims, int)):
        raise errors.TransformError(
            None, "a vmap differentiated", "a vmap is differentiated for in_dims given as ints or None per "
            "argument and an int out_dims only.", "Move the batch axes yourself, or use in_dims=0.")
    params = _parameters(func, nargs)
    positions = tuple(i for i, d in enumerate(per_arg) if d is not None)
    if not positions:
        raise ValueError("vmap: every input has in_dims None; at least one argument must be mapped over.")
    if not isinstance(func, type(_parameters)) and rules.lookup(func) is not None:
        func = API["differentiable"](func, nargs)
    compiled = API["get_vmap"](func, positions)
    if getattr(compiled, "source", "").startswith("# vmap of") or not hasattr(compiled, "namespace"):
        raise errors.looped_vmap_differentiated(getattr(compiled, "reason", None))
    name = getattr(func, "__name__", "f")
    name = name if name.isidentifier() else "f"
    written = re.search(r"rt\.vwrite_back(?:_shared)?\((\w+)", getattr(compiled, "source", ""))
    if written:
        # (the batched code writes into the caller's array as it runs: a derivative's passes
        # (its value, then its tangents) would each read what the one before wrote)
        raise errors.TransformError(
            None, f"a vmap of {name} differentiated",
            f"{name} changes its argument {written.group(1)!r} in place, and the passes of the derivative "
            "would each read the value an earlier pass wrote there.",
            f"Work on a copy in {name}: {written.group(1)} = {written.group(1)}.copy().")
    batched_name = f"{name}_vmap"
    lines = [f"def {name}_vmapped({', '.join(params)}):"]
    first = positions[0]
    lines.append(f"    batch = rt.size_along({params[first]}, {per_arg[first]})")
    moved = []
    for param, dim in zip(params, per_arg, strict=True):
        if dim is None or dim == 0:
            moved.append(param)
        else:
            lines.append(f"    {param}_mapped = np.moveaxis({param}, {dim}, 0)")
            moved.append(f"{param}_mapped")
    call = f"{batched_name}(batch, {', '.join(moved)})"
    lines.append(f"    out = {call}" if compiled.out_batched else f"    out = rt.to_batched({call}, batch)")
    lines.append("    return out" if out_dims == 0 else f"    return np.moveaxis(out, 0, {out_dims})")
    text = "\n".join(lines) + "\n"
    filename = f"<adjoint vmap of {name}({', '.join(params)}), in_dims={in_dims!r}, out_dims={out_dims!r}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    import numpy as np

    namespace = {"rt": rt, "np": np, "__name__": "adjoint_generated", batched_name: compiled.vmap}
    exec(compile(text, filename, "exec"), namespace)
    function = namespace[f"{name}_vmapped"]
    function.__adjoint_derivative__ = compiled
    function.__adjoint_vjp__ = lambda positions, has_aux: JacobianVJP(function, positions, has_aux)
    return function, compiled


def _restoring_state(jacobian, function, positions, has_aux):
    """``jacobian`` (the jacfwd of the derivative function ``function``),
    or, if ``function`` changes state besides its result (attributes of an
    object of its module, items of a module's list: api/passes.py), a
    function calling it that gives that state back as it was before: the
    value's call after it changes the state once, as the plain call does."""
    from . import passes

    if not passes.derivative_changes_state(function):
        return jacobian

    def restoring(*args, **kwargs):
        guard = passes.Guard(function, None)
        args, kwargs = guard.arguments(args, kwargs)
        try:
            return jacobian(*args, **kwargs)
        finally:
            guard.restore()

    register(restoring, function, "jacfwd", tuple(positions), has_aux)  # (transformed again: jacfwd(function))
    return restoring


class JacobianVJP:
    """The reverse-mode transform of a derivative function, carried out by
    forward mode over it: its forward pass computes the value and, by the
    generated tangent code, the Jacobian blocks of the differentiated
    arguments; its backward pass contracts cotangents with those blocks.
    (The Jacobian is the same whichever mode computes it; for a Hessian,
    forward over reverse is also the cheaper order.) It has the interface of
    a compiled VJP: ``forward``, ``backward``, ``is_current``, ``source``.

    ``forward`` and ``backward`` are written as Python source over the
    derivative function and its ``jacfwd`` (itself a derivative function),
    so that a function calling a derivative can be differentiated again:
    forward mode reads them like any code (the call of the ``jacfwd``
    wrapper, as a derivative called in a function) (``hessian(g)`` with
    ``g(x) = grad(f)(x) * x``)::

        def f_grad_forward(x):
            blocks = f_grad_jacfwd(x)
            value = f_grad(x)
            return value, (blocks, value)

        def f_grad_backward(residuals, g):
            blocks, output = residuals
            return (rt.contract_blocks(g, blocks, output, 0),)
    """

    independent = None
    augmented_params = {}
    callee_transforms = ()
    number_globals = {}

    def __init__(self, function, positions, has_aux):
        self.function = function
        self.positions = positions
        self.has_aux = has_aux
        code = function.__code__
        nargs = code.co_argcount
        # (keyword-only parameters: keywords the derivative's call passes on, never differentiated)
        keywords = code.co_varnames[nargs:nargs + code.co_kwonlyargcount]
        # (called, the jacfwd wrapper takes any pytree; transformed again, its
        # call is differentiated through the derivative function it computes)
        self.jacobian = API["jacfwd"](function, argnums=tuple(positions), has_aux=has_aux)
        params = _parameters(function, nargs)
        params = [p if p not in ("value", "blocks", "output", "g") else f"{p}_arg" for p in params]
        name = function.__name__ if function.__name__.isidentifier() else "f"
        args = call_with_keywords(params, keywords)
        value = "value, aux" if has_aux else "value"
        # (the blocks first, the value last: a function that changes the module's state
        # changes it once, by the value's call, and its blocks are taken at the state of entry)
        lines = [f"def {name}_forward({signature_with_keywords(params, keywords)}):",
                 f"    blocks, _ = {name}_jacfwd({args})" if has_aux else f"    blocks = {name}_jacfwd({args})",
                 f"    result = {name}({args})",
                 f"    {value} = result" if has_aux else "    value = result",
                 "    return result, (blocks, value)",
                 "",
                 "",
                 f"def {name}_backward(residuals, g):",
                 "    blocks, output = residuals",
                 "    return (" + "".join(f"rt.contract_blocks(g, blocks, output, {i}), "
                                         for i in range(len(positions))) + ")",
                 ""]
        self.source = "\n".join(lines)
        filename = f"<adjoint vjp of {name}({', '.join(params)}), positions={tuple(positions)!r}>"
        from ..backend.compile import unique_filename

        filename = unique_filename(filename, self.source)
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True), filename)
        namespace = {"rt": rt, "__name__": "adjoint_generated", name: function,
                     f"{name}_jacfwd": _restoring_state(self.jacobian, function, positions, has_aux)}
        exec(compile(self.source, filename, "exec"), namespace)
        self.namespace = namespace  # (read by backend.compile.transforms_reached, for source())
        self.forward = namespace[f"{name}_forward"]
        self.backward = namespace[f"{name}_backward"]
        self.rt_name = "rt"

    def is_current(self):
        return self.function.__adjoint_derivative__.is_current()

    def derivative_transform(self):
        """The generated code of the derivative function this transform runs
        forward mode over: ``source()`` shows it after this one."""
        return self.function.__adjoint_derivative__
