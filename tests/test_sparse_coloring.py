"""Star colouring for sparse Hessians (adjoint/api/coloring.py): colour
counts on known patterns, validity of every colouring by checkers written
here from the definitions (independent of the colouring code), exact direct
recovery from compressed products, and Hessians of functions with random
symmetric patterns against autograd's dense Hessian."""
import itertools

import numpy as np
import pytest

import adjoint
from adjoint.api import coloring
from adjoint.api import sparse as sparse_api

pytest.importorskip("scipy.sparse")


# ------------------------------------------------------------------ checkers from the definitions


def _csr(pattern):
    pattern = np.asarray(pattern, bool)
    rows, cols = np.nonzero(pattern)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=pattern.shape[0]))])
    return indptr, cols


def _graph(pattern):
    """The adjacency matrix of a symmetric pattern: symmetrised, no diagonal."""
    pattern = np.asarray(pattern, bool)
    graph = pattern | pattern.T
    np.fill_diagonal(graph, False)
    return graph


def is_star(pattern, colors):
    """Adjacent vertices differ, and no path v - w - x - y of four distinct
    vertices has colour v == colour x and colour w == colour y."""
    graph = _graph(pattern)
    n = graph.shape[0]
    edges = list(zip(*np.nonzero(graph)))
    if any(colors[i] == colors[j] for i, j in edges):
        return False
    neighbours = [np.nonzero(graph[i])[0].tolist() for i in range(n)]
    for v in range(n):
        for w in neighbours[v]:
            for x in neighbours[w]:
                if x == v:
                    continue
                for y in neighbours[x]:
                    if y in (v, w):
                        continue
                    if colors[v] == colors[x] and colors[w] == colors[y]:
                        return False
    return True


def is_distance_2(pattern, colors):
    """Vertices at distance 1 or 2 in the graph differ."""
    graph = _graph(pattern).astype(int)
    near = (graph + graph @ graph) > 0
    np.fill_diagonal(near, False)
    rows, cols = np.nonzero(near)
    return bool(np.all(colors[rows] != colors[cols]))


def columns_valid(pattern, colors):
    """No row holds two non-zeros in columns of one colour."""
    pattern = np.asarray(pattern, bool)
    return all(len(set(colors[np.nonzero(row)[0]].tolist())) == np.count_nonzero(row) for row in pattern)


def banded(n, k):
    index = np.arange(n)
    return np.abs(index[:, None] - index[None, :]) <= k


def arrowhead(n):
    pattern = np.eye(n, dtype=bool)
    pattern[0, :] = pattern[:, 0] = True
    return pattern


def grid(m):
    index = np.arange(m * m)
    i, j = index // m, index % m
    return (np.abs(i[:, None] - i[None, :]) + np.abs(j[:, None] - j[None, :])) <= 1


def random_symmetric(n, density, seed):
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((n, n)) < density, 1)
    return upper | upper.T | np.eye(n, dtype=bool)


def star(pattern):
    indptr, indices = _csr(pattern)
    return coloring.star_coloring(indptr, indices, len(pattern))


def distance_2(pattern):
    indptr, indices = _csr(pattern)
    return coloring.symmetric_coloring(indptr, indices, len(pattern))


def test_checkers_reject_what_they_should():
    path = banded(4, 1)
    assert is_star(path, np.array([0, 1, 2, 0]))
    assert not is_star(path, np.array([0, 1, 0, 1]))  # a two-coloured path of four
    assert not is_star(path, np.array([0, 0, 1, 2]))  # adjacent alike
    assert is_distance_2(path, np.array([0, 1, 2, 0]))
    assert not is_distance_2(path, np.array([0, 1, 0, 2]))  # 0 and 2 share a neighbour
    assert not columns_valid(path, np.array([0, 0, 1, 2]))


# ------------------------------------------------------------------ colour counts


def test_arrowhead_takes_two_star_colours_where_distance_2_takes_n():
    pattern = arrowhead(30)
    colors, count = star(pattern)
    assert count == 2 and is_star(pattern, colors)
    assert distance_2(pattern)[1] == 30


def test_grid_takes_fewer_star_colours_than_distance_2():
    pattern = grid(8)
    colors, count = star(pattern)
    assert is_star(pattern, colors)
    assert count == 5 < distance_2(pattern)[1]


@pytest.mark.parametrize("k", [1, 2, 3])
def test_a_band_of_half_width_k_takes_2k_plus_1_colours_either_way(k):
    pattern = banded(40, k)
    colors, count = star(pattern)
    assert is_star(pattern, colors)
    assert count == 2 * k + 1 == distance_2(pattern)[1]


def _star_colourable(pattern, colours):
    """Whether any star colouring with ``colours`` colours exists (backtracking
    over vertices in order, first vertex colour 0)."""
    n = len(pattern)
    assignment = np.full(n, -1)

    def extend(v):
        if v == n:
            return True
        for c in range(min(colours, int(assignment[:v].max(initial=-1)) + 2)):
            assignment[v] = c
            sub = pattern[: v + 1, : v + 1]
            if is_star(sub, assignment[: v + 1]) and extend(v + 1):
                return True
        assignment[v] = -1
        return False

    return extend(0)


@pytest.mark.parametrize("k, n", [(1, 6), (2, 9)])
def test_no_star_colouring_of_a_band_has_fewer_than_2k_plus_1_colours(k, n):
    """Why a band gains nothing: exhaustive search, the bound is tight."""
    assert not _star_colourable(banded(n, k), 2 * k)
    assert _star_colourable(banded(n, k), 2 * k + 1)


def test_diagonal_and_empty_patterns():
    assert star(np.eye(7, dtype=bool))[1] == 1
    assert star(np.zeros((5, 5), bool))[1] == 1
    colors, count = star(np.zeros((0, 0), bool))
    assert count == 0 and colors.size == 0


def test_star_colouring_refuses_a_pattern_too_costly_to_colour():
    indptr, indices = _csr(np.ones((40, 40), bool))
    assert coloring.star_coloring(indptr, indices, 40, limit=1000) is None
    assert coloring.star_coloring(indptr, indices, 40)[1] == 40


# ------------------------------------------------------------------ validity and recovery on random patterns


@pytest.mark.parametrize("seed, density", [(0, 0.05), (1, 0.1), (2, 0.3), (3, 0.02)])
def test_every_colouring_of_random_patterns_is_valid(seed, density):
    pattern = random_symmetric(24, density, seed)
    colors, count = star(pattern)
    assert is_star(pattern, colors) and colors.max() + 1 == count
    indptr, indices = _csr(pattern)
    assert coloring.check_star(indptr, indices, 24, colors)
    d2_colors, d2_count = distance_2(pattern)
    assert is_distance_2(pattern, d2_colors)
    assert count <= d2_count
    jacobian = np.random.default_rng(seed).random((18, 24)) < density + 0.05
    assert columns_valid(jacobian, coloring.column_coloring(*_csr(jacobian), jacobian.shape)[0])
    assert columns_valid(jacobian.T, coloring.row_coloring(*_csr(jacobian), jacobian.shape)[0])


def test_check_star_rejects_a_distance_1_colouring_with_a_two_coloured_path():
    path = banded(4, 1)
    indptr, indices = _csr(path)
    assert not coloring.check_star(indptr, indices, 4, np.array([0, 1, 0, 1]))


@pytest.mark.parametrize("seed, density", [(4, 0.05), (5, 0.15), (6, 0.4)])
def test_star_decompression_recovers_a_symmetric_matrix_exactly(seed, density):
    n = 30
    pattern = random_symmetric(n, density, seed)
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, n))
    hessian = np.where(pattern, values + values.T, 0.0)
    colors, count = star(pattern)
    seed_matrix = np.zeros((count, n))
    seed_matrix[colors, np.arange(n)] = 1.0
    compressed = seed_matrix @ hessian  # row c: H @ s_c (H symmetric)
    indptr, indices = _csr(pattern)
    recovered = compressed.reshape(-1)[coloring.star_gather(indptr, indices, n, colors)]
    rows = np.repeat(np.arange(n), np.diff(indptr))
    np.testing.assert_array_equal(recovered, hessian[rows, indices])


# ------------------------------------------------------------------ Hessians of functions


def _coupled(pairs):
    """f(x) = sum sin(x[I] * x[J]) + sum x**3 / 3: Hessian pattern exactly the
    pairs (both ways) and the diagonal."""
    left = np.array([i for i, _ in pairs])
    right = np.array([j for _, j in pairs])

    def f(x):
        return np.sum(np.sin(x[left] * x[right])) + np.sum(x ** 3) / 3.0

    def f_autograd(x):
        import autograd.numpy as anp

        return anp.sum(anp.sin(x[left] * x[right])) + anp.sum(x ** 3) / 3.0

    return f, f_autograd


def _pairs(pattern):
    upper = np.triu(_graph(pattern), 1)
    return list(zip(*[a.tolist() for a in np.nonzero(upper)]))


@pytest.mark.parametrize("name, pattern", [
    ("arrowhead", arrowhead(25)),
    ("random sparse", random_symmetric(25, 0.08, 7)),
    ("random denser", random_symmetric(25, 0.2, 8)),
    ("grid", grid(5)),
])
def test_sparse_hessian_of_random_patterns_matches_autograd(name, pattern, monkeypatch):
    import autograd

    counts = []
    original = sparse_api._forward_compressed

    def counting(compiled, inputs, kwargs, colors, count, *rest):
        counts.append(count)
        return original(compiled, inputs, kwargs, colors, count, *rest)

    monkeypatch.setattr(sparse_api, "_forward_compressed", counting)
    f, f_autograd = _coupled(_pairs(pattern))
    x = np.random.default_rng(9).normal(size=len(pattern))
    result = adjoint.hessian(f, sparse=True)(x)
    expected = autograd.hessian(f_autograd)(x)
    np.testing.assert_allclose(result.toarray(), expected, rtol=1e-12, atol=1e-12)
    assert counts == [min(star(pattern)[1], distance_2(pattern)[1])]
    # each value is the dense passes' entry (i, j) or its mirror (j, i), bit for bit
    dense = adjoint.jacfwd(adjoint.jacrev(f))(x)
    coo = result.tocoo()
    got = coo.data
    assert np.all((got == dense[coo.row, coo.col]) | (got == dense[coo.col, coo.row]))
    if name == "arrowhead":
        assert counts == [2]


def arrow_function(x):
    return np.sum(np.sin(x[0] * x[1:])) + np.sum(x ** 3) / 3.0


def arrow_hessian(x):
    """By hand: ``d2/dx0 dxj sin(x0 xj) = cos - x0 xj sin``, and so on."""
    head, tail = x[0], x[1:]
    s, c = np.sin(head * tail), np.cos(head * tail)
    hessian = np.diag(2.0 * x)
    hessian[0, 0] += np.sum(-tail * tail * s)
    hessian[np.arange(1, x.size), np.arange(1, x.size)] += -head * head * s
    hessian[0, 1:] = hessian[1:, 0] = c - head * tail * s
    return hessian


def test_dense_hessian_of_an_arrowhead_uses_two_compressed_passes(monkeypatch):

    used = []
    original = sparse_api._DenseHessian._compressed

    def spy(self, plan, args):
        used.append(plan[3])  # colours
        return original(self, plan, args)

    monkeypatch.setattr(sparse_api._DenseHessian, "_compressed", spy)
    h = adjoint.hessian(arrow_function)
    x = np.linspace(-1.0, 1.0, 40)
    expected = arrow_hessian(x)
    for _ in range(3):
        np.testing.assert_allclose(h(x), expected, rtol=1e-12, atol=1e-12)
    assert used == [2, 2]  # the first call is dense; distance-2 would take 40 (no compression)


def test_a_pattern_too_costly_for_star_falls_back_to_distance_2(monkeypatch):
    import autograd

    monkeypatch.setattr(coloring, "STAR_WORK_LIMIT", 10)
    counts = []
    original = sparse_api._forward_compressed

    def counting(compiled, inputs, kwargs, colors, count, *rest):
        counts.append(count)
        return original(compiled, inputs, kwargs, colors, count, *rest)

    monkeypatch.setattr(sparse_api, "_forward_compressed", counting)
    pattern = grid(4)
    f, f_autograd = _coupled(_pairs(pattern))
    x = np.random.default_rng(3).normal(size=16)
    result = adjoint.hessian(f, sparse=True)(x)
    np.testing.assert_allclose(result.toarray(), autograd.hessian(f_autograd)(x), rtol=1e-12, atol=1e-12)
    assert counts == [distance_2(pattern)[1]]


def test_the_compressed_plan_builds_its_seed_once_read_only(monkeypatch):
    seeds = []
    original = sparse_api._DenseHessian._compressed

    def spy(self, plan, args):
        seeds.append(plan[-1])
        return original(self, plan, args)

    monkeypatch.setattr(sparse_api._DenseHessian, "_compressed", spy)
    h = adjoint.hessian(arrow_function)
    rng = np.random.default_rng(11)
    for _ in range(4):
        x = rng.normal(size=30)
        np.testing.assert_allclose(h(x), arrow_hessian(x), rtol=1e-12, atol=1e-12)
    assert len(seeds) == 3 and seeds[0] is seeds[1] is seeds[2]
    assert not seeds[0].flags.writeable and seeds[0].shape == (2, 30)
