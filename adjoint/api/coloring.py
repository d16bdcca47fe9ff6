"""Colourings of a sparsity pattern, for compressed Jacobians and Hessians.

A leaf module: NumPy only, no other part of adjoint. A pattern is given by
its compressed-sparse-row index arrays (``indptr``, ``indices``) and its
shape, as ``scipy.sparse`` stores it, so that SciPy is not needed here.

- ``column_coloring``: columns that share no row get one colour (the
  Curtis-Powell-Reid grouping), greedy over the columns in largest-first
  order (most non-zeros first). One forward pass per colour then gives
  every column of the colour at once: the rows of different columns of one
  colour never overlap.
- ``row_coloring``: the same for rows (columns of the transpose), for
  reverse mode.
- ``symmetric_coloring``: for a Hessian, a distance-2 colouring of its
  adjacency graph, which is the column colouring of the symmetric pattern
  with its diagonal (two columns that share a row, including a diagonal
  entry, are at distance at most 2).

Guarantee: in the colouring returned, no two columns (rows) of one colour
have a non-zero in the same row (column); ``check_columns`` verifies it.
A diagonal pattern takes one colour, a tridiagonal one three.
"""
import numpy as np


def _transpose(indptr, indices, shape):
    """The CSR index arrays of the transpose (CSC of the pattern)."""
    n_rows, n_cols = shape
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(indptr))
    order = np.lexsort((rows, indices))
    counts = np.bincount(indices, minlength=n_cols)
    t_indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return t_indptr, rows[order]


def column_coloring(indptr, indices, shape):
    """``(colors, count)``: a colour in ``range(count)`` for each column of
    the ``shape`` pattern (CSR ``indptr``, ``indices``), such that no two
    columns of one colour have a non-zero in the same row. Greedy,
    largest-first: columns with the most non-zeros are coloured first, each
    taking the smallest colour none of its neighbours (columns sharing a row
    with it) has. An empty column takes colour 0."""
    n_rows, n_cols = shape
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    colors = np.full(n_cols, -1, dtype=np.int64)
    if n_cols == 0:
        return colors, 0
    col_ptr, col_rows = _transpose(indptr, indices, shape)
    degree = np.diff(col_ptr)
    # Largest first; ties in column order, so that the result is deterministic.
    order = np.lexsort((np.arange(n_cols), -degree))
    # forbidden[c] == j: colour c is taken by a neighbour of column j
    forbidden = np.full(n_cols + 1, -1, dtype=np.int64)
    count = 0
    for j in order.tolist():
        rows = col_rows[col_ptr[j]:col_ptr[j + 1]]
        if rows.size == 0:
            colors[j] = 0
            count = max(count, 1)
            continue
        neighbours = np.concatenate([indices[indptr[r]:indptr[r + 1]] for r in rows.tolist()])
        taken = colors[neighbours]
        forbidden[taken[taken >= 0]] = j
        color = 0
        while forbidden[color] == j:
            color += 1
        colors[j] = color
        count = max(count, color + 1)
    return colors, count


def row_coloring(indptr, indices, shape):
    """``(colors, count)``: a colour for each row such that no two rows of
    one colour have a non-zero in the same column (the column colouring of
    the transpose), for compressed reverse-mode passes."""
    t_indptr, t_indices = _transpose(indptr, indices, shape)
    return column_coloring(t_indptr, t_indices, (shape[1], shape[0]))


def symmetric_coloring(indptr, indices, n):
    """``(colors, count)`` for an ``n x n`` symmetric pattern (a Hessian's):
    a distance-2 colouring of its adjacency graph, i.e. the column colouring
    of the pattern symmetrised and with its diagonal. Every Hessian entry is
    then read directly from one compressed Hessian-vector product."""
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    diag = np.arange(n, dtype=np.int64)
    all_rows = np.concatenate([rows, indices, diag])
    all_cols = np.concatenate([indices, rows, diag])
    keys = np.unique(all_rows * max(n, 1) + all_cols)
    s_rows, s_cols = keys // max(n, 1), keys % max(n, 1)
    s_indptr = np.concatenate([[0], np.cumsum(np.bincount(s_rows, minlength=n))]).astype(np.int64)
    return column_coloring(s_indptr, s_cols, (n, n))


def check_columns(indptr, indices, shape, colors):
    """Whether no row holds two non-zeros in columns of one colour."""
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    for r in range(shape[0]):
        used = colors[indices[indptr[r]:indptr[r + 1]]]
        if np.unique(used).size != used.size:
            return False
    return True


def seeds(colors, count, dtype=np.float64):
    """The ``(count, len(colors))`` seed matrix: row ``c`` is 1 at the
    columns of colour ``c``."""
    seed = np.zeros((count, colors.size), dtype=dtype)
    seed[colors, np.arange(colors.size)] = 1
    return seed


# ------------------------------------------------------------------ probing a pattern by residue classes


def probe_primes(n):
    """Three distinct primes a little above ``sqrt(n)``: the residue classes
    ``j mod p`` group ``n`` columns into ``sum(primes)`` probes whose
    product is far above ``n`` (see ``residue_candidates``)."""
    primes = []
    candidate = max(int(np.ceil(1.2 * np.sqrt(max(n, 1)))), 2)
    while len(primes) < 3:
        if all(candidate % d for d in range(2, int(np.sqrt(candidate)) + 1)):
            primes.append(candidate)
        candidate += 1
    return primes


def residue_candidates(marks, primes, n_cols, limit):
    """The ``(rows, cols)`` of every entry that may be non-zero, given for
    each prime ``p`` the ``(p, n_rows)`` boolean ``marks[p]``: row ``i``
    reached from some column ``j`` with ``j % p == r``. A true non-zero
    ``(i, j)`` is marked for every prime, so it is among the candidates
    (``j`` with ``marks[p][j % p, i]`` for all ``p``); columns that only
    look alike in every residue are false candidates, which a later exact
    pass removes. None when there would be more than ``limit`` candidates
    to check (a dense pattern: probe every column instead)."""
    first = primes[0]
    residues, rows = np.nonzero(marks[first])
    steps = -(-n_cols // first)
    if residues.size * steps > limit:
        return None
    cols = residues[:, None] + first * np.arange(steps)[None, :]
    rows = np.broadcast_to(rows[:, None], cols.shape)
    keep = cols < n_cols
    cols, rows = cols[keep], rows[keep]
    for p in primes[1:]:
        keep = marks[p][cols % p, rows]
        cols, rows = cols[keep], rows[keep]
    order = np.lexsort((cols, rows))
    return rows[order].astype(np.int64), cols[order].astype(np.int64)
