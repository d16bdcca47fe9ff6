"""Updates in place, when the code runs: the checks the transformer emits
where it cannot tell whether NumPy would share memory
(``check_unshared``, ``check_not_array``, ``check_basic_index``, which raise
``InPlaceRefused``), and the updates of the caller's arguments
(``entry_value``, ``write_back``: SPEC.md section 4). NumPy only.
"""
import numpy as np


# ----------------------------------------------------------- checks of in-place updates made when the code runs
# (the transformer emits them where it cannot tell whether NumPy would share
# memory: ``a = x[0]; a += 1`` is a number for a 1-d x, a view for a 2-d x)

class InPlaceRefused(TypeError):
    """An in-place update that NumPy would make visible through another
    value (an argument, a view, another name): the derivative code cannot
    follow it. The message names the user's line."""


def _arrays_in(value, seen, depth=0):
    """The arrays ``value`` holds: itself, or those of its items or attributes."""
    if isinstance(value, np.ndarray):
        yield value
        return
    if depth > 4 or id(value) in seen or isinstance(value, (str, bytes, int, float, complex, np.generic)):
        return
    seen.add(id(value))
    if isinstance(value, (list, tuple)):
        items = value
    elif isinstance(value, dict):
        items = list(value.values())
    elif hasattr(value, "__dict__") and not isinstance(value, type) and not callable(value):
        items = list(vars(value).values())
    else:
        return
    for item in items:
        yield from _arrays_in(item, seen, depth + 1)


def _overlaps(array, other):
    if not np.may_share_memory(array, other):
        return False
    try:
        return np.shares_memory(array, other, max_work=10000)
    except np.exceptions.TooHardError:
        return True


def check_unshared(value, message, scope, names, *others, batched=False, slot=None):
    """Raise ``InPlaceRefused(message)`` if updating ``value`` in place
    would change another value NumPy lets the function see: an array that
    shares memory with an array of ``scope[name]`` for ``(name, label)`` in
    ``names`` (names not bound on this path are skipped) or of ``held`` for
    ``(label, held)`` in ``others`` (globals). A name given as ``(name,
    label, True)`` carries a batch axis: an example's value is an array
    only if it has more than that axis (else it is a number, a copy). Numbers,
    NumPy scalars and tuples are re-bound by ``+=``, never changed.
    ``batched``: ``value`` carries a leading batch axis (vmap), likewise. ``slot``:
    (container, key) that ``value`` was read from; the container's other
    slots count too."""
    if isinstance(value, (list, dict, set)):
        raise InPlaceRefused(message.replace("{other}", "it is a list, dict or set, which is changed in place"))
    if not isinstance(value, np.ndarray) or (batched and value.ndim <= 1):
        return
    found = []
    for name, label, *on_batch in names:
        if name not in scope:
            continue
        held = scope[name]
        if on_batch and on_batch[0]:
            # An example's number is a copy; a list, tuple or dict (np.ndim
            # would read it as an array) holds its examples' arrays as items.
            held = [array for array in _arrays_in(held, set()) if array.ndim > 1]
        found.append((label, held))
    if slot is not None:
        container, key = slot
        if isinstance(container, dict):
            rest = [item for k, item in container.items() if k != key]
        else:
            position = key % len(container) if isinstance(key, (int, np.integer)) and container else None
            rest = [item for i, item in enumerate(container) if i != position]
        found.append(("another item of the same container", rest))
    for label, held in found + list(others):
        for array in _arrays_in(held, set()):
            if array is value or _overlaps(value, array):
                raise InPlaceRefused(message.replace("{other}", f"it shares memory with {label}"))


def check_not_array(value, message, batched=False):
    """Raise ``InPlaceRefused(message)`` if ``value`` is an array, list or
    dict (one the callee's ``p += v`` or ``p[0] = v`` would change in place,
    where its caller sees it); numbers and tuples are re-bound instead."""
    if isinstance(value, (list, dict)) or (isinstance(value, np.ndarray) and not (batched and value.ndim <= 1)):
        raise InPlaceRefused(message)


def check_basic_index(index, message):
    """Raise ``InPlaceRefused(message)`` unless ``index`` selects a view
    (an int or a slice): ``y[index][j] = v`` then changes y."""
    if not isinstance(index, (int, np.integer, slice)) or isinstance(index, (bool, np.bool_)):
        raise InPlaceRefused(message)


# ----------------------------------------------------------------------------
# In-place updates of arguments (SPEC.md section 4: torch.func's meaning).
# The generated code works on a copy of the argument made at entry (the
# derivative reads the values at entry) and writes each new value back
# into the caller's object, which so changes as the plain call changes it.

def entry_value(value):
    """The value of an argument at entry, apart from the caller's object
    (which the function changes in place)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def write_back(caller, value):
    """Make the caller's array hold ``value``, as the update in place that
    the function's code makes does (numbers and tuples are not changed in
    place: ``x += 1`` re-binds them)."""
    if caller is value:
        return
    if isinstance(caller, np.ndarray):
        np.copyto(caller, value)
    elif isinstance(caller, (list, dict)):
        # (jacrev and friends hand the function containers of their own, not the caller's)
        raise TypeError(
            f"in-place update of an argument that is a {type(caller).__name__}: adjoint changes the "
            "caller's arrays in place as the plain call does, but not its lists and dicts. Work on "
            "a copy made in the function (items = list(items), d = dict(d)) and return it.")
