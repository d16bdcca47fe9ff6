"""vmap: the basic helpers of batched code (a batched value holds every
example along axis 0; an unbatched one is shared by all).
"""
import math
import sys

import warnings

import numpy as np

from .indexing import (
    _batched_index, _is_advanced, _separated_advanced_ndim, batch_size, batched_getitem,
    rebuild_like,
)
from .jacobians import _IDENTITIES, _tree_map, jacobian_from_columns_tangent
from .in_place import InPlaceRefused, write_back
from .indexing import setitem
from .masked_bars import masked_array


# ------------------------------------------------------------ vmap
# In batched code a value that depends on a batched argument holds every
# example along a new leading axis.

def to_batched(value, batch):
    """``value`` for every example: a stride-0 view with a leading axis
    (None, a zero tangent or adjoint, stays None). (The views are not kept
    between calls: a cache would hold the user's arrays, and the closures
    holding them could not be freed; see tests/test_memory.py.)"""
    if type(value) is np.ndarray:
        array = value
    elif value is None:
        return None
    elif isinstance(value, dict):
        return {k: to_batched(v, batch) for k, v in value.items()}
    elif isinstance(value, (tuple, list)):
        return rebuild_like(value, [to_batched(v, batch) for v in value])
    elif getattr(value, "absent", None) is not None:
        # a marked seed (rt.output_basis while the passes run again): its mask goes with every example
        return masked_array(to_batched(value.view(np.ndarray), batch), to_batched(value.absent, batch))
    else:
        array = np.asarray(value)
    if array.flags.c_contiguous and array.dtype != object:
        # the view built directly: np.broadcast_to costs several times more
        view = np.ndarray((batch,) + array.shape, array.dtype, array, 0, (0,) + array.strides)
        view.flags.writeable = False
        return view
    return np.broadcast_to(array, (batch,) + array.shape)


def vmultiply_shared(x1, x2):
    """``np.multiply(x1, x2)``, as batched code writes a product of a value
    shared by every example and a batched one. The product of the identity
    basis over an output (``output_basis``: the cotangents of a Jacobian)
    and a batched factor ``(B, 1) + shape`` is a batch of diagonal matrices,
    written here directly instead of multiplying the zeros: the same values
    (a zero may differ in sign), 1.5 to 2 times faster for outputs of 5 to 8 elements. A
    factor with an infinite or NaN value takes the product, whose zeros
    times it are NaN."""
    if type(x1) is np.ndarray and type(x2) is np.ndarray:
        if _IDENTITIES.get(id(x1)) is x1:  # (is_identity_rows, without its call)
            diagonal = _diagonal_product(x1, x2)
        elif _IDENTITIES.get(id(x2)) is x2:
            diagonal = _diagonal_product(x2, x1)
        else:
            diagonal = None
        if diagonal is not None:
            return diagonal
    return np.multiply(x1, x2)


def _diagonal_product(basis, factor):
    """``basis * factor`` for an identity basis ``(N,) + shape`` and a factor
    ``(B, 1) + shape`` of finite values; None for any other factor."""
    fshape = factor.shape
    if len(fshape) != basis.ndim + 1 or fshape[1] != 1 or fshape[2:] != basis.shape[1:]:
        return None
    dtype = factor.dtype
    if dtype is not basis.dtype and dtype != basis.dtype or dtype.kind != "f":  # (mixed precisions take the product)
        return None
    return _diagonal_rows(basis, factor.reshape(fshape[0], basis.shape[0]))


def _diagonal_rows(basis, flat):
    """``basis * factor`` for an identity basis ``(N,) + shape`` and the
    factor's values ``flat`` ``(B, N)`` of the basis's dtype: the batch of
    diagonal matrices; None when a value is not finite."""
    if not math.isfinite(np.vdot(flat, flat)):  # (an overflow of finite values takes the product too)
        return None
    size, batch = basis.shape[0], flat.shape[0]
    result = np.zeros((batch,) + basis.shape, flat.dtype)
    result.reshape(batch, size * size)[:, ::size + 1] = flat
    return result


def example(value, row):
    """One example of a batched value (None, a zero tangent or adjoint, stays None)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: example(v, row) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return rebuild_like(value, [example(v, row) for v in value])
    if value is None:  # a hole of a container of tangents or adjoints: the same in every example
        return None
    if isinstance(value, (str, bytes, slice)):  # a directive of np.r_ / np.c_, a slice: not batched
        return value
    return value[row]


def first_example(value):
    if type(value) is np.ndarray:
        return value[0]
    return example(value, 0)


#: how many per-example loops batched code has run: ``stack_examples``, which
#: every such loop calls, counts them. Tests and ``tools/vmap_audit.py``
#: read it to find a loop that runs without vmap's warning.
PER_EXAMPLE_LOOPS = [0]


def count_per_example_loop():
    """One more per-example loop (``PER_EXAMPLE_LOOPS``); returns None."""
    PER_EXAMPLE_LOOPS[0] += 1


def vlen(value):
    """``len`` of one example of a batched value: an array's second axis, a
    container's item count (its items carry the batch axis)."""
    if isinstance(value, np.ndarray):
        if value.ndim < 2:
            raise TypeError("len() of unsized object")
        return value.shape[1]
    return len(value)


def vwritable(value, batch):
    """``value`` for every example as an array of its own (a copy per
    example), which batched values then update in place."""
    return np.array(to_batched(value, batch))


def warn_per_example(construct, stacklevel=3):
    """Announce a loop over the examples that a batched helper runs when its
    arguments leave it no batched form (``construct``: the call), as vmap's
    builder announces the loops it writes; ``stack_examples`` counts it."""
    warnings.warn(f"vmap: {construct} has no batched form for these arguments; it runs once per example "
                  "(a Python loop over the batch).", RuntimeWarning, stacklevel=stacklevel)


def first_rows(value):
    """The first example of a batched value, keeping the batch axis (a
    batch of one: ``value[:1]`` of an array, item by item in a container)."""
    if type(value) is np.ndarray:
        return value[:1]
    if value is None or isinstance(value, (str, bytes, slice)):  # (a hole, a directive: not batched)
        return value
    if isinstance(value, dict):
        return {k: first_rows(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return rebuild_like(value, [first_rows(v) for v in value])
    return value[:1]


def vfirst_rows(value):
    """``first_rows`` of every example of a batch: ``value[:, :1]``."""
    if type(value) is np.ndarray:
        return value[:, :1]
    if value is None or isinstance(value, (str, bytes, slice)):
        return value
    if isinstance(value, dict):
        return {k: vfirst_rows(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return rebuild_like(value, [vfirst_rows(v) for v in value])
    return value[:, :1]


def stack_examples(results, announced=False):
    """Per-example results stacked along a new leading axis (None where every
    example has None). Every loop over the examples ends here: it is counted
    (``PER_EXAMPLE_LOOPS``) and, unless vmap announced it already
    (``announced``: its builder's warning, ``rt.vloop``'s), announced now,
    naming the helper that looped (no loop over the examples is silent)."""
    count_per_example_loop()
    if not announced:
        caller = sys._getframe(1).f_code.co_name
        warn_per_example(f"rt.{caller}", stacklevel=4)
    first = results[0]
    if first is None and all(r is None for r in results):
        return None
    if isinstance(first, dict):
        return {k: stack_examples([r[k] for r in results], True) for k in first}
    if isinstance(first, (tuple, list)):
        return rebuild_like(first, [stack_examples([r[i] for r in results], True) for i in range(len(first))])
    if first is None and all(r is None for r in results):  # a hole in every example
        return None
    stacked = np.stack([np.asarray(r) for r in results])
    if any(getattr(r, "absent", None) is not None for r in results):
        # cotangents marked none element by element (runtime/masked_bars.py) stay marked
        absent = np.stack([np.broadcast_to(_absent_of(r), np.shape(r)) for r in results])
        return masked_array(stacked, absent)
    return stacked


def _absent_of(value):
    """The elements of a per-example result that got no cotangent (none if
    it is not a MaskedBar)."""
    absent = getattr(value, "absent", None)
    return False if absent is None else absent


def vmap_getitem(value, index):
    """``value[index]`` of every example."""
    if isinstance(value, np.ndarray):
        return batched_getitem(value, index)
    return value[index]


def vmap_setitem(array, index, value):
    """``array[index] = value`` in every example, as a new array. (Written
    with ``setitem``, whose rules differentiate it: this source is
    differentiated when vmapped code is, ``jacrev(vmap(f))``.)"""
    array = np.asarray(array)
    region = batched_getitem(array, index)
    value = np.asarray(value)
    missing = region.ndim - value.ndim
    if missing > 0:
        value = value.reshape(value.shape[:1] + (1,) * missing + value.shape[1:])
    value = np.broadcast_to(value, region.shape)
    batched_index = _batched_index(index)
    index = index if isinstance(index, tuple) else (index,)
    if _is_advanced(batched_index) and _separated_advanced_ndim(batched_index):
        updated = array
        for row in range(array.shape[0]):  # (the region's axes differ from the batched index's)
            updated = setitem(updated, (row,) + index, value[row])
        return updated
    return setitem(array, (slice(None),) + index, value)


def vmap_unpack(value, count):
    """``a, b, ... = value`` in every example."""
    if type(value) is tuple:  # the common case: residuals, results (their items carry the batch axis)
        return value
    if isinstance(value, np.ndarray):
        return [value[:, i] for i in range(count)]
    return list(value.values()) if isinstance(value, dict) else list(value)


def vmap_attribute(value, name):
    """``value.shape`` (``ndim``, ``size``, ...) of one example."""
    if isinstance(value, np.ndarray):
        return getattr(value[0], name)
    return getattr(first_example(value), name)


def vmap_loop(batch, function, batched, keyword_batched, /, *args, **kwargs):
    """``function(*args, **kwargs)`` once per example, results stacked."""
    results = []
    for row in range(batch):
        example_args = [example(a, row) if b else a for a, b in zip(args, batched, strict=True)]
        example_kwargs = {k: example(v, row) if keyword_batched.get(k) else v for k, v in kwargs.items()}
        results.append(function(*example_args, **example_kwargs))
    return stack_examples(results, announced=True)


def vmap_loop_announced(batch, function, batched, keyword_batched, /, *args, **kwargs):
    """``vmap_loop`` with a warning when it runs (vmap wrote it as the other
    branch of a rule that needs arguments the same in every example)."""
    warn_per_example(getattr(function, "__qualname__", None) or repr(function))
    return vmap_loop(batch, function, batched, keyword_batched, *args, **kwargs)


class _NotCommon:
    """What ``common_example`` gives when the examples differ."""

    def __repr__(self):
        return "rt.NOT_COMMON"


NOT_COMMON = _NotCommon()


def common_example(value):
    """The one example of ``value`` (it carries the batch axis) when every
    example is the same: a stride-0 view of ``to_batched``, equal rows, a
    tuple or list of such items; else ``NOT_COMMON``."""
    if type(value) is np.ndarray:
        if value.ndim == 0 or value.shape[0] == 0:
            return NOT_COMMON
        first = value[0]
        if value.strides[0] == 0:  # (to_batched's view: of a slice too, an object array)
            return first.item() if isinstance(first, np.ndarray) and first.ndim == 0 else first
        if value.dtype == object or not bool((value == first).all()):
            return NOT_COMMON
        return first.item() if first.ndim == 0 else first
    if isinstance(value, (list, tuple)):
        items = [common_example(v) for v in value]
        return NOT_COMMON if any(i is NOT_COMMON for i in items) else rebuild_like(value, items)
    if value is None or isinstance(value, (str, bytes, slice, int, float, bool)):
        return value
    return NOT_COMMON


def all_common(*values):
    """Whether none of ``values`` is ``NOT_COMMON``."""
    return all(v is not NOT_COMMON for v in values)


def vwrite_back_shared(caller, value, message):
    """``write_back`` of a batched value into the caller's array that every
    example shares (in_dims None): made once if every example gives it the
    same value, refused (``message``) otherwise."""
    if isinstance(caller, np.ndarray):
        first = value[0]
        if not all(_same_values(np.asarray(first), np.asarray(value[row])) for row in range(1, len(value))):
            raise InPlaceRefused(message)
        write_back(caller, first)
    else:
        write_back(caller, value)


def vmap_loop_shared(batch, function, batched, name, /, *args, **kwargs):
    """``vmap_loop`` of the user's whole function. An argument that is the
    same array for every example (in_dims None) is handed to each example
    as a copy, so an update in place made by one example is not seen by the
    next; an update that every example makes alike is made once on the
    caller's array (torch.func's meaning), one that differs is refused."""
    shared = [i for i, (a, b) in enumerate(zip(args, batched, strict=True)) if not b and isinstance(a, np.ndarray)]
    shared_keys = [k for k, v in kwargs.items() if isinstance(v, np.ndarray)]
    first = {}
    results = []
    for row in range(batch):
        example_args = [example(a, row) if b else a for a, b in zip(args, batched, strict=True)]
        example_kwargs = dict(kwargs)
        copies = {}
        for i in shared:
            copies[i] = example_args[i] = args[i].copy()
        for k in shared_keys:
            copies[k] = example_kwargs[k] = kwargs[k].copy()
        results.append(function(*example_args, **example_kwargs))
        for key, value in copies.items():
            if row == 0:
                first[key] = value
            elif not _same_values(first[key], value):
                from ..errors import SourceLocation, vmap_changed_shared_argument

                code = getattr(function, "__code__", None)
                what = f"argument {key}" if isinstance(key, int) else f"keyword argument {key!r}"
                if isinstance(key, int) and code is not None and key < code.co_argcount:
                    what = f"argument {code.co_varnames[key]!r}"
                location = None if code is None else SourceLocation(code.co_filename, code.co_firstlineno)
                raise vmap_changed_shared_argument(location, f"{what} of {name}")
    for key, value in first.items():
        original = args[key] if isinstance(key, int) else kwargs[key]
        if not _same_values(original, value):
            np.copyto(original, value)
    return stack_examples(results, announced=True)  # (LoopedVmap warned)


def _same_values(a, b):
    try:
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
    except TypeError:  # a dtype NaN means nothing to
        return a.shape == b.shape and bool(np.array_equal(a, b))


def sequence_adjoint_of(bar, x):
    """The adjoint of a sequence argument: item by item for a list or tuple;
    for one array NumPy read as a sequence of its rows, one array whose rows
    follow the batch axis."""
    if isinstance(x, np.ndarray) and isinstance(bar, (list, tuple)):
        batch = batch_size(bar)
        if not bar:  # an empty array: no rows
            return np.zeros((0 if batch is None else batch,) + x.shape, dtype=x.dtype)
        return np.stack([np.zeros((batch,) + x.shape[1:], dtype=x.dtype) if b is None else b for b in bar], axis=1)
    return bar


def vjacobian_from_rows(bar, out, x):
    """``jacobian_from_rows`` on a batch (every argument batched)."""
    if type(bar) is np.ndarray and type(out) is np.ndarray and type(x) is np.ndarray:  # the common case
        if out.ndim == 2 and bar.ndim == x.ndim + 1 and bar.shape[1] == out.shape[1]:
            return bar  # (rows of a vector output: already the Jacobian's shape)
        return bar.reshape(bar.shape[:1] + out.shape[1:] + x.shape[1:])
    if isinstance(x, (dict, list, tuple)):
        return _tree_map(lambda leaf, leaf_bar: vjacobian_from_rows(
            np.zeros(leaf.shape[:1] + out.shape[1:] + leaf.shape[1:]) if leaf_bar is None else leaf_bar,
            out, leaf), x, bar)
    return np.reshape(bar, bar.shape[:1] + out.shape[1:] + x.shape[1:])


def vgradient_from_row(bar, out, x):
    """``gradient_from_row`` on a batch."""
    if isinstance(x, (dict, list, tuple)):
        return _tree_map(lambda leaf, leaf_bar: vgradient_from_row(
            np.zeros(np.shape(leaf)) if leaf_bar is None else leaf_bar, out, leaf), x, bar)
    return np.reshape(bar, x.shape)


def vjacobian_from_columns(out_dot, out, x, offset):
    """``jacobian_from_columns`` on a batch: ``(B, total) + out.shape``."""
    def first(tree):
        return _tree_map(lambda leaf, _: leaf[0], tree, None)
    return jacobian_from_columns_tangent(out_dot, first(out), first(x), offset)


def vwrite_back(caller, value):
    """``write_back`` on a batch. An example of a batched array with no axis
    but the batch axis is a number, which ``x *= 2`` re-binds instead of
    changing (``x[0]`` of a 1-d array is a copy), so nothing is written."""
    if isinstance(caller, np.ndarray) and caller.ndim <= 1:
        return
    write_back(caller, value)


def vlike(make, a, batch, shape=None, **kwargs):
    """``make(a, shape=shape, ...)`` (np.zeros_like and its kin) for every
    example of the batched ``a``: the batch axis kept in front."""
    if shape is None:
        return make(a, **kwargs)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return make(a, shape=(batch,) + shape, **kwargs)
