"""In-place updates through a view held in a name, rewritten before the
function is normalized.

NumPy's basic indexing (``u[1:-1]``, ``y[0]`` of a 2-d ``y``), ``.T`` and
a chained assignment (``a = b = np.zeros(n)``) give a second name for memory
another name holds, so an update through one changes the other::

    interior = u[1:-1]
    interior += dt * lap      # u changes too

Where the base is an array this function made with NumPy, the view is kept
as a copy of its values, and every update through either name is followed
by a write of the new values to the other::

    interior = u[1:-1].copy()
    interior += dt * lap
    u[1:-1] = interior        # write-back (the base updated as NumPy would)
    ...                       # after an update of u: interior = u[1:-1].copy()

Both names then hold NumPy's values after every statement, and the updates
are ordinary in-place updates of arrays this function owns (whose
derivatives are exact). An index of numbers only (``row = y[0]``) gives a
view when ``y`` has more dimensions than numbers, else a number that nothing
else sees: which one is decided when the code runs (``len(y.shape) > 1``).
Any form not recognised here (an index held in a name, a view passed to a
function that could change it, a base that is re-bound after the view) is
left as written, and the ownership checks of ``normalize_inplace`` refuse it
at the user's line as before.
"""
import gast
import numpy as np

from .gastutil import clone, constant, load, store, walk as walk_tree
from .ir import fresh_result

#: NumPy functions and methods that change an argument in place: a view
#: reaching them is left to the ownership checks (refused).
_MUTATING_METHODS = {"fill", "sort", "put", "partition", "resize", "itemset", "setflags", "byteswap"}


def _located(node, at):
    return gast.fix_missing_locations(gast.copy_location(node, at))


def _basic_index(index):
    """The count of number indices in ``index`` (numbers, constant slices,
    ``...``, ``None``) or None when it is anything else (a name, an array)."""
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    count = 0

    def number(part):
        if isinstance(part, gast.UnaryOp) and isinstance(part.op, (gast.USub, gast.UAdd)):
            part = part.operand
        return isinstance(part, gast.Constant) and isinstance(part.value, int) and not isinstance(part.value, bool)

    for part in parts:
        if number(part):
            count += 1
        elif isinstance(part, gast.Slice):
            if not all(p is None or number(p) or (isinstance(p, gast.Constant) and p.value is None)
                       for p in (part.lower, part.upper, part.step)):
                return None
        elif not (isinstance(part, gast.Constant) and (part.value is None or part.value is Ellipsis)):
            return None
    # Only numbers, and no ``...``: a number for an array of that many dimensions.
    only_numbers = all(number(part) for part in parts)
    return count if only_numbers else 0


def _keywords(call):
    return {k.arg: k.value for k in call.keywords if k.arg is not None}


class _View:
    def __init__(self, name, base, kind, index, numbers):
        self.name, self.base, self.kind, self.index, self.numbers = name, base, kind, index, numbers

    def read(self):
        """``base[index]`` or ``base.T``."""
        if self.kind == "T":
            return gast.Attribute(value=load(self.base), attr="T", ctx=gast.Load())
        return gast.Subscript(value=load(self.base), slice=clone(self.index), ctx=gast.Load())


class _Rewriter:
    def __init__(self, node, resolver, namer):
        self.node, self.resolver, self.namer = node, resolver, namer
        self.order = {}  # statement -> its position in a walk of the function, in source order
        self.stores = {}  # name -> [(kind, position)]: kind "assign" (plain), "aug", or "other"
        self.refused = set()  # names a nested function, a user's call or a mutating method reaches
        self.first_use = {}  # name -> the position of the first statement that reads or binds it
        self.views = {}  # view name -> _View, once its statement was seen
        self.parents = {child: parent for parent in walk_tree(node) for child in gast.iter_child_nodes(parent)}
        self._scan(node.body)

    # ----- what the function does with each name

    def _scan(self, body):
        for stmt in body:
            self.order[stmt] = len(self.order)
            position = self.order[stmt]
            for field, value in gast.iter_fields(stmt):
                if field not in ("body", "orelse", "finalbody", "handlers"):
                    for part in value if isinstance(value, list) else [value]:
                        for n in walk_tree(part) if isinstance(part, gast.AST) else ():
                            if isinstance(n, gast.Name):
                                self.first_use.setdefault(n.id, position)
            for sub in walk_tree(stmt):
                if isinstance(sub, (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda, gast.ClassDef)):
                    self.refused.update(n.id for n in walk_tree(sub) if isinstance(n, gast.Name))
                if isinstance(sub, gast.Call):
                    self._scan_call(sub)
            if isinstance(stmt, gast.Assign):
                if len(stmt.targets) > 1 or not isinstance(stmt.targets[0], (gast.Name, gast.Subscript, gast.Attribute)):
                    # ``a[:], b[:] = ...``: an update the rewrite does not follow
                    self.refused.update(self._updated_through(stmt.targets))
                for target in stmt.targets:
                    kind = "assign" if isinstance(target, gast.Name) else "other"
                    for n in walk_tree(target):
                        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                            self.stores.setdefault(n.id, []).append((kind, position))
            elif isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name):
                self.stores.setdefault(stmt.target.id, []).append(("aug", position))
            else:
                heads = [getattr(stmt, "target", None)] + [item.optional_vars for item in getattr(stmt, "items", [])]
                if not isinstance(stmt, gast.AugAssign):  # (``v[i] += ...`` is rewritten)
                    self.refused.update(self._updated_through([h for h in heads if h is not None]))
                for head in heads:
                    for n in walk_tree(head) if head is not None else ():
                        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                            self.stores.setdefault(n.id, []).append(("other", position))
            for field in ("body", "orelse", "finalbody"):
                self._scan(getattr(stmt, field, []))
            for handler in getattr(stmt, "handlers", []):
                self._scan(handler.body)

    @staticmethod
    def _updated_through(targets):
        """The names whose items or attributes ``targets`` store into."""
        names = set()
        for target in targets:
            for n in walk_tree(target):
                if isinstance(n, (gast.Subscript, gast.Attribute)) and isinstance(n.ctx, gast.Store):
                    base = n.value
                    while isinstance(base, (gast.Subscript, gast.Attribute)):
                        base = base.value
                    if isinstance(base, gast.Name):
                        names.add(base.id)
        return names

    def _scan_call(self, call):
        func = self.resolver.value_of(call.func)
        names = [a.id for a in list(call.args) + [k.value for k in call.keywords] if isinstance(a, gast.Name)]
        if isinstance(call.func, gast.Attribute) and isinstance(call.func.value, gast.Name) and (
                call.func.attr in _MUTATING_METHODS):
            self.refused.add(call.func.value.id)
        module = getattr(func, "__module__", None) or ""
        numpy_function = module.split(".")[0] == "numpy" or isinstance(func, np.ufunc)
        mutating = (not numpy_function or any(k.arg == "out" for k in call.keywords)
                    or getattr(func, "__name__", "") in ("at", "fill_diagonal", "copyto", "put", "place", "putmask",
                                                          "put_along_axis"))
        if mutating:
            self.refused.update(names)

    def _made_by_numpy(self, value):
        if not isinstance(value, gast.Call):
            return False
        if isinstance(value.func, gast.Attribute) and value.func.attr == "copy" and not value.args:
            return isinstance(value.func.value, gast.Name) and self._is_array(value.func.value.id)
        func = self.resolver.value_of(value.func)
        module = getattr(func, "__module__", None) or ""
        return (module.split(".")[0] == "numpy" and callable(func) and not isinstance(func, type)
                and getattr(func, "__name__", "") not in ("tolist", "shape", "ndim", "size"))

    def _is_array(self, name):
        return name in self.arrays or name in self.views

    def _settled(self, name, position):
        """``name`` is not re-bound (other than by ``+=``) from ``position`` on."""
        return name not in self.refused and all(kind == "aug" or at < position
                                                for kind, at in self.stores.get(name, ()))

    def _only_store(self, name):
        kinds = [kind for kind, _ in self.stores.get(name, ())]
        return kinds.count("assign") == 1 and "other" not in kinds and name not in self.refused

    def _kept_only_here(self, name, seen=()):
        """Every read of ``name`` (a view to be kept as a copy) uses its
        values right away: arithmetic, a NumPy function making a new array,
        ``return``, or a view of it that is kept the same way. A value that
        may keep it (another name, a container, a loop over its rows, a view
        made by an index held in a name) would miss later updates."""
        if name in seen:
            return False
        for node in walk_tree(self.node):
            if not (isinstance(node, gast.Name) and node.id == name and isinstance(node.ctx, gast.Load)):
                continue
            if not self._read_right_away(node, (*seen, name)):
                return False
        return True

    def _read_right_away(self, node, seen):
        parent = self.parents.get(node)
        if isinstance(parent, (gast.BinOp, gast.UnaryOp, gast.Compare, gast.BoolOp, gast.AugAssign)):
            return not (isinstance(parent, gast.AugAssign) and parent.target is node)
        if isinstance(parent, gast.Return):
            return True
        if isinstance(parent, (gast.Tuple, gast.List)):
            # returned, or joined into a new array (np.concatenate([u, v]))
            above = self.parents.get(parent)
            return isinstance(above, gast.Return) or (
                isinstance(above, gast.Call) and parent in above.args
                and fresh_result(self.resolver.value_of(above.func), _keywords(above)))
        if isinstance(parent, gast.Subscript) and parent.value is node:
            above = self.parents.get(parent)
            if isinstance(parent.ctx, gast.Store) or (isinstance(above, gast.AugAssign) and above.target is parent):
                return True  # an update through the name: rewritten
            if isinstance(above, gast.Subscript) and isinstance(above.ctx, gast.Store) and above.value is parent:
                return False  # v[i][j] = ...: an update of a view of the copy
            return self._derived_right_away(parent, seen)
        if isinstance(parent, gast.Attribute) and parent.value is node:
            if parent.attr in ("shape", "ndim", "size", "dtype"):
                return True
            above = self.parents.get(parent)
            if isinstance(above, gast.Call) and above.func is parent:
                return self._derived_right_away(above, seen)  # v.sum(), v.reshape(...)
            if isinstance(parent.ctx, gast.Store):
                return False
            if isinstance(above, gast.Subscript) and above.value is parent and isinstance(above.ctx, gast.Store):
                return True  # v.T[i] = ...: rewritten
            return self._derived_right_away(parent, seen)
        if isinstance(parent, (gast.Call, gast.keyword)):
            call = self.parents.get(parent) if isinstance(parent, gast.keyword) else parent
            if isinstance(call, gast.Call) and node is not call.func:
                func = self.resolver.value_of(call.func)
                if fresh_result(func, _keywords(call)):
                    return True
                return self._derived_right_away(call, seen)
        return False

    def _derived_right_away(self, expression, seen):
        """``expression`` (``v[i]``, ``v.T``, ``np.reshape(v, ...)``) may be a
        view of ``v``: used right away, or the value of a view statement whose
        name is kept the same way."""
        parent = self.parents.get(expression)
        if isinstance(parent, gast.Assign) and parent.value is expression:
            target = parent.targets[0] if len(parent.targets) == 1 else None
            simple = (isinstance(expression, gast.Subscript) and _basic_index(expression.slice) is not None) or (
                isinstance(expression, gast.Attribute) and expression.attr == "T")
            return (isinstance(target, gast.Name) and simple and self._only_store(target.id)
                    and self._kept_only_here(target.id, seen))
        return self._read_right_away(expression, seen)

    # ----- the rewrite

    def rewrite(self):
        # Arrays this function made with NumPy: every plain assignment of the name is a NumPy call.
        self.arrays = set()
        assigned = {}
        for stmt in self.order:
            if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name):
                assigned.setdefault(stmt.targets[0].id, []).append(stmt.value)
        for name, values in assigned.items():
            if name not in self.refused and all(kind != "other" for kind, _ in self.stores.get(name, ())) and all(
                    self._made_by_numpy(v) for v in values):
                self.arrays.add(name)
        self.node.body = self.block(self.node.body)

    def block(self, body):
        out = []
        for stmt in body:
            for field in ("body", "orelse", "finalbody"):
                if getattr(stmt, field, None):
                    setattr(stmt, field, self.block(getattr(stmt, field)))
            for handler in getattr(stmt, "handlers", []):
                handler.body = self.block(handler.body)
            out.extend(self.statement(stmt))
        return out

    def statement(self, stmt):
        position = self.order.get(stmt)
        if isinstance(stmt, gast.Assign) and position is not None:
            chained = self.chained(stmt, position)
            if chained is not None:
                return chained
            view = self.view_statement(stmt, position)
            if view is not None:
                return view
        written = self.written_name(stmt)
        if written is None:
            return [stmt]
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0].value, gast.Attribute):
            return self.transposed_store(stmt, written)
        return [stmt] + self.after_update(written, stmt)

    def chained(self, stmt, position):
        """``a = b = np.zeros(n)``: ``a = np.zeros(n)``, and ``b`` a view of all of ``a``."""
        names = [t.id for t in stmt.targets if isinstance(t, gast.Name)]
        if (len(stmt.targets) != 2 or len(names) != 2 or names[0] == names[1]
                or not self._made_by_numpy(stmt.value) or not all(self._only_store(n) for n in names)
                or not self._kept_only_here(names[1])):
            return None
        first, second = names
        self.arrays.add(first)
        view = _View(second, first, "index", constant(Ellipsis), 0)
        self.views[second] = view
        return [_located(gast.Assign(targets=[store(first)], value=stmt.value, type_comment=None), stmt),
                self.read_view(view, stmt)]

    def view_statement(self, stmt, position):
        """``v = base[basic index]`` or ``v = base.T`` of an array made here."""
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], gast.Name):
            return None
        name, value = stmt.targets[0].id, stmt.value
        if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name):
            numbers = _basic_index(value.slice)
            kind, index = "index", value.slice
        elif isinstance(value, gast.Attribute) and value.attr == "T" and isinstance(value.value, gast.Name):
            numbers, kind, index = 0, "T", None
        else:
            return None
        base = value.value.id
        # (a name read before its view statement may be a loop's earlier view)
        if (numbers is None or not self._is_array(base) or not self._only_store(name)
                or not self._settled(base, position) or base == name or not self._kept_only_here(name)
                or self.first_use.get(name, position) < position):
            return None
        view = _View(name, base, kind, index, numbers)
        self.views[name] = view
        return [self.read_view(view, stmt)]

    def read_view(self, view, at):
        """``v = base[index].copy()``, kept only where NumPy gives a view."""
        copy = gast.Call(func=gast.Attribute(value=view.read(), attr="copy", ctx=gast.Load()), args=[], keywords=[])
        return _located(gast.Assign(targets=[store(view.name)], value=copy, type_comment=None), at)

    def written_name(self, stmt):
        """The name of an array or view ``stmt`` updates in place, if any."""
        target = None
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Subscript):
            target = stmt.targets[0]
        elif isinstance(stmt, gast.AugAssign):
            target = stmt.target
        while isinstance(target, gast.Subscript):
            target = target.value
        if isinstance(target, gast.Attribute) and target.attr == "T" and isinstance(stmt, gast.Assign) and (
                isinstance(target.value, gast.Name) and self._is_array(target.value.id)
                and isinstance(stmt.targets[0].value, gast.Attribute)):
            return target.value.id  # A.T[i] = v
        if isinstance(target, gast.Name) and self._is_array(target.id) and (
                target.id in self.views or any(v.base == target.id for v in self.views.values())):
            return target.id
        return None

    def transposed_store(self, stmt, name):
        """``A.T[i] = v``: ``t = A.T.copy(); t[i] = v; A[...] = t.T``."""
        temporary = self.namer.fresh(f"{name}_T")
        transposed = gast.Attribute(value=load(name), attr="T", ctx=gast.Load())
        made = gast.Assign(targets=[store(temporary)], value=gast.Call(
            func=gast.Attribute(value=transposed, attr="copy", ctx=gast.Load()), args=[], keywords=[]),
            type_comment=None)
        changed = gast.Assign(targets=[gast.Subscript(value=load(temporary), slice=clone(stmt.targets[0].slice),
                                                      ctx=gast.Store())], value=stmt.value, type_comment=None)
        back = gast.Assign(targets=[gast.Subscript(value=load(name), slice=constant(Ellipsis), ctx=gast.Store())],
                           value=gast.Attribute(value=load(temporary), attr="T", ctx=gast.Load()), type_comment=None)
        out = [_located(made, stmt), _located(changed, stmt)]
        back = _located(back, stmt)
        return out + [back] + self.after_update(name, back)

    def after_update(self, name, at, skip=None):
        """What follows an update of ``name``: its base gets the new values
        (a view), and every view of it reads them again."""
        out = []
        view = self.views.get(name)
        if view is not None:
            if view.kind == "T":
                target, value = gast.Subscript(value=load(view.base), slice=constant(Ellipsis), ctx=gast.Store()), \
                    gast.Attribute(value=load(name), attr="T", ctx=gast.Load())
            else:
                target, value = gast.Subscript(value=load(view.base), slice=clone(view.index), ctx=gast.Store()), \
                    load(name)
            back = _located(gast.Assign(targets=[target], value=value, type_comment=None), at)
            out += self.when_a_view(view, [back] + self.after_update(view.base, at, skip=name), at)
        out += self.read_again(name, at, skip)
        return out

    def read_again(self, name, at, skip):
        out = []
        for view in list(self.views.values()):
            if view.base == name and view.name != skip:
                out += self.when_a_view(view, [self.read_view(view, at)] + self.read_again(view.name, at, None), at)
        return out

    def when_a_view(self, view, body, at):
        """``body`` where ``view`` is a view: always, or for an index of
        numbers only, where the base has more dimensions than numbers."""
        if not view.numbers:
            return body
        shape = gast.Attribute(value=load(view.base), attr="shape", ctx=gast.Load())
        test = gast.Compare(left=gast.Call(func=load("len"), args=[shape], keywords=[]), ops=[gast.Gt()],
                            comparators=[constant(view.numbers)])
        return [_located(gast.If(test=test, body=body, orelse=[]), at)]


def rewrite_views(node, resolver, namer):
    """Rewrite in-place updates through named views of arrays made in the
    function (see the module docstring); other code is left as written."""
    if _may_write_through_a_view(node):
        _Rewriter(node, resolver, namer).rewrite()


def _may_write_through_a_view(node):
    """Whether ``node`` binds a name that may be a view (``v = a[...]``,
    ``v = a.T``, ``a = b = ...``) and updates something in place (``+=``,
    ``a[i] = ...``): only then can a write reach another name. One walk,
    so that the functions without both (most) skip the rewriter's scan."""
    view, update = False, False
    for sub in walk_tree(node):
        if isinstance(sub, gast.AugAssign):
            update = True
        elif isinstance(sub, gast.Assign):
            if len(sub.targets) > 1:
                view = True
            if any(not isinstance(t, gast.Name) for t in sub.targets):
                update = True
            elif isinstance(sub.value, gast.Subscript) or (
                    isinstance(sub.value, gast.Attribute) and sub.value.attr == "T"):
                view = True
        if view and update:
            return True
    return False
