"""Sparse Jacobians and Hessians: sparsity detection, colouring, compressed
passes (SPEC.md section 7).

``sparsity(func, argnums)(*args)`` runs the generated forward-mode code over
the input basis with every seeded tangent NaN (``NaN * 0`` and ``NaN + x``
are NaN, so every arithmetic path from an input to an output marks it, even
through a zero coefficient): an output tangent that is NaN marks a
dependence (with many inputs, residue classes of columns first, then one
pass per colour of the superset they give: see ``_detect``). That is the
pattern at this point. It holds at every point of
the same shapes when ``analysis.structure`` finds nothing value-dependent
deciding the structure (no branch, loop bound or index computed from the
inputs, no value-selecting primitive); then the pattern and its colourings
are cached per (function, argnums, shapes and dtypes, other arguments'
values). Otherwise it is found again at every call, and a warning (once per
construct) names the user's line.

``jacfwd(..., sparse=True)`` colours the columns (Curtis-Powell-Reid) and
runs one batched forward pass per chunk of colours; ``jacrev(...,
sparse=True)`` colours the rows and runs the backward pass; ``hessian(...,
sparse=True)`` runs forward mode over the reverse-mode gradient with a star
colouring of the symmetric pattern when it has fewer colours than a
distance-2 one (else the distance-2 one); a star colouring reads some
entries ``(i, j)`` as their mirror ``(j, i)``. Each result is decompressed
into a ``scipy.sparse.csr_matrix`` holding exactly the entries of the
pattern.

``dense_hessian`` is what ``hessian(func)`` returns: the dense passes, which
switch to the compressed ones (decompressed into a dense array) from the
second call on for a shape whose pattern is global and has fewer colours
than half the inputs; a compressed result with a non-finite entry is
computed again by the dense passes.
"""
import functools
import math
import types
import warnings
import weakref

import numpy as np

from .. import errors, made
from .. import runtime as rt
from ..backend import cache, specialize
from . import coloring, pytree
from . import bases, budget, calling
from . import passes as _passes

# ------------------------------------------------------------------ SciPy


def _scipy_sparse(what):
    try:
        import scipy.sparse
    except ImportError:
        raise errors.scipy_missing_error(what) from None
    return scipy.sparse


# ------------------------------------------------------------------ the cache key


def _leaf_key(leaf):
    """(key part, whether the value is outside the key)."""
    if isinstance(leaf, (np.ndarray, np.generic)):
        return ("array", np.shape(leaf), np.result_type(leaf).str), True
    if isinstance(leaf, float):
        return ("float",), True
    if leaf is None or isinstance(leaf, (bool, int, str, bytes)):
        return ("value", type(leaf).__name__, leaf), False
    return ("object", type(leaf).__qualname__), True


def _call_key(args, kwargs, positions):
    """``(key, tainted positions, tainted keywords)``: shapes and dtypes of
    arrays, values of numbers, strings and flags; an argument whose value
    the key does not hold (an array, a float, an object) is *tainted*."""
    parts = []
    tainted = set(positions)
    for position, arg in enumerate(args):
        leaves, treedef = pytree.flatten(arg)
        keys = [_leaf_key(leaf) for leaf in leaves]
        parts.append((repr(treedef), tuple(k for k, _ in keys)))
        if any(t for _, t in keys):
            tainted.add(position)
    tainted_keywords = set()
    for name in sorted(kwargs):
        leaves, treedef = pytree.flatten(kwargs[name])
        keys = [_leaf_key(leaf) for leaf in leaves]
        parts.append((name, repr(treedef), tuple(k for k, _ in keys)))
        if any(t for _, t in keys):
            tainted_keywords.add(name)
    return tuple(parts), frozenset(tainted), frozenset(tainted_keywords)


# ------------------------------------------------------------------ value dependence


_structure_checks = {}
#: the same key -> ((function, name), ...): free names holding plain values
#: (numbers, strings) that the structure may depend on; their current values
#: are part of a pattern's cache key
_keyed_reads = {}
_warned = set()


def _callee_ir(function, arity):
    from ..backend.pipeline import FrontEnd
    front = FrontEnd(function, (), False, cache.CALLEES, mode="jvp", arity=arity)
    return front.normalized, front.parsed.filename


def _value_dependence(func, nargs, tainted, tainted_keywords):
    """None when the pattern of ``func`` cannot depend on the values of its
    tainted arguments; else ``(place, construct)`` (place: ``file:line``)."""
    from ..analysis import structure
    from ..frontend.ir import arity_of
    record = made.of(func)
    if record is not None:  # a derivative: the structure of the function it differentiates (same arguments)
        return _value_dependence(record[0], nargs, tainted, tainted_keywords)
    function, leading, fixed = calling._callable_parts(func)
    if not isinstance(function, types.FunctionType):
        try:
            selecting = function in structure.SELECTING
        except TypeError:
            selecting = True
        name = getattr(function, "__name__", repr(function))
        return (None, f"np.{name} (it selects values by comparing them)") if selecting else None
    key = (function, nargs + len(leading), tuple(sorted(fixed)), tainted, tainted_keywords, cache.generation)
    try:
        return _structure_checks[key]
    except KeyError:
        pass
    except TypeError:  # unhashable pieces
        key = None
    shifted = {p + len(leading) for p in tainted} | set(range(len(leading)))
    keywords = tuple(dict.fromkeys(tuple(fixed) + tuple(tainted_keywords)))
    try:
        normalized, filename = _callee_ir(function, arity_of(function, nargs + len(leading), keywords))
    except Exception:  # noqa: BLE001 (the transform itself reports it when the pattern is computed)
        return None, f"{calling._name(function)} (which the analysis cannot read)"
    params = list(normalized.params)
    shifted |= {params.index(k) for k in tainted_keywords | set(fixed) if k in params}
    keyed = []
    found = structure.find(normalized, shifted, _callee_ir, function, keyed)
    if found is not None:
        lineno, construct = found[0], found[1]
        where = found[2] if len(found) > 2 else filename
        found = (f"{where}:{lineno}" if lineno is not None else where, construct)
    if key is not None:
        _structure_checks[key] = found
        _keyed_reads[key] = tuple(keyed)
    return found


def _free_values_now(func, nargs, tainted, tainted_keywords):
    """The current values of the plain free names (module constants such as
    a grid size) the structure of ``func`` may depend on (see
    ``_value_dependence``, called first): part of a pattern's cache key."""
    from ..analysis import structure
    record = made.of(func)
    if record is not None:
        return _free_values_now(record[0], nargs, tainted, tainted_keywords)
    function, leading, fixed = calling._callable_parts(func)
    key = (function, nargs + len(leading), tuple(sorted(fixed)), tainted, tainted_keywords, cache.generation)
    try:
        reads = _keyed_reads.get(key, ())
    except TypeError:
        return ()
    return tuple(structure.free_value(f, name) for f, name in reads)


def _warn_value_dependent(found):
    place, construct = found
    if (place, construct) in _warned:
        return
    _warned.add((place, construct))
    warnings.warn(errors.value_dependent_pattern_warning(place, construct), RuntimeWarning, stacklevel=6)


# ------------------------------------------------------------------ pattern detection


def _chunk_columns(n_in, n_out, itemsize, chunk_size):
    if chunk_size is not None:
        return max(1, min(chunk_size, max(n_in, 1)))
    per_column = itemsize * 4 * (max(n_in, 1) + max(n_out, 1))
    return max(1, min(max(n_in, 1), budget.get_memory_budget() // per_column))


def _flat_dots(out_dot, out_treedef, out_leaves, rows):
    """The output tangents as one ``(rows, N_out)`` array (None: zeros)."""
    dots = calling._leaf_adjoints(out_dot, out_treedef)
    parts = [np.zeros((rows, leaf.size)) if dot is None else np.reshape(bases._real(dot), (rows, leaf.size))
             for dot, leaf in zip(dots, out_leaves, strict=True)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


class _Pattern:
    """A detected pattern: ``(N_out, N_in)`` CSR index arrays, and the
    output's leaves and structure at that point."""

    def __init__(self, indptr, indices, shape, out_leaves, out_treedef, global_):
        self.indptr = indptr
        self.indices = indices
        self.shape = shape
        self.out_leaves = [np.empty(leaf.shape, leaf.dtype) for leaf in out_leaves]
        self.out_treedef = out_treedef
        self.global_ = global_
        self.colorings = {}

    def coloring(self, kind):
        """``(colors, count)`` of ``kind``: "columns", "rows", "symmetric"
        (distance-2) or "star" (None when too costly to find: see
        ``coloring.star_coloring``)."""
        if kind not in self.colorings:
            if kind == "columns":
                self.colorings[kind] = coloring.column_coloring(self.indptr, self.indices, self.shape)
            elif kind == "rows":
                self.colorings[kind] = coloring.row_coloring(self.indptr, self.indices, self.shape)
            elif kind == "star":
                self.colorings[kind] = coloring.star_coloring(self.indptr, self.indices, self.shape[1])
            else:
                self.colorings[kind] = coloring.symmetric_coloring(self.indptr, self.indices, self.shape[1])
        return self.colorings[kind]

    def hessian_kind(self):
        """The colouring a Hessian uses: "star" when it takes fewer colours
        than the distance-2 one, else "symmetric" (distance-2, whose every
        value comes from its own row, as in the dense Hessian; a star
        colouring reads some entries ``(i, j)`` from row ``j``)."""
        if "hessian kind" not in self.colorings:
            kind = "symmetric"
            if self.shape[0] == self.shape[1]:
                star = self.coloring("star")
                if star is not None and star[1] < self.coloring("symmetric")[1]:
                    kind = "star"
            self.colorings["hessian kind"] = kind
        return self.colorings["hessian kind"]

    def csr(self, sp, data):
        """A ``csr_matrix`` of ``data`` (in the pattern's order) with copies
        of the index arrays, in the index dtype SciPy would choose (int32
        when it holds them): SciPy then takes them as they are, where int64
        arrays it would scan and cast at every call."""
        if "csr index" not in self.colorings:
            fits = max(self.shape + (self.indices.size,)) < np.iinfo(np.int32).max
            dtype = np.int32 if fits else np.int64
            self.colorings["csr index"] = (self.indices.astype(dtype), self.indptr.astype(dtype))
        indices, indptr = self.colorings["csr index"]
        return sp.csr_matrix((data, indices.copy(), indptr.copy()), shape=self.shape)

    def coo(self):
        if "coo" not in self.colorings:
            self.colorings["coo"] = np.repeat(np.arange(self.shape[0], dtype=np.int64), np.diff(self.indptr))
        return self.colorings["coo"], self.indices

    def gather(self, kind):
        """Where each entry sits in the flattened compressed result of
        ``kind`` ("columns" or "symmetric": ``(colours, N_out)``; "rows":
        ``(colours, N_in)``), in the pattern's order."""
        key = ("gather", kind)
        if key not in self.colorings:
            colors, _ = self.coloring(kind)
            rows, cols = self.coo()
            if kind == "star":
                self.colorings[key] = coloring.star_gather(self.indptr, self.indices, self.shape[0], colors)
            else:
                self.colorings[key] = (colors[rows] * self.shape[1] + cols if kind == "rows"
                                       else colors[cols] * self.shape[0] + rows)
        return self.colorings[key]


#: below this many inputs the pattern is probed column by column
SMALL_INPUT = 128
#: most candidate entries the residue probes may leave to check
CANDIDATE_LIMIT = 2 * 10 ** 7


class _NanPasses:
    """Runs the tangent code with NaN seeds: row ``k`` of a group matrix
    (``groups(start, stop)`` -> ``(stop - start, N_in)`` booleans) seeds NaN
    on the columns it holds; the result says which outputs each row reached."""

    def __init__(self, compiled, inputs, kwargs, has_aux, chunk_size, guard):
        self.compiled = compiled
        self.guard = guard  # (passes.Guard: these passes leave the arguments and objects as they were)
        self.inputs = inputs
        self.kwargs = kwargs
        self.has_aux = has_aux
        self.chunk_size = chunk_size
        self.n_in = sum(np.size(leaf) for leaves in inputs.leaves for leaf in leaves)
        self.itemsize = max([np.result_type(leaf).itemsize for leaves in inputs.leaves for leaf in leaves] or [8])
        self.n_out = None
        self.output = self.aux = self.out_leaves = self.out_treedef = None

    def run(self, groups, count):
        """The ``(count, N_out)`` booleans: which outputs each group reached."""
        marks = []
        chunk = _chunk_columns(count, self.n_in + (self.n_out or self.n_in), self.itemsize, self.chunk_size)
        for start in range(0, count, chunk):
            stop = min(start + chunk, count)
            rows = stop - start
            seeded = groups(start, stop)
            tangents = []
            offset = 0
            for treedef, leaves in zip(self.inputs.treedefs, self.inputs.leaves, strict=True):
                leaf_tangents = []
                for leaf in leaves:
                    size = np.size(leaf)
                    seed = np.where(seeded[:, offset:offset + size], np.nan, 0.0).astype(np.result_type(leaf))
                    leaf_tangents.append(seed.reshape((rows,) + np.shape(leaf)))
                    offset += size
                tangents.append(pytree.unflatten(treedef, leaf_tangents))
            args, keywords = self.guard.arguments(self.inputs.args, self.kwargs)
            try:
                with np.errstate(all="ignore"), rt.marking_dependence():
                    result, out_dot = self.compiled.jvp((rows,) + tuple(tangents), *args, **keywords)
            finally:
                self.guard.restore()
            if self.out_leaves is None:
                self.output, self.aux = result if self.has_aux else (result, None)
                self.out_leaves, self.out_treedef = calling._output_leaves(self.output)
                self.n_out = sum(leaf.size for leaf in self.out_leaves)
            marks.append(np.isnan(_flat_dots(out_dot, self.out_treedef, self.out_leaves, rows)))
        return np.concatenate(marks, axis=0) if len(marks) != 1 else marks[0]


def _detect(compiled, inputs, kwargs, has_aux, chunk_size, guard):
    """The pattern at this point: ``(indptr, indices, shape, output, aux,
    out_leaves, out_treedef)``.

    Few inputs: one NaN-seeded column per input. Many: first NaN-seeded
    residue classes ``j mod p`` for three primes ``p`` near ``sqrt(N_in)``
    (``coloring.residue_candidates``: a superset of the pattern), then one
    pass per colour of a column colouring of that superset: in each row a
    colour holds at most one candidate column, so a NaN there marks exactly
    that column. Both steps only read which outputs a NaN reached."""
    passes = _NanPasses(compiled, inputs, kwargs, has_aux, chunk_size, guard)
    n_in = passes.n_in
    rows = cols = None
    primes = coloring.probe_primes(n_in)
    if n_in > SMALL_INPUT and 2 * sum(primes) < n_in:
        columns = np.arange(n_in)
        marks = {}
        for p in primes:
            residues = columns % p
            marks[p] = passes.run(lambda start, stop, residues=residues: (
                residues[None, :] == np.arange(start, stop)[:, None]), p)
        candidates = coloring.residue_candidates(marks, primes, n_in, CANDIDATE_LIMIT)
        if candidates is not None:
            c_rows, c_cols = candidates
            c_indptr = np.concatenate([[0], np.cumsum(np.bincount(c_rows, minlength=passes.n_out))])
            colors, count = coloring.column_coloring(c_indptr, c_cols, (passes.n_out, n_in))
            if count < n_in:
                reached = passes.run(lambda start, stop: (
                    colors[None, :] == np.arange(start, stop)[:, None]), max(count, 1))
                keep = reached[colors[c_cols], c_rows]
                rows, cols = c_rows[keep], c_cols[keep]
    if rows is None:  # every column on its own
        reached = passes.run(lambda start, stop: (
            np.arange(n_in)[None, :] == np.arange(start, stop)[:, None]), max(n_in, 1))
        cols, rows = np.nonzero(reached)
        order = np.lexsort((cols, rows))
        rows, cols = rows[order], cols[order]
    n_out = passes.n_out
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_out))]).astype(np.int64)
    return (indptr, cols.astype(np.int64), (n_out, n_in), passes.output, passes.aux, passes.out_leaves,
            passes.out_treedef)


#: func -> {key: _Pattern}: patterns that hold at every point of their key
_patterns = weakref.WeakKeyDictionary()
_patterns_strong = {}


def _store(func):
    try:
        return _patterns.setdefault(func, {})
    except TypeError:  # not weakly referable
        return _patterns_strong.setdefault(id(func), {})


def pattern_for(func, find, kind, positions, has_aux, args, kwargs, chunk_size=None, inputs=None):
    """``(pattern, output, aux)``: the pattern of ``kind`` ("jacobian" or
    "hessian") of ``func`` at ``args``, cached when it is global; ``output``
    and ``aux`` are those of the detection pass (None when cached)."""
    inputs = inputs if inputs is not None else calling._Inputs(args, positions)
    compiled = find(inputs.args, positions, has_aux, tuple(kwargs))
    key_args, tainted, tainted_keywords = _call_key(inputs.args, kwargs, positions)
    found = _value_dependence(func, len(args), tainted, tainted_keywords)
    free = _free_values_now(func, len(args), tainted, tainted_keywords)
    key = (kind, positions, has_aux, key_args, free, cache.generation)
    store = _store(func)
    entry = store.get(key)
    if entry is not None and entry[0] is compiled:
        return entry[1], None, None
    if found is not None:
        _warn_value_dependent(found)
    indptr, indices, shape, output, aux, out_leaves, out_treedef = _detect(
        compiled, inputs, kwargs, has_aux, chunk_size, _passes.Guard(func, compiled))
    pattern = _Pattern(indptr, indices, shape, out_leaves, out_treedef, found is None)
    if found is None:
        store[key] = (compiled, pattern)
    return pattern, output, aux


# ------------------------------------------------------------------ sparsity()


def sparsity(func, argnums=0, *, has_aux=False):
    """The sparsity pattern of ``func``'s Jacobian at given arguments: which
    output elements depend on which input elements.

    Found by running the generated forward-mode code once over the input
    basis with NaN tangents (every arithmetic path from an input to an output
    carries the NaN), so the pattern never misses a true non-zero at that
    point, even where the derivative happens to be 0. It is cached per input
    shapes when nothing value-dependent (a branch, loop bound or index
    computed from the inputs; ``np.maximum``, ``np.where``, ``np.sort``, ...)
    decides the structure; otherwise a warning names the line and the
    pattern holds at that point only.

    Args:
        func: The function (as for ``jacfwd``).
        argnums: An int or a non-empty tuple of ints.
        has_aux: ``func`` returns ``(output, aux)`` (aux is ignored).

    Returns:
        A function returning a boolean ``scipy.sparse.csr_matrix`` of shape
        ``(output size, input size)`` (sizes of the flattened arrays), laid
        out as ``jacrev``'s result when there are several output leaves or
        arguments (one pattern per output leaf and argument leaf).

    Raises:
        ImportError: SciPy is not installed.
        TypeError, ValueError: As ``jacfwd``.

    Examples:
        >>> import numpy as np, adjoint
        >>> def f(x):
        ...     return x[1:] * x[:-1]
        >>> adjoint.sparsity(f)(np.ones(3)).toarray()
        array([[ True,  True, False],
               [False,  True,  True]])
    """
    calling._check_function(func, "sparsity")
    find = calling._Finder(func, mode="jvp")

    @functools.wraps(func)
    def sparsity_fn(*args, **kwargs):
        return _sparsity_call(func, find, argnums, has_aux, args, kwargs)

    return sparsity_fn


@calling._user_errors
def _sparsity_call(func, find, argnums, has_aux, args, kwargs):
    sp = _scipy_sparse("adjoint.sparsity")
    positions = calling._check_argnums(argnums, len(args))
    inputs = calling._Inputs(args, positions)
    pattern, _, _ = pattern_for(func, find, "jacobian", positions, has_aux, args, kwargs, inputs=inputs)
    data = np.ones(pattern.indices.size, dtype=bool)
    matrix = pattern.csr(sp, data)
    return _split(sp, matrix, pattern.out_leaves, pattern.out_treedef, inputs, isinstance(argnums, int))


def _split(sp, matrix, out_leaves, out_treedef, inputs, single):
    """One block per output leaf and input leaf, laid out as jacrev's
    result; one leaf in and out: the matrix itself."""
    if len(out_leaves) == 1 and len(inputs.leaves) == 1 and len(inputs.leaves[0]) == 1 and single \
            and out_treedef is pytree.LEAF and inputs.treedefs[0] is pytree.LEAF:
        return matrix
    row_offsets = np.cumsum([0] + [leaf.size for leaf in out_leaves])
    blocks_per_output = []
    for k in range(len(out_leaves)):
        rows = matrix[row_offsets[k]:row_offsets[k + 1]]
        per_arg = []
        offset = 0
        for treedef, leaves in zip(inputs.treedefs, inputs.leaves, strict=True):
            blocks = []
            for leaf in leaves:
                size = np.size(leaf)
                blocks.append(sp.csr_matrix(rows[:, offset:offset + size]))
                offset += size
            per_arg.append(pytree.unflatten(treedef, blocks))
        blocks_per_output.append(per_arg[0] if single else tuple(per_arg))
    return pytree.unflatten(out_treedef, blocks_per_output)


# ------------------------------------------------------------------ compressed passes


def _forward_compressed(compiled, inputs, kwargs, colors, count, out_leaves, out_treedef, chunk_size, n_out,
                        guard):
    """The ``(count, N_out)`` compressed Jacobian ``J @ S.T`` by forward mode."""
    n_in = colors.size
    itemsize = max([np.result_type(leaf).itemsize for leaves in inputs.leaves for leaf in leaves] or [8])
    chunk = _chunk_columns(count, n_out + n_in, itemsize, chunk_size)
    compressed = np.empty((count, n_out))
    for start in range(0, count, chunk):
        stop = min(start + chunk, count)
        rows = stop - start
        seeds = []
        offset = 0
        for treedef, leaves in zip(inputs.treedefs, inputs.leaves, strict=True):
            leaf_seeds = []
            for leaf in leaves:
                size = np.size(leaf)
                own = colors[offset:offset + size]
                seed = np.zeros((rows, size), dtype=np.result_type(leaf))
                picked = np.nonzero((own >= start) & (own < stop))[0]
                seed[own[picked] - start, picked] = 1
                leaf_seeds.append(seed.reshape((rows,) + np.shape(leaf)))
                offset += size
            seeds.append(pytree.unflatten(treedef, leaf_seeds))
        args, keywords = guard.arguments(inputs.args, kwargs, last=stop >= count)
        try:
            # (a zero of the seed is no direction: see bases.push_seeds)
            result, out_dot = bases.push_seeds(compiled.jvp, rows, seeds, args, keywords, guard)
        finally:
            guard.restore()
        compressed[start:stop] = _flat_dots(out_dot, out_treedef, out_leaves, rows)
    return result, compressed


def _result_dtype(inputs):
    """The inputs' common dtype, float16 promoted to float32: SciPy's sparse
    matrices have no float16 (its csr_matrix would be made but refuse every
    use, even ``toarray()``)."""
    dtype = np.result_type(*[np.result_type(leaf) for leaves in inputs.leaves for leaf in leaves])
    return np.promote_types(dtype, np.float32) if dtype == np.float16 else dtype


def sparse_jacfwd(func, argnums=0, has_aux=False, chunk_size=None):
    """``jacfwd(func, argnums, sparse=True)``: see the module docstring."""
    find = calling._Finder(func, mode="jvp")

    @functools.wraps(func)
    def jacobian_fn(*args, **kwargs):
        return _sparse_forward_call(func, find, "jacobian", "columns", argnums, has_aux, chunk_size, args, kwargs,
                                    "jacfwd(sparse=True)")

    return jacobian_fn


@calling._user_errors
def _sparse_forward_call(func, find, kind, coloring_kind, argnums, has_aux, chunk_size, args, kwargs, what):
    sp = _scipy_sparse(what)
    positions = calling._check_argnums(argnums, len(args))
    inputs = calling._Inputs(args, positions)
    pattern, _, _ = pattern_for(func, find, kind, positions, has_aux, args, kwargs, chunk_size, inputs)
    compiled = find(inputs.args, positions, has_aux, tuple(kwargs))
    if coloring_kind == "hessian":
        coloring_kind = pattern.hessian_kind()
    colors, count = pattern.coloring(coloring_kind)
    n_out, n_in = pattern.shape
    result, compressed = _forward_compressed(compiled, inputs, kwargs, colors, max(count, 1),
                                             pattern.out_leaves, pattern.out_treedef, chunk_size, n_out,
                                             _passes.Guard(func, compiled))
    output, aux = result if has_aux else (result, None)
    out_leaves, out_treedef = calling._output_leaves(output)
    data = compressed.reshape(-1)[pattern.gather(coloring_kind)].astype(_result_dtype(inputs), copy=False)
    matrix = pattern.csr(sp, data)
    blocks = _split(sp, matrix, out_leaves, out_treedef, inputs, isinstance(argnums, int))
    return (blocks, aux) if has_aux else blocks


def sparse_jacrev(func, argnums=0, has_aux=False, chunk_size=None):
    """``jacrev(func, argnums, sparse=True)``: rows coloured, one batched
    backward pass per chunk of colours."""
    find_jvp = calling._Finder(func, mode="jvp")
    find_vjp = calling._Finder(func)

    @functools.wraps(func)
    def jacobian_fn(*args, **kwargs):
        return _sparse_reverse_call(func, find_jvp, find_vjp, argnums, has_aux, chunk_size, args, kwargs)

    return jacobian_fn


@calling._user_errors
def _sparse_reverse_call(func, find_jvp, find_vjp, argnums, has_aux, chunk_size, args, kwargs):
    sp = _scipy_sparse("jacrev(sparse=True)")
    positions = calling._check_argnums(argnums, len(args))
    inputs = calling._Inputs(args, positions)
    pattern, _, _ = pattern_for(func, find_jvp, "jacobian", positions, has_aux, args, kwargs, chunk_size, inputs)
    compiled = find_vjp(inputs.args, positions, has_aux, tuple(kwargs))
    result, residuals = compiled.forward(*inputs.args, **kwargs)
    output, aux = result if has_aux else (result, None)
    out_leaves, out_treedef = calling._output_leaves(output)
    colors, count = pattern.coloring("rows")
    count = max(count, 1)
    n_out, n_in = pattern.shape
    itemsize = max(leaf.dtype.itemsize for leaf in out_leaves)
    chunk = _chunk_columns(count, n_out + n_in, itemsize, chunk_size)
    compressed = np.empty((count, n_in))
    for start in range(0, count, chunk):
        stop = min(start + chunk, count)
        rows = stop - start
        seeds = []
        offset = 0
        for leaf in out_leaves:
            own = colors[offset:offset + leaf.size]
            seed = np.zeros((rows, leaf.size), dtype=leaf.dtype)
            picked = np.nonzero((own >= start) & (own < stop))[0]
            seed[own[picked] - start, picked] = 1
            seeds.append(seed.reshape((rows,) + leaf.shape))
            offset += leaf.size
        adjoints = bases.pull_back(compiled.backward, residuals, pytree.unflatten(out_treedef, seeds))
        parts = []
        for param_bar, treedef, leaves in zip(adjoints, inputs.treedefs, inputs.leaves, strict=True):
            for bar, leaf in zip(calling._leaf_adjoints(param_bar, treedef), leaves, strict=True):
                parts.append(np.zeros((rows, np.size(leaf))) if bar is None
                             else np.reshape(bases._real(bar), (rows, np.size(leaf))))
        compressed[start:stop] = np.concatenate(parts, axis=1) if len(parts) != 1 else parts[0]
    data = compressed.reshape(-1)[pattern.gather("rows")].astype(_result_dtype(inputs), copy=False)
    matrix = pattern.csr(sp, data)
    blocks = _split(sp, matrix, out_leaves, out_treedef, inputs, isinstance(argnums, int))
    return (blocks, aux) if has_aux else blocks


# ------------------------------------------------------------------ Hessians


def _hessian_argnum(argnums):
    if isinstance(argnums, bool) or not isinstance(argnums, int):
        raise errors.sparse_structure_error(
            "hessian(sparse=True)", f"argnums must be one int (got {argnums!r}); for several arguments, "
            "pack them into one array, or call hessian(sparse=True) once per argument.")


def sparse_hessian(func, argnums, gradient):
    """``hessian(func, argnums, sparse=True)``: forward mode over the
    gradient's reverse-mode code (``gradient``, ``jacrev(func, argnums)``),
    one pass per chunk of colours of a star colouring of the Hessian's
    pattern, or a distance-2 one when that needs no more colours
    (``_Pattern.hessian_kind``)."""
    _hessian_argnum(argnums)
    find = calling._Finder(gradient, mode="jvp")

    @functools.wraps(func)
    def hessian_fn(*args, **kwargs):
        _check_single_array(args, argnums, "hessian(sparse=True)")
        return _sparse_forward_call(gradient, find, "hessian", "hessian", argnums, False, None, args, kwargs,
                                    "hessian(sparse=True)")

    return hessian_fn


def _check_single_array(args, argnums, what):
    if -len(args) <= argnums < len(args):
        arg = args[argnums]
        if not isinstance(arg, (np.ndarray, np.generic, float)):
            raise errors.sparse_structure_error(
                what, f"argument {argnums} is a {type(arg).__name__}; a sparse Hessian needs one float array.")


class _DenseHessian:
    """``hessian(func, argnums)``: the dense passes, which the compressed
    ones replace (then decompressed into a dense array) from the second call
    of a shape whose pattern is global and has fewer colours than half the
    inputs. A compressed result with a non-finite entry is computed again
    densely."""

    def __init__(self, func, argnums, dense):
        self.func = func
        self.argnums = argnums
        self.dense = dense  # jacfwd(jacrev(func, argnums), argnums)
        self.gradient = None
        self.find = None
        #: shape key -> calls seen (int), or a compressed plan, or False
        self.plans = {}
        #: whether the structure may depend on module constants (their values join the key)
        self.keyed = False
        #: id(plan) -> (plan, compiled transform, the jvp function its compressed passes call)
        self.jvps = {}

    def __call__(self, *args, **kwargs):
        plan = None
        key = None
        if type(self.argnums) is int and not kwargs and -len(args) <= self.argnums < len(args):
            arg = args[self.argnums]
            if type(arg) is np.ndarray and arg.dtype.kind == "f" and arg.ndim == 1 and arg.size >= 8:
                if len(args) == 1:
                    key, tainted = ((arg.shape, arg.dtype),), frozenset((0,))
                else:
                    # the values of ints, flags and strings join the key (a loop count, an index,
                    # a shape): a plan is made for one value; arrays and floats are tainted
                    key, tainted, _ = _call_key(args, {}, (self.argnums % len(args),))
                if self.keyed:  # (module constants the structure may depend on: their values now)
                    key += _free_values_now(self.func, len(args), tainted, frozenset())
                key = (key, tainted)
                plan = self.plans.get(key, 0)
                if plan == 0 and len(self.plans) >= PLANS_LIMIT:  # (an int that takes many values)
                    self.plans.clear()
                    self.jvps.clear()
        if key is None or plan is False:
            return self.dense(*args, **kwargs)
        if isinstance(plan, int):
            if plan < 1:  # the first call: dense, as before
                self.plans[key] = plan + 1
                return self.dense(*args, **kwargs)
            plan = self._plan(args, key)
            if plan is False:
                return self.dense(*args, **kwargs)
        try:
            result = self._compressed(plan, args)
        except Exception:  # noqa: BLE001 (the dense passes raise it with the user's line)
            result = None
        if result is None:
            return self.dense(*args, **kwargs)
        return result

    def _plan(self, args, key):
        if any(not isinstance(a, (np.ndarray, np.generic, float, int, bool)) for a in args):
            self.plans[key] = False
            return False
        if self.gradient is None:
            self.gradient = made.of(self.dense)[0]  # the dense passes' own jacrev: its code is compiled
            self.find = calling._Finder(self.gradient, mode="jvp")
        positions = calling._check_argnums(self.argnums, len(args))
        tainted = key[1]
        found = _value_dependence(self.func, len(args), tainted, frozenset())
        if found is not None:
            self.plans[key] = False
            return False
        if _free_values_now(self.func, len(args), tainted, frozenset()) and not self.keyed:
            self.keyed = True  # from now on the plans are keyed by those values too
            self.plans.clear()
            self.jvps.clear()
            return False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pattern, _, _ = pattern_for(self.gradient, self.find, "hessian", positions, False, args, {})
        n_out, n_in = pattern.shape
        if not pattern.global_ or n_out != n_in:
            self.plans[key] = False
            return False
        kind = pattern.hessian_kind()
        colors, count = pattern.coloring(kind)
        if 2 * count >= n_in:
            self.plans[key] = False
            return False
        rows, cols = pattern.coo()
        count = max(count, 1)
        # Built once per plan: the seed (read-only, so that generated code
        # that wrote into it would fail and fall back to the dense passes
        # instead of corrupting the next call) and the index arrays.
        seed = np.zeros((count, n_in), dtype=np.result_type(args[positions[0]]))
        seed[colors, np.arange(n_in)] = 1
        seed.flags.writeable = False
        plan = (positions, pattern, colors, count, pattern.gather(kind), rows * n_in + cols, seed)
        self.plans[key] = plan
        return plan

    def _compressed(self, plan, args):
        positions, pattern, colors, count, take, put, seed = plan
        inputs = calling._Inputs(args, positions)
        compiled = self.find(inputs.args, positions, False, ())
        # the generated code specialised to these shapes (backend/specialize.py), found once per plan
        found = self.jvps.get(id(plan))
        if found is None or found[0] is not plan or found[1] is not compiled:
            jvp = specialize.specialized(compiled, inputs.args, (count, seed), primal=False) or compiled.jvp
            found = self.jvps[id(plan)] = (plan, compiled, jvp)
        with rt.guarding_zero_tangents() as guarded:
            _, out_dot = found[2]((count, seed), *inputs.args)
        if out_dot is None or guarded:  # (a zero tangent met an infinite slope: the dense passes tell)
            return None
        values = (out_dot if type(out_dot) is np.ndarray else np.asarray(out_dot)).reshape(-1)[take]
        if not math.isfinite(values.sum()):  # (a NaN or an infinity, or, harmlessly, an overflow of the sum)
            return None
        n = colors.size
        hessian = np.zeros((n, n), dtype=seed.dtype)
        hessian.reshape(-1)[put] = values
        return hessian


#: compressed Hessian plans kept per hessian function (keys: shapes, and the
#: values of its int, flag and string arguments)
PLANS_LIMIT = 64


def dense_hessian(func, argnums, dense):
    """The function ``hessian(func, argnums)`` returns (see _DenseHessian),
    over its dense passes ``dense`` (``jacfwd(jacrev(func, argnums), argnums)``)."""
    computer = _DenseHessian(func, argnums, dense)

    @functools.wraps(func)
    def hessian_fn(*args, **kwargs):
        return computer(*args, **kwargs)

    made.register(hessian_fn, *made.of(computer.dense))  # differentiated again: as jacfwd(jacrev(func))
    return hessian_fn
