"""Shared test helpers: pytree flattening and a finite-difference Jacobian.

``numerical_jacobian`` is independent of adjoint (plain NumPy, central
differences) and returns its result in jacrev's layout (output structure
outside, the selected argument's structure inside), so tests can compare the
two leaf by leaf. ``jacobian_matrix`` flattens that layout into one
``(output elements, input elements)`` matrix, the form autograd produces for
a function of a flat vector.

``Program`` and the ``check_*`` functions are the harness of the program
catalogues (test_programs, test_control_flow): each program is checked
against finite differences, against autograd running its twin, and across
chunk sizes.
"""
import atexit
import collections
import os
import shutil
import tempfile

import numpy as np
import pytest


def _share_bytecode_with_subprocesses():
    """The tests start Python subprocesses (the CLI, exported modules, fresh
    interpreters) that import NumPy, SciPy and adjoint afresh. Where the
    environment forbids writing bytecode (PYTHONDONTWRITEBYTECODE, set on
    some machine images), each of them would compile those packages from
    source again, about half a second apiece. They share one bytecode cache
    for the session instead, in a temporary folder (never in the tree)."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    folder = tempfile.mkdtemp(prefix="adjoint-tests-pycache-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ["PYTHONPYCACHEPREFIX"] = folder


_share_bytecode_with_subprocesses()


def tree_leaves(tree):
    """Leaves of a pytree of dict (insertion order), list, tuple, namedtuple."""
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in tree_leaves(value)]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in tree_leaves(item)]
    return [tree]


def tree_unflatten(like, leaves):
    """``like``'s structure with its leaves taken, in order, from ``leaves``."""
    leaves = iter(leaves)

    def build(node):
        if isinstance(node, dict):
            return {key: build(value) for key, value in node.items()}
        if isinstance(node, tuple) and hasattr(type(node), "_fields"):
            return type(node)(*[build(item) for item in node])
        if isinstance(node, (list, tuple)):
            return type(node)(build(item) for item in node)
        return next(leaves)

    return build(like)


def _subtrees_at_leaves(tree, like):
    """The subtrees of ``tree`` sitting where ``like`` has its leaves."""
    if isinstance(like, dict):
        assert isinstance(tree, dict) and list(tree) == list(like), (tree, like)
        return [sub for key in like for sub in _subtrees_at_leaves(tree[key], like[key])]
    if isinstance(like, (list, tuple)):
        assert type(tree) is type(like) and len(tree) == len(like), (type(tree), type(like))
        return [sub for t, l in zip(tree, like, strict=True) for sub in _subtrees_at_leaves(t, l)]
    return [tree]


def flat_vector(tree):
    return np.concatenate([np.ravel(np.asarray(leaf, dtype=np.float64)) for leaf in tree_leaves(tree)])


def from_flat_vector(like, vector):
    leaves, offset = [], 0
    for leaf in tree_leaves(like):
        shape = np.shape(leaf)
        size = int(np.prod(shape))
        leaves.append(vector[offset:offset + size].reshape(shape))
        offset += size
    return tree_unflatten(like, leaves)


def numerical_jacobian(func, args, argnum=0, eps=1e-6):
    """Central-difference Jacobian of ``func(*args)`` with respect to
    ``args[argnum]`` (a leaf or a pytree), in jacrev's layout."""
    args = list(args)
    point = args[argnum]
    base = flat_vector(point)

    def flat_output(vector):
        args[argnum] = from_flat_vector(point, vector)
        return flat_vector(func(*args))

    output = func(*args)
    columns = []
    for index in range(base.size):
        step = np.zeros_like(base)
        step[index] = eps
        columns.append((flat_output(base + step) - flat_output(base - step)) / (2 * eps))
    args[argnum] = point
    matrix = np.stack(columns, axis=1)
    return matrix_to_jacobian(matrix, output, point)


def matrix_to_jacobian(matrix, output, point):
    """An ``(N_out, N_in)`` matrix in jacrev's layout for ``output`` and ``point``."""
    blocks, row = [], 0
    for out_leaf in tree_leaves(output):
        out_shape = np.shape(out_leaf)
        out_size = int(np.prod(out_shape))
        in_blocks, column = [], 0
        for in_leaf in tree_leaves(point):
            in_shape = np.shape(in_leaf)
            in_size = int(np.prod(in_shape))
            block = matrix[row:row + out_size, column:column + in_size]
            in_blocks.append(block.reshape(out_shape + in_shape))
            column += in_size
        blocks.append(tree_unflatten(point, in_blocks))
        row += out_size
    return tree_unflatten(output, blocks)


def jacobian_matrix(jacobian, output, point):
    """Inverse of ``matrix_to_jacobian``: jacrev's layout -> one matrix."""
    rows = []
    per_output = _subtrees_at_leaves(jacobian, output)
    for out_leaf, in_tree in zip(tree_leaves(output), per_output, strict=True):
        out_size = int(np.prod(np.shape(out_leaf)))
        in_blocks = _subtrees_at_leaves(in_tree, point)
        rows.append(np.concatenate([np.reshape(b, (out_size, -1)) for b in in_blocks], axis=1))
    return np.concatenate(rows, axis=0)


def assert_trees_close(actual, expected, rtol=1e-6, atol=1e-8):
    """Same pytree structure (container types included) and close leaves."""
    assert _structure(actual) == _structure(expected), (_structure(actual), _structure(expected))
    for got, want in zip(tree_leaves(actual), tree_leaves(expected), strict=True):
        assert np.shape(got) == np.shape(want), (np.shape(got), np.shape(want))
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def _structure(tree):
    if isinstance(tree, dict):
        return ("dict", tuple((k, _structure(v)) for k, v in tree.items()))
    if isinstance(tree, (list, tuple)):
        return (type(tree).__name__, tuple(_structure(item) for item in tree))
    return "leaf"


def autograd_jacobian_matrix(twin, args, argnum):
    """autograd's Jacobian of ``twin`` as a function of the flattened
    argument at ``argnum`` and of its flattened output (autograd is the
    independent oracle; ``twin`` is the program written with autograd.numpy)."""
    import autograd
    import autograd.numpy as anp

    point = args[argnum]

    def flat_function(vector):
        call_args = list(args)
        call_args[argnum] = from_flat_vector(point, vector)
        return anp.concatenate([anp.ravel(leaf) for leaf in tree_leaves(twin(*call_args))])

    return autograd.jacobian(flat_function)(flat_vector(point))


# ----------------------------------------------------------------- catalogues

#: a catalogue row: ``func(*make_args())`` differentiated at ``argnum``;
#: ``twin`` is the same program written with autograd.numpy.
Program = collections.namedtuple("Program", "name func twin make_args argnum")


def check_against_finite_differences(program):
    import adjoint

    args = program.make_args()
    jacobian = adjoint.jacrev(program.func, argnums=program.argnum)(*args)
    expected = numerical_jacobian(program.func, args, program.argnum)
    assert_trees_close(jacobian, expected, rtol=1e-5, atol=1e-6)


def check_against_autograd(program):
    import adjoint

    args = program.make_args()
    jacobian = adjoint.jacrev(program.func, argnums=program.argnum)(*args)
    output = program.func(*args)
    expected = autograd_jacobian_matrix(program.twin, args, program.argnum)
    # The twin must compute the same values, or the comparison proves nothing.
    np.testing.assert_allclose(flat_vector(program.twin(*args)), flat_vector(output), rtol=1e-12)
    np.testing.assert_allclose(jacobian_matrix(jacobian, output, args[program.argnum]), expected,
                               rtol=1e-9, atol=1e-11)


def check_chunk_sizes_agree(program, chunk_sizes):
    import adjoint

    args = program.make_args()
    all_rows = adjoint.jacrev(program.func, argnums=program.argnum)(*args)
    for chunk_size in chunk_sizes:
        chunked = adjoint.jacrev(program.func, argnums=program.argnum, chunk_size=chunk_size)(*args)
        assert_trees_close(chunked, all_rows, rtol=1e-12, atol=1e-14)


def check_forward_mode(program, chunk_sizes=(None, 2)):
    """jacfwd (forward mode, generated tangent code) equals jacrev (checked
    against finite differences and autograd by the other tests)."""
    import adjoint

    args = program.make_args()
    expected = adjoint.jacrev(program.func, argnums=program.argnum)(*args)
    for chunk_size in chunk_sizes:
        got = adjoint.jacfwd(program.func, argnums=program.argnum, chunk_size=chunk_size)(*args)
        assert_trees_close(got, expected, rtol=1e-9, atol=1e-12)


def _leaves(tree):
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [np.asarray(tree, dtype=np.float64)]


def _moved(tree, directions, scale, counter=None):
    """``tree`` with each leaf moved by ``scale`` times its direction."""
    counter = [0] if counter is None else counter
    if isinstance(tree, dict):
        return {k: _moved(v, directions, scale, counter) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(_moved(v, directions, scale, counter) for v in tree)
    direction = directions[counter[0]]
    counter[0] += 1
    return np.asarray(np.asarray(tree, dtype=np.float64) + scale * direction)


def check_second_derivative(program, step=1e-5):
    """jacfwd(jacrev(f)) (forward mode over the generated reverse code)
    against central differences of jacrev along a random direction u (one
    part per leaf of a container argument): the second derivative
    contracted with u must equal the difference quotient of jacrev along u.
    A wrong entry anywhere changes that contraction for almost every u, and
    it costs two calls of jacrev, not two per element. (For each block of
    jacrev, the result holds one block per leaf of the argument.)"""
    import adjoint

    args = program.make_args()
    first = adjoint.jacrev(program.func, argnums=program.argnum)
    if isinstance(program.func(*args), (tuple, list, dict)):
        # a container output: refused clearly, not yet supported
        with pytest.raises(TypeError, match="containers are not supported there yet"):
            adjoint.jacfwd(first, argnums=program.argnum)(*args)
        return
    second = adjoint.jacfwd(first, argnums=program.argnum)(*args)
    x_leaves = _leaves(args[program.argnum])
    rng = np.random.default_rng(5)
    directions = [rng.standard_normal(leaf.shape) for leaf in x_leaves]
    up, down = list(args), list(args)
    up[program.argnum] = _moved(args[program.argnum], directions, step)
    down[program.argnum] = _moved(args[program.argnum], directions, -step)
    differences = [(a - b) / (2 * step) for a, b in zip(_leaves(first(*up)), _leaves(first(*down)), strict=True)]
    got_leaves = _leaves(second)
    assert len(got_leaves) == len(differences) * len(x_leaves)
    for block, expected in enumerate(differences):
        parts = got_leaves[block * len(x_leaves):(block + 1) * len(x_leaves)]
        along = sum(np.tensordot(part, d, axes=d.ndim) if d.ndim else part * d
                    for part, d in zip(parts, directions, strict=True))
        expected = expected.reshape(np.shape(along))
        scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
        np.testing.assert_allclose(along, expected, rtol=1e-5, atol=1e-6 * scale,
                                   err_msg=f"second derivative along a random direction, block {block}")
