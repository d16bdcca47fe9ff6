"""Objects held by other objects: ``self.layer.h = v``, ``self.layer(x)``,
``net.layer.W @ x`` on a followed object (normalize_objects) whose
attribute holds another followed object (``self.layer = Layer(W)`` in its
``__init__``).

The object an attribute holds is followed under that attribute: which
objects (tokens) a version's attribute may hold is known from the stores
made so far (``attribute_holds``). A change through a chain is written as
Python runs it, with the holder read into a name of its own and written
back after the change:

    self.layer.h = v    ->    t = self.layer; t.h = v; self.layer = t

At run time the write back sets the attribute to the object it already
holds (nothing changes); in the derivative it carries the new version of
the held object into the holder's, so a later ``self.layer.h`` read gets
its derivative. Deeper chains (``a.b.c.h = v``) write back link by link.

What stays exact is checked with the other objects (``check_objects``): a
held object that another name holds too (``l = Layer(W); self.layer = l``
and ``l`` used after, or ``l = self.layer`` kept under a name of the user's)
counts as passed on, so a change after it is refused at the user's line.
"""
import gast

from .. import runtime as rt
from .classes import computed_by_class, method_of, methods_called_on, mutates_self
from .gastutil import clone, load, walk as walk_tree
from .ir import NONDIFF


class Held:
    """Methods of ``normalize.Normalizer`` (through ``normalize_objects.Objects``)."""

    def init_held(self):
        self.attribute_holds = {}  # (token, attribute name) -> tokens of the objects it may hold
        self.attribute_mixed = set()  # (token, attribute name) also given a value that is not followed
        self.chain_names = set()  # names of the holders read for a change through a chain (t above)
        self.list_contents = {}  # token of a list -> tokens of the objects it may hold
        # (tokens of the holder, attribute name, op, tokens read) of the reads that gave a followed object
        self.held_reads = []
        self.open_blocks = []  # the statement lists being normalized, outermost first (normalize.block)
        self.unread_tuples = set()  # the tuple of *args whose items are read by name instead (normalize_star)
        self.loop_bindings = set()  # versions of a loop's name bound after a loop over objects (check_objects)

    def tokens_of(self, atom):
        return self.object_tokens.get(atom.id, frozenset()) if isinstance(atom, gast.Name) else frozenset()

    def is_list_token(self, token):
        return self.object_classes.get(token) is list

    def track_lists(self, op):
        """Lists that hold followed objects (``[Layer(W), Layer(V)]``), and
        lists stored in an attribute of one (``self.hs = []``), are followed
        like objects (a token of class list): an append or an item put back
        is a change of them, reading an item a read."""
        target = op.targets[0]
        if op.prim is rt.make_list:
            held = frozenset().union(*(self.tokens_of(a) for a in op.args))
            if held:
                self.new_token(target, list)
                self.list_contents[target] = held
        elif op.prim in (rt.append, rt.replace_item):
            item = op.args[1] if op.prim is rt.append else op.args[2]
            if (self.tokens_of(item) and not self.tokens_of(op.args[0]) and isinstance(op.args[0], gast.Name)
                    and op.args[0].id in self.list_versions):
                # [Layer(W) for W in Ws], layers.append(Layer(W)): a list made here that holds objects
                self.new_token(target, list)
                self.list_contents[target] = self.tokens_of(item)
                return
            for token in self.tokens_of(op.args[0]):
                if self.is_list_token(token):
                    self.list_contents[token] = self.list_contents.get(token, frozenset()) | self.tokens_of(item)
        elif op.prim is rt.getitem and isinstance(op.args[1], (gast.Constant, gast.Name)):
            lists = [t for t in self.tokens_of(op.args[0]) if self.is_list_token(t)]
            found = frozenset().union(*(self.list_contents.get(t, frozenset()) for t in lists))
            if found:
                self.object_tokens[target] = self.object_tokens.get(target, frozenset()) | found
        elif (op.prim in (rt.store_attribute, rt.init_attribute) and isinstance(op.args[2], gast.Name)
              and not self.tokens_of(op.args[2]) and op.args[2].id in self.list_versions
              and op.args[2].id not in self.user_versions
              and self.tokens_of(op.args[0])):
            self.new_token(op.args[2].id, list)  # self.hs = []: a list only the object holds

    def track_held(self, op):
        """Which objects an attribute holds, from the stores; a read of it
        holds them too."""
        if not op.targets or not op.args:
            return
        self.track_lists(op)
        if not isinstance(op.args[0], gast.Name):
            return
        holders = self.object_tokens.get(op.args[0].id)
        if not holders:
            return
        if op.prim in (rt.store_attribute, rt.init_attribute) and len(op.args) == 3:
            name, value = op.args[1].value, op.args[2]
            held = self.object_tokens.get(value.id) if isinstance(value, gast.Name) else None
            for token in holders:
                if held:
                    self.attribute_holds[(token, name)] = self.attribute_holds.get((token, name), frozenset()) | held
                else:
                    self.attribute_mixed.add((token, name))
        elif op.prim is rt.attribute and isinstance(op.args[1], gast.Constant):
            found = self.attribute_tokens(holders, op.args[1].value)
            if found:
                self.object_tokens[op.targets[0]] = self.object_tokens.get(op.targets[0], frozenset()) | found
                self.held_reads.append((holders, op.args[1].value, op, found))
                if any(self.is_list_token(t) for t in found):
                    # a list that may grow later: its items are read counted from the front (xs[-1])
                    self.list_versions.add(op.targets[0])
                    self.container_versions.add(op.targets[0])

    def attribute_tokens(self, holders, name):
        if any((token, name) in self.attribute_mixed for token in holders):
            return frozenset()
        return frozenset().union(*(self.attribute_holds.get((token, name), frozenset()) for token in holders))

    def held_tokens(self, node):
        """The followed objects ``node`` (a name, or an attribute chain on a
        followed object) may hold, found without emitting anything."""
        if isinstance(node, gast.Name):
            version = self.version.get(node.id)
            return self.object_tokens.get(version, frozenset()) if version is not None else frozenset()
        if isinstance(node, gast.Attribute):
            holders = self.held_tokens(node.value)
            return self.attribute_tokens(holders, node.attr) if holders else frozenset()
        index = node.slice if isinstance(node, gast.Subscript) else None
        if isinstance(index, gast.UnaryOp) and isinstance(index.op, gast.USub):
            index = index.operand  # (self.layers[-1]: any item of the list, as for a name or a constant)
        if isinstance(node, gast.Subscript) and isinstance(index, (gast.Constant, gast.Name)):
            lists = [t for t in self.held_tokens(node.value) if self.is_list_token(t)]
            return frozenset().union(*(self.list_contents.get(t, frozenset()) for t in lists))
        return frozenset()

    def held_chain(self, node):
        """``node`` an attribute chain (``self.layer``, ``a.b.c``) whose value
        is a followed object held by a followed object."""
        return (self.follow_objects and isinstance(node, (gast.Attribute, gast.Subscript))
                and isinstance(node.ctx, gast.Load) and bool(self.held_tokens(node)))

    def read_holder(self, node):
        """``t = <node>`` under a name of its own (as messages name it:
        ``self.layer``); returns the name."""
        described = describe(node, self.user_names)
        name = self.namer.fresh(described.replace(".", "_"))
        self.user_names[name] = described
        self.chain_names.add(name)
        self.assign(gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None), clone(node))
        version = self.read(name)
        if any(self.is_list_token(t) for t in self.object_tokens.get(version, ())):
            # a list only the holder holds (checked with the objects): appended to, or an item put back, here
            self.owners[version] = "owned"
            self.list_versions.add(version)
            self.container_versions.add(version)
        return name

    def write_back(self, node, name):
        """``<node> = t``: the holder's new version carried up the chain."""
        if isinstance(node, gast.Subscript) and not isinstance(node.value, gast.Name):
            items = self.read_holder(node.value)  # self.cells[0] = t: cells = self.cells; cells[0] = t; ...
            self.write_back(gast.Subscript(value=gast.Name(id=items, ctx=gast.Load(), annotation=None,
                                                           type_comment=None), slice=clone(node.slice),
                                           ctx=gast.Load()), name)
            self.write_back(node.value, items)
            return
        target = clone(node)
        for child in walk_tree(target):
            if hasattr(child, "ctx"):
                child.ctx = gast.Load()
        target.ctx = gast.Store()
        self.assign(target, gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None))

    def held_attribute(self, node):
        """``held[0].energy`` or ``self.layer.energy``, a property of a held
        object: the object read under a name of its own, the getter read in
        place as on any followed object. None for a stored attribute."""

        classes = {self.object_classes[t] for t in self.held_tokens(node.value)}
        if not any(computed_by_class(cls, node.attr) for cls in classes):
            return None
        name = self.read_holder(node.value)
        before = self.read(name)
        found = self.attribute(gast.copy_location(gast.Attribute(
            value=gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None), attr=node.attr,
            ctx=gast.Load()), node))
        if self.read(name) != before:
            self.write_back(node.value, name)
        return found

    def store_through_holder(self, target, value, helper):
        """``a.b.h = v`` with ``a.b`` a held object: True if done here."""
        if not self.held_chain(target.value):
            return False
        stored = self.atom(value)  # (Python computes the value before it reads the holder)
        name = self.read_holder(target.value)
        self.store_object_attribute(gast.Attribute(value=gast.Name(id=name, ctx=gast.Load(), annotation=None,
                                                                   type_comment=None),
                                                   attr=target.attr, ctx=gast.Store()), stored, helper)
        self.write_back(target.value, name)
        return True

    def call_through_holder(self, node, receiver_node):
        """``a.b.step(x)`` or ``a.b(x)``: the held object read under a name of
        its own, the call made on it, written back if the call changed it."""
        name = self.read_holder(receiver_node)
        before = self.read(name)
        func = gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)
        if isinstance(node.func, gast.Attribute) and node.func.value is receiver_node:
            func = gast.Attribute(value=func, attr=node.func.attr, ctx=gast.Load())
        call = gast.copy_location(gast.Call(func=func, args=node.args, keywords=node.keywords), node)
        found = self.object_call(call)
        if found is None:  # (a callable attribute of the held object: a plain call of it)
            found = self.call(call)
        if self.read(name) != before:
            self.write_back(receiver_node, name)
        return found


    def changer_call(self, node):
        """``step(state, x)``: a function of this module that sets attributes
        of a followed object passed to it (``state.h = ...``) is inlined, as
        a method is, and the caller's name gets the version it leaves. None
        for other calls."""
        from .resolve import UNRESOLVED

        callee = self.resolver.value_of(node.func)
        made = self.class_method_call(node, callee)  # Gauss.standard(mu) making cls(...): normalize_class_methods
        if made is not None:
            return made
        if callee is UNRESOLVED or not callable(callee) or isinstance(callee, type):
            return None
        passed = [(i, a) for i, a in enumerate(node.args)] + [(k.arg, k.value) for k in node.keywords]
        objects = [(key, a) for key, a in passed if isinstance(a, gast.Name) and a.id in self.version
                   and self.object_class(self.read(a.id)) is not None or self.held_chain(a)]
        made = {id(a): cls for _, a in passed if (cls := self.made_object_class(a)) is not None}
        objects += [(key, a) for key, a in passed if id(a) in made]  # loss(Model(W), x): made in the call
        function = self.same_module_function(callee)
        if function is None or not objects and not self.returns_made_object(function):
            return None
        params = [a.id for a in function.args.posonlyargs + function.args.args]

        def parameter(key):
            if isinstance(key, int):
                return params[key] if key < len(params) else None
            return key if key in params else None

        def class_of(a):
            if id(a) in made:
                return made[id(a)]
            return (self.object_class(self.read(a.id)) if isinstance(a, gast.Name)
                    else self.object_classes[next(iter(self.held_tokens(a)))])

        changed = [(key, a) for key, a in objects if parameter(key) is not None and changes_parameter(
            function, parameter(key), class_of(a), self.resolver.value_of)]
        if not changed and not any(f.name == function.name for f in self.inline_stack):
            # ``loss(model, x)`` calling ``model(x)`` or ``model.predict(x)`` on an object made
            # here: read in place too (its own transform would not know the object's class)
            changed = [(key, a) for key, a in objects if parameter(key) is not None
                       and calls_own_methods(function, parameter(key), class_of(a))]
        if not changed and (not self.returns_made_object(function)
                            or any(f.name == function.name for f in self.inline_stack)):
            return None  # (a function returning an object it makes, make(w), is read in place too)
        # Held objects (step(self.layer, x)) are read under a name of their own, written back after.
        holders = {}
        args, keywords = list(node.args), list(node.keywords)
        for key, a in changed:
            if isinstance(a, gast.Name):
                continue
            if id(a) in made:  # the object made first, under a name of its own
                loaded = self.atom(a)
                if isinstance(key, int):
                    args[key] = loaded
                else:
                    keywords = [gast.keyword(arg=k.arg, value=loaded) if k.arg == key else k for k in keywords]
                continue
            name = self.read_holder(a)
            holders[name] = a
            loaded = gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)
            if isinstance(key, int):
                args[key] = loaded
            else:
                keywords = [gast.keyword(arg=k.arg, value=loaded) if k.arg == key else k for k in keywords]
        call = gast.copy_location(gast.Call(func=node.func, args=args, keywords=keywords), node)
        result = self.inline(self.with_evaluated_defaults(function), call)
        finals = {user: (param, last) for user, param, last in self.inline_final_params}
        for key, _ in changed:
            a = args[key] if isinstance(key, int) else next(k.value for k in keywords if k.arg == key)
            param, last = finals[parameter(key)]
            self.receiver_bindings.add(param)
            if last is not None and last != self.read(a.id):
                # the function left the object in a new version: the caller's name holds it from here on
                self.object_handoffs.add(last)
                self.emit(load(last), rt.identity, [load(last)], target=self.bind(a.id), construct="copy")
            if a.id in holders:
                self.write_back(holders[a.id], a.id)
        return result, rt.identity, [result], {}, f"call of {getattr(callee, '__name__', 'a function')}", None


    def returns_made_object(self, function):
        """Whether ``function`` (a function of the module) returns an object
        of the user's class it makes: ``return Net(...)``, or ``net = Net(...)``
        then ``return net``; the caller then follows that object."""
        body = [n for stmt in function.body for n in walk_tree(stmt)]
        if any(isinstance(n, (gast.FunctionDef, gast.Lambda, gast.ClassDef)) for n in body):
            return False
        made = {t.id for n in body if isinstance(n, gast.Assign) and self.made_object_class(n.value) is not None
                for t in n.targets if isinstance(t, gast.Name)}
        return any(isinstance(n, gast.Return) and n.value is not None and (
            self.made_object_class(n.value) is not None or isinstance(n.value, gast.Name) and n.value.id in made)
            for n in body)

    def made_object_class(self, node):
        """The class of the object ``node`` makes (``Model(W)``, a class of the
        user's whose objects are followed), else None."""
        from .normalize_objects import user_class
        from .resolve import UNRESOLVED

        if not (self.follow_objects and isinstance(node, gast.Call)):
            return None
        cls = self.resolver.value_of(node.func)
        return cls if cls is not UNRESOLVED and user_class(cls) else None

    def loop_over_held_objects(self, stmt):
        """``for layer in self.layers: h = layer(h)`` over a followed list of
        followed objects: a loop over the positions, each use of ``layer``
        read as ``self.layers[i]`` (so a change of the item is written back
        at once, link by link). None when the loop is another one, or the
        body binds the name, jumps (break, continue), or uses the list or the
        object holding it otherwise (Python would see such changes)."""
        if not (self.follow_objects and isinstance(stmt.target, gast.Name) and not stmt.orelse):
            return None
        iterable, sliced = stmt.iter, None
        if isinstance(iterable, gast.Subscript) and isinstance(iterable.slice, gast.Slice):
            # for layer in self.layers[:-1]: over positions range(len(self.layers))[:-1]
            if self.loop_name_after(stmt, iterable):
                return None  # (the name read after the loop: left to the general loop)
            iterable, sliced = iterable.value, iterable.slice
        if not isinstance(iterable, (gast.Name, gast.Attribute, gast.Subscript)):
            return None
        lists = [t for t in self.held_tokens(iterable) if self.is_list_token(t)]
        if not lists or not any(self.list_contents.get(t) for t in lists):
            return None
        root = iterable
        while isinstance(root, (gast.Attribute, gast.Subscript)):
            root = root.value
        if not isinstance(root, gast.Name):
            return None
        name, shown = stmt.target.id, gast.dump(iterable)
        for node in (n for s in stmt.body for n in walk_tree(s)):
            if isinstance(node, (gast.Break, gast.Continue, gast.Return, gast.Yield, gast.ClassDef)):
                return None
            if isinstance(node, gast.Name) and node.id == name and not isinstance(node.ctx, gast.Load):
                return None  # the name re-bound in the body
            if isinstance(node, (gast.FunctionDef, gast.Lambda)) and name in {
                    a.id for a in node.args.args + node.args.posonlyargs + node.args.kwonlyargs}:
                return None
            if isinstance(node, gast.Name) and node.id == root.id and (
                    isinstance(iterable, gast.Name) or not isinstance(node.ctx, gast.Load)):
                return None  # the list itself used in the body
            if isinstance(node, (gast.Attribute, gast.Subscript)) and gast.dump(node) == shown:
                return None
            if isinstance(node, gast.Call) and (
                    isinstance(node.func, gast.Attribute) and isinstance(node.func.value, gast.Name)
                    and node.func.value.id == root.id
                    or any(isinstance(a, gast.Name) and a.id == root.id for a in node.args)
                    or isinstance(node.func, gast.Name) and node.func.id == root.id):
                return None  # self.method() in the body may change the list
        position = self.namer.fresh(f"{name}_position")
        item = gast.Subscript(value=clone(iterable), slice=gast.Name(id=position, ctx=gast.Load(), annotation=None,
                                                                    type_comment=None), ctx=gast.Load())
        body = [clone(s) for s in stmt.body]
        for statement in body:
            for parent in walk_tree(statement):
                for field, value in gast.iter_fields(parent):
                    if isinstance(value, gast.Name) and value.id == name:
                        setattr(parent, field, gast.copy_location(clone(item), value))
                    elif isinstance(value, list):
                        value[:] = [gast.copy_location(clone(item), v) if isinstance(v, gast.Name) and v.id == name
                                    else v for v in value]
        count = gast.Call(func=gast.Name(id="len", ctx=gast.Load(), annotation=None, type_comment=None),
                          args=[clone(iterable)], keywords=[])
        positions = gast.Call(func=gast.Name(id="range", ctx=gast.Load(), annotation=None, type_comment=None),
                              args=[count], keywords=[])
        if sliced is not None:
            positions = gast.Subscript(value=positions, slice=clone(sliced), ctx=gast.Load())
        loop = gast.For(target=gast.Name(id=position, ctx=gast.Store(), annotation=None, type_comment=None),
                        iter=positions, body=body, orelse=[], type_comment=None)
        return gast.copy_location(loop, stmt), [] if sliced is not None else self.loop_name_after(stmt, iterable)

    def bind_loop_name(self, statements, name):
        """The statements of ``loop_name_after``, their binding of ``name``
        marked (a holder of the item only where read, see check_objects)."""
        start = len(self.ops)
        for statement in statements:
            self.statement(statement, last=False)

        def mark(ops):
            for op in ops:

                if op.prim is rt.getitem and op.targets and self.user_versions.get(op.targets[0]) == name:
                    self.loop_bindings.add(op.targets[0])
                for part in (op.body, op.orelse):
                    mark(part or ())

        mark(self.ops[start:])

    def loop_name_after(self, stmt, iterable):
        """After ``for layer in self.layers:``, Python leaves ``layer`` bound
        to the last item (unchanged when the list is empty): ``if
        len(self.layers) > 0: layer = self.layers[-1]``, when ``layer`` is read
        outside the loop at all (the binding is another holder of the item,
        so a later change through the list is refused, see check_objects)."""
        name = stmt.target.id
        inside = set()
        for body in self.open_blocks:
            for other in body:
                for node in walk_tree(other):
                    if node is stmt or isinstance(node, gast.For) and isinstance(node.target, gast.Name) and (
                            node.target.id == name):
                        inside.update(id(n) for n in walk_tree(node))  # (a loop binding the name itself)
        if not any(isinstance(node, gast.Name) and node.id == name and isinstance(node.ctx, gast.Load)
                   and id(node) not in inside for body in self.open_blocks for other in body
                   for node in walk_tree(other)):
            return []

        def located(node):
            return gast.copy_location(node, stmt)

        count = located(gast.Call(func=located(gast.Name(id="len", ctx=gast.Load(), annotation=None,
                                                         type_comment=None)),
                                  args=[clone(iterable)], keywords=[]))
        last = located(gast.Subscript(value=clone(iterable), slice=located(gast.Constant(value=-1, kind=None)),
                                      ctx=gast.Load()))
        bind = located(gast.Assign(targets=[located(gast.Name(id=name, ctx=gast.Store(), annotation=None,
                                                              type_comment=None))],
                                   value=last, type_comment=None))
        test = located(gast.Compare(left=count, ops=[gast.Gt()], comparators=[located(gast.Constant(value=0,
                                                                                                   kind=None))]))
        return [located(gast.If(test=test, body=[bind], orelse=[]))]


    def list_change_error(self, op, where):
        """A list held by an object (``self.hs``), changed after it was read
        whole or passed on."""
        return self.unsupported(
            op, f"{op.construct} on a list held by an object (or holding objects), after it was read whole or "
            "passed on",
            f"the list was used as a whole before this change (np.stack(self.hs), a call, another name"
            f"{f', line {where.lineno}' if where is not None else ''}), and the derivative of that use "
            "reads the list again after the forward pass, when it holds the new items too.",
            "Collect every item first and read the list whole after the last change, or read items one "
            "by one (self.hs[-1]).")


    # ------------------------------------------------------------ super()

    def explicit_super(self, node, method):
        """In ``node`` (a method's FunctionDef, being read in place of a call),
        ``super()`` written as ``super(Class, self)`` with the class its
        ``__class__`` cell holds, a constant of the transform. False when
        the method has no first parameter to name."""
        params = node.args.posonlyargs + node.args.args
        if not params:
            return False
        owner = self.namer.fresh(f"{method.__name__}_class")
        self.resolver.constants[owner] = method.__closure__[0].cell_contents
        for child in walk_tree(node):
            if (isinstance(child, gast.Call) and isinstance(child.func, gast.Name) and child.func.id == "super"
                    and not child.args and not child.keywords):
                child.args = [gast.Name(id=owner, ctx=gast.Load(), annotation=None, type_comment=None),
                              gast.Name(id=params[0].id, ctx=gast.Load(), annotation=None, type_comment=None)]
        return True

    def super_method(self, func):
        """``super(Class, obj).name`` on a followed object: the function the
        class after ``Class`` in the object's class's order defines, else
        None."""
        import builtins

        from .resolve import UNRESOLVED

        call = func.value
        if not (isinstance(call, gast.Call) and len(call.args) == 2 and not call.keywords
                and self.resolver.value_of(call.func) is builtins.super
                and isinstance(call.args[1], gast.Name) and call.args[1].id in self.version):
            return None
        cls = self.object_class(self.read(call.args[1].id))
        start = self.resolver.value_of(call.args[0])
        if cls is None or start is UNRESOLVED or not isinstance(start, type) or start not in cls.__mro__:
            return None
        for klass in cls.__mro__[cls.__mro__.index(start) + 1:]:
            if func.attr in vars(klass):
                return method_of(klass, func.attr)
        return None

    def super_call(self, node):
        function = self.method_function(self.super_method(node.func))
        receiver = node.func.value.args[1]
        cls = self.object_class(self.read(receiver.id))
        if function is None:
            raise self.unsupported(
                node, f"super().{node.func.attr}() on an object of class {cls.__name__} holding differentiated values",
                "the method is differentiated by reading its code in place of the call, which needs a Python "
                "function of the user's, without *args or **kwargs.",
                "Call the parent class's method by name (Base.method(self, ...)), or pass the arrays to a "
                "function of the module.")
        return self.inline_method(function, node, receiver, cls)


    def factory_value(self, field):
        """The value of a dataclass field made by its ``default_factory``,
        made here as the generated ``__init__`` makes it: ``[]`` and ``{}``
        as literals (a list an object holds may grow: self.hs.append(h)),
        any other factory called (its value a constant of the transform)."""
        if field.default_factory is list:
            return self.atom(gast.List(elts=[], ctx=gast.Load()))
        if field.default_factory is dict:
            return self.atom(gast.Dict(keys=[], values=[]))
        factory = self.namer.fresh(f"{field.name}_factory")
        self.resolver.constants[factory] = field.default_factory
        call = gast.Call(func=gast.Name(id=factory, ctx=gast.Load(), annotation=None, type_comment=None),
                         args=[], keywords=[])
        return self.emit(call, NONDIFF, [], construct=f"default of field {field.name}")


def describe(node, user_names):
    if isinstance(node, gast.Name):
        return user_names.get(node.id, node.id)
    if isinstance(node, gast.Attribute):
        return f"{describe(node.value, user_names)}.{node.attr}"
    return "value"


def calls_own_methods(function_node, name, cls):
    """Whether ``function_node`` calls a method of its parameter ``name`` (an
    object of the user's class ``cls``): ``name(x)`` or ``name.step(x)``,
    each a method of ``cls`` with Python source."""
    called = methods_called_on(function_node, name)
    return bool(called) and all(getattr(method_of(cls, m), "__code__", None) is not None for m in called)


def changes_parameter(function_node, name, cls, resolve, depth=0):
    """Whether ``function_node`` (a function of the user's module) may set an
    attribute of its parameter ``name`` (an object of class ``cls``):
    ``name.h = v``, ``name.a.h = v``, ``name.h += v``, a method of ``cls``
    that does, or a function of the module it is passed to that does."""
    from .parse import parse_function

    def root(node):
        while isinstance(node, (gast.Attribute, gast.Subscript)):
            node = node.value
        return node.id if isinstance(node, gast.Name) else None

    for child in walk_tree(function_node):
        if isinstance(child, gast.Attribute) and isinstance(child.ctx, gast.Store) and root(child) == name:
            return True
        if not isinstance(child, gast.Call):
            continue
        func = child.func
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and func.value.id == name:
            method = method_of(cls, func.attr)
            if method is not None and mutates_self(cls, method):
                return True
        if isinstance(func, gast.Name) and func.id == name:
            method = method_of(cls, "__call__")
            if method is not None and mutates_self(cls, method):
                return True
        passed = [i for i, a in enumerate(child.args) if isinstance(a, gast.Name) and a.id == name]
        if passed and depth < 4:
            callee = resolve(func)
            try:
                inner = parse_function(callee).node if callable(callee) else None
            except Exception:  # (no source: not one of the user's functions)
                inner = None
            if inner is not None:
                params = [a.id for a in inner.args.posonlyargs + inner.args.args]
                if any(i < len(params) and changes_parameter(inner, params[i], cls, lambda f: UNKNOWN, depth + 1)
                       for i in passed):
                    return True
    return False


def passed_to_a_changer(call, name, cls, value_of):
    """Whether ``call`` (``step(state, x)``) passes the object under ``name``
    (of class ``cls``) to a function of the user's that sets its attributes."""
    from .parse import parse_function

    callee = value_of(call.func)
    if not callable(callee) or isinstance(callee, type) or getattr(callee, "__code__", None) is None:
        return False
    try:
        function = parse_function(callee).node
    except Exception:  # (no source: not one of the user's functions)
        return False
    params = [a.id for a in function.args.posonlyargs + function.args.args]
    passed = [params[i] for i, a in enumerate(call.args) if isinstance(a, gast.Name) and a.id == name
              and i < len(params)]
    passed += [k.arg for k in call.keywords
               if isinstance(k.value, gast.Name) and k.value.id == name and k.arg in params]
    return any(changes_parameter(function, param, cls, lambda f: UNKNOWN) for param in passed)


UNKNOWN = object()
