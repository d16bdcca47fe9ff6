"""Adjoint helpers of elementwise functions (ufuncs and their relatives).
"""
import contextlib
import contextvars
import math

import numpy as np

from .masked_bars import masked_array


# ----------------------------------------------------------- elementwise

def log_base(x):
    """``log(x)`` for the exponent's derivative of ``x ** y``; 0 where x is 0
    (there ``x ** y`` is flat in ``y`` for positive ``y``)."""
    return np.log(np.where(np.equal(x, 0), 1.0, x))


def balanced_eq(x, z, other):
    """1 where ``x`` is the result of max/min, 1/2 where both inputs tie.
    A NaN is the result NumPy gives where an input is one, as for np.max:
    the NaN input gets it (both share where both are NaN)."""
    z = np.asarray(z)
    if z.dtype.kind != "f" or not math.isnan(np.vdot(z, z)):  # a sum of squares: NaN only if z has one
        return np.equal(x, z) / (1.0 + np.equal(x, other))
    x_nan, other_nan = np.isnan(x), np.isnan(other)
    return (np.equal(x, z) | x_nan) / (1.0 + (np.equal(x, other) | (x_nan & other_nan)))


def sinc_derivative(x, z):
    """The slope of ``z = np.sinc(x) = sin(pi x) / (pi x)``: ``(cos(pi x) - z) / x``,
    which cancels catastrophically near 0, so the Taylor series is used for
    ``|x| < 1e-2`` (0 at 0, where the peak is flat)."""
    x = np.asarray(x, dtype=np.result_type(x, np.float64))
    small = np.abs(x) < 1e-2
    safe = np.where(small, 1.0, x)
    direct = (np.cos(np.pi * safe) - np.where(small, 1.0, z)) / safe
    p2 = np.pi * np.pi * x * x
    series = -np.pi * np.pi * x / 3.0 * (1.0 - p2 / 10.0 + p2 * p2 / 280.0)
    return np.where(small, series, direct)


def copysign_factor(x1, x2):
    """The slope of ``np.copysign(x1, x2)`` in ``x1``: +1 where the signs (sign
    bits, so -0.0 counts as negative) agree, -1 where they differ."""
    return np.where(np.signbit(x1) == np.signbit(x2), 1.0, -1.0)


def fmod_quotient(x1, x2, z):
    """The integer quotient ``trunc(x1 / x2)`` that ``z = np.fmod(x1, x2)``
    subtracted, read back from ``z`` so it matches NumPy's rounding."""
    return np.round((x1 - z) / x2)

def _clip_bounds(a, a_min, a_max, lower, upper):
    """``np.clip``'s bounds, given as ``a_min``/``a_max`` or by NumPy's keyword
    spellings ``min=``/``max=``, and ``a`` raised to the lower one."""
    a_min = lower if a_min is None else a_min
    a_max = upper if a_max is None else a_max
    raised = a if a_min is None else np.maximum(a, a_min)
    return a_min, a_max, raised


def _clip_factor(factor, a):
    """A derivative factor of ``np.clip`` in ``a``'s floating type."""
    return np.asarray(factor, dtype=np.result_type(np.asarray(a), np.float16))


# np.clip(a, a_min, a_max) is np.minimum(np.maximum(a, a_min), a_max), a
# missing bound left out (so a_max wins where a_min > a_max). Its derivatives
# are those of that composition, with ties shared equally as the rules of
# np.maximum and np.minimum share them (balanced_eq).

def clip_wrt_a(a, z, a_min=None, a_max=None, min=None, max=None):  # noqa: A002 (NumPy's names)
    """d np.clip(a, a_min, a_max) / d a: 1 where ``a`` passed through, 0
    where a bound was taken, 1/2 (or 1/4) where ``a`` ties with a bound."""
    a_min, a_max, raised = _clip_bounds(a, a_min, a_max, min, max)
    factor = 1.0
    if a_min is not None:
        factor = balanced_eq(a, raised, a_min)
    if a_max is not None:
        factor = factor * balanced_eq(raised, z, a_max)
    return _clip_factor(factor, a)


def clip_wrt_min(a, z, a_min=None, a_max=None, min=None, max=None):  # noqa: A002 (NumPy's names)
    """d np.clip(a, a_min, a_max) / d a_min: 1 where the lower bound was
    taken (broadcast against ``a``; the rule sums it back)."""
    a_min, a_max, raised = _clip_bounds(a, a_min, a_max, min, max)
    factor = balanced_eq(a_min, raised, a)
    if a_max is not None:
        factor = factor * balanced_eq(raised, z, a_max)
    return _clip_factor(factor, a)


def clip_wrt_max(a, z, a_min=None, a_max=None, min=None, max=None):  # noqa: A002 (NumPy's names)
    """d np.clip(a, a_min, a_max) / d a_max: 1 where the upper bound was taken."""
    a_min, a_max, raised = _clip_bounds(a, a_min, a_max, min, max)
    return _clip_factor(balanced_eq(a_max, z, raised), a)


def fmax_factor(x, z, other, first=False):
    """The slope of ``z = np.fmax(x, other)`` (or fmin) in ``x``: 1 where
    ``x`` is the result, 1/2 where both tie (as np.maximum's rule), 0 where
    ``x`` is NaN and ``other`` is not (NumPy returns ``other``); where both
    are NaN NumPy returns the first argument, which gets it (``first``)."""
    factor = np.equal(x, z) / (1.0 + np.equal(x, other))  # NaN inputs: nothing, here
    if first:
        factor = factor + (np.isnan(x) & np.isnan(other))
    return factor


def dependence_marked():
    """Whether sparsity detection's NaN-seeded passes are running here (the
    context manager below sets it). The flag is a context variable held by
    this function; a module exported by ``python -m adjoint -o`` copies the
    function without it and never runs those passes: False there. (The
    exporter copies every helper a helper's text names: name none here.)"""
    flag = getattr(dependence_marked, "flag", None)
    return flag is not None and flag.get()


dependence_marked.flag = contextvars.ContextVar("adjoint_marking_dependence", default=False)


@contextlib.contextmanager
def marking_dependence():
    """While sparsity detection runs its NaN-seeded tangent passes,
    ``times_tangent`` is the plain product: a NaN tangent marks every path
    it takes, ``NaN * 0`` included. Forward mode over backward code (a
    Hessian's pattern) differentiates ``times_tangent(g, p)`` in ``p`` as
    ``times_tangent(g, p_dot)``, and a cotangent ``g`` that is 0 at the
    detection point only (a zero weight) would otherwise stop the NaN and
    drop an entry of the pattern, cached for every point. A zero tangent
    meeting an infinite partial then marks an entry that is 0: a superset,
    which only costs colours."""
    token = dependence_marked.flag.set(True)
    try:
        yield
    finally:
        dependence_marked.flag.reset(token)


def times_tangent(t, partial):
    """``t * partial``, exactly 0 where ``t`` is 0: a zero tangent (forward
    mode) or a zero cotangent (reverse mode: the zero entries of jacrev's
    seed rows, an element np.where did not pick) contributes nothing even
    where the partial is infinite or undefined (``np.sqrt`` at 0, ``x ** 0.5``
    at 0, ``1 / x`` at 0), where ``0 * inf`` would be NaN. A nonzero ``t``
    still meets the infinite partial. Its own derivatives (rules in
    rules/ufuncs.py) keep that convention and are exact elsewhere, so code
    that calls it can be differentiated again (along ``t`` the derivative is
    the partial even where ``t`` happens to be 0).

    The product is returned as it is when it holds no NaN: the guard then
    costs one reduction, not two passes that allocate, and a masked
    cotangent (runtime/masked_bars.py) keeps its mask either way."""
    product = t * partial
    if dependence_marked() or not _holds_nan(product):
        return product
    if structural_zeros_known() and getattr(t, "absent", None) is not None:
        # the passes again (api/bases.py: jacfwd's and jvp's push_seeds, reverse mode's
        # pull_back), with the seed's structural zeros marked: they are exact zeros of the
        # product already; a zero tangent or cotangent that a zero slope computed meets the
        # infinite partial as the chain rule has it, 0 * inf = NaN
        return product
    zero_tangent_guarded()
    guarded = np.where(np.equal(t, 0), 0, product)
    absent = getattr(product, "absent", None)
    if absent is not None:
        return masked_array(guarded, absent)
    return guarded


def structural_zeros_known():
    """Whether the tangents carry the seed's structural zeros as a mask:
    jacfwd's passes run again after the product of a zero tangent was
    guarded (see the context manager below). A context variable held by
    this function; False in an exported module. (The exporter copies every
    helper a helper's text names: name none here.)"""
    flag = getattr(structural_zeros_known, "flag", None)
    return flag is not None and flag.get()


structural_zeros_known.flag = contextvars.ContextVar("adjoint_structural_zeros", default=False)


def zero_tangent_guarded():
    """Note, for the context manager below, that a ``0 * inf`` product was
    set to 0 because the tangent or cotangent was 0 (nothing is noted in
    an exported module). (The exporter copies every helper a helper's text
    names: name none here.)"""
    seen = getattr(zero_tangent_guarded, "seen", None)
    found = seen.get() if seen is not None else None
    if found is not None:
        found.append(True)


zero_tangent_guarded.seen = contextvars.ContextVar("adjoint_zero_guards", default=None)


@contextlib.contextmanager
def guarding_zero_tangents(structural=False):
    """Collects (a list, true when not empty) whether ``times_tangent``
    guarded a zero tangent (or cotangent) while forward (or reverse) passes
    run. A zero tangent is either structural (a zero of the seed: 0) or
    computed by a zero slope (``x ** 2`` at 0, forward; ``np.sqrt(x) ** 2``
    at 0, reverse: then ``0 * inf`` is NaN, as autograd and JAX give). The
    passes tell them apart only when run again with the seed masked
    (``structural=True``; see api/bases.py)."""
    found = []
    token = zero_tangent_guarded.seen.set(found)
    marked = structural_zeros_known.flag.set(True) if structural else None
    try:
        yield found
    finally:
        zero_tangent_guarded.seen.reset(token)
        if marked is not None:
            structural_zeros_known.flag.reset(marked)


def noting_guards(call, *args, **kwargs):
    """``(call(*args, **kwargs), guarded)``: whether ``times_tangent``
    guarded a zero tangent or cotangent meanwhile, as
    ``guarding_zero_tangents`` collects it, without a context manager's
    cost (a few microseconds, on every call of a small derivative)."""
    found = []
    token = zero_tangent_guarded.seen.set(found)
    try:
        return call(*args, **kwargs), bool(found)
    finally:
        zero_tangent_guarded.seen.reset(token)


def _holds_nan(value):
    """Whether ``value`` holds a NaN: its sum of squares is NaN only then
    (``inf * inf`` is inf), and ``np.vdot`` takes it in one fast pass."""
    array = np.asarray(value)
    if array.dtype.kind not in "fc":
        return False
    return bool(np.isnan(np.vdot(array, array)))
