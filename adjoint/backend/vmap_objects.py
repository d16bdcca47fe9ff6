"""vmap of a function that sets attributes of an object it did not make.

An object given with ``in_dims=None`` is one object for the whole batch,
like an array given that way. The function then runs once per example
(a Python loop over the batch), each example on its own copy of the
object as the caller passed it, so no example sees what another stored:
the results are those of ``f(x_i, obj)`` called on each example alone.
The caller's object then takes the change only if every example leaves
its copy in the same state (an attribute set to the same value by all, a
counter bumped alike); examples that leave different states (an RNN cell
stepped on each example's input) are refused at the line of the first
change, since one object cannot hold them: the same rule as for an array
given with ``in_dims=None`` and updated in place (``runtime.vmap_loop_shared``).

An object of the module or of a closure changed under vmap with batched
values (or by a call the batched code runs once per example) is refused at
that line: the examples would share it (each would see the previous one's
values), which no batch of independent examples does. A change that is the
same for the whole batch (a counter) is made once.

The per-example loop also watches the objects of the module or closure the
function names (``model`` of ``model.block.layer.W = ...``, a dict of them,
an object reached through an alias), which the front end's check above
does not see when the change goes through another object: each example
starts from their state before the call, and examples that leave them in
different states are refused at the line of the change, as above.
"""
import copy
import inspect
import linecache
import re
import types
import warnings

import numpy as np

from .. import errors, runtime
from ..runtime.batched import example, stack_examples


def looped_over_copies(func, batched_positions, reason, looped_vmap):
    """The batched transform of ``func`` (``reason``: where it sets the
    attribute, a ``SharedObjectsChanged`` or an ``Unbatchable``), a kind of
    ``looped_vmap`` (the pipeline's per-example transform, handed in)."""
    if getattr(reason, "module", False):
        raise errors.vmap_changed_module_object(reason.location, reason.name)

    class OverCopies(looped_vmap):
        def vmap(self, batch, *args, **kwargs):
            if not self.warned:
                self.warned = True
                warnings.warn(f"vmap of {getattr(self.func, '__name__', self.func)}: "
                              f"{self.reason.location.filename}:{self.reason.location.lineno}: "
                              f"{self.reason.construct}, so the function runs once per example, each on its own "
                              "copy of the objects it is given (a Python loop over the batch).", RuntimeWarning,
                              stacklevel=3)
            batched = tuple(i in self.positions for i in range(len(args)))
            return run_over_copies(self.func, batch, batched, self.reason.location, args, kwargs)

    return OverCopies(func, batched_positions, reason)


def _copied(value):
    """A deep copy of ``value``, and ``{id(copy of a part): that part}`` for
    its parts, which tells a part changed in place from one replaced."""
    memo = {}
    copied = copy.deepcopy(value, memo)
    return copied, {id(memo[id(part)]): part for part in memo.get(id(memo), ()) if id(part) in memo}


def _shared(value):
    return isinstance(value, (np.ndarray, list, dict)) or runtime.is_plain_object(value)


def run_over_copies(func, batch, batched, location, args, kwargs):
    """``stack([func(*example i of args, **kwargs) for i in range(batch)])``,
    every argument shared by the batch (not ``batched``) that may change
    given to each example as a copy; the caller's takes the examples'
    common final state, and different ones are refused."""
    shared = [i for i, (a, b) in enumerate(zip(args, batched, strict=True)) if not b and _shared(a)]
    shared_keys = [k for k, v in kwargs.items() if _shared(v)]
    first, results = {}, []
    user = getattr(func, "adjoint_user_function", func)
    passed = {id(a) for a in args} | {id(v) for v in kwargs.values()}
    outside = {name: (value,) + _copied(value) for name, value in _outside_objects(user).items()
               if id(value) not in passed}
    outside_first = {}
    for row in range(batch):
        for name, (value, before, back) in outside.items():
            if row:  # (each example starts from the state before the call)
                adopt(value, before, back)
        example_args = [example(a, row) if b else a for a, b in zip(args, batched, strict=True)]
        example_kwargs = dict(kwargs)
        copies = {}
        for i in shared:
            copies[i] = _copied(args[i])
            example_args[i] = copies[i][0]
        for k in shared_keys:
            copies[k] = _copied(kwargs[k])
            example_kwargs[k] = copies[k][0]
        results.append(func(*example_args, **example_kwargs))
        for name, (value, _, _) in outside.items():
            left = _copied(value)[0]
            if not row:
                outside_first[name] = left
            elif not same_state(outside_first[name], left):
                path = _first_difference(outside_first[name], left)
                for value_, before, back in outside.values():  # (left as before the call)
                    adopt(value_, before, back)
                kind = type(value).__name__ if isinstance(value, (list, dict)) else None
                raise errors.vmap_changed_module_object(_users_line(location, user, value, path), name, kind)
        for key, value in copies.items():
            if row == 0:
                first[key] = value
            elif not same_state(first[key][0], value[0]):
                path = _first_difference(first[key][0], value[0])
                user = getattr(func, "adjoint_user_function", func)
                described = _described(user or func, key) + (f" (its attribute {path})" if path else "")
                raise errors.vmap_changed_shared_object(_users_line(location, user, args[key] if isinstance(
                    key, int) else kwargs[key], path), described)
    for key, (value, back) in first.items():
        original = args[key] if isinstance(key, int) else kwargs[key]
        adopt(original, value, back)
    return stack_examples(results)


def _outside_objects(func):
    """``{name: object}``: the objects of the user's classes, lists and
    dicts that ``func`` (or code nested in it) names from its module or
    closure."""
    code = getattr(func, "__code__", None)
    if code is None:
        return {}
    found = {}
    namespace = getattr(func, "__globals__", {})
    codes = [code]
    while codes:
        current = codes.pop()
        codes.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
        for name in current.co_names:
            if name in namespace and name not in found:
                found[name] = namespace[name]
    for name, cell in zip(code.co_freevars, getattr(func, "__closure__", None) or (), strict=False):
        try:
            found[name] = cell.cell_contents
        except ValueError:  # (a cell not filled yet)
            continue
    return {name: value for name, value in found.items()
            if isinstance(value, (list, dict)) or runtime.is_plain_object(value)}


def _described(func, key):
    code = getattr(func, "__code__", None)
    if isinstance(key, int) and code is not None and key < code.co_argcount:
        return f"argument {code.co_varnames[key]!r}"
    return f"argument {key}" if isinstance(key, int) else f"keyword argument {key!r}"


def _first_difference(a, b):
    """``.h`` (``.layer.h``): where two states of an object first differ."""
    path = ""
    while hasattr(a, "__dict__") and hasattr(b, "__dict__") and runtime.is_plain_object(a):
        found = next((name for name in vars(a) if name not in vars(b) or not same_state(vars(a)[name],
                                                                                          vars(b).get(name))), None)
        if found is None:
            break
        path += f".{found}"
        a, b = vars(a)[found], vars(b).get(found)
    return path


def _users_line(location, user, obj, path):
    """The line of ``user`` (the user's function) or of a method of the
    object's class that sets the attribute ``path`` ends with (``.h =``,
    ``.h +=``); else ``location`` when it is in the user's code, or the line
    ``user`` starts at (``location`` in code adjoint wrote: a derivative)."""
    attribute = path.rsplit(".", 1)[-1] if path else None
    store = re.compile(rf"\.{re.escape(attribute)}\s*([-+*/@%]|\*\*|//)?=(?!=)") if attribute else None
    methods = [f for name, f in vars(type(obj)).items() if isinstance(f, types.FunctionType)
               and name not in ("__init__", "__post_init__")]  # (those ran before the call)
    for function in [user] * (user is not None) + methods:
        try:
            lines, first = inspect.getsourcelines(function)
        except (OSError, TypeError):
            continue
        for offset, text in enumerate(lines):
            if store is not None and store.search(text):
                return errors.SourceLocation(inspect.getsourcefile(function) or function.__code__.co_filename,
                                             first + offset, text)
    if user is None or not location.filename.startswith("<"):
        return location
    code = user.__code__
    return errors.SourceLocation(code.co_filename, code.co_firstlineno, linecache.getline(code.co_filename,
                                                                                          code.co_firstlineno))


def same_state(a, b, depth=0):
    """Whether ``a`` and ``b`` hold the same values (arrays by value, the
    user's objects by their attributes, containers item by item)."""
    if depth > 50:
        return a is b
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")))
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_state(x, y, depth + 1) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_state(a[k], b[k], depth + 1) for k in a)
    if runtime.is_plain_object(a) and hasattr(a, "__dict__"):
        return same_state(vars(a), vars(b), depth + 1)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 (values without a plain comparison: the same only if identical)
        return a is b


def adopt(original, final, back, seen=None):
    """Give the caller's ``original`` the state its copy ``final`` was left
    in: a part the example kept (perhaps changed in place) is the caller's
    own part again, brought to that state in place; a part it put there
    anew is put there. ``back``: see ``_copied``."""
    seen = set() if seen is None else seen
    if id(original) in seen:
        return
    seen.add(id(original))
    if isinstance(original, np.ndarray):
        if not same_state(original, final):
            np.copyto(original, final)
        return
    if isinstance(original, list):
        original[:] = [_restored(item, back, seen) for item in final]
        return
    if isinstance(original, dict):
        restored = {key: _restored(item, back, seen) for key, item in final.items()}
        original.clear()
        original.update(restored)
        return
    if not hasattr(original, "__dict__"):
        return
    for name, value in vars(final).items():
        object.__setattr__(original, name, _restored(value, back, seen))
    for name in [n for n in vars(original) if n not in vars(final)]:
        object.__delattr__(original, name)


def _restored(value, back, seen):
    """A part of an example's copy, as the caller's: the caller's own part
    when the copy was made from one (brought to the copy's state)."""
    original = back.get(id(value))
    if original is None:
        return value
    if isinstance(original, (np.ndarray, list, dict)) or hasattr(original, "__dict__"):
        adopt(original, value, back, seen)
    return original

