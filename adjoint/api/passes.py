"""State a function changes besides its result, across several passes of
its generated code.

A Jacobian taken in chunks, and a sparse one (its NaN detection passes,
then its compressed ones), run the function's code more than once. A
function that changes state as it runs (its array arguments in place
(``x += v``), attributes of an object passed in (``s.h = ...``,
``s.step(x)``), of an object of its module or closure (``CELL.step(x)``,
``CELL.n += 1``, with or without a derivative), of the object a bound
method belongs to, or the items of a list of its module (``LAYERS[-1] *=
2``, frontend/normalize_module_lists)) would otherwise see at every
pass after the first the state the previous pass left: the result would be
taken at another point, and the caller's state changed once per pass. With
a ``Guard``, every pass but the last runs on copies of the arguments, and
the objects it changes get back the attributes they had before it (a
list of the module its items, and the arrays among them their values); the
last pass changes the caller's state once, as the plain call does.
"""
import copy

from . import calling


def changes_state(compiled):
    """Whether the generated code changes anything besides its result."""
    return bool(getattr(compiled, "augmented_params", None) or getattr(compiled, "outside_stores", None)
                or getattr(compiled, "changes_module_state", False))


def derivative_changes_state(func):
    """Whether ``func``, a derivative (``jacrev(f)``, differentiated again by
    the caller), runs generated code that changes state: an object given to
    it whose attributes ``f`` sets (``hessian(f, 1)(model, x)``). Its own
    transform reads those changes as plain calls of the passes, so the
    passes written for it are asked (api/derivatives.py)."""
    from .. import made
    from .derivatives import _made_for

    while made.of(func) is not None:
        if any(changes_state(compiled) for _, compiled in list(_made_for(func).values())):
            return True
        func = made.of(func)[0]
    return False


def _changed_objects(func, compiled):
    """The objects, not among the arguments, whose attributes the code may
    set: those of the function's module or closure it follows, and the
    object of a bound method or a callable object."""
    from ..analysis import structure

    function, leading, _ = calling._callable_parts(func)
    found = [value for value in leading if hasattr(value, "__dict__")]
    for name in getattr(compiled, "followed_globals", None) or ():
        try:
            value = structure.free_value(function, name)
        except AttributeError:  # (not a plain function)
            continue
        if (hasattr(value, "__dict__") or type(value) is list) and not any(value is seen for seen in found):
            found.append(value)
    return found


class Guard:
    """``arguments(args, kwargs, last)`` before each pass: the arguments it
    runs on (copies unless ``last`` when the code changes state); then
    ``restore()`` once it is done (or failed): the objects it changed get
    their attributes back (not after the last pass)."""

    def __init__(self, func, compiled):
        self.changes = changes_state(compiled) or derivative_changes_state(func)
        self.objects = _changed_objects(func, compiled) if self.changes else []
        self.saved = []

    def arguments(self, args, kwargs, last=False):
        if not self.changes or last:
            return args, kwargs
        self.saved = _saved(self.objects)
        return copy.deepcopy((args, kwargs))

    def restore(self):
        saved, self.saved = self.saved, []
        _put_back(saved)

    def snapshot(self, args, kwargs):
        """Before a pass: copies of the arguments and the objects' state, for
        ``replay`` (None when the code changes no state)."""
        if not self.changes:
            return None
        return copy.deepcopy((args, kwargs)), _saved(self.objects)

    def replay(self, snapshot, run):
        """``run(args, kwargs)`` again on the state ``snapshot`` took (the
        arguments' copies, the objects as they were then), the objects left
        as the pass before it left them: a tangent pass run again with the
        seed's zeros marked (api/bases.py) changes the caller's state no
        second time."""
        (args, kwargs), before = snapshot
        after = _saved(self.objects)
        _put_back(before)
        try:
            return run(*copy.deepcopy((args, kwargs)))
        finally:
            _put_back(after)


def _saved(objects):
    return [(obj, _saved_items(obj) if type(obj) is list else copy.deepcopy(vars(obj))) for obj in objects]


def _put_back(saved):
    for obj, attributes in saved:
        if type(obj) is list:
            _restore_items(obj, attributes)
            continue
        namespace = vars(obj)
        namespace.clear()
        namespace.update(attributes)


def _saved_items(items):
    """The items of a list of the module, and the values of its arrays
    (which ``LAYERS[k] op= v`` updates in place)."""
    return [(item, item.copy() if hasattr(item, "__array__") and hasattr(item, "copy") else None)
            for item in items]


def _restore_items(items, saved):
    items[:] = [item for item, _ in saved]
    for item, values in saved:
        if values is not None:
            item[...] = values
