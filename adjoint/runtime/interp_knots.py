"""The derivative of ``np.interp(x, xp, fp)`` in its knots ``xp`` (rules in
rules/reductions.py). Inside the segment ``xp[j] <= x < xp[j + 1]`` the value
is ``fp[j] + s * (x - xp[j])`` with the slope ``s = (fp[j + 1] - fp[j]) /
(xp[j + 1] - xp[j])``; with ``u = (x - xp[j]) / (xp[j + 1] - xp[j])``,

    d y / d xp[j] = s * (u - 1),    d y / d xp[j + 1] = -s * u,

and no other knot moves it. Outside ``xp``'s range the value is a constant
(``left``, ``right`` or an end of ``fp``): no derivative. At a knot the
segment is the one to its right (the last one at ``xp[-1]``), as for the
derivatives in ``x`` and ``fp``. The helpers are plain NumPy with rules, so
a derivative of a derivative differentiates their source."""
import numpy as np

from .tangents import as_tangent


def interp_knot_slopes(x, xp, fp):
    """``d np.interp(x, xp, fp) / d xp``: ``x.shape + (len(xp),)``."""
    xp = np.asarray(xp)
    fp = np.asarray(fp)
    count = np.shape(xp)[0]
    if count < 2:
        return np.zeros(np.shape(x) + (count,))
    segment = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, count - 2)
    low = xp[segment]
    width = xp[segment + 1] - low
    slope = (fp[segment + 1] - fp[segment]) / width
    share = (x - low) / width
    inside = np.logical_and(x >= xp[0], x <= xp[-1])
    knots = np.arange(count)
    at_low = np.expand_dims(segment, -1) == knots
    at_high = np.expand_dims(segment + 1, -1) == knots
    return (np.expand_dims(np.where(inside, slope * (share - 1.0), 0.0), -1) * at_low
            + np.expand_dims(np.where(inside, -slope * share, 0.0), -1) * at_high)


def interp_adjoint_xp(g, x, xp, fp, left=None, right=None):
    """Adjoint of ``xp`` in ``np.interp(x, xp, fp, left, right)``: ``g`` is
    ``(B,) + x.shape``, the result ``(B, len(xp))``."""
    slopes = interp_knot_slopes(x, xp, fp)
    count = np.shape(slopes)[-1]
    return np.reshape(g, (np.shape(g)[0], -1)) @ np.reshape(slopes, (-1, count))


def interp_tangent_xp(t, x, xp, fp, left=None, right=None):
    """Tangent of ``np.interp(x, xp, fp, left, right)`` along ``xp``'s
    tangent ``t`` (``(B, len(xp))``): ``(B,) + x.shape``."""
    slopes = interp_knot_slopes(x, xp, fp)
    count = np.shape(slopes)[-1]
    return np.reshape(t @ np.reshape(slopes, (-1, count)).T, (np.shape(t)[0],) + np.shape(x))


def _segment_terms(x, xp, fp):
    """The segment of each ``x`` (clipped to the first and last), its width,
    slope and share ``u``, and where ``x`` is inside ``xp``'s range."""
    xp = np.asarray(xp)
    fp = np.asarray(fp)
    segment = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, np.shape(xp)[0] - 2)
    width = xp[segment + 1] - xp[segment]
    slope = (fp[segment + 1] - fp[segment]) / width
    share = (x - xp[segment]) / width
    inside = np.logical_and(x >= xp[0], x <= xp[-1])
    return segment, width, slope, share, inside


def interp_adjoint_x_tangent_xp(t, g, x, xp, fp, left=None, right=None):
    """Tangent of ``interp_adjoint_x(g, x, xp, fp)`` (``g`` times the slope
    of ``x``'s segment) from the tangent ``t`` of ``xp`` (``(T, len(xp))``):
    the slope ``s`` moves by ``-s / width * (t[j + 1] - t[j])``; ``(T, B) +
    x.shape``."""
    t = as_tangent(t, xp)  # (a list xp's tangent is its items' tangents: stacked)
    if np.shape(xp)[0] < 2:
        return np.zeros((np.shape(t)[0],) + np.shape(g))
    segment, width, slope, _, inside = _segment_terms(x, xp, fp)
    moved = -slope / width * (t[:, segment + 1] - t[:, segment])
    return np.expand_dims(g, 0) * np.expand_dims(np.where(inside, moved, 0.0), 1)


def interp_adjoint_fp_tangent_xp(t, g, x, xp, fp, left=None, right=None):
    """Tangent of ``interp_adjoint_fp(g, x, xp, fp, ...)`` from the tangent
    ``t`` of ``xp`` (``(T, len(xp))``): the share ``u`` of ``x``'s segment
    moves by ``(-t[j] - u * (t[j + 1] - t[j])) / width``, taken from
    ``fp[j]`` and given to ``fp[j + 1]``; ``(T, B, len(fp))``."""
    t = as_tangent(t, xp)  # (a list xp's tangent is its items' tangents: stacked)
    count = np.shape(fp)[0]
    rows, batch = np.shape(t)[0], np.shape(g)[0]
    if np.shape(xp)[0] < 2 or count < 2:
        return np.zeros((rows, batch, count))
    segment, width, _, share, inside = _segment_terms(x, xp, fp)
    moved = np.where(inside, (-t[:, segment] - share * (t[:, segment + 1] - t[:, segment])) / width, 0.0)
    knots = np.arange(count)
    flat = np.ravel(segment)
    direction = (np.expand_dims(flat + 1, -1) == knots) * 1.0 - (np.expand_dims(flat, -1) == knots)
    return np.einsum("bk,tk,kn->tbn", np.reshape(g, (batch, -1)), np.reshape(moved, (rows, -1)), direction)



def vinterp_tangent_xp(helper, t, g, x, xp, fp, left=None, right=None):
    """``helper`` (``interp_adjoint_x_tangent_xp`` or
    ``interp_adjoint_fp_tangent_xp``) on a vmap batch: ``t`` is ``(V, T,
    len(xp))`` (or a list xp's item tangents, each ``(V, T)``), the others
    batched (``left`` and ``right`` are constants). Knots whose tangent is zero (a constant list saved by the
    forward pass: the usual case) give zeros in one step; otherwise the
    helper runs once per example, which is exact."""
    from .batched import example, stack_examples

    arrays = [item for item in t if item is not None] if isinstance(t, (list, tuple)) else [t]
    if arrays and all(type(item) is np.ndarray and not np.any(item) for item in arrays):
        rows, first_xp = arrays[0].shape[:2], example(xp, 0)
        one = helper(np.zeros((rows[1], np.shape(first_xp)[0])), example(g, 0), example(x, 0), first_xp,
                     example(fp, 0), left=left, right=right)
        return np.zeros((rows[0],) + np.shape(one), dtype=np.result_type(one))
    return stack_examples([helper(example(t, v), example(g, v), example(x, v), example(xp, v), example(fp, v),
                                  left=left, right=right) for v in range(np.shape(x)[0])])
