"""Cotangents that are zero by a rule's choice, element by element.

``np.nan_to_num`` has slope 0 where NumPy replaced its input (a NaN or an
infinity): its pullback sends no cotangent there. The rule before it often
has an infinite slope at those very elements (``np.log`` at 0, ``1 / x`` at
0), and a plain zero pulled back through it is ``0 * inf = NaN``, where
forward mode, which applies the mask last, gives 0. A rule's pullback is
linear in its cotangent, so the pullback of none is none (the convention of
``AbsentBar`` for whole arrays): ``MaskedBar`` is that per element. It
carries the elements that got no cotangent (``absent``) and keeps them exact
zeros through the elementwise products and quotients rules pull back with;
any other operation gives a plain array (whose values are the same).
"""
import numpy as np


class MaskedBar(np.ndarray):
    """A cotangent whose ``absent`` elements are no cotangent (exact zeros)."""

    #: ufuncs after which an element is none if it is none in any argument
    ANY = frozenset({np.multiply})
    #: ... in the first argument (a / b)
    FIRST = frozenset({np.true_divide})
    #: ... in every argument (an exact zero of a plain array counts as none)
    ALL = frozenset({np.add, np.subtract})
    #: ... in its one argument
    SAME = frozenset({np.negative, np.positive, np.conjugate})

    #: NumPy functions that move elements around: the mask moves with them
    MOVES = frozenset({np.reshape, np.expand_dims, np.broadcast_to, np.moveaxis, np.swapaxes, np.squeeze,
                       np.transpose, np.real, np.ravel, np.copy, np.flip, np.roll, np.repeat, np.tile,
                       np.ascontiguousarray, np.atleast_1d, np.atleast_2d})
    #: ... that gather a sequence of arrays into one (a plain array's exact zeros count as none, as for np.add)
    GATHERS = frozenset({np.stack, np.concatenate, np.vstack, np.hstack})
    #: ... that split one array into several
    SPLITS = frozenset({np.split, np.array_split})
    #: products of arrays (sums of elementwise products): an element is none where every term is
    PRODUCTS = frozenset({np.dot, np.einsum, np.tensordot, np.inner, np.outer, np.kron, np.vdot})

    def __array_finalize__(self, obj):
        absent = getattr(obj, "absent", None)
        # (a view of another shape, x[i] or x.T, does not know where its elements went: none kept)
        self.absent = absent if absent is not None and absent.shape == self.shape else None

    def reshape(self, *shape, **kwargs):
        result = self.view(np.ndarray).reshape(*shape, **kwargs)
        if self.absent is None:
            return result
        return masked_array(result, np.reshape(self.absent, result.shape))

    def __getitem__(self, index):
        # (x[i] selects the mask's elements as it selects the values)
        result = super().__getitem__(index)
        if self.absent is None or not isinstance(result, np.ndarray):
            return result
        return masked_array(result.view(np.ndarray), self.absent[index])

    def __setitem__(self, index, value):
        # written into: which elements are none is no longer known (none kept)
        self.absent = None
        super().__setitem__(index, value)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if (ufunc is np.add and method == "reduce" and "out" not in kwargs and kwargs.get("where", True) is True
                and kwargs.get("initial") is None and len(inputs) == 1 and inputs[0] is self
                and self.absent is not None):  # (ndarray.sum passes where=True)
            return _sum(self, {k: v for k, v in kwargs.items() if k not in ("where", "initial")})
        if method != "__call__" or "out" in kwargs:
            # np.add.at(bar, ...) or out=bar write into a MaskedBar: its mask is dropped
            written = list(kwargs.get("out", ())) + ([inputs[0]] if method == "at" else [])
            for array in written:
                if isinstance(array, MaskedBar):
                    array.absent = None
            plain = [_plain(i) for i in inputs]
            if "out" in kwargs:
                kwargs["out"] = tuple(_plain(o) for o in kwargs["out"])
            return getattr(ufunc, method)(*plain, **kwargs)
        plain = [_plain(i) for i in inputs]
        with np.errstate(invalid="ignore", divide="ignore"):
            result = ufunc(*plain, **kwargs)
        if not isinstance(result, np.ndarray) or result.dtype.kind not in "fc":
            return result
        if ufunc is np.matmul:
            return _product(result, ufunc, inputs, kwargs)
        masks = [_mask(i, result.shape) for i in inputs]
        if ufunc in MaskedBar.ANY:
            absent = _any(masks)
        elif ufunc in MaskedBar.FIRST:
            absent = masks[0]
        elif ufunc in MaskedBar.SAME:
            absent = masks[0]
        elif ufunc in MaskedBar.ALL:  # a sum: none where every term is none or an exact zero
            absent = np.logical_and.reduce([
                m if m is not None else np.broadcast_to(np.equal(i, 0), result.shape)
                for m, i in zip(masks, plain, strict=True)])
        else:
            absent = None
        if absent is None:
            return result
        if not np.any(absent):  # (kept: every element is known to carry one, see rt.times_tangent)
            return masked_array(result, absent)
        return masked_array(np.where(absent, 0.0, result).astype(result.dtype, copy=False), absent)

    def __array_function__(self, func, types, args, kwargs):
        if (func is np.sum and len(args) == 1 and args[0] is self and self.absent is not None
                and not {"out", "where", "initial"} & set(kwargs)):
            return _sum(self, kwargs)
        result = func(*_plain_tree(args), **_plain_tree(kwargs))
        if isinstance(result, list) and func in MaskedBar.SPLITS and args and args[0] is self and self.absent is not None:
            masks = func(self.absent, *_plain_tree(args[1:]), **_plain_tree(kwargs))
            return [masked_array(part, mask) for part, mask in zip(result, masks, strict=True)]
        if not isinstance(result, np.ndarray) or result.dtype.kind not in "fc":
            return result
        if func in MaskedBar.MOVES and args and args[0] is self and self.absent is not None:
            return masked_array(result, func(self.absent, *_plain_tree(args[1:]), **_plain_tree(kwargs)))
        if func in MaskedBar.PRODUCTS:
            return _product(result, func, args, kwargs)
        if func in MaskedBar.GATHERS and args and isinstance(args[0], (list, tuple)):
            if any(getattr(item, "absent", None) is not None for item in args[0]):
                absent = func([_absent_or_zero(item) for item in args[0]], *_plain_tree(args[1:]),
                              **{k: v for k, v in _plain_tree(kwargs).items() if k not in ("dtype", "casting")})
                return masked_array(result, absent)
        return result


def _product(result, func, args, kwargs):
    """``result`` of a product of arrays (``a @ b``, ``np.dot``, ``np.einsum``
    ...), an element none where every term of its sum is: the same product
    of 0/1 arrays (1 where an operand's element is not none; a plain operand
    is 1 everywhere, its zeros are values) is 0 there."""
    def present(value):
        if isinstance(value, MaskedBar) and value.absent is not None:
            return np.logical_not(value.absent).astype(np.float64)
        if isinstance(value, (np.ndarray, float, complex, np.inexact)):  # (not einsum's subscripts, an axis)
            return np.ones(np.shape(value))
        return value

    indicators = [present(a) for a in args]
    if not any(isinstance(a, MaskedBar) and a.absent is not None for a in args):
        return result
    options = {k: v for k, v in kwargs.items() if k not in ("out", "dtype", "casting", "optimize")}
    counts = func(*indicators, **options)
    absent = np.equal(np.reshape(counts, result.shape), 0)
    if not np.any(absent):
        return masked_array(result, absent)
    return masked_array(np.where(absent, 0.0, result).astype(result.dtype, copy=False), absent)


def _absent_or_zero(value):
    """The elements of ``value`` that are none: its mask, or a plain array's exact zeros."""
    if isinstance(value, MaskedBar) and value.absent is not None:
        return value.absent
    return np.equal(_plain(value), 0)


def _sum(bar, kwargs):
    """``np.sum(bar, **kwargs)`` (``axis``, ``dtype``, ``keepdims``): an
    element is none where every term is none (as for ``np.add``)."""
    axis, keepdims = kwargs.get("axis"), kwargs.get("keepdims", False)
    result = np.sum(bar.view(np.ndarray), **kwargs)
    if not isinstance(result, np.ndarray) or result.dtype.kind not in "fc":
        return result
    return masked_array(result, np.all(bar.absent, axis=axis, keepdims=keepdims))


def _plain(value):
    return value.view(np.ndarray) if isinstance(value, MaskedBar) else value


def _plain_tree(value):
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_tree(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain_tree(v) for k, v in value.items()}
    return _plain(value)


def _mask(value, shape):
    if not isinstance(value, MaskedBar) or value.absent is None:
        return None
    try:
        return np.broadcast_to(value.absent, shape)
    except ValueError:
        return None


def _any(masks):
    present = [m for m in masks if m is not None]
    return np.logical_or.reduce(present) if present else None


def masked_array(values, absent):
    bar = np.asarray(values).view(MaskedBar)
    bar.absent = np.broadcast_to(absent, bar.shape)
    return bar


def masked_bar(g, keep):
    """``np.where(keep, g, 0)``, the cotangent ``g`` where ``keep`` (which
    broadcasts against ``g``'s trailing axes, whatever its batch axes in
    front) and none elsewhere: a MaskedBar whose products and quotients stay
    zero there."""
    values = np.where(keep, g, 0.0)
    absent = np.broadcast_to(np.logical_not(keep), values.shape)
    if not np.any(absent):
        return values
    return masked_array(values, absent)


def vmasked_bar(g, keep):
    """``masked_bar`` on a batch: ``g`` is ``(V, B) + shape`` (the vmap axis,
    then the cotangent's; ``(V, T, B) + shape`` for its tangent, in a vmapped
    second derivative), ``keep`` ``(V,) + shape``: ``keep`` gets a 1 for each
    axis ``g`` has between the vmap axis and ``shape``."""
    keep = np.asarray(keep)
    extra = max(np.ndim(g) - keep.ndim, 1)
    return masked_bar(g, np.reshape(keep, keep.shape[:1] + (1,) * extra + keep.shape[1:]))
