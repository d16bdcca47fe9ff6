"""A-normal form of branches and loops: SSA versions that merge after an
``if`` (phi copies at the end of each arm) and loop-carried versions
assigned before a loop and at the end of each iteration; ``for`` over
sequences rewritten to indexing, so items taken from differentiated values
get derivatives."""

import gast

from .. import runtime as rt
from .gastutil import clone, constant, load, walk as walk_tree
from .ir import NONDIFF, Op, assigned_names, is_atom, walk_ops
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
        self.track_mapping(target, prim, [atom], construct)
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
            if any(v in self.local_functions or v in self.ambiguous_functions for v in versions):
                # Nested functions are inlined where they are called; one
                # chosen by the path taken has no single body to inline
                # (nor has one already chosen by an inner branch).
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

    def context_block(self, stmt):
        """``with cm as v: body`` (a context manager other than no_grad): the
        forward pass runs the body's code inside it (np.errstate, warnings
        filters, timers); the derivative passes through. What ``__enter__``
        returns carries no derivative."""
        lineno = stmt.lineno
        items, targets = [], []
        for item in stmt.items:
            context = self.atom(item.context_expr)
            bound = None
            if item.optional_vars is not None:
                if not isinstance(item.optional_vars, gast.Name):
                    raise self.unsupported(item.optional_vars, "with ... as (a, b)",
                                           "only a name can take what the context manager gives.",
                                           "Bind it to one name and unpack it in the block.")
                name = self.bind(item.optional_vars.id)
                bound = gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)
                targets.append(name)
            items.append(gast.withitem(context_expr=context, optional_vars=bound))
        body = self.region(lambda: self.block(stmt.body))
        self.lineno = lineno
        contexts = [item.context_expr for item in items]
        op = Op("with", targets, gast.Tuple(elts=[clone(c) for c in contexts], ctx=gast.Load()), NONDIFF,
                contexts, lineno=lineno, construct="with statement",
                statement=gast.With(items=items, body=[gast.Pass()], type_comment=None))
        op.body = body
        self.ops.append(op)

    def try_statement(self, stmt):
        """``try``: each statement of the try block is an "if" on whether it
        finished (ir.Guard), and the next statement runs on its finished path,
        so the backward pass follows the path the forward pass took, an
        exception caught included. The guards set one flag per handler, which
        the handlers test once, after the block (the versions there are those
        of the last statement that finished). The else clause runs after the
        last statement; finally after the whole."""
        if not stmt.handlers:  # try/finally: an exception propagates, so the statements run in order
            self.block(stmt.body + stmt.orelse + stmt.finalbody)
            return
        lineno = stmt.lineno
        types = []
        for handler in stmt.handlers:
            if handler.type is None:
                types.append(None)
            elif isinstance(handler.type, gast.Tuple):
                types.append(gast.Tuple(elts=[self.atom(e) for e in handler.type.elts], ctx=gast.Load()))
            else:
                types.append(self.atom(handler.type))
        flags = []
        for _ in stmt.handlers:
            flag = self.namer.fresh("caught")
            self.ops.append(Op("assign", [flag], constant(False), NONDIFF, [], lineno=lineno, construct="try"))
            self.defined.add(flag)
            flags.append(flag)
        # (the name ``except E as e`` binds: one version, set by whichever guard catches)
        bound = [self.namer.fresh(h.name.id) if h.name is not None else None for h in stmt.handlers]
        handlers = list(zip(types, flags, bound, strict=True))
        self.guarded(stmt, list(stmt.body), handlers)
        self.lineno = lineno
        self.caught(stmt, handlers)
        self.lineno = lineno
        self.block(stmt.finalbody)

    def guarded(self, stmt, statements, handlers):
        """The first of ``statements`` (the rest of a try block) as an "if"
        with a guard whose finished path runs the others, then the block's
        else clause; an ``if`` to split (``if c: raise E(...)``, see
        ``splits_in_try``) has its test guarded and each branch followed by
        the rest of the block."""
        from .ir import Guard

        if not statements:
            self.block(stmt.orelse)
            return
        statement = statements[0]
        lineno = statement.lineno
        test = self.namer.fresh("finished")
        self.ops.append(Op("assign", [test], constant(False), NONDIFF, [], lineno=lineno, construct="try"))
        self.defined.add(test)
        before = dict(self.version)
        count = []
        split = splits_in_try(statements)

        def build_body():
            self.lineno = lineno
            if split:  # if c: raise E(...): the test alone is guarded, then the try goes on in each branch
                decided = self.namer.fresh("branch")
                self.assign(gast.Name(id=decided, ctx=gast.Store(), annotation=None, type_comment=None),
                            statement.test)
                count.append(len(self.ops))
                self.lineno = lineno
                self.split_branches(stmt, statement, statements[1:], handlers, decided)
                return
            self.statement(statement, last=False)
            count.append(len(self.ops))
            self.guarded(stmt, statements[1:], handlers)

        body = self.region(build_body)
        after_body, self.version = self.version, dict(before)
        orelse = []  # (an exception: the handlers run after the block, see caught)
        self.lineno = lineno
        self.version = self.merge(before, [(body, after_body), (orelse, dict(before))])
        op = Op("if", [], load(test), NONDIFF, [load(test)], lineno=lineno, construct="try")
        op.body, op.orelse = body, orelse
        compound = any(o.compound for o in body[:count[0]])  # (a split if's test is not)
        op.guard = Guard(count[0], [(clone(t) if t is not None else None, f, b) for t, f, b in handlers],
                         compound, str(self.parsed.location(statement)))
        self.ops.append(op)

    def split_branches(self, stmt, statement, rest, handlers, decided):
        """``if decided:`` over the branches of the split ``statement``, each
        followed by the ``rest`` of the try block."""
        before = dict(self.version)
        first = self.region(lambda: self.guarded(stmt, list(statement.body) + rest, handlers))
        after_first, self.version = self.version, dict(before)
        second = self.region(lambda: self.guarded(stmt, list(statement.orelse) + rest, handlers))
        after_second = self.version
        self.lineno = statement.lineno
        self.version = self.merge(before, [(first, after_first), (second, after_second)])
        choice = Op("if", [], load(decided), NONDIFF, [load(decided)], lineno=statement.lineno, construct="if")
        choice.body, choice.orelse = first, second
        self.ops.append(choice)

    def caught(self, stmt, handlers, index=0):
        """The handlers, after the try block: the one whose flag a guard set
        runs (none when the block finished)."""
        if index == len(stmt.handlers):
            return
        handler = stmt.handlers[index]
        _, flag, name = handlers[index]
        before = dict(self.version)

        def run_handler():
            if name is not None:
                self.version[handler.name.id] = name
                self.user_versions[name] = handler.name.id
                self.defined.add(name)
            self.block(handler.body)

        first = self.region(run_handler)
        after_first, self.version = self.version, dict(before)
        rest = self.region(lambda: self.caught(stmt, handlers, index + 1))
        after_rest = self.version
        self.lineno = handler.lineno
        self.version = self.merge(before, [(first, after_first), (rest, after_rest)])
        choice = Op("if", [], load(flag), NONDIFF, [load(flag)], lineno=handler.lineno, construct="except")
        choice.body, choice.orelse = first, rest
        self.ops.append(choice)

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
        for name in sorted(assigned_names(stmt.body) | self.changed_by_local_calls(stmt.body)):
            if name in self.version:
                phi = self.namer.fresh(name)
                self.user_versions[phi] = name
                if self.version[name] in self.local_functions or self.version[name] in self.ambiguous_functions:
                    self.ambiguous_functions.add(phi)  # re-bound in the loop: which one runs varies
                else:
                    self.ops.append(self.copy_op(phi, self.version[name]))
                self.version[name] = phi
                carried[name] = phi
        # A name first bound in the loop under a branch (or an inner loop)
        # keeps its value from one iteration to the next where that branch
        # does not run: it is carried too, unbound (None) before the loop.
        # So is a name the body reads before it binds it (``if i: w = v`` then
        # ``v = ...``): the value of the iteration before, unbound on the first.
        later = _read_before_bound(stmt.body) & assigned_names(stmt.body)
        for name in sorted((_bound_conditionally(stmt.body) | later) - set(self.version)):
            phi = self.namer.fresh(name)
            self.user_versions[phi] = name
            self.ops.append(Op("assign", [phi], constant(None), NONDIFF, [], lineno=self.lineno,
                               construct="unbound"))
            self.defined.add(phi)
            self.track_unbound_phi(phi)
            self.maybe_unbound[phi] = name
            self.version[name] = phi
            carried[name] = phi
        return carried

    def changed_by_local_calls(self, stmts):
        """Names that nested functions called in ``stmts`` may change in place
        (``y[0] = v``, ``items.append(v)`` on a value of their closure): their
        calls are inlined, so the loop carries those names too. Every nested
        function known here counts, and every one made in ``stmts``."""
        functions = []
        calls_local = False
        for node in (n for stmt in stmts for n in walk_tree(stmt)):
            if isinstance(node, (gast.FunctionDef, gast.Lambda)):
                functions.append(node)
            elif (isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load)
                  and (self.version.get(node.id) in self.local_functions
                       or self.version.get(node.id) in self.local_partials)):
                calls_local = True
        if calls_local:
            functions.extend(self.local_functions.values())
        changed = set()
        for function in functions:
            body = function.body if isinstance(function, gast.FunctionDef) else [function.body]
            for inner in (n for stmt in body for n in walk_tree(stmt)):
                if isinstance(inner, (gast.FunctionDef, gast.Lambda)):
                    changed |= assigned_names(inner.body if isinstance(inner, gast.FunctionDef)
                                              else [inner.body])
            changed |= assigned_names(body)
        return changed

    def latch(self, carried):
        """Copies that carry this iteration's values into the phi names."""
        for name, phi in carried.items():
            if (self.version.get(name) in self.local_functions or self.version.get(name) in self.ambiguous_functions
                    or phi in self.ambiguous_functions):
                self.ambiguous_functions.add(phi)
            elif self.version.get(name) != phi:
                self.ops.append(self.copy_op(phi, self.version[name]))
            self.version[name] = phi
        # Values over the phi names change from here on.
        self.computed = {}

    def for_statement(self, stmt):
        positions = self.loop_over_held_objects(stmt)  # for layer in self.layers: see normalize_held
        if positions is not None:
            loop, after = positions
            self.for_statement(loop)
            self.bind_loop_name(after, stmt.target.id)  # the loop's name bound as Python leaves it
            return
        lineno = stmt.lineno
        iterable = stmt.iter
        callee = self.resolver.value_of(iterable.func) if isinstance(iterable, gast.Call) else UNRESOLVED
        if callee in (map, filter):  # the list they stand for (see map_or_filter), then its items
            stmt = gast.copy_location(gast.For(target=stmt.target, iter=self.atom(iterable), body=stmt.body,
                                               orelse=stmt.orelse, type_comment=None), stmt)
            iterable, callee = stmt.iter, UNRESOLVED
        prefix = None
        plain_target = None
        if callee is range and isinstance(stmt.target, gast.Name) and not iterable.keywords:
            loop_iter = gast.Call(func=clone(iterable.func), args=[self.atom(a) for a in iterable.args],
                                  keywords=[])
        else:
            source = self.iteration(stmt)  # sequences, dicts, zip, enumerate, reversed, comprehensions
            if source is not None:
                loop_iter, prefix = source
            else:
                # Any other iterable (reversed(range(n)), d.keys(), an iterator) is run
                # as written; its items carry no derivative (checked by activity).
                loop_iter = self.iterator(iterable)
                plain_target = stmt.target
        carried = self.loop_carried(stmt)
        before = dict(self.version)
        body_exit = []

        def build_body():
            if plain_target is not None:
                target_node = clone(plain_target)
                for name_node in walk_tree(target_node):
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
        self.bound_before_loop(before)
        target = loop_target[0]
        if isinstance(target, gast.AST):  # a loop over an iterator: its own target names
            target_names = [n.id for n in walk_tree(target) if isinstance(n, gast.Name)]
            op = Op("for", target_names, loop_iter, NONDIFF, [], lineno=lineno, construct="for loop")
            op.loop_target = target
        else:
            op = Op("for", [target], loop_iter, NONDIFF, [], lineno=lineno, construct="for loop")
        op.body, op.latch, op.exit_check = body, latch, body_exit[0]
        op.carried = list(carried.values())
        self.ops.append(op)
        if prefix is not None and len(prefix) > 2 and prefix[2] is not None:
            prefix[2]()  # a check after the loop (a dict changed while it was iterated)

    def bound_before_loop(self, before):
        """A loop may run zero times: the versions its body leaves to the
        code after it (its target, names first bound in it) are bound before
        it too, to the value the name had (or None where it had none, as
        after a branch that does not bind it), so a merge or a read after the
        loop finds what Python would."""
        for name, version in sorted(self.version.items()):
            if before.get(name) == version or version in self.local_functions or (
                    version in self.ambiguous_functions or version in self.local_partials):
                continue
            if before.get(name) is None:
                op = Op("assign", [version], constant(None), NONDIFF, [], lineno=self.lineno, construct="unbound")
                self.defined.add(version)
            else:
                op = self.copy_op(version, before[name], construct="copy")
            self.ops.append(op)
            self.loop_inits.add(id(op))  # dropped at the end if nothing reads the version

    def without_unread_loop_inits(self, ops):
        """The ops without the bindings ``bound_before_loop`` made of versions
        nothing reads (most loops' targets)."""
        while True:
            read = set().union(*(op.reads() for op in walk_ops(ops)))
            for atom in (self.output, self.result):
                if atom is not None:
                    read.update(n.id for n in walk_tree(atom) if isinstance(n, gast.Name))
            unread = {id(op) for op in walk_ops(ops) if id(op) in self.loop_inits and op.targets[0] not in read}
            if not unread:
                return ops

            def prune(block):
                block[:] = [op for op in block if id(op) not in unread]
                for op in block:
                    if op.compound:
                        for inner in (op.body, op.orelse, op.latch, op.exit_check):
                            prune(inner)
            prune(ops)

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

    def indexed_iteration(self, stmt, sequences, kind=None, start=None, zipped=False, backwards=False):
        """``for target in seq`` as ``for index in range(n): target = seq[index]``,
        so values taken from a differentiated sequence get derivatives.
        ``kind`` is "zip" or "enumerate" for the items of those (``zipped``:
        enumerate(zip(...))); ``backwards`` reads the sequence from its end
        (``reversed(seq)``)."""
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
            position = load(index)
            if backwards:
                position = self.atom(gast.BinOp(left=gast.BinOp(left=length, op=gast.Sub(), right=load(index)),
                                                op=gast.Sub(), right=constant(1)))
            values = [gast.Subscript(value=seq, slice=clone(position), ctx=gast.Load()) for seq in sequences]
            if kind == "zip":
                value_node = gast.Tuple(elts=values, ctx=gast.Load())
            elif kind == "enumerate":
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

        before = dict(self.version)
        body = self.region(build_body)
        latch = self.region(build_latch)
        self.lineno = lineno
        self.bound_before_loop(before)
        op = Op("while", [], load(test_name), NONDIFF, [load(test_name)], lineno=lineno,
                construct="while loop")
        op.body, op.latch, op.exit_check = body, latch, body_exit[0]
        op.carried = list(carried.values())
        self.ops.append(op)


def _read_before_bound(stmts):
    """Names that ``stmts`` (a loop's body) may read before they bind them,
    in the order Python runs them: a statement's reads come before its own
    bindings, and a branch or an inner loop is read as a whole."""
    bound, early = set(), set()
    for stmt in stmts:
        if isinstance(stmt, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            bound.add(stmt.name)
            continue
        reads = {n.id for n in walk_tree(stmt) if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Store)}
        if isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name):
            reads.add(stmt.target.id)
        early |= reads - bound
        bound |= assigned_names([stmt])
    return early


def _bound_conditionally(stmts):
    """Names that ``stmts`` bind only on some paths: inside a branch, a
    ``try``, a ``with`` or an inner loop (which may run zero times)."""
    names = set()
    for stmt in stmts:
        if isinstance(stmt, (gast.If, gast.For, gast.While, gast.Try)):
            names |= assigned_names([stmt])
        elif isinstance(stmt, gast.With):
            names |= _bound_conditionally(stmt.body)
    return names


def splits_in_try(statements):
    """Whether the first of ``statements`` (the rest of a try block) is an
    ``if`` to split (``if c: raise E(...)``): the test is guarded alone, and
    each branch continues with the rest of the try block under the same
    handlers, so an exception raised in a branch leaves no assignment of the
    block half done. Loops, with blocks and jumps inside are not split, nor
    are more than a few ifs in a row (the rest is written once per branch)."""
    statement = statements[0]
    if not isinstance(statement, gast.If):
        return False
    if any(isinstance(n, (gast.For, gast.While, gast.With, gast.Try, gast.FunctionDef, gast.Lambda, gast.Return,
                          gast.Break, gast.Continue, gast.Yield, gast.ClassDef))
           for n in walk_tree(statement)):
        return False
    return sum(isinstance(n, gast.If) for s in statements for n in walk_tree(s)) <= 4


