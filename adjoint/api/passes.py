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

import numpy as np

from .. import runtime as rt
from . import calling


def changes_state(compiled, called=False):
    """Whether the generated code changes anything besides its result
    (``called``: the code of a function another one calls, whose changes of
    its own arguments are its caller's business: only the module's state)."""
    return bool((not called and getattr(compiled, "augmented_params", None))
                or getattr(compiled, "outside_stores", None) or getattr(compiled, "changes_module_state", False))


def derivative_changes_state(func):
    """Whether ``func``, a derivative (``jacrev(f)``, differentiated again by
    the caller), runs generated code that changes state: an object given to
    it whose attributes ``f`` sets (``hessian(f, 1)(model, x)``). Its own
    transform reads those changes as plain calls of the passes, so the
    passes written for it are asked (api/derivatives.py)."""
    return any(changes_state(compiled, called) for _, compiled, called in _transforms_run(func, None))


def _changed_objects(func, compiled):
    """The objects, not among the arguments, whose attributes the code may
    set: those of the function's module or closure it follows, and the
    object of a bound method or a callable object."""
    from ..analysis import structure

    found = []
    for function, compiled, _ in _transforms_run(func, compiled):
        if function is None:
            continue
        function, leading, _ = calling._callable_parts(function)
        candidates = [value for value in leading if hasattr(value, "__dict__")]
        for name in getattr(compiled, "followed_globals", None) or ():
            try:
                candidates.append(structure.free_value(function, name))
            except AttributeError:  # (not a plain function)
                continue
        candidates.extend(getattr(compiled, "changed_values", None) or ())  # (Counter.n += 1, MODEL.a.b.W *= 2)
        for value in candidates:
            if (hasattr(value, "__dict__") or type(value) is list) and not any(value is seen for seen in found):
                found.append(value)
    return found


def _transforms_run(func, compiled):
    """``(function, its transform, called)`` for ``func`` (with ``compiled`` unless
    None) and, if it is a derivative (``jacrev(f)`` differentiated again by
    ``hessian``, or the function derivatives.py writes for it), for the
    functions it is a derivative of, whose passes it runs, and for the
    functions their code calls: the objects of their module they change are
    changed by every pass of ``func``'s (``called``: reached through a
    call, see changes_state)."""
    from .. import made
    from .derivatives import _made_for

    found, todo, seen, seen_transforms = [], [(func, compiled, False)], set(), set()
    while todo:
        function, transform, called = todo.pop(0)
        if transform is not None and id(transform) not in seen_transforms:
            seen_transforms.add(id(transform))
            found.append((function, transform, called))
            # (a function it calls that changes an object of its own module: g(x) calling f(x))
            todo.extend((getattr(callee, "func", None), callee, True)
                        for callee in getattr(transform, "callee_transforms", None) or ())
        if function is None or id(function) in seen:
            continue
        seen.add(id(function))
        written = getattr(function, "__adjoint_derivative__", None)  # (a derivative function written)
        if written is not None:
            todo.append((getattr(written, "func", None), written, called))
        if made.of(function) is not None:
            inner = made.of(function)[0]
            todo.extend((inner, transform, called) for _, transform in list(_made_for(function).values()))
    return found


class Guard:
    """``arguments(args, kwargs, last)`` before each pass: the arguments it
    runs on (copies unless ``last`` when the code changes state); then
    ``restore()`` once it is done (or failed): the objects it changed get
    their attributes back (not after the last pass)."""

    def __init__(self, func, compiled):
        self.changes = any(changes_state(transform, called) for _, transform, called in _transforms_run(func, compiled))
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
    return [_snapshot(obj) for obj in objects]


def _put_back(saved):
    for snapshot in saved:
        _restore(snapshot)


def _snapshot(root, depth=8):
    """What ``root`` (an object of the module, or a list of it) and what it
    holds, ``depth`` links deep, are made of: each object's attributes, each
    list's and dict's items, each array's values (``MODEL.block.layer.W *=
    2`` changes one in place), so that ``_restore`` gives them back in place:
    whatever else holds them sees them as they were."""
    found, level, seen = [], [root], set()
    for _ in range(depth + 1):
        inner = []
        for value in level:
            if id(value) in seen:
                continue
            seen.add(id(value))
            if type(value) is list:
                found.append((value, list(value)))
                inner.extend(value)
            elif type(value) is dict:
                found.append((value, dict(value)))
                inner.extend(value.values())
            elif isinstance(value, np.ndarray):
                if value.flags.writeable and value.base is None:
                    found.append((value, value.copy()))
            elif hasattr(value, "__dict__") and not isinstance(value, type) and rt.is_plain_object(value):
                found.append((value, dict(vars(value))))
                inner.extend(vars(value).values())
            elif isinstance(value, type) and value is root:  # a class of the user's: its class attributes
                found.append((value, dict(vars(value))))
                inner.extend(v for v in vars(value).values() if isinstance(v, (np.ndarray, list, dict)))
        level = inner
    return found


def _restore(snapshot):
    for value, saved in snapshot:
        if type(value) is list:
            value[:] = saved
        elif type(value) is dict:
            value.clear()
            value.update(saved)
        elif isinstance(value, np.ndarray):
            value[...] = saved
        elif isinstance(value, type):
            for name in [n for n in vars(value) if n not in saved]:
                delattr(value, name)
            for name, item in saved.items():
                if vars(value).get(name, saved) is not item and name not in ("__dict__", "__weakref__", "__doc__"):
                    setattr(value, name, item)
        else:
            namespace = vars(value)
            namespace.clear()
            namespace.update(saved)
