"""A-normal form of branches and loops: SSA versions that merge after an
``if`` (phi copies at the end of each arm) and loop-carried versions
assigned before a loop and at the end of each iteration; ``for`` over
sequences rewritten to indexing, so items taken from differentiated values
get derivatives."""

import gast

from .. import runtime as rt
from .gastutil import clone, constant, load
from .ir import NONDIFF, Op, assigned_names, is_atom
from .resolve import UNRESOLVED


class ControlFlow:
    """Methods of ``normalize.Normalizer``; see its docstring for the state they share."""

    def region(self, build):
        """Run ``build()`` collecting the ops it emits into a new list; values
        computed inside are not reused outside (they may not exist there)."""
        outer_ops, outer_computed = self.ops, self.computed
        self.ops, self.computed = [], dict(outer_computed)
        try:
            build()
            return self.ops
        finally:
            self.ops, self.computed = outer_ops, outer_computed

    def copy_op(self, target, source, construct="phi"):
        """A copy the normalizer adds (phi, merge): it moves the value, so
        ownership passes on."""
        atom = load(source) if isinstance(source, str) else source
        prim = rt.identity if self.is_local(atom) else NONDIFF
        self.defined.add(target)
        op = Op("assign", [target], atom, prim, [atom], lineno=self.lineno, no_grad=self.no_grad,
                construct=construct)
        self.track_ownership(op)
        return op

    def if_statement(self, stmt):
        test = self.atom(stmt.test)
        lineno = stmt.lineno
        before = dict(self.version)
        body = self.region(lambda: self.block(stmt.body))
        after_body, self.version = self.version, dict(before)
        orelse = self.region(lambda: self.block(stmt.orelse))
        after_else = self.version
        self.lineno = lineno
        self.version = self.merge(before, [(body, after_body), (orelse, after_else)])
        op = Op("if", [], test, NONDIFF, [test], lineno=lineno, construct="if")
        op.body, op.orelse = body, orelse
        self.ops.append(op)

    def merge(self, before, paths):
        """Versions after paths that join: a name bound differently on the
        paths gets a new version, assigned at the end of each path."""
        merged = dict(before)
        names = sorted(set().union(*(versions for _, versions in paths)))
        for name in names:
            versions = [v.get(name) for _, v in paths]
            if all(v == versions[0] for v in versions):
                merged[name] = versions[0]
                continue
            new = self.namer.fresh(name)
            self.user_versions[new] = name
            if any(v in self.local_functions for v in versions):
                # Nested functions are inlined where they are called; one
                # chosen by the path taken has no single body to inline.
                self.ambiguous_functions.add(new)
                self.defined.add(new)
                merged[name] = new
                continue
            for (ops, _), version in zip(paths, versions, strict=True):
                if version is None:  # unbound on this path, as in Python
                    ops.append(Op("assign", [new], constant(None), NONDIFF, [], lineno=self.lineno,
                                  construct="unbound"))
                else:
                    ops.append(self.copy_op(new, version))
            self.defined.add(new)
            merged[name] = new
        return merged

    def conditional_expression(self, node, target):
        test = self.atom(node.test)
        lineno = self.lineno
        body = self.region(lambda: self.assign_to(target, node.body))
        orelse = self.region(lambda: self.assign_to(target, node.orelse))
        op = Op("if", [], test, NONDIFF, [test], lineno=lineno, construct="conditional expression")
        op.body, op.orelse = body, orelse
        self.ops.append(op)
        self.defined.add(target)
        return load(target)

    def assign_to(self, target, node):
        if is_atom(node):
            atom = self.atom(node)
            # A value that a user's name still holds is shared, not moved:
            # b = a if c else ..., or a nested function's parameter.
            live = isinstance(atom, gast.Name) and atom.id in self.version.values()
            self.ops.append(self.copy_op(target, atom, construct="copy" if live else "phi"))
        else:
            self.expression(node, target=target)

    def loop_carried(self, stmt):
        """Phi names for the user's names that the loop body re-binds and
        that exist before the loop: ``h_1 = h`` before the loop."""
        carried = {}
        for name in sorted(assigned_names(stmt.body)):
            if name in self.version:
                phi = self.namer.fresh(name)
                self.user_versions[phi] = name
                if self.version[name] in self.local_functions:
                    self.ambiguous_functions.add(phi)  # re-bound in the loop: which one runs varies
                else:
                    self.ops.append(self.copy_op(phi, self.version[name]))
                self.version[name] = phi
                carried[name] = phi
        return carried

    def latch(self, carried):
        """Copies that carry this iteration's values into the phi names."""
        for name, phi in carried.items():
            if self.version.get(name) in self.local_functions or phi in self.ambiguous_functions:
                self.ambiguous_functions.add(phi)
            elif self.version.get(name) != phi:
                self.ops.append(self.copy_op(phi, self.version[name]))
            self.version[name] = phi
        # Values over the phi names change from here on.
        self.computed = {}

    def for_statement(self, stmt):
        lineno = stmt.lineno
        iterable = stmt.iter
        callee = self.resolver.value_of(iterable.func) if isinstance(iterable, gast.Call) else UNRESOLVED
        prefix = None
        plain_target = None
        if callee is range and isinstance(stmt.target, gast.Name) and not iterable.keywords:
            loop_iter = gast.Call(func=clone(iterable.func), args=[self.atom(a) for a in iterable.args],
                                  keywords=[])
        elif ((callee in (zip, enumerate) and self.items_known(iterable))
              or isinstance(iterable, (gast.Name, gast.Attribute, gast.Subscript, gast.List, gast.Tuple))):
            loop_iter, prefix = self.indexed_iteration(stmt, callee)
        else:
            # Any other iterable (reversed(...), d.items(), an iterator) is run
            # as written; its items carry no derivative (checked by activity).
            loop_iter = self.iterator(iterable)
            plain_target = stmt.target
        carried = self.loop_carried(stmt)
        body_exit = []

        def build_body():
            if plain_target is not None:
                target_node = clone(plain_target)
                for name_node in gast.walk(target_node):
                    if isinstance(name_node, gast.Name):
                        name_node.id = self.bind(name_node.id)
                loop_target.append(target_node)
            elif prefix is None:
                target = self.bind(stmt.target.id)
                loop_target.append(target)
            else:
                loop_target.append(prefix[0])
                prefix[1]()
            self.block(stmt.body)
            body_exit.append(self.split_exit_check())

        loop_target = []
        body = self.region(build_body)
        latch = self.region(lambda: self.latch(carried))
        self.lineno = lineno
        target = loop_target[0]
        if isinstance(target, gast.AST):  # a loop over an iterator: its own target names
            target_names = [n.id for n in gast.walk(target) if isinstance(n, gast.Name)]
            op = Op("for", target_names, loop_iter, NONDIFF, [], lineno=lineno, construct="for loop")
            op.loop_target = target
        else:
            op = Op("for", [target], loop_iter, NONDIFF, [], lineno=lineno, construct="for loop")
        op.body, op.latch, op.exit_check = body, latch, body_exit[0]
        op.carried = list(carried.values())
        self.ops.append(op)

    def split_exit_check(self):
        """Take the trailing ``if broke: break`` (from lower_jumps) off the body."""
        last = self.ops[-1] if self.ops else None
        if (last is not None and last.kind == "if" and len(last.body) == 1
                and last.body[0].kind == "break" and not last.orelse):
            return [self.ops.pop()]
        return []

    def iterator(self, iterable):
        """The iterable of a loop over an iterator: a call of a library
        function stays in the loop's header (``for a in reversed(t1):``), so
        that the generated code, differentiated again, still loops over an
        iterator and does not index a name bound to one."""
        if isinstance(iterable, gast.Call) and self.local_function(iterable.func) is None:
            inner = iterable.args[0] if iterable.args else None
            if (self.resolver.value_of(iterable.func) is enumerate and isinstance(inner, gast.Call)
                    and self.resolver.value_of(inner.func) is zip):
                # enumerate(zip(*seqs)): the zip stays in the header too (its
                # items are the loop's, so this changes no derivative)
                value = self.iterator(inner)
                rest = [self.atom(a) for a in iterable.args[1:]]
                keywords = [gast.keyword(arg=k.arg, value=self.atom(k.value)) for k in iterable.keywords]
                return gast.Call(func=clone(iterable.func), args=[value] + rest, keywords=keywords)
            return self.operation(self.without_partial(iterable))[0]
        return self.atom(iterable)

    def items_known(self, iterable):
        """Whether the sequences a ``zip(...)`` or ``enumerate(...)`` reads are
        known here: ``*seq`` of a length not known (a global, an argument)
        leaves the loop to run over the iterator as written."""
        calls = [iterable]
        if self.resolver.value_of(iterable.func) is enumerate and iterable.args:
            calls.append(iterable.args[0])
        return not any(isinstance(a, gast.Starred) and not self.starred_known(a)
                       for call in calls if isinstance(call, gast.Call) for a in call.args)

    def sequence_args(self, args):
        """The atoms of a call's arguments, ``*literal`` spread into its items."""
        expanded = []
        for arg in args:
            expanded.extend(self.starred_items(arg) if isinstance(arg, gast.Starred) else [arg])
        return [self.atom(a) for a in expanded]

    def indexed_iteration(self, stmt, callee):
        """``for target in seq`` as ``for index in range(n): target = seq[index]``,
        so values taken from a differentiated sequence get derivatives."""
        iterable = stmt.iter
        start = None
        zipped = False
        if callee is zip and not iterable.keywords:
            sequences = self.sequence_args(iterable.args)
        elif callee is enumerate:
            inner = iterable.args[0]
            if (isinstance(inner, gast.Call) and not inner.keywords
                    and self.resolver.value_of(inner.func) is zip):
                sequences = self.sequence_args(inner.args)
                zipped = True
            else:
                sequences = [self.atom(inner)]
            start = self.atom(iterable.args[1]) if len(iterable.args) > 1 else None
            for keyword in iterable.keywords:
                if keyword.arg == "start":
                    start = self.atom(keyword.value)
        else:
            sequences = [self.atom(iterable)]
        # The loop reads the sequences as they were when it started, even if
        # the body re-binds their names.
        snapshots = []
        for sequence in sequences:
            if isinstance(sequence, gast.Name) and sequence.id in self.version:
                snapshot = self.namer.fresh(f"{sequence.id}_items")
                self.ops.append(self.copy_op(snapshot, sequence, construct="copy"))
                sequence = load(snapshot)
            snapshots.append(sequence)
        sequences = snapshots
        if isinstance(start, gast.Name) and start.id in self.version:
            held = self.namer.temp()
            self.ops.append(self.copy_op(held, start, construct="copy"))
            start = load(held)
        length = self.emit(gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="loop_length",
                                                           ctx=gast.Load()),
                                     args=list(sequences), keywords=[]), NONDIFF, sequences,
                           construct="loop length")
        index = self.namer.fresh("index")
        self.defined.add(index)
        loop_iter = gast.Call(func=load("range"), args=[length], keywords=[])

        def bind_items():
            items = []
            for sequence in sequences:
                item = gast.Subscript(value=sequence, slice=load(index), ctx=gast.Load())
                items.append((item, sequence))
            values = [gast.Subscript(value=seq, slice=load(index), ctx=gast.Load()) for seq in sequences]
            if callee is zip:
                value_node = gast.Tuple(elts=values, ctx=gast.Load())
            elif callee is enumerate:
                counter = load(index) if start is None else gast.BinOp(left=load(index), op=gast.Add(),
                                                                        right=start)
                item = gast.Tuple(elts=values, ctx=gast.Load()) if zipped else values[0]
                value_node = gast.Tuple(elts=[counter, item], ctx=gast.Load())
            else:
                value_node = values[0]
            self.assign(stmt.target, value_node)

        return loop_iter, (index, bind_items)

    def while_statement(self, stmt):
        lineno = stmt.lineno
        carried = self.loop_carried(stmt)
        test_name = self.namer.fresh("loop_test")
        self.assign_to(test_name, stmt.test)
        body_exit = []

        def build_body():
            self.block(stmt.body)
            body_exit.append(self.split_exit_check())

        def build_latch():
            self.latch(carried)
            self.lineno = lineno
            self.assign_to(test_name, stmt.test)

        body = self.region(build_body)
        latch = self.region(build_latch)
        self.lineno = lineno
        op = Op("while", [], load(test_name), NONDIFF, [load(test_name)], lineno=lineno,
                construct="while loop")
        op.body, op.latch, op.exit_check = body, latch, body_exit[0]
        op.carried = list(carried.values())
        self.ops.append(op)
