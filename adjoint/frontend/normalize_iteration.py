"""A-normal form of comprehensions, ``and``/``or`` and iteration.

* ``[e for x in xs if c]`` is the loop ``items = []; for x in xs: if c:
  items.append(e)``, normalized like the user's own loops (so its values get
  derivatives in every transform). Each comprehension variable gets a name
  of its own: as in Python 3 it does not leak, and it never clashes with the
  function's names. A dict comprehension fills a dict the same way (the key
  computed before the value, as Python does).
* A generator expression, ``zip``, ``enumerate``, ``reversed`` or
  ``d.items()``/``d.values()`` handed to a builtin that reads every item at
  once (``sum``, ``max``, ``min``, ``list``, ``tuple``, ``sorted``,
  ``dict``) is the list it would produce. A generator kept, passed elsewhere
  or consumed lazily (``any``, ``all``) stays as written, and is refused only
  if a derivative would have to go through it.
* ``sorted(xs, key=..., reverse=...)`` and ``max``/``min`` with ``key=``:
  the order (or the winning position) is computed without derivative, from
  the same comparisons Python makes; the items are then taken in that order,
  so each item's derivative follows it (the permutation is piecewise
  constant).
* ``a and b`` / ``a or b`` are conditional expressions over the first
  operand (``b if a else a``, ``a if a else b``): Python's values, and ``b``
  evaluated only when Python evaluates it. Operands that are plainly
  booleans (comparisons, ``not``) are kept as written.
* Loops over ``d.items()``, ``d.values()`` and a dict's keys visit the keys
  (without derivative) and read ``d[k]``; ``for k in d`` is read that way
  when ``d`` is a dict made in the function, or when the body indexes ``d``
  by ``k``. ``reversed(xs)`` is read from the end; a comprehension or a
  NumPy call iterated over is computed first and indexed.
"""
import builtins

import gast

from .. import runtime as rt
from .gastutil import clone, constant, load, store, walk as walk_tree
from .ir import ARRAY_METHODS, NONDIFF, Op, assigned_names, is_library
from .resolve import UNRESOLVED

#: comprehensions lowered to loops (a set has no order; a set comprehension stays as written)
LOWERED_COMPREHENSIONS = (gast.ListComp, gast.DictComp)
#: builtins that read every item of their first argument at once
EAGER_CONSUMERS = (builtins.sum, builtins.max, builtins.min, builtins.list, builtins.tuple, builtins.sorted,
                   builtins.dict)
#: views of a dict whose loops read d[k] for each key
MAPPING_VIEWS = ("items", "values")


def _locate(node, origin):
    """Give ``node`` and the nodes under it without a location ``origin``'s."""
    for child in walk_tree(node):
        if isinstance(child, (gast.stmt, gast.expr)) and getattr(child, "lineno", None) is None:
            gast.copy_location(child, origin)
    return node


def _rename(nodes, renames):
    for node in nodes:
        for child in walk_tree(node):
            if isinstance(child, gast.Name) and child.id in renames:
                child.id = renames[child.id]


def _comprehension_of(iterable, origin, pairs=False):
    """``[item for item in iterable]`` (``{k: v for k, v in iterable}`` with
    ``pairs``): the items of ``iterable`` as a list (a dict)."""
    if pairs:
        target = gast.Tuple(elts=[store("key"), store("value")], ctx=gast.Store())
        generator = gast.comprehension(target=target, iter=iterable, ifs=[], is_async=0)
        return _locate(gast.DictComp(key=load("key"), value=load("value"), generators=[generator]), origin)
    generator = gast.comprehension(target=store("item"), iter=iterable, ifs=[], is_async=0)
    return _locate(gast.ListComp(elt=load("item"), generators=[generator]), origin)


def _subscripted_by(body, container, target):
    """Whether ``body`` reads ``container[... k ...]`` for a name ``k`` of
    the loop's ``target``."""
    names = {n.id for n in walk_tree(target) if isinstance(n, gast.Name)}
    for stmt in body:
        for node in walk_tree(stmt):
            if (isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)
                    and node.value.id == container
                    and any(isinstance(n, gast.Name) and n.id in names for n in walk_tree(node.slice))):
                return True
    return False


def _rebinds(body, name):
    """Whether ``body`` binds ``name`` again (not an update of its items)."""
    return any(isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store) and node.id == name
               for stmt in body for node in walk_tree(stmt))


def _plainly_boolean(node, local_names):
    """A comparison, a ``not``, a constant, or and/or of those: a value with
    no derivative, which the expression kept as written computes exactly."""
    if isinstance(node, gast.BoolOp):
        return all(_plainly_boolean(v, local_names) for v in node.values)
    if isinstance(node, gast.Constant):
        return True
    if not (isinstance(node, gast.Compare) or (isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.Not))):
        return False
    # Kept as written, so nothing in it may need the normalizer (inlining, loops).
    return not any(isinstance(n, (gast.Lambda, gast.ListComp, gast.DictComp, gast.SetComp, gast.GeneratorExp,
                                  gast.NamedExpr, gast.BoolOp, gast.IfExp))
                   or (isinstance(n, gast.Name) and n.id in local_names)
                   for n in walk_tree(node))


class Iteration:
    """Methods of ``normalize.Normalizer``; see its docstring for the state they share."""

    # ------------------------------------------------------------ comprehensions

    def own_variables(self, node, results):
        """Give the variables of comprehension ``node`` names of their own
        (in place); return those names."""
        own_names = set()
        for position, generator in enumerate(node.generators):
            if generator.is_async:
                raise self.unsupported(node, "async comprehension", "coroutines cannot be differentiated.",
                                       "Use a plain comprehension.")
            # Each generator's variables are visible in its conditions, in the
            # later generators and in the result, and nowhere else.
            names = sorted({n.id for n in walk_tree(generator.target) if isinstance(n, gast.Name)})
            renames = {name: self.namer.fresh(name) for name in names}
            own_names.update(renames.values())
            later = [part for g in node.generators[position + 1:] for part in [g.target, g.iter] + g.ifs]
            _rename([generator.target] + generator.ifs + later + results, renames)
        return own_names

    def comprehension(self, node, base=None):
        """Emit the loop that builds a list or dict comprehension's value;
        return the atom that holds it."""
        node = clone(node)
        results = [node.key, node.value] if isinstance(node, gast.DictComp) else [node.elt]
        own_names = self.own_variables(node, results)
        name = self.namer.fresh(base or ("entries" if isinstance(node, gast.DictComp) else "items"))
        own_names.add(name)
        if isinstance(node, gast.DictComp):
            key = self.namer.fresh("key")
            own_names.add(key)
            init = gast.Dict(keys=[], values=[])
            innermost = [
                gast.Assign(targets=[store(key)], value=node.key, type_comment=None),
                gast.Assign(targets=[gast.Subscript(value=load(name), slice=load(key), ctx=gast.Store())],
                            value=node.value, type_comment=None),
            ]
        else:
            init = gast.List(elts=[], ctx=gast.Load())
            append = gast.Attribute(value=load(name), attr="append", ctx=gast.Load())
            innermost = [gast.Expr(value=gast.Call(func=append, args=[node.elt], keywords=[]))]
        body = innermost
        for generator in reversed(node.generators):
            for test in reversed(generator.ifs):
                body = [gast.If(test=test, body=body, orelse=[])]
            body = [gast.For(target=generator.target, iter=generator.iter, body=body, orelse=[],
                             type_comment=None)]
        statements = [gast.Assign(targets=[store(name)], value=init, type_comment=None)] + body
        # The names are the comprehension's own: never globals of the same spelling.
        self.resolver.locals.update(own_names)
        lineno = self.lineno
        for stmt in statements:
            _locate(stmt, node)
            self.lineno = stmt.lineno
            self.statement(stmt, last=False)
        self.lineno = lineno
        result = self.read(name)
        # They do not outlive the comprehension (a branch merging them would copy them for nothing).
        for own in own_names:
            self.version.pop(own, None)
        return load(result)

    def comprehension_statement(self, node):
        """A comprehension whose value is dropped (``[print(v) for v in xs]``,
        ``[out.append(v) for v in xs]``): the loop alone, each result run as
        a statement. (A generator expression written alone never runs.)"""
        node = clone(node)
        results = [node.key, node.value] if isinstance(node, gast.DictComp) else [node.elt]
        body = [gast.Expr(value=result) for result in results]
        own_names = self.own_variables(node, results)
        for generator in reversed(node.generators):
            for test in reversed(generator.ifs):
                body = [gast.If(test=test, body=body, orelse=[])]
            body = [gast.For(target=generator.target, iter=generator.iter, body=body, orelse=[],
                             type_comment=None)]
        self.resolver.locals.update(own_names)
        loop = _locate(body[0], node)
        lineno = self.lineno
        self.lineno = loop.lineno
        self.statement(loop, last=False)
        self.lineno = lineno
        for own in own_names:
            self.version.pop(own, None)

    def lowered_expression(self, node, target, user_name):
        """The atom of a comprehension, an and/or, or a call lowered here
        (sorted, max/min with key=), its value in ``target`` or bound to
        ``user_name`` if given; None for other expressions."""
        if isinstance(node, gast.BoolOp) and not self.plainly_boolean(node):
            return self.expression(self.boolean_as_conditional(node), target, user_name)
        if isinstance(node, LOWERED_COMPREHENSIONS):
            result = self.comprehension(node, base=user_name)
        elif isinstance(node, gast.Call):
            result = self.lowered_call(node, base=user_name)
            if result is None:
                return None
            if not isinstance(result, gast.Name):  # the item max or min chose: x[position], or its default
                return self.expression(result, target, user_name)
        else:
            return None
        if target is not None:
            self.ops.append(self.copy_op(target, result.id))
            return load(target)
        if user_name is not None:
            # The list (dict) the loop built is the user's value: no copy.
            self.version[user_name] = result.id
            self.defined.add(result.id)
        return result

    def plainly_boolean(self, node):
        local = {name for name, version in self.version.items()
                 if version in self.local_functions or version in self.nested_partials or
                 version in self.ambiguous_functions}
        return _plainly_boolean(node, local)

    def boolean_as_conditional(self, node):
        """``a and b`` as ``b if a else a``; ``a or b`` as ``a if a else b``."""
        first = self.atom(node.values[0])
        rest = node.values[1:]
        rest = rest[0] if len(rest) == 1 else gast.copy_location(gast.BoolOp(op=node.op, values=rest), node)
        if isinstance(node.op, gast.And):
            conditional = gast.IfExp(test=first, body=rest, orelse=clone(first))
        else:
            conditional = gast.IfExp(test=first, body=clone(first), orelse=rest)
        return gast.copy_location(conditional, node)

    # ------------------------------------------------------------ calls

    def consumed_iterables(self, node, callee):
        """A call of a builtin that reads every item of its first argument at
        once, with a generator (or zip, enumerate, ...) there made a list."""
        if not node.args or callee not in EAGER_CONSUMERS:
            return node
        if callee in (builtins.max, builtins.min) and len(node.args) > 1:
            return node
        first = node.args[0]
        made = None
        if callee is builtins.dict:
            if isinstance(first, gast.GeneratorExp) and isinstance(first.elt, gast.Tuple) and len(first.elt.elts) == 2:
                made = gast.DictComp(key=first.elt.elts[0], value=first.elt.elts[1], generators=first.generators)
            elif self.makes_iterator(first):
                made = _comprehension_of(first, node, pairs=True)
        elif isinstance(first, gast.GeneratorExp):
            made = gast.ListComp(elt=first.elt, generators=first.generators)
        elif self.is_zip_of_rows(first):  # list(zip(*rows)): see normalize_numpy_forms
            made = self.zip_columns(first)
        elif self.makes_iterator(first):
            made = _comprehension_of(first, node)
        if made is None:
            return node
        made = _locate(gast.copy_location(made, first), first)
        return gast.copy_location(gast.Call(func=node.func, args=[made] + node.args[1:], keywords=node.keywords),
                                  node)

    def makes_iterator(self, node):
        """zip(...), enumerate(...), reversed(...) (not of a range), d.items(), d.values()."""
        if not isinstance(node, gast.Call):
            return False
        if (isinstance(node.func, gast.Attribute) and node.func.attr in MAPPING_VIEWS and not node.args
                and not node.keywords and self.resolver.value_of(node.func.value) is UNRESOLVED):
            return True
        callee = self.resolver.value_of(node.func)
        if callee in (zip, enumerate):
            return True
        return callee is reversed and len(node.args) == 1 and not self.is_range(node.args[0])

    def is_range(self, node):
        return isinstance(node, gast.Call) and self.resolver.value_of(node.func) is range

    def lowered_call(self, node, base=None):
        """``sorted(...)`` and ``max``/``min`` with ``key=``: the order from
        comparisons without derivative, the items then taken in that order."""
        if not isinstance(node, gast.Call) or any(isinstance(a, gast.Starred) for a in node.args):
            return None
        callee = self.resolver.value_of(node.func)
        keywords = {k.arg: k.value for k in node.keywords}
        if callee is builtins.sorted and len(node.args) == 1 and set(keywords) <= {"key", "reverse"}:
            source = node.args[0]
            if (isinstance(source, gast.Call) and isinstance(source.func, gast.Attribute)
                    and source.func.attr == "keys" and not source.args) or self.is_range(source):
                return None  # keys and numbers: no derivative to follow
            items = self.listed(node, source)
            key = self.key_function(node, keywords.get("key"))
            reverse = self.atom(keywords["reverse"]) if "reverse" in keywords else constant(False)
            order = self.emit(gast.Call(func=self.rt_attribute("sort_order"), args=[items, key, reverse],
                                        keywords=[]), rt.sort_order, [items, reverse], construct="sort order")
            position = self.namer.fresh("position")
            generator = gast.comprehension(target=store(position), iter=order, ifs=[], is_async=0)
            taken = gast.ListComp(elt=gast.Subscript(value=items, slice=load(position), ctx=gast.Load()),
                                  generators=[generator])
            return self.comprehension(_locate(gast.copy_location(taken, node), node), base=base)
        if (callee in (builtins.max, builtins.min) and "default" in keywords and len(node.args) == 1
                and set(keywords) <= {"key", "default"}):
            # max(items, default=d): d for no items, else max(items) (d evaluated first, as an argument)
            items = self.listed(node, node.args[0])
            default = self.atom(keywords["default"])
            chosen = gast.Call(func=node.func, args=[items],
                               keywords=[k for k in node.keywords if k.arg == "key"])
            return _locate(gast.copy_location(gast.IfExp(test=clone(items), body=chosen, orelse=default), node), node)
        if (callee in (builtins.max, builtins.min) and "key" in keywords and set(keywords) == {"key"}
                and node.args):
            if len(node.args) == 1:
                items = self.listed(node, node.args[0])
            else:
                items = self.atom(gast.copy_location(gast.Tuple(elts=list(node.args), ctx=gast.Load()), node))
            key = self.key_function(node, keywords["key"])
            position = self.emit(gast.Call(func=self.rt_attribute("extremum_position"),
                                           args=[items, key, constant(callee is builtins.max)], keywords=[]),
                                 rt.extremum_position, [items], construct=f"{callee.__name__} position")
            return gast.copy_location(gast.Subscript(value=items, slice=position, ctx=gast.Load()), node)
        return None

    def rt_attribute(self, helper):
        return gast.Attribute(value=load(self.rt_name), attr=helper, ctx=gast.Load())

    def listed(self, node, source):
        """The items of ``source`` as a list of the function's own (list(...));
        of a dict made here, its keys (which carry no derivative)."""
        if isinstance(source, gast.Name) and self.read(source.id) in self.mapping_versions:
            mapping = self.atom(source)
            return self.emit(gast.Call(func=self.rt_attribute("mapping_keys"), args=[mapping], keywords=[]),
                             rt.mapping_keys, [mapping], construct="keys of a dict")
        call = gast.copy_location(gast.Call(func=load("list"), args=[source], keywords=[]), node)
        if self.resolver.value_of(call.func) is not builtins.list:
            raise self.unsupported(node, "sorted, max or min with key=",
                                   "the function re-binds the name list, which adjoint uses to collect the items.",
                                   "Rename that variable.")
        return self.atom(call)

    def key_function(self, node, key):
        """The ``key=`` of sorted, max or min, kept as written: it computes
        an order, which has no derivative."""
        if key is None:
            return constant(None)
        for child in walk_tree(key):
            if isinstance(child, gast.Name) and isinstance(child.ctx, gast.Load) and (
                    self.read(child.id) in self.local_functions or self.read(child.id) in self.nested_partials):
                raise self.unsupported(node, f"key={child.id} of a nested function",
                                       "nested functions are inlined where they are called, so there "
                                       "is no function object to hand to sorted, max or min.",
                                       "Write the key as a lambda, or define the function at module level.")
        if isinstance(key, (gast.Lambda, gast.Name, gast.Attribute)) or self.resolver.value_of(key) is not UNRESOLVED:
            return self.rename_opaque(key)
        return self.atom(key)

    # ------------------------------------------------------------ loops

    def spread(self, args):
        """The arguments of a call with ``*literal`` spread into its items;
        None where a ``*seq`` has a length not known here."""
        spread = []
        for arg in args:
            if isinstance(arg, gast.Starred):
                if not self.known_starred(arg.value):
                    return None
                spread.extend(self.starred_items(arg))
            else:
                spread.append(arg)
        return spread

    def iteration(self, stmt):
        """How ``for`` runs over ``stmt.iter``: (the iterable the loop runs
        over, (the loop variable, a function binding the user's target in
        the body)), or None to run the iterable as written (its items then
        carry no derivative)."""
        iterable = stmt.iter
        if isinstance(iterable, (gast.ListComp, gast.GeneratorExp)):
            listed = gast.ListComp(elt=iterable.elt, generators=iterable.generators)
            return self.indexed_iteration(stmt, [self.comprehension(gast.copy_location(listed, iterable))])
        if isinstance(iterable, gast.DictComp):
            return self.keys_iteration(stmt, self.comprehension(iterable), "keys")
        if isinstance(iterable, (gast.Name, gast.Attribute, gast.Subscript, gast.List, gast.Tuple)):
            if isinstance(iterable, gast.Attribute) and self.resolver.value_of(iterable) is not UNRESOLVED:
                return None  # a module's value: nothing to differentiate
            sequence = self.atom(iterable)
            if isinstance(iterable, gast.Name) and (
                    self.read(iterable.id) in self.mapping_versions
                    or (self.read(iterable.id) not in self.list_versions
                        and _subscripted_by(stmt.body, iterable.id, stmt.target))):
                # for k in d: ... d[k] ...: the keys of a dict, which carry no derivative
                return self.keys_iteration(stmt, sequence, "keys", helper="loop_keys", receiver=iterable.id)
            return self.indexed_iteration(stmt, [sequence])
        if not isinstance(iterable, gast.Call):
            return None
        func = iterable.func
        callee = self.resolver.value_of(func)
        if (isinstance(func, gast.Attribute) and func.attr in MAPPING_VIEWS + ("keys",) and not iterable.args
                and not iterable.keywords and self.resolver.value_of(func.value) is UNRESOLVED):
            # (for k in d.keys(): the keys, as for k in d)
            receiver = func.value.id if isinstance(func.value, gast.Name) else None
            return self.keys_iteration(stmt, self.atom(func.value), func.attr, receiver=receiver)
        if iterable.keywords and callee is not enumerate:
            return None
        if callee is zip:
            sequences = self.spread(iterable.args)
            if sequences is None and self.is_zip_of_rows(iterable):  # for w, b in zip(*rows): its columns
                return self.indexed_iteration(stmt, [self.atom(self.zip_columns(iterable))])
            if sequences is None:
                return None  # zip(*seq) of a length not known here: run as written
            return self.indexed_iteration(stmt, [self.iterated(a) for a in sequences], kind="zip")
        if callee is enumerate:
            inner = iterable.args[0]
            zipped = (isinstance(inner, gast.Call) and not inner.keywords
                      and self.resolver.value_of(inner.func) is zip)
            spread = self.spread(inner.args) if zipped else [inner]
            if spread is None:
                return None
            sequences = [self.iterated(a) for a in spread]
            start = self.atom(iterable.args[1]) if len(iterable.args) > 1 else None
            for keyword in iterable.keywords:
                if keyword.arg == "start":
                    start = self.atom(keyword.value)
            return self.indexed_iteration(stmt, sequences, kind="enumerate", start=start, zipped=zipped)
        if (callee is reversed and len(iterable.args) == 1 and isinstance(iterable.args[0], gast.Name)
                and self.read(iterable.args[0].id) in self.mapping_versions):
            # reversed(d): the keys of a dict made here, from the last
            return self.keys_iteration(stmt, self.atom(iterable.args[0]), "keys", helper="loop_keys",
                                       receiver=iterable.args[0].id, backwards=True)
        if callee is reversed and len(iterable.args) == 1 and not self.is_range(iterable.args[0]):
            return self.indexed_iteration(stmt, [self.iterated(iterable.args[0])], backwards=True)
        if callee in (builtins.list, builtins.tuple, builtins.sorted) or (
                callee is not UNRESOLVED and is_library(callee)
                and getattr(callee, "__module__", "").startswith("numpy")) or (
                isinstance(func, gast.Attribute) and (func.attr in ARRAY_METHODS or func.attr == "tolist")
                and self.resolver.value_of(func.value) is UNRESOLVED):
            return self.indexed_iteration(stmt, [self.atom(iterable)])
        return None

    def iterated(self, node):
        """An iterable zip or enumerate reads: a generator, a comprehension
        or another iterator made a list first."""
        if isinstance(node, gast.GeneratorExp):
            node = gast.copy_location(gast.ListComp(elt=node.elt, generators=node.generators), node)
        elif self.makes_iterator(node):
            node = _comprehension_of(node, node)
        return self.atom(node)

    def keys_iteration(self, stmt, mapping, kind, helper="mapping_keys", receiver=None, backwards=False):
        """``for k in d`` / ``for k, v in d.items()`` / ``for v in d.values()``
        as a loop over the keys (no derivative) reading ``d[k]``. The items
        are read from the dict as it is when they are reached (a value the
        body wrote is seen, as Python's views see it), unless the body binds
        the name to another value (the views keep the first)."""
        if receiver is not None and _rebinds(stmt.body, receiver):
            receiver = None
        # d[k] = v in the body: Python stops a loop over the dict that gained or lost keys.
        checked = receiver is not None and receiver in assigned_names(stmt.body)
        if receiver is None and isinstance(mapping, gast.Name) and mapping.id in self.version.values():
            snapshot = self.namer.fresh(f"{mapping.id}_items")
            self.ops.append(self.copy_op(snapshot, mapping, construct="copy"))
            mapping = load(snapshot)
        keys = self.emit(gast.Call(func=self.rt_attribute(helper), args=[mapping], keywords=[]),
                         getattr(rt, helper), [mapping], construct="keys of a dict")
        key = self.namer.fresh("key")
        self.defined.add(key)

        def check():
            call = gast.Call(func=self.rt_attribute("check_keys_unchanged"),
                             args=[self.atom(load(receiver)), clone(visited)], keywords=[])
            self.ops.append(Op("expr", [], call, NONDIFF, lineno=self.lineno, construct="dict iteration check"))

        def bind():
            if checked:
                check()
            source = load(receiver) if receiver is not None else clone(mapping)
            value = gast.Subscript(value=source, slice=load(key), ctx=gast.Load())
            if kind == "keys":
                value = load(key)
            elif kind == "items":
                value = gast.Tuple(elts=[load(key), value], ctx=gast.Load())
            self.assign(stmt.target, _locate(value, stmt))

        visited = keys
        if backwards:
            keys = gast.Call(func=load("reversed"), args=[keys], keywords=[])
        # After the last iteration too, unless a break (or return) may end the loop.
        jumps = any(isinstance(n, (gast.Break, gast.Return)) for s in stmt.body for n in walk_tree(s))
        return keys, (key, bind, check if checked and not jumps else None)

    def track_mapping(self, target, prim, args, construct=""):
        """Remember which versions hold a dict made here (``for k in d``
        then visits its keys)."""
        source = args[0].id if args and isinstance(args[0], gast.Name) else None
        if prim in (rt.make_dict, builtins.dict) or (
                source in self.mapping_versions and (prim in (rt.replace_item, rt.identity, rt.copy)
                                                     or construct in ("phi", "copy"))):
            self.mapping_versions.add(target)

