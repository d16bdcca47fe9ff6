"""The rule registry: derivative rules are plain Python templates.

An adjoint rule is a function whose first parameter is the primitive's result
and whose other parameters are the primitive's own, with NumPy's names and
defaults. Its body states each input's contribution with the ``bar`` marker::

    @adjoint_rule(np.multiply)
    def multiply_adjoint(z, x1, x2):
        bar[x1] = rt.unbroadcast(bar[z] * x2, x1)
        bar[x2] = rt.unbroadcast(bar[z] * x1, x2)

Templates are never called: the transformer reads their source and expands it
into generated code (``adjoint.templates``). ``bar[z]`` has the batched shape
``(B,) + z.shape`` and each ``bar[x]`` must have shape ``(B,) + x.shape``.
A keyword argument written ``name=name`` in a template call is left out of the
generated code when the user did not pass ``name``, so the callee's default
must equal the template's.

A call the user makes with an argument the template does not name fails at
transform time: a rule only accepts what it differentiates correctly.
"""
import importlib
import inspect
import sys

from .signatures import call_signature


class _BarMarker:
    """``bar[x]`` in a template: the adjoint of ``x``. Only read, never run."""

    def __getitem__(self, key):
        raise RuntimeError("bar[...] only has meaning inside a rule template.")

    def __setitem__(self, key, value):
        raise RuntimeError("bar[...] only has meaning inside a rule template.")


bar = _BarMarker()


class _DotMarker:
    """``dot[x]`` in a tangent template: the tangent of ``x``. Only read, never run."""

    def __getitem__(self, key):
        raise RuntimeError("dot[...] only has meaning inside a rule template.")

    def __setitem__(self, key, value):
        raise RuntimeError("dot[...] only has meaning inside a rule template.")


dot = _DotMarker()


class _VecMarker:
    """``vec[x]`` in a batching template: ``x`` with a leading batch axis."""

    def __getitem__(self, key):
        raise RuntimeError("vec[...] only has meaning inside a rule template.")

    def __setitem__(self, key, value):
        raise RuntimeError("vec[...] only has meaning inside a rule template.")


vec = _VecMarker()

#: primitive -> batching template (vmap): ``vec[z] = ...`` over ``vec[x]``.
BATCH_RULES = {}


def batch_rule(*primitives):
    """Register the decorated template as the batching rule of ``primitives``:
    one statement ``vec[z] = expr`` computing the batched result from the
    batched arguments ``vec[x]`` (shape ``(B,) + x.shape``); an argument the
    template does not read through ``vec`` must not carry a batch axis (the
    op then runs once per example). ``batch`` is the batch size."""

    def register(template):
        for primitive in primitives:
            BATCH_RULES[primitive] = template
        return template

    return register


#: primitive -> name of a runtime helper that batches it given which of its
#: arguments are batched (called as ``rt.vmap_loop`` is: ``batch, flags,
#: keyword_flags, *args``), for helpers that take other helpers as values
#: (``rt.merged(rt.unbroadcast, t, x)``): it merges the vmap axis into the
#: helper's own batch where the arguments allow, and loops where they do not.
FLAG_BATCHED = {}
#: helpers that batch like elementwise functions (operands aligned by rank)
ELEMENTWISE_HELPERS = set()


def batched_by_flags(primitive, helper_name):
    FLAG_BATCHED[primitive] = helper_name


#: primitive -> the runtime helper that batches it when an index it reads
#: only as an index (not with ``vec[...]`` in its batching rule) carries the
#: batch axis; called as the FLAG_BATCHED helpers are (runtime/batched_scatter.py)
INDEX_BATCHED = {}


def batched_by_index(primitive, helper_name):
    INDEX_BATCHED[primitive] = helper_name


def batched_index_helper(primitive):
    try:
        return INDEX_BATCHED.get(primitive)
    except TypeError:
        return None


def batched_by_flags_helper(primitive):
    try:
        return FLAG_BATCHED.get(primitive)
    except TypeError:
        return None


def elementwise_helpers(*primitives):
    ELEMENTWISE_HELPERS.update(primitives)


def lookup_batch(primitive):
    if _pending_families:
        load_optional_rules()
    try:
        return BATCH_RULES.get(primitive)
    except TypeError:
        return None


def is_elementwise(primitive):
    """Elementwise functions batch by aligning their operands."""
    try:
        return primitive in ELEMENTWISE_TANGENTS or primitive in ELEMENTWISE_HELPERS or (
            type(primitive).__name__ == "ufunc" and primitive.signature is None)
    except TypeError:
        return False

#: primitive -> template function, for reverse mode.
ADJOINT_RULES = {}
#: primitive -> template function, for forward mode.
TANGENT_RULES = {}
#: primitives whose tangent template reads each ``dot[x]`` lifted to the
#: result's shape (elementwise functions, which broadcast).
ELEMENTWISE_TANGENTS = set()
#: primitive -> parameters whose tangent contributes nothing (shapes,
#: masks, piecewise-constant choices: ``rt.unbroadcast(g, x)`` reads only x's shape).
TANGENT_CONSTANTS = {}
#: primitive -> CustomJVP, registered by users through adjoint.defjvp.
CUSTOM_JVPS = {}
#: functions whose results never carry a derivative (sign, argmax, shape...).
NONDIFFERENTIABLE = set()
#: primitive -> CustomVJP, registered by users through adjoint.defvjp.
CUSTOM_VJPS = {}


#: primitives whose rule gives an argument that is a list or tuple of
#: arrays (np.stack(items)) an adjoint with its structure, one per item.
SEQUENCE_RULES = set()
#: primitives that return a tuple or list of arrays (np.linalg.qr, np.split):
#: the adjoints of their results add up item by item.
TUPLE_RESULTS = set()


#: primitive -> parameters whose adjoint contribution is zero (read only for shapes).
ADJOINT_CONSTANTS = {}


def adjoint_rule(*primitives, sequences=False, tuple_result=False, constant=()):
    """Register the decorated template as the adjoint rule of ``primitives``
    (``sequences``: it gives list or tuple arguments list or tuple adjoints;
    ``tuple_result``: the primitive returns a tuple or list of arrays)."""

    def register(template):
        parameters = list(inspect.signature(template).parameters)
        if len(parameters) < 2:
            raise TypeError(f"{template.__name__}: a rule takes the result, then the inputs.")
        for primitive in primitives:
            ADJOINT_RULES[primitive] = template
            if constant:
                ADJOINT_CONSTANTS[primitive] = frozenset(constant)
            if sequences:
                SEQUENCE_RULES.add(primitive)
            if tuple_result:
                TUPLE_RESULTS.add(primitive)
        return template

    return register


def tangent_reads(primitive, args, kwargs):
    """The arguments of a call of ``primitive`` whose tangents reach its
    result: all of them, except those its tangent rule declares ``constant``
    (read for a shape or a piecewise-constant choice). None when the call
    does not fit the rule (the transformer then reports it)."""
    constant = TANGENT_CONSTANTS.get(primitive)
    if not constant:
        return list(args) + list(kwargs.values())
    signature = call_signature(TANGENT_RULES[primitive])
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return None
    reads = []
    for name, value in bound.arguments.items():
        if name in constant:
            continue
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            reads.extend(value)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            reads.extend(value.values())
        else:
            reads.append(value)
    return reads


def tangent_rule(*primitives, elementwise=False, constant=()):
    """Register the decorated template as the tangent (forward-mode) rule of
    ``primitives``. Each ``dot[z] = ...`` statement is the contribution of
    the one input whose ``dot[x]`` it reads; the transformer keeps those of
    active inputs and adds them. ``dot[x]`` has shape ``(B,) + x.shape``
    and each contribution must have shape ``(B,) + z.shape``. With
    ``elementwise`` every ``dot[x]`` is first lifted to ``(B,) + z.shape``
    (broadcast like ``x`` is), so the template may ignore broadcasting.
    ``constant`` names parameters whose tangent contributes nothing (read
    for their shape, or a piecewise-constant choice)."""

    def register(template):
        parameters = list(inspect.signature(template).parameters)
        if len(parameters) < 2:
            raise TypeError(f"{template.__name__}: a rule takes the result, then the inputs.")
        unknown = set(constant) - set(parameters[1:])
        if unknown:
            raise TypeError(f"{template.__name__}: constant names unknown parameters {sorted(unknown)}.")
        for primitive in primitives:
            TANGENT_RULES[primitive] = template
            TANGENT_CONSTANTS[primitive] = frozenset(constant)
            if elementwise:
                ELEMENTWISE_TANGENTS.add(primitive)
        return template

    return register


def nondifferentiable(*functions):
    """Declare that the results of ``functions`` carry no derivative."""
    NONDIFFERENTIABLE.update(functions)


class CustomVJP:
    """A rule registered with ``adjoint.defvjp``: one maker per positional
    argument (None for an argument without derivative)."""

    def __init__(self, primitive, makers, batched):
        self.primitive = primitive
        name = getattr(primitive, "__name__", repr(primitive))
        self.makers = tuple(None if maker is None else Maker(maker, name, position)
                            for position, maker in enumerate(makers))
        self.batched = batched


class Maker:
    """One maker of a defvjp rule, called like the user's, which also knows
    the rule and the argument it serves: ``rt.call_vjp`` names them when the
    contribution it returns does not have the argument's shape."""

    __slots__ = ("maker", "rule_name", "position")

    def __init__(self, maker, rule_name, position):
        self.maker = maker
        self.rule_name = rule_name
        self.position = position

    def __call__(self, ans, *args, **kwargs):
        try:
            vjp = self.maker(ans, *args, **kwargs)
        except TypeError as error:
            if "positional argument" in str(error) or "keyword argument" in str(error):
                raise TypeError(
                    f"defvjp rule of {self.rule_name}: the maker for argument {self.position} could not "
                    f"be called as maker(ans, *args, **kwargs) ({error}). A maker takes the result, "
                    "then the function's arguments, and returns g -> contribution."
                ) from error
            raise
        if not callable(vjp):
            raise TypeError(
                f"defvjp rule of {self.rule_name}: the maker for argument {self.position} returned "
                f"{type(vjp).__name__}, not a function g -> contribution."
            )
        return vjp


#: optional libraries' rule modules, registered once the library's module is
#: imported (by the user's code, or anything else): module -> rule module.
OPTIONAL_FAMILIES = {
    "scipy.special": "scipy_special",
    "scipy.stats": "scipy_stats",
    "scipy.linalg": "scipy_linalg",
    "scipy.signal": "scipy_signal",
}
_pending_families = dict(OPTIONAL_FAMILIES)


def load_optional_rules():
    """Register the rules of the optional families whose library module is
    imported. Called on every lookup: SciPy's rules are there as soon as a
    function of SciPy can be, and ``import adjoint`` never imports SciPy."""
    if not _pending_families or "scipy" not in sys.modules:
        return
    for module, family in list(_pending_families.items()):
        if module in sys.modules:
            del _pending_families[module]
            importlib.import_module(f"{__name__}.{family}")


def lookup(primitive):
    """The rule for ``primitive``: a CustomVJP, a template, or None."""
    if _pending_families:
        load_optional_rules()
    try:
        if primitive in CUSTOM_VJPS:
            return CUSTOM_VJPS[primitive]
        return ADJOINT_RULES.get(primitive)
    except TypeError:  # unhashable callables have no rule
        return None


def lookup_tangent(primitive):
    """The forward rule for ``primitive``: a CustomJVP, a template, a
    CustomVJP (used through its transpose), or None."""
    if _pending_families:
        load_optional_rules()
    try:
        if primitive in CUSTOM_JVPS:
            return CUSTOM_JVPS[primitive]
        if primitive in CUSTOM_VJPS:
            return CUSTOM_VJPS[primitive]
        return TANGENT_RULES.get(primitive)
    except TypeError:
        return None


class CustomJVP:
    """A rule registered with ``adjoint.defjvp``: one maker per positional
    argument (None for an argument without derivative); ``maker(ans, *args,
    **kwargs)`` returns ``t -> contribution`` for one unbatched tangent."""

    def __init__(self, primitive, makers):
        self.primitive = primitive
        self.makers = tuple(makers)


def helper_by_source(primitive):
    """Whether forward mode differentiates ``primitive``, a runtime helper of
    generated code with no tangent rule (the tangent helpers of forward code,
    met again by ``jacfwd(jacfwd(f))``), by transforming its own source: it is
    NumPy code like the user's. (Reverse mode over it is forward mode too:
    a derivative of a derivative is written in forward mode.)"""
    import types

    from .. import runtime

    return (isinstance(primitive, types.FunctionType) and runtime.is_helper(primitive)
            and primitive not in TANGENT_RULES and primitive not in CUSTOM_JVPS
            and primitive not in CUSTOM_VJPS and primitive not in NONDIFFERENTIABLE)


#: runtime helpers linear in one argument and reading the others as data
#: (shapes, axes, indices: no derivative), whose signature ends in
#: ``**options``: helper -> the position of that argument. Forward mode
#: applies the helper to each tangent row (``rt.tangent_rows``).
LINEAR_HELPERS = {}

#: runtime helpers whose own derivative adjoint refuses: helper -> (what, what to do)
REFUSED_TANGENTS = {}


def refuse_tangent(helper, what, fix):
    """Forward mode over ``helper`` (met at a higher order) is refused at
    the user's line with ``what`` and ``fix``, instead of transforming a
    source it cannot differentiate."""
    REFUSED_TANGENTS[helper] = (what, fix)


def is_nondifferentiable(primitive):
    if _pending_families:
        load_optional_rules()
    try:
        return primitive in NONDIFFERENTIABLE and primitive not in CUSTOM_VJPS
    except TypeError:
        return False


def registered_adjoints():
    """Every primitive that has a built-in adjoint rule."""
    load_optional_rules()
    return dict(ADJOINT_RULES)


def registered_tangents():
    """Every primitive that has a built-in tangent rule."""
    load_optional_rules()
    return dict(TANGENT_RULES)


# Importing the families registers their rules.
from . import operators, ufuncs, fft, reductions, shape, shape_helpers, linalg, structure, builtins, forward_helpers, runtime_math, runtime_arrays, objects, batched_backward, batched_second_order, batched_index_tricks, batched_decompositions, batched_lifted, batched_convolve, vmap_loop, nested_vmap, polynomials, numpy_forms, running_extrema, nested_lists  # noqa: E402,F401
