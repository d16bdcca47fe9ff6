"""The common call of ``jacrev``, without the general path's bookkeeping.

``jacrev(f)(x)`` with one float array ``x``, an int ``argnums``, no
``has_aux``, ``chunk_size``, ``progress`` or ``executor`` (decided once, when
the transform is made), is what most small Jacobians are. For it the
general path (``reverse._jacrev_call``) flattens the arguments and the output
into pytree leaves, sums their sizes, names the function, and sizes chunks
against the memory budget before pulling the identity basis back in one
batched call. Here the same decisions are taken from the two arrays alone:

* the argument must be a ``numpy.ndarray`` of a float dtype (else the general
  path runs, from the start: it makes Python floats 0-d arrays and reports
  anything else);
* after the forward pass, the output must be a float ``ndarray`` or
  ``numpy.float64``, and the Jacobian plus one pass over all its rows must
  fit the memory budget, estimated exactly as ``budget._passes_per_chunk``
  does (``itemsize * (2N + M + R)`` bytes per row). Anything else (a
  container, an integer output, a Jacobian that needs chunks or is over the
  budget) hands the forward pass's results to the general path
  (``reverse._jacobian_from``), which raises, warns or chunks as always: the
  forward pass never runs twice.

The budget itself is ``get_memory_budget()``, which parses the
``ADJOINT_MEMORY_BUDGET`` environment variable once per change of its value.
"""
import numpy as np

from .. import errors, runtime
from . import bases, diagonal_seed
from .budget import _array_elements, get_memory_budget
from .calling import _check_argnums, _name, _user_errors

#: what ``jacobian`` returns when the call is not the common case and nothing has run yet
GENERAL = object()
#: the general path's pieces, handed in by api/reverse.py (which calls this
#: module): ``jacobian_from`` (the general path from the forward pass on)
#: and ``result`` (an adjoint as the Jacobian's array)
GENERAL_PATH = {}


@_user_errors
def jacobian(find, argnums, args, kwargs):
    """``jacrev(find.func, argnums)(*args, **kwargs)`` for one float array
    argument, or ``GENERAL`` (before anything ran) when the argument is not one."""
    positions = _check_argnums(argnums, len(args))
    x = args[positions[0]]
    if type(x) is not np.ndarray or x.dtype.kind != "f":
        return GENERAL
    compiled = find(args, positions, False, kwargs)
    output, residuals = compiled.forward(*args, **kwargs)
    if not ((type(output) is np.ndarray or type(output) is np.float64) and output.dtype.kind == "f"):
        return _general(find, argnums, args, positions, compiled, output, residuals)
    total = output.size
    room = get_memory_budget() - total * x.size * x.itemsize  # (what the Jacobian leaves of the budget)
    if not total or output.itemsize * (2 * total + x.size + _array_elements(residuals)) * total > room:
        return _general(find, argnums, args, positions, compiled, output, residuals)  # (chunks, or an error)
    if (total >= diagonal_seed.SMALLEST and type(output) is np.ndarray and output.shape == x.shape
            and getattr(compiled, "scaled_seed", False)):
        # (an elementwise derivative: its diagonal from one row of ones, api/diagonal_seed.py)
        bar, = compiled.backward(residuals, diagonal_seed.ones_row(output.shape, output.dtype))
        found = diagonal_seed.diagonal(bar, x.shape, x.dtype)
        if found is not None:
            return found
    try:
        bar, = bases.pull_back(compiled.backward, residuals, runtime.identity_rows(output.shape, output.dtype))  # read-only, shared
    except MemoryError as error:
        if isinstance(error, errors.MemoryBudgetError):
            raise
        raise errors.out_of_memory_error("jacrev", _name(find.func), total, x.size, total, error) from None
    shape = output.shape + x.shape
    if bar is None:  # (the output does not depend on x)
        return np.zeros(shape, dtype=x.dtype)
    if type(bar) is np.ndarray and bar.dtype == x.dtype:
        result = bar.reshape(shape)
        # (an adjoint that is the basis itself, or a view of it, is read-only: copied)
        return result if result.flags.writeable else result.copy()
    return GENERAL_PATH["result"](bar, shape, x.dtype)


def _general(find, argnums, args, positions, compiled, result, residuals):
    """The general path from the forward pass's results on (the same depth
    of frames as ``reverse._jacrev_call``'s, for its warnings)."""
    from .calling import _Inputs

    return GENERAL_PATH["jacobian_from"](find, argnums, False, None, _Inputs(args, positions), compiled, result, residuals,
                          stacklevel=6)
