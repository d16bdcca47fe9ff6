"""The memory budget of ``jacrev`` and ``jacfwd`` (``set_memory_budget``,
``get_memory_budget``) and the chunk sizes it allows: a Jacobian that cannot
fit is a MemoryBudgetError naming its size, never NumPy's MemoryError."""
import os

import numpy as np

from .. import errors


# ------------------------------------------------------------------ memory budget

#: bytes jacrev and jacfwd may use by default with chunk_size=None (see set_memory_budget)
DEFAULT_MEMORY_BUDGET = 256 * 2 ** 20
_UNITS = {"": 1, "b": 1, "k": 2 ** 10, "kb": 2 ** 10, "kib": 2 ** 10, "m": 2 ** 20, "mb": 2 ** 20,
          "mib": 2 ** 20, "g": 2 ** 30, "gb": 2 ** 30, "gib": 2 ** 30}
#: the budget set by set_memory_budget; None: ADJOINT_MEMORY_BUDGET, or the default
_budget = None


def set_memory_budget(nbytes):
    """Set how many bytes ``jacrev`` and ``jacfwd`` may use for one Jacobian
    with ``chunk_size=None``: the Jacobian itself, plus the identity basis of
    one chunk and the batched pass over it (an estimate from the sizes of the
    output, the inputs and the values the backward pass reads). Chunks are
    chosen to stay under it.

    Args:
        nbytes: The budget in bytes (an int greater than 0), or ``None`` for
            the default: the ``ADJOINT_MEMORY_BUDGET`` environment variable
            (bytes, or a number with a unit: ``512M``, ``2GiB``) if set,
            else 256 MiB.

    Returns:
        The budget in force before (what ``get_memory_budget()`` returned).

    Raises:
        TypeError: ``nbytes`` is not an int or None.
        ValueError: ``nbytes`` is not greater than 0.

    A Jacobian larger than the budget, or a pass over a single row (column)
    that does not fit beside it, raises ``adjoint.MemoryBudgetError`` naming
    the sizes.

    Examples:
        >>> import adjoint
        >>> before = adjoint.set_memory_budget(64 * 2**20)
        >>> adjoint.get_memory_budget()
        67108864
        >>> _ = adjoint.set_memory_budget(None)
    """
    global _budget
    if nbytes is not None and (isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer))):
        raise TypeError(f"set_memory_budget takes a number of bytes (an int) or None, got "
                        f"{type(nbytes).__name__} ({nbytes!r}).")
    if nbytes is not None and nbytes <= 0:
        raise ValueError(f"set_memory_budget: the budget must be greater than 0 bytes, got {nbytes}.")
    previous = get_memory_budget()
    _budget = None if nbytes is None else int(nbytes)
    return previous


def get_memory_budget():
    """The memory budget of ``jacrev`` and ``jacfwd`` (see ``set_memory_budget``).

    Returns:
        The budget in bytes.

    Raises:
        ValueError: ``ADJOINT_MEMORY_BUDGET`` is set to something that is
            not a memory size.

    Examples:
        >>> import adjoint
        >>> adjoint.get_memory_budget() > 0
        True
    """
    if _budget is not None:
        return _budget
    data = getattr(os.environ, "_data", None)
    raw = data.get(_ENV_KEY) if type(data) is dict else os.environ.get(_ENV_NAME)
    read = _env_read
    if raw is read[0] or raw == read[0]:  # (the value read last: parsed once per change)
        return read[1]
    budget = _parse_budget(raw)
    _remember(raw, budget)
    return budget


#: the environment variable's name, and its key in ``os.environ._data``:
#: CPython's ``os.environ`` keeps the encoded variables in that dict, which
#: ``os.environ[...] = ...`` and ``del`` (and so ``monkeypatch.setenv``)
#: update; looking there skips the encoding and decoding of every
#: ``os.environ.get`` (a few microseconds on each Jacobian of a small
#: function). Elsewhere, ``os.environ.get`` is read.
_ENV_NAME = "ADJOINT_MEMORY_BUDGET"
try:
    _ENV_KEY = os.environ.encodekey(_ENV_NAME)
except AttributeError:
    _ENV_KEY = _ENV_NAME
#: ``(raw value, budget)``: the variable as last read (None: not set) and
#: the budget it gave; a value that is not a memory size is not remembered
#: (it raises on every read)
_env_read = (None, DEFAULT_MEMORY_BUDGET)


def _remember(raw, budget):
    global _env_read
    _env_read = (raw, budget)


def _parse_budget(raw):
    """The budget the environment variable's value ``raw`` (None, str or
    bytes) gives: the default if it is unset or blank."""
    if isinstance(raw, bytes):
        raw = os.fsdecode(raw)
    text = (raw or "").strip()
    if not text:
        return DEFAULT_MEMORY_BUDGET
    number = text.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ")
    unit = text[len(number):].strip().lower()
    try:
        value = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        value = 0
    if not value >= 1:
        raise ValueError(f"ADJOINT_MEMORY_BUDGET={text!r} is not a memory size: give a number of bytes, "
                         "or a number with a unit (512M, 512MiB, 2G).")
    return int(value)


# A list longer than this (a loop's tape: one entry per iteration) is
# estimated from SAMPLED_ITEMS of its items, evenly spaced, first and last
# included: walking every entry of an 800-step loop's tape cost a fifth of a
# small Jacobian's time. The count is an estimate for the budget anyway.
LONG_LIST = 64
SAMPLED_ITEMS = 16


def _array_elements(value):
    """About how many array elements ``value`` (residuals: arrays, lists,
    tuples and dicts of them) holds: exact, except that a long list is
    scaled up from a sample of its items."""
    total = 0
    if type(value) is tuple:  # (the common residuals: a flat tuple of arrays, counted in one loop)
        for item in value:
            if type(item) is not np.ndarray:
                total = 0
                break
            total += item.size
        else:
            return total
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is np.ndarray:
            total += item.size
        elif kind is tuple:
            extend(item)
        elif kind is list:
            if len(item) > LONG_LIST:
                step = (len(item) - 1) / (SAMPLED_ITEMS - 1)
                sample = [item[round(k * step)] for k in range(SAMPLED_ITEMS)]
                total += _array_elements(sample) * len(item) // SAMPLED_ITEMS
            else:
                extend(item)
        elif kind is dict:
            extend(item.values())
        elif isinstance(item, np.ndarray):
            total += item.size
        elif isinstance(item, dict):
            extend(item.values())
        elif isinstance(item, (tuple, list)):
            extend(item)
    return total


def _jacobian_bytes(n_out, inputs):
    if len(inputs.leaves) == 1 and len(inputs.leaves[0]) == 1 and type(inputs.leaves[0][0]) is np.ndarray:
        leaf = inputs.leaves[0][0]  # the common case: one array
        return n_out * leaf.size * leaf.itemsize
    return n_out * sum(np.size(leaf) * np.result_type(leaf).itemsize for leaves in inputs.leaves
                       for leaf in leaves)


def _passes_per_chunk(mode, name, n_out, n_in, itemsize, jacobian_bytes, others, budget=None):
    """How many rows (jacrev) or columns (jacfwd) of the basis one chunk may
    take under the memory budget: each costs its basis vector and a batched
    copy of the output, of the inputs and of the ``others`` values the pass
    goes through (an estimate). Raises MemoryBudgetError if the Jacobian
    does not fit, or not even one row (column) fits beside it. ``budget``:
    get_memory_budget(), if the caller has read it already."""
    if budget is None:
        budget = get_memory_budget()
    if jacobian_bytes > budget:
        raise errors.jacobian_too_large_error(mode, name, n_out, n_in, jacobian_bytes, budget)
    basis = n_out if mode == "jacrev" else n_in
    per_pass = itemsize * (basis + n_out + n_in + others)
    fits = (budget - jacobian_bytes) // per_pass
    if fits < 1:
        raise errors.chunk_too_large_error(mode, name, n_out, n_in, per_pass, budget - jacobian_bytes, budget)
    return fits
