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
- ``star_coloring``: for a Hessian, a star colouring (adjacent vertices
  differ, no path of four vertices in two colours), with ``star_gather``
  its direct decompression: each entry is read from its own row or, by
  symmetry, from its mirror's. Fewer colours than distance-2 on many
  patterns (an arrowhead: 2 against n); ``check_star`` verifies one.

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


# ------------------------------------------------------------------ star colouring of a symmetric pattern


def _adjacency(indptr, indices, n):
    """CSR ``(ptr, nbr)`` of the graph of an ``n x n`` pattern made
    symmetric, without its diagonal (each neighbour list sorted)."""
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    all_rows = np.concatenate([rows, indices])
    all_cols = np.concatenate([indices, rows])
    off = all_rows != all_cols
    keys = np.unique(all_rows[off] * max(n, 1) + all_cols[off])
    a_rows, a_cols = keys // max(n, 1), keys % max(n, 1)
    ptr = np.concatenate([[0], np.cumsum(np.bincount(a_rows, minlength=n))]).astype(np.int64)
    return ptr, a_cols.astype(np.int64)


#: most steps ``star_coloring`` takes (about a microsecond each): the sum of
#: squared degrees of the graph; above it the caller keeps distance-2
STAR_WORK_LIMIT = 2 * 10 ** 6


def star_coloring(indptr, indices, n, limit=None):
    """``(colors, count)`` for an ``n x n`` symmetric pattern (a Hessian's):
    a star colouring of its adjacency graph, or None when it would take more
    than ``limit`` steps (default ``STAR_WORK_LIMIT``; the sum of the
    squared degrees: a dense row costs its length squared). Adjacent vertices differ, and every path of four
    vertices takes at least three colours (no two-coloured path ``v - w - x
    - y``: the two-coloured subgraphs are stars). Then every entry ``(i, j)``
    is read directly from one compressed Hessian-vector product, either as
    ``(H S)[i, colour j]`` (``j`` the only neighbour of ``i`` of its colour)
    or, by symmetry, as ``(H S)[j, colour i]``: see ``star_gather``. It
    needs fewer colours than a distance-2 colouring on many patterns (an
    arrowhead: 2 against n; a 5-point grid: 5 against 7), never more in
    practice, and as many on a band (``2k + 1`` for half-bandwidth ``k``,
    the least any star colouring of a long band can do).

    Greedy, largest degree first: a vertex ``v`` takes the smallest colour
    that no neighbour has and that closes no two-coloured path of four
    vertices among the coloured ones, with ``v`` at its end (``v - w - x -
    y``: ``colour x`` is forbidden when ``x`` has a neighbour ``y != w`` of
    ``w``'s colour) or inside it (``a - v - w - b``: ``colour b`` is
    forbidden when another neighbour ``a`` of ``v`` has ``w``'s colour)."""
    ptr, nbr = _adjacency(indptr, indices, n)
    colors = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return colors, 0
    degree = np.diff(ptr)
    if int(np.sum(degree * degree)) > (STAR_WORK_LIMIT if limit is None else limit):
        return None
    order = np.lexsort((np.arange(n), -degree))
    neighbours = [nbr[ptr[v]:ptr[v + 1]].tolist() for v in range(n)]
    color_of = [-1] * n
    #: around[x][c]: how many coloured neighbours of x have colour c
    around = [{} for _ in range(n)]
    count = 0
    for v in order.tolist():
        forbidden = set()
        coloured = [w for w in neighbours[v] if color_of[w] >= 0]
        seen = around[v]
        forbidden.update(seen)
        for w in coloured:
            cw = color_of[w]
            shared = seen[cw] > 1  # another neighbour a of v has w's colour: a - v - w - b
            for x in neighbours[w]:
                cx = color_of[x]
                if x == v or cx < 0 or cx in forbidden:
                    continue
                if shared or around[x].get(cw, 0) > 1:  # w and some y != w around x have colour cw
                    forbidden.add(cx)
        color = 0
        while color in forbidden:
            color += 1
        color_of[v] = color
        for u in neighbours[v]:
            around[u][color] = around[u].get(color, 0) + 1
        count = max(count, color + 1)
    colors[:] = color_of
    return colors, count


def star_gather(indptr, indices, n, colors):
    """Where each entry of the ``n x n`` pattern (CSR ``indptr``, ``indices``,
    in its order) sits in the flattened compressed Hessian ``(count, n)``
    (row ``c`` is ``H @ s_c``, ``s_c`` the indicator of colour ``c``), under
    the star colouring ``colors``: entry ``(i, j)`` at ``(colour j, i)`` when
    no other neighbour of ``i`` has ``j``'s colour (the diagonal always),
    else at ``(colour i, j)``, the symmetric entry ``H[j, i]``."""
    ptr, nbr = _adjacency(indptr, indices, n)
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    # how many neighbours of each vertex have each colour: keyed vertex * count + colour
    count = int(colors.max()) + 1 if n else 1
    a_rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(ptr))
    keys, multiplicity = np.unique(a_rows * count + colors[nbr], return_counts=True)
    entry_keys = rows * count + colors[indices]
    where = np.searchsorted(keys, entry_keys)
    where = np.minimum(where, max(keys.size - 1, 0))
    found = (keys.size > 0) & (keys[where] == entry_keys) if keys.size else np.zeros(rows.size, bool)
    unique_in_row = (rows == indices) | ~found | (multiplicity[where] == 1) if keys.size else np.ones(
        rows.size, bool)
    return np.where(unique_in_row, colors[indices] * n + rows, colors[rows] * n + indices)


def check_star(indptr, indices, n, colors):
    """Whether ``colors`` is a star colouring of the symmetric ``n x n``
    pattern: adjacent vertices differ and every edge ``(i, j)`` has ``j``
    alone in its colour among ``i``'s neighbours or ``i`` alone in its
    colour among ``j``'s (which rules out two-coloured paths of four)."""
    ptr, nbr = _adjacency(indptr, indices, n)
    for i in range(n):
        mine = nbr[ptr[i]:ptr[i + 1]]
        if np.any(colors[mine] == colors[i]):
            return False
        for j in mine.tolist():
            theirs = nbr[ptr[j]:ptr[j + 1]]
            if np.count_nonzero(colors[mine] == colors[j]) > 1 and \
                    np.count_nonzero(colors[theirs] == colors[i]) > 1:
                return False
    return True
