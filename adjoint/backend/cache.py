"""The cache of compiled transforms.

Entries are kept per function and per options: the transform, the
differentiated argument positions, and has_aux. Shapes and dtypes are not
part of the key: the generated code is shape-polymorphic. An entry is
dropped and rebuilt when a function it calls has been re-bound since
(``CompiledVJP.is_current``).

A cached transform never keeps its function alive. The generated code holds
the function (``CompiledVJP.func``, its resolver) and what it reads (a
closure's captured arrays are globals of the generated module), so the
entries of a Python function are stored on the function itself
(``__adjoint_transforms__`` in its ``__dict__``): they form a cycle with it
that the garbage collector frees with it, and no module-level table holds
either. Other callables (rare: the API unwraps bound methods, partials and
callable objects to their Python functions) are keys of a
``WeakKeyDictionary``.

The cache is bounded: at most ``MAX_FUNCTIONS_PER_CODE`` functions made
from one code object (the closures ``make_loss(data)`` returns, one per
call) keep their transforms; the least recently used one beyond that loses
them and is transformed again if it is differentiated again.
"""
import collections
import threading
import types
import weakref

from ..runtime.batched import to_batched
from .. import errors
from . import local_calls
from .pipeline import callee_facts, jvp_transform, vjp_transform, vmap_transform

#: how many functions sharing one code object keep their compiled transforms
#: (least recently used first out); see the module docstring.
MAX_FUNCTIONS_PER_CODE = 32

_SLOT = "__adjoint_transforms__"
_by_function = weakref.WeakKeyDictionary()
_unweakrefable = {}
#: code object -> OrderedDict(id(function) -> weakref to it), least recently used first
_recent = weakref.WeakKeyDictionary()


class _Entries(dict):
    """The transforms of one Python function, kept in its ``__dict__``.
    ``functools.wraps`` copies a function's ``__dict__`` to its wrapper, so
    the entries name the function they belong to (weakly) and the cache
    generation they were made in; a pickled function carries none."""

    __slots__ = ("owner", "generation", "recent", "__weakref__")

    def __reduce__(self):
        return (_Entries, ())


def stored_on(func, slot):
    """The dict that ``func`` (a Python function) keeps under ``slot`` in its
    ``__dict__`` for adjoint, or None: None too for one copied from another
    function by ``functools.wraps``, or made before the last ``clear()``."""
    found = func.__dict__.get(slot)
    if type(found) is _Entries and found.generation == generation and found.owner() is func:
        return found
    return None


def store_on(func, slot):
    """A new empty dict kept by ``func`` under ``slot`` (see stored_on): it
    lives and dies with ``func``, and may refer to it."""
    entries = _Entries()
    entries.owner = weakref.ref(func)
    entries.generation = generation
    func.__dict__[slot] = entries
    return entries


def _entries(func):
    if type(func) is types.FunctionType:
        found = stored_on(func, _SLOT)
        if found is not None:
            try:
                found.recent.move_to_end(id(func))
            except (AttributeError, KeyError):  # not counted (yet, or any more)
                pass
            return found
        return _new_entries(func)
    try:
        return _by_function.setdefault(func, {})
    except TypeError:
        return _unweakrefable.setdefault(func, {})


def _new_entries(func):
    """Fresh entries stored on ``func``, counted among its code object's
    functions (the least recently used beyond the bound lose theirs)."""
    entries = store_on(func, _SLOT)
    code = func.__code__
    recent = _recent.get(code)
    if recent is None:
        recent = _recent[code] = collections.OrderedDict()
    key = id(func)

    def forget(_, recent=recent, key=key):
        recent.pop(key, None)

    recent[key] = weakref.ref(func, forget)
    entries.recent = recent
    recent.move_to_end(key)
    while len(recent) > MAX_FUNCTIONS_PER_CODE:
        _, oldest = recent.popitem(last=False)
        old = oldest()
        if old is not None and stored_on(old, _SLOT) is not None:
            del old.__dict__[_SLOT]
    return entries


def cached_functions(code):
    """The live functions made from ``code`` that hold compiled transforms
    (least recently used first)."""
    recent = _recent.get(code) or {}
    return [f for f in (ref() for ref in list(recent.values())) if f is not None and stored_on(f, _SLOT)]


#: transforms are built one at a time: CALLEES tracks the ones in progress
#: (to see recursion), and generated code running on threads (jacrev's and
#: jacfwd's executor=) may transform its callees when it first reaches them
_BUILD_LOCK = threading.RLock()


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
        #: held while a transform is built (see _BUILD_LOCK)
        self.lock = _BUILD_LOCK

    def vjp(self, function, positions, arity=None):
        return get_vjp(function, positions, False, for_caller=True, arity=arity)

    def jvp(self, function, positions, arity=None):
        return get_jvp(function, positions, False, arity=arity, for_caller=True)

    def vmap(self, function, positions, arity=None):
        return get_vmap(function, positions, arity=arity)

    def in_progress(self, function, mode="vjp"):
        return (function, mode) in self.building

    def lazy(self, function, positions, which, mode="vjp", arity=None):
        return LazyCallee(function, positions, which, mode, arity)

    def facts(self, function):
        """What a caller of the user's ``function`` needs to know of it
        (pipeline.callee_facts): whether it returns a value it made, and
        which parameters it changes in place."""
        return callee_facts(function, self)

    def resolve(self, callee):
        """A stand-in in generated code (a recursive call's, a small
        function's local-Jacobian call) -> the generated function it stands
        for; anything else as it is."""
        if isinstance(callee, LazyCallee) or type(callee) in local_calls.STAND_INS:
            return callee.resolve()
        return callee

    def reverse_pair(self, function, compiled, positions, arity=None):
        """The forward and backward functions a caller's generated code calls
        for ``compiled`` (the callee's vjp): stand-ins that go through the
        callee's local Jacobian when it is small (backend/local_calls.py)."""
        if not _plain_transform(function, compiled, arity):
            return compiled.forward, compiled.backward
        return local_calls.reverse_pair(function, compiled, positions, self)

    def forward_function(self, function, compiled, positions, arity=None):
        """The forward-mode function a caller's generated code calls (see reverse_pair)."""
        if not _plain_transform(function, compiled, arity):
            return compiled.jvp
        return local_calls.forward_function(function, compiled, positions, self)


def _plain_transform(function, compiled, arity):
    """Whether ``compiled`` is the pipeline's own transform of the Python
    function ``function`` (not a derivative's, nor one specialized to *args):
    the kind a local Jacobian may stand in for."""
    return (arity is None and type(function) is types.FunctionType
            and getattr(function, "__adjoint_vjp__", None) is None
            and isinstance(getattr(compiled, "namespace", None), dict)
            and getattr(compiled, "func", None) is function)


CALLEES = Callees()


def _building(func, mode, build):
    with _BUILD_LOCK:
        CALLEES.building.add((func, mode))
        try:
            return build()
        finally:
            CALLEES.building.discard((func, mode))


def get_vjp(func, wrt_positions, has_aux, for_caller=False, arity=None, objects=None, outside_ok=False,
            real_params=False):
    """The compiled VJP of ``func``. ``for_caller``: the version another
    transformed function calls, whose backward returns zeros (not None) for
    arguments the output does not depend on. ``arity``: for a function with
    *args or **kwargs, the (positional count, keyword names) of the calls
    it is made for (``ir.arity_of``); part of the key. ``objects``: the
    objects of the user's classes the call passes in, ((parameter name,
    class), ...) (``calling.object_arguments``); part of the key.
    ``outside_ok``: the caller is a derivative function written over this
    transform's passes (api/derivatives.py), which reads no attribute
    itself: changes of objects it did not make are followed there.
    ``real_params``: the API calls it with real arguments (not a function
    the user's code calls, which may pass complex values: docs/complex.md)."""
    entries = _entries(func)
    key = ("vjp", wrt_positions, has_aux, for_caller) + ((arity,) if arity is not None else ())
    if objects:
        key += (("objects", objects),)
    if real_params:
        key += (("real", True),)
    compiled = entries.get(key)
    if compiled is None or not compiled.is_current():
        made_by_derivatives = getattr(func, "__adjoint_vjp__", None)
        twin = entries.get(key[:3] + (not for_caller,) + key[4:])
        if made_by_derivatives is not None:  # a derivative: reverse mode through its forward mode
            compiled = made_by_derivatives(wrt_positions, has_aux)
        elif twin is not None and getattr(twin, "same_for_caller", False) and twin.is_current():
            # the other for_caller's transform, whose code is this one's: every
            # adjoint it returns is an array (no None a caller would read as 0)
            compiled = twin
        else:
            compiled = _building(func, "vjp", lambda: vjp_transform(func, wrt_positions, has_aux, for_caller,
                                                                     CALLEES, arity, objects, real_params))
        entries[key] = compiled
    if for_caller and not outside_ok:
        _refuse_outside_stores(compiled)
    return compiled


def _refuse_outside_stores(compiled):
    """A transform used by another transformed function must not change the
    attributes of objects it did not make with differentiated values
    (normalize_objects): the caller would read them without derivative."""
    stores = getattr(compiled, "outside_stores", None)
    if stores:
        raise errors.outside_object_change_error(stores[0])


def get_jvp(func, wrt_positions, has_aux, arity=None, for_caller=False, objects=None, outside_ok=False,
            real_params=False):
    """The compiled forward-mode transform of ``func`` (``arity``: see
    get_vjp; ``for_caller``: another transformed function calls it, which
    is not part of the key but is refused for some, see _refuse_outside_stores)."""
    entries = _entries(func)
    key = ("jvp", wrt_positions, has_aux) + ((arity,) if arity is not None else ())
    if objects:
        key += (("objects", objects),)
    if real_params:  # (see get_vjp)
        key += (("real", True),)
    compiled = entries.get(key)
    if compiled is None or not compiled.is_current():
        compiled = _building(func, "jvp", lambda: jvp_transform(func, wrt_positions, has_aux, CALLEES, arity,
                                                                 objects, real_params))
        entries[key] = compiled
    if for_caller and not outside_ok:
        _refuse_outside_stores(compiled)
    return compiled


def get_vmap(func, batched_positions, arity=None, objects=None):
    """The compiled batched (vmap) transform of ``func`` (``arity``: see get_vjp;
    ``objects``: the objects of the user's classes the call passes, as for get_vjp)."""
    entries = _entries(func)
    key = ("vmap", batched_positions) + ((arity,) if arity is not None else ())
    if objects:
        key += (("objects", objects),)
    compiled = entries.get(key)
    if compiled is None or not compiled.is_current():
        compiled = _building(func, "vmap", lambda: vmap_transform(func, batched_positions, CALLEES, arity,
                                                                   objects))
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
            return get_jvp(self.function, self.positions, False, arity=self.arity, for_caller=True)
        if self.mode == "vmap":
            return get_vmap(self.function, self.positions, arity=self.arity)
        return get_vjp(self.function, self.positions, False, for_caller=True, arity=self.arity)

    def resolve(self):
        """The generated function this stands for (compiled now if it is not
        yet): what a transform of the generated code calls and follows."""
        if self.target is None:
            compiled = self.compiled_transform()
            if self.mode == "vmap":
                self.target = _always_batched(compiled)
            else:
                self.target = getattr(compiled, self.which)
        return self.target


def _always_batched(compiled):
    """A recursive call's batched function, whose result the caller reads as
    batched (its own transform, being built, cannot tell yet): a result the
    callee leaves unbatched gets the batch axis."""
    run = compiled.vmap
    if compiled.out_batched:
        return run

    def batched(batch, *args, **kwargs):
        return to_batched(run(batch, *args, **kwargs), batch)
    return batched


#: bumped by clear(): a transform found before then must be looked up again.
generation = 0


def clear():
    """Forget every compiled transform (after a new rule is registered)."""
    global generation
    generation += 1
    _by_function.clear()
    _unweakrefable.clear()
    _recent.clear()  # (the entries stored on functions are of an older generation now)
