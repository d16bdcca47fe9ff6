"""The common call of ``jacfwd``, without the general path's bookkeeping.

``jacfwd(f)(x)`` with one float array ``x``, an int ``argnums``, no
``has_aux``, ``chunk_size``, ``progress``, ``executor`` or ``sparse``
(decided once, when the transform is made), whose columns all fit one pass,
is what most small forward-mode Jacobians are. For it the general path
(``forward._jacfwd_call``) flattens the arguments into pytree leaves, sets
up the guard of functions that change their arguments and the progress
report, builds the identity basis, and assembles the blocks from lists of
chunks. Here the same decisions are taken from the two arrays alone:

* the argument must be a ``numpy.ndarray`` of a float dtype with at least
  one element, whose identity basis fits one chunk as the general path
  sizes it (else the general path runs, from the start);
* a function whose generated code changes its arguments or objects'
  attributes takes the general path from the start (its chunks run on
  copies, see ``api/passes.py``);
* the tangent pushed through is the identity shared by every call
  (``runtime.identity_rows``: read-only, so nothing can change it), pushed
  again with its zeros marked when a zero tangent met an infinite slope,
  exactly as ``bases.push_basis`` does;
* after the pass, the output must be a float ``ndarray`` or
  ``numpy.float64`` whose Jacobian fits the memory budget beside one pass
  (``budget._passes_per_chunk``'s estimate), and its tangent a float
  ``ndarray``. Anything else (a container, an integer output, a Jacobian
  over the budget, a tangent that is not an array) hands the pass's
  results to the general path (``forward._jacfwd_call(..., pushed=...)``),
  which raises or assembles as always: the function does not run again;
* an elementwise derivative of 64 elements and more, whose output had the
  argument's shape at the first call of that shape, gets its diagonal from
  one pass over ones (api/diagonal_seed.py); where that pass finds a slope
  that is not finite, the identity pass runs after it (the function runs
  twice then: it changes no state, see above).
"""
import numpy as np

from .. import made, runtime as rt
from . import bases, diagonal_seed, passes
from .budget import get_memory_budget
from .calling import _check_argnums, _user_errors

#: what ``jacobian`` returns when the call is not the common case and nothing has run yet
GENERAL = object()
#: the general path, handed in by api/forward.py (which calls this module):
#: ``call`` (``forward._jacfwd_call``) and ``CHUNK_ELEMENTS`` (its chunks' size limit)
GENERAL_PATH = {}


@_user_errors
def jacobian(find, argnums, args, kwargs):
    """``jacfwd(find.func, argnums)(*args, **kwargs)`` for one float array
    argument, or ``GENERAL`` (before anything ran) when the call is not the
    common case."""
    positions = _check_argnums(argnums, len(args))
    x = args[positions[0]]
    if type(x) is not np.ndarray or x.dtype.kind != "f":
        return GENERAL
    total = x.size
    # (the general path's first chunk, all columns, or the general path)
    if not total or total * total > GENERAL_PATH["CHUNK_ELEMENTS"] or (
            total > get_memory_budget() // (x.itemsize * 4 * total)):
        return GENERAL
    compiled = find(args, positions, False, kwargs)
    if passes.changes_state(compiled) or (made.of(find.func) is not None  # (a derivative: its passes asked)
                                          and passes.derivative_changes_state(find.func)):
        return GENERAL
    scaled = total >= diagonal_seed.SMALLEST and getattr(compiled, "scaled_seed", False)
    if scaled and (x.shape, x.dtype) in compiled.square_shapes:
        # (an elementwise derivative, whose output had the argument's shape:
        # its diagonal from one pass over ones, api/diagonal_seed.py; the
        # identity pass runs after it only where the slope is not finite.
        # No zero-tangent guard is watched: the seed has no zeros, and the
        # fused factor no guard (fuse_tangents ends a chain at one), so a
        # guard can only act on the seed's product, which is then not finite.)
        result, out_dot = compiled.jvp((1, diagonal_seed.ones_row(x.shape, x.dtype)), *args, **kwargs)
        if type(result) is np.ndarray and result.shape == x.shape:
            found = diagonal_seed.diagonal(out_dot, x.shape, x.dtype)
            if found is not None:
                return found
    basis = rt.identity_rows(x.shape, x.dtype)  # (read-only: shared by every call)
    result, out_dot = bases.push_seeds(compiled.jvp, total, (basis,), args, kwargs)  # (the seed's zeros marked, if need be)
    if not ((type(result) is np.ndarray or type(result) is np.float64) and result.dtype.kind == "f"
            and type(out_dot) is np.ndarray and out_dot.dtype.kind == "f"):
        return _general(find, argnums, args, kwargs, result, out_dot)
    n_out = result.size
    budget = get_memory_budget()
    jacobian_bytes = n_out * total * x.itemsize
    # (the Jacobian, and one pass beside it: else the general path raises)
    if not n_out or jacobian_bytes > budget or x.itemsize * 2 * (total + n_out) > budget - jacobian_bytes:
        return _general(find, argnums, args, kwargs, result, out_dot)
    if scaled and type(result) is np.ndarray and result.shape == x.shape and len(compiled.square_shapes) < 64:
        compiled.square_shapes = compiled.square_shapes | {(x.shape, x.dtype)}
    columns = out_dot.reshape(total, n_out)
    return np.array(columns.T, dtype=x.dtype, order="C").reshape(result.shape + x.shape)


def _general(find, argnums, args, kwargs, result, out_dot):
    """The general path from the pass's results on."""
    return GENERAL_PATH["call"](find, argnums, False, None, args, kwargs, pushed=(result, out_dot))
