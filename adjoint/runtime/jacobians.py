"""Derivatives as code: what the functions ``adjoint.api.derivatives``
writes call to turn generated code's rows into Jacobians (identity bases,
rows -> Jacobian, outputs of a derivative).
"""
import numpy as np

from .elementwise import structural_zeros_known
from .indexing import add_bar, batch_size, rebuild_like
from .masked_bars import masked_array


# ------------------------------------------------------------ derivatives as code
# What the functions of ``derivatives.py`` call to turn the generated code's
# adjoints and tangents into Jacobians (each has an adjoint and a tangent rule).

def size_of(x):
    """The number of elements of ``x`` (of all its arrays, for a container)."""
    if isinstance(x, (dict, list, tuple)):
        return sum(size_of(leaf) for leaf in _tree_leaves(x))
    return int(np.size(x))


def batch_count(tangents):
    """The batch size a forward-mode function is called with (its first entry)."""
    return tangents[0]


def _float_dtype(value):
    """The floating dtype of a derivative of ``value``: its own if it is
    floating, else float64 (by dtype: NumPy 1 would cast a float64 scalar's
    value down to float32)."""
    dtype = np.asarray(value).dtype
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _derivative_value(value, what):
    if not isinstance(value, (np.ndarray, np.generic, float, int)) or isinstance(value, bool):
        raise TypeError(
            f"transforming a derivative again (a further derivative, or vmap of it): the function's {what} is a "
            f"{type(value).__name__}; a derivative is transformed again only for array arguments and an array "
            "output (containers are not supported there yet).")


def output_basis(out):
    """Every row of the identity over ``out``'s elements: ``(N,) + out.shape``."""
    if (type(out) is np.ndarray or type(out) is np.float64) and out.dtype.kind == "f":
        # the common cases (an array; the float64 scalar a full reduction gives): no conversion to check
        return _seed_marked(identity_rows(out.shape, out.dtype))
    _derivative_value(out, "output")
    return _seed_marked(identity_rows(np.shape(out), _float_dtype(out)))


def _seed_marked(basis):
    """``basis``, its zeros marked as the seed's own (a ``MaskedBar``) while
    the passes run again to tell them from zeros a zero slope computed
    (rt.guarding_zero_tangents, api/bases.py): the derivative written as
    code then agrees with jacrev's and jacfwd's own passes."""
    if structural_zeros_known():
        return masked_array(basis, np.equal(basis, 0))
    return basis


def identity_rows(shape, dtype):
    """The identity over the elements of an array of ``shape``, one row per
    element: ``(N,) + shape``, read-only; the small ones are built once
    and shared by every call (nothing may write into them)."""
    key = (shape, dtype)
    basis = _BASES.get(key)
    if basis is None:
        size = 1
        for length in shape:
            size *= length
        basis = np.eye(size, dtype=dtype).reshape((size,) + tuple(shape))
        basis.flags.writeable = False
        if len(_BASES) < 64 and size * size <= 1 << 16:  # small ones only: memory stays bounded
            _BASES[key] = basis
            _IDENTITIES[id(basis)] = basis
    return basis


def is_identity_rows(value):
    """Whether ``value`` is one of the identity bases ``identity_rows`` keeps
    (the very object: read-only, so its values are still the identity's)."""
    return _IDENTITIES.get(id(value)) is value


#: identity bases already built, by shape and dtype (small ones are asked for again and again)
_BASES = {}
#: the same bases by id, to recognise them (they are never dropped, so an id is never reused)
_IDENTITIES = {}


def scalar_seed(out):
    """The cotangent 1 of a 0-d output, batched: ``(1,)``."""
    _derivative_value(out, "output")
    if np.ndim(out) != 0:
        raise ValueError(f"grad of a function whose output has shape {np.shape(out)}: the output "
                         "must be a single 0-d value. Use jacrev, or sum the output.")
    return _seed_marked(np.ones((1,), dtype=_float_dtype(out)))


def input_basis(x, offset, total):
    """Columns ``offset:offset + x.size`` of the identity over ``total``
    input elements, as tangents of ``x``: ``(total,) + x.shape``."""
    if isinstance(x, (dict, list, tuple)):
        return _tree_input_basis(x, offset, total)
    _derivative_value(x, "argument")
    size = int(np.size(x))
    seed = np.zeros((total, size), dtype=_float_dtype(x))
    seed[offset + np.arange(size), np.arange(size)] = 1
    return _seed_marked(seed.reshape((total,) + np.shape(x)))


def jacobian_from_rows(bar, out, x):
    """Adjoints ``(N,) + x.shape`` of the output basis -> ``out.shape + x.shape``."""
    if type(bar) is np.ndarray and type(x) is np.ndarray and x.dtype.kind == "f":  # the common case
        return bar.reshape((out.shape if type(out) is np.ndarray else np.shape(out)) + x.shape)
    if isinstance(x, (dict, list, tuple)):
        return _tree_map(lambda leaf, leaf_bar: jacobian_from_rows(leaf_bar, out, leaf), x, bar)
    _derivative_value(x, "argument")
    if bar is None:
        return np.zeros(np.shape(out) + np.shape(x), dtype=_float_dtype(x))
    return np.reshape(np.asarray(bar), np.shape(out) + np.shape(x))  # (an absent adjoint: plain zeros)


def rows_from_jacobian(g, out, x):
    """Adjoint of ``jacobian_from_rows``: ``(B,) + out.shape + x.shape`` -> ``(B, N) + x.shape``."""
    return np.reshape(g, (g.shape[0], int(np.size(out))) + np.shape(x))


def gradient_from_row(bar, out, x):
    """The adjoint ``(1,) + x.shape`` of a 0-d output's seed -> ``x.shape``."""
    if isinstance(x, (dict, list, tuple)):
        return _tree_map(lambda leaf, leaf_bar: gradient_from_row(leaf_bar, out, leaf), x, bar)
    _derivative_value(x, "argument")
    if bar is None:
        return np.zeros(np.shape(x), dtype=_float_dtype(x))
    return np.reshape(np.asarray(bar), np.shape(x))


def jacobian_from_columns(out_dot, out, x, offset):
    """Tangents ``(total,) + out.shape``; the columns of ``x`` (from
    ``offset``) -> ``out.shape + x.shape``."""
    if isinstance(out, (dict, list, tuple)) or isinstance(x, (dict, list, tuple)):
        return _tree_columns(jacobian_from_columns, out_dot, out, x, offset)
    if out_dot is None:  # an output that does not depend on the inputs (code compiled for a second derivative)
        return np.zeros(np.shape(out) + np.shape(x), dtype=_float_dtype(x))
    size = int(np.size(x))
    part = out_dot[offset:offset + size]
    return np.moveaxis(part, 0, -1).reshape(np.shape(out) + np.shape(x))


def jacobian_from_columns_tangent(t, out, x, offset):
    """``jacobian_from_columns`` on every row of a batch ``(B, total) + out.shape``."""
    if isinstance(out, (dict, list, tuple)) or isinstance(x, (dict, list, tuple)):
        return _tree_columns(jacobian_from_columns_tangent, t, out, x, offset)
    if t is None:
        return None
    size = int(np.size(x))
    part = t[:, offset:offset + size]
    return np.moveaxis(part, 1, -1).reshape((t.shape[0],) + np.shape(out) + np.shape(x))


def columns_adjoint(g, out_dot, out, x, offset):
    """Adjoint of ``jacobian_from_columns``: ``(B,) + out.shape + x.shape``
    -> ``(B,) + out_dot.shape``, zero outside ``x``'s columns."""
    size = int(np.size(x))
    batch = g.shape[0]
    result = np.zeros((batch,) + np.shape(out_dot), dtype=g.dtype)
    part = np.reshape(g, (batch,) + np.shape(out) + (size,))
    result[:, offset:offset + size] = np.moveaxis(part, -1, 1)
    return result


def batched_reshape(t, z):
    """A tangent or adjoint ``(B, ...)`` reshaped to ``(B,) + z.shape``
    (leaf by leaf for a container ``z``; None holes stay None)."""
    if isinstance(z, (dict, list, tuple)):
        return _tree_map(lambda leaf, leaf_t: None if leaf_t is None else batched_reshape(leaf_t, leaf), z, t)
    if type(t) is np.ndarray and type(z) is np.ndarray:  # the common case
        return t.reshape((t.shape[0],) + z.shape)
    return np.reshape(t, (t.shape[0],) + np.shape(z))


# ------------------------------------------------------------ reverse mode over a derivative
# derivatives.JacobianVJP: the backward pass of a derivative function
# contracts cotangents with the Jacobian blocks its forward pass computed.

def _output_leaves(output, blocks, g):
    """``(out, out_blocks, cotangent)`` for every array of the output (a
    container's blocks and cotangents have its structure; None: no cotangent)."""
    if isinstance(output, dict):
        return [found for k in output for found in _output_leaves(
            output[k], blocks[k], None if g is None else g.get(k))]
    if isinstance(output, (list, tuple)):
        return [found for i in range(len(output)) for found in _output_leaves(
            output[i], blocks[i], None if g is None else g[i])]
    return [(output, blocks, g)]


def _is_identity(cotangent, size):
    """Whether a batch of cotangents is every row of the identity, in order."""
    if not isinstance(cotangent, np.ndarray) or cotangent.shape[:1] != (size,) or cotangent.size != size * size:
        return False
    rows = cotangent.reshape(size, size)
    return bool(np.all(rows.diagonal() == 1)) and np.count_nonzero(rows) == size


def contract_blocks(g, blocks, output, position):
    """The contribution to the argument at ``position``: every output's
    cotangent ``(B,) + out.shape`` (None: no cotangent) contracted with its
    Jacobian block ``out.shape + x.shape`` -> ``(B,) + x.shape`` (leaf by
    leaf when the argument is a container)."""
    total = None
    found = _output_leaves(output, blocks, g)
    for out, out_blocks, cotangent in found:
        if cotangent is None:
            continue
        if _is_identity(cotangent, np.size(out)):  # the whole Jacobian asked for: no product needed
            part = _tree_map(lambda block, _, n=np.size(out), k=np.ndim(out): np.array(
                np.reshape(block, (n,) + np.shape(block)[k:])), out_blocks[position], None)
        else:
            part = _tree_map(lambda block, _, c=cotangent, k=np.ndim(out): np.tensordot(c, block, axes=k),
                             out_blocks[position], None)
        total = part if total is None else add_bar(total, part)
    if total is None:
        out, out_blocks, _ = found[0]
        return _tree_map(lambda block, _: np.zeros((batch_size(g) or 1,) + np.shape(block)[np.ndim(out):],
                                                   dtype=_float_dtype(block)), out_blocks[position], None)
    return total


def contract_blocks_tangent(tb, g, output, position):
    """Tangent of ``contract_blocks`` along ``tb``, the tangent ``(T,) +
    block.shape`` of the blocks: ``(T, B) + x.shape``."""
    total = None
    for out, out_tb, cotangent in _output_leaves(output, tb, g):
        if cotangent is None or out_tb is None or out_tb[position] is None:
            continue
        axes = list(range(1, np.ndim(out) + 1))
        part = _tree_map(lambda t, _, c=cotangent: None if t is None else np.moveaxis(
            np.tensordot(t, c, axes=(axes, axes)), -1, 1), out_tb[position], None)
        total = part if total is None else add_bar(total, part)
    return total


# ------------------------------------------------------------ derivatives of container arguments
# The functions derivatives.py writes, for an argument that is a dict, list or
# tuple of arrays (vmap(grad(loss), in_dims=(None, 0))((W, b), X), hessian of
# a dict argument): leaf by leaf, the columns of the leaves one after another.

def _tree_leaves(tree):
    if isinstance(tree, dict):
        return [leaf for item in tree.values() for leaf in _tree_leaves(item)]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _tree_leaves(item)]
    return [tree]


def _tree_map(function, tree, other):
    """``function(leaf, other_leaf)`` over the leaves of ``tree``; ``other``
    has the same structure, or None (None for every leaf under it)."""
    if isinstance(tree, dict):
        return {k: _tree_map(function, v, None if other is None else other.get(k)) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return rebuild_like(tree, [_tree_map(function, item, None if other is None else other[i])
                                   for i, item in enumerate(tree)])
    return function(tree, other)


def _tree_input_basis(x, offset, total):
    leaves = _tree_leaves(x)
    bases = []
    for leaf in leaves:
        bases.append(input_basis(leaf, offset, total))
        offset += int(np.size(leaf))
    found = iter(bases)
    return _tree_map(lambda leaf, _: next(found), x, None)


def _tree_columns(columns, out_dot, out, x, offset):
    """``columns(out_dot, out, x, offset)`` for every output leaf (outside)
    and every argument leaf (inside), the argument's leaves taking their
    columns one after another from ``offset``."""
    def per_output(out_leaf, dot_leaf):
        start = [offset]

        def per_argument(x_leaf, _):
            block = columns(dot_leaf, out_leaf, x_leaf, start[0])
            start[0] += int(np.size(x_leaf))
            return block
        return _tree_map(per_argument, x, None)
    return _tree_map(per_output, out, out_dot)


def jacobian_blocks(blocks, out):
    """The blocks of a tuple ``argnums``, one per argument (each shaped like
    the output), regrouped as jacfwd returns them: for an output container,
    the container with a tuple of blocks (one per argument) at each leaf."""
    if isinstance(out, dict):
        return {k: jacobian_blocks(tuple(b[k] for b in blocks), out[k]) for k in out}
    if isinstance(out, (list, tuple)):
        return rebuild_like(out, [jacobian_blocks(tuple(b[i] for b in blocks), item) for i, item in enumerate(out)])
    return blocks
