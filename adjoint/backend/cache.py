"""The cache of compiled transforms.

Entries are kept per function (weakly, so a cached transform never keeps a
function alive) and per options: the transform, the differentiated argument
positions, and has_aux. Shapes and dtypes are not part of the key: the generated code is
shape-polymorphic. An entry is dropped and rebuilt when a function it calls
has been re-bound since (``CompiledVJP.is_current``).
"""
import weakref

from .pipeline import jvp_transform, vjp_transform, vmap_transform

_by_function = weakref.WeakKeyDictionary()
_unweakrefable = {}


def _entries(func):
    try:
        return _by_function.setdefault(func, {})
    except TypeError:
        return _unweakrefable.setdefault(func, {})


class Callees:
    """What a transform being built asks about the functions its code calls,
    handed to the pipeline (transform.py) and by it to the front end, the
    analyses and the builders, so that none of them imports the cache: their
    own transforms (cached), a lazy stand-in for a recursive call, and the
    function a derivative made by a transform computes (installed by the API)."""

    def __init__(self):
        #: (function, mode) of the transforms being built (a call of one is recursive)
        self.building = set()
        #: (wrapper, number of arguments) -> a Python function; set by the API
        self.derivative_function = None
        #: the API's transforms (jacrev, jacfwd, grad, hessian), which a
        #: function may call in place: adjoint.grad(f)(x); set by the API
        self.makers = ()

    def vjp(self, function, positions, arity=None):
        return get_vjp(function, positions, False, for_caller=True, arity=arity)

    def jvp(self, function, positions, arity=None):
        return get_jvp(function, positions, False, arity=arity)

    def vmap(self, function, positions, arity=None):
        return get_vmap(function, positions, arity=arity)

    def in_progress(self, function, mode="vjp"):
        return (function, mode) in self.building

    def lazy(self, function, positions, which, mode="vjp", arity=None):
        return LazyCallee(function, positions, which, mode, arity)

    def resolve(self, callee):
        """A recursive call's stand-in in generated code -> the generated
        function it stands for; anything else as it is."""
        return callee.resolve() if isinstance(callee, LazyCallee) else callee


CALLEES = Callees()


def _building(func, mode, build):
    CALLEES.building.add((func, mode))
    try:
        return build()
    finally:
        CALLEES.building.discard((func, mode))


def get_vjp(func, wrt_positions, has_aux, for_caller=False, arity=None):
    """The compiled VJP of ``func``. ``for_caller``: the version another
    transformed function calls, whose backward returns zeros (not None) for
    arguments the output does not depend on. ``arity``: for a function with
    *args or **kwargs, the (positional count, keyword names) of the calls
    it is made for (``ir.arity_of``); part of the key."""
    entries = _entries(func)
    key = ("vjp", wrt_positions, has_aux, for_caller) + ((arity,) if arity is not None else ())
    compiled = entries.get(key)
    if compiled is None or not compiled.is_current():
        made_by_derivatives = getattr(func, "__adjoint_vjp__", None)
        if made_by_derivatives is not None:  # a derivative: reverse mode through its forward mode
            compiled = made_by_derivatives(wrt_positions, has_aux)
        else:
            compiled = _building(func, "vjp", lambda: vjp_transform(func, wrt_positions, has_aux, for_caller,
                                                                     CALLEES, arity))
        entries[key] = compiled
    return compiled


def get_jvp(func, wrt_positions, has_aux, arity=None):
    """The compiled forward-mode transform of ``func`` (``arity``: see get_vjp)."""
    entries = _entries(func)
    key = ("jvp", wrt_positions, has_aux) + ((arity,) if arity is not None else ())
    compiled = entries.get(key)
    if compiled is None or not compiled.is_current():
        compiled = _building(func, "jvp", lambda: jvp_transform(func, wrt_positions, has_aux, CALLEES, arity))
        entries[key] = compiled
    return compiled


def get_vmap(func, batched_positions, arity=None):
    """The compiled batched (vmap) transform of ``func`` (``arity``: see get_vjp)."""
    entries = _entries(func)
    key = ("vmap", batched_positions) + ((arity,) if arity is not None else ())
    compiled = entries.get(key)
    if compiled is None or not compiled.is_current():
        compiled = _building(func, "vmap", lambda: vmap_transform(func, batched_positions, CALLEES, arity))
        entries[key] = compiled
    return compiled


class LazyCallee:
    """The forward or backward function of a recursive call's transform,
    compiled on first use (the transform is still being built when the
    recursive call is met)."""

    def __init__(self, function, positions, which, mode="vjp", arity=None):
        self.arity = arity
        self.mode = mode
        self.function = function
        self.positions = positions
        self.which = which
        self.target = None

    def __call__(self, *args, **kwargs):
        # Found once: the caller's own transform is rebuilt if the function
        # is re-bound, which makes a new LazyCallee. Each level of recursion
        # then costs one frame here and one in the generated code.
        target = self.target
        if target is None:
            target = self.resolve()
        return target(*args, **kwargs)

    def compiled_transform(self):
        """The compiled transform this stands for (listing and export find it so)."""
        if self.mode == "jvp":
            return get_jvp(self.function, self.positions, False, arity=self.arity)
        return get_vjp(self.function, self.positions, False, for_caller=True, arity=self.arity)

    def resolve(self):
        """The generated function this stands for (compiled now if it is not
        yet): what a transform of the generated code calls and follows."""
        if self.target is None:
            if self.mode == "jvp":
                compiled = get_jvp(self.function, self.positions, False, arity=self.arity)
            else:
                compiled = get_vjp(self.function, self.positions, False, for_caller=True, arity=self.arity)
            self.target = getattr(compiled, self.which)
        return self.target


#: bumped by clear(): a transform found before then must be looked up again.
generation = 0


def clear():
    """Forget every compiled transform (after a new rule is registered)."""
    global generation
    generation += 1
    _by_function.clear()
    _unweakrefable.clear()
