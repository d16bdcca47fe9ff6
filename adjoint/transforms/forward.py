"""The forward-mode (tangent) transformer: normalized ops -> one function.

Given the ops of ``normalize`` and the ``activity`` sets, ``JVPBuilder``
writes the body of ``<name>_jvp(tangents, <the user's parameters>)``: the
user's computation, statement by statement, each followed by the tangent of
what it assigned (DESIGN.md convention 1: a tangent has a leading batch
axis, ``(B,) + x.shape``, so one call pushes ``B`` directions forward at
once). ``tangents`` is a tuple: the batch size ``B``, then one tangent
per differentiated parameter. The function returns ``(result, output_tangent)``.

Branches and loops keep their shape; a name active after a merge gets a
zero tangent on the paths where its value does not depend on the inputs.
Each primitive's tangent is expanded from its template (``rules``); the
contributions of active inputs are added. Calls of the user's functions
call their own forward-mode transform. Nothing here needs a tape: forward
mode reads values as they are computed, which is also why the generated
code transforms again cleanly (``jacrev(jacfwd(f))``, ``jacfwd(jacfwd(f))``).
"""
import inspect

import gast

from .. import errors, rules
from ..analysis.activity import carries_derivative
from .. import runtime as rt
from ..frontend.gastutil import clone, constant, load, store, walk as walk_tree
from ..frontend.ir import (NONDIFF, UNPACK, MethodCall, Op, StarredCall, UserCall, arity_of, kept_constant,
                           merged_constant_blocks, try_statements, walk_ops, with_statement)
from ..analysis.complex_values import ComplexMix, complex_checks, real_only, unchecked_params
from ..analysis.shapes import same_shape_classes
from . import custom_calls
from .batching_lists import copied_sequences
from .templates import names_for, tangent_template_for


#: primitives whose tangent this builder writes itself (indexing, attributes,
#: item updates, copies), not from a rule template.
BUILT_IN_TANGENTS = frozenset({rt.getitem, rt.attribute, rt.setitem, rt.identity, rt.copy})

#: helpers that apply a helper linear in its adjoint to one with two leading
#: axes merged (``rt.merged``): their tangent is written by ``merged_tangent``
MERGING = frozenset({rt.merged, rt.merged_items, rt.merged_tree, rt.vmerged})


class JVPBuilder:
    def __init__(self, parsed, normalized, activity, wrt, namer, module_names, comments, resolver, callees):
        self.callees = callees
        self.parsed = parsed
        self.normalized = normalized
        self.activity = activity
        self.wrt = wrt
        self.namer = namer
        self.module_names = module_names
        self.comments = comments
        self.resolver = resolver
        self.dot_names = {}
        self.extra_globals = {}
        self.callee_transforms = []
        self.callee_names = {}
        self.number_globals = {}
        self.defined_names = set(normalized.params) | {t for op in walk_ops(normalized.ops) for t in op.targets}
        self.shapes = same_shape_classes(list(walk_ops(normalized.ops)), self.is_number_global)
        #: complex values in this function, and whether the code would differ if
        #: they were possible (as in reverse mode: analysis/complex_values.py)
        self.complex_mix = ComplexMix(normalized.ops, resolver.lookup, self.defined_names)
        self.complex_sensitive = False
        self.real_params = False  # (set by pipeline.jvp_transform: see reverse.py)
        self.batch_name = namer.fresh("batch")
        self.tangents_name = namer.fresh("tangents")
        #: names that may hold a list or tuple (their tangent is a list of tangents)
        self.maybe_sequences = set()
        #: names that may hold a list taken from a container or returned by a
        #: call: stacked for NumPy's functions, not for the runtime helpers
        #: (written for the tangents of the lists and tuples they take)
        self.held_sequences = set()
        for op in walk_ops(normalized.ops):
            if op.prim in (rt.make_list, rt.make_tuple, rt.append, rt.concat_items, rt.repeat_items,
                           rt.replace_item, list, tuple):
                self.maybe_sequences.update(op.targets)
            elif op.prim in (UNPACK, rt.getitem, rt.attribute) or isinstance(op.prim, (UserCall, MethodCall,
                                                                                      StarredCall)):
                # an item of a container, or a call's result, may be a list too
                # (a list saved in the residuals of generated reverse code)
                self.held_sequences.update(op.targets)
        copied_sequences(normalized.ops, self.maybe_sequences, self.held_sequences)

    # ------------------------------------------------------------ helpers

    def is_number_global(self, name):
        if name in self.defined_names:
            return False
        value = self.resolver.lookup(name)
        if type(value) in (int, float):
            self.number_globals[name] = type(value)
            return True
        return False

    def dot_of(self, name):
        if name not in self.dot_names:
            self.dot_names[name] = self.namer.fresh(f"{name}_dot")
        return self.dot_names[name]

    def is_active(self, atom):
        return isinstance(atom, gast.Name) and atom.id in self.activity.active

    def rt_call(self, helper, *args, **keywords):
        func = gast.Attribute(value=load(self.module_names["rt"]), attr=helper, ctx=gast.Load())
        return gast.Call(func=func, args=list(args),
                         keywords=[gast.keyword(arg=k, value=v) for k, v in keywords.items()])

    def assign(self, target, value):
        return gast.Assign(targets=[store(target)], value=value, type_comment=None)

    def location(self, op):
        return self.parsed.location(op)

    def line_comment(self, lineno):
        text = self.parsed.lines[lineno - 1].strip() if 0 < lineno <= len(self.parsed.lines) else ""
        return f"line {lineno}: {text}"

    def zeros(self, name):
        return self.assign(self.dot_of(name), self.rt_call("zeros_bar", load(name), load(self.batch_name)))

    # ------------------------------------------------------------ building

    def build(self):
        """The body of the jvp function and the output's tangent expression."""
        self.complex_mix.possible = self.complex_mix.sources or not self.real_params
        body = []
        # tangents: the batch size, then one tangent per differentiated parameter
        body.append(self.assign(self.batch_name, self.rt_call("batch_count", load(self.tangents_name))))
        if self.wrt:
            unpack = gast.Tuple(elts=[store(self.dot_of(p)) for p in self.wrt], ctx=gast.Store())
            rest = gast.Subscript(value=load(self.tangents_name), slice=gast.Slice(
                lower=constant(1), upper=None, step=None), ctx=gast.Load())
            body.append(gast.Assign(targets=[unpack], value=rest, type_comment=None))
        body.extend(self.block(self.normalized.ops))
        checked = unchecked_params(self.normalized, self.wrt, self.activity.varied)
        if self.complex_sensitive and not self.complex_mix.possible and checked:
            # code for real values: a complex argument (a caller's complex values) is refused
            message = errors.complex_arguments_refused(self.parsed.location(self.parsed.node), self.parsed.node.name)
            body.insert(0, gast.Expr(value=self.rt_call(
                "refuse_complex_arguments", constant(message), *[load(p) for p in checked])))
        output = self.normalized.output
        if self.is_active(output):
            output_dot = load(self.dot_of(output.id))
        else:
            output_dot = self.rt_call("zeros_bar", clone(output), load(self.batch_name))
        return body, output_dot

    def block(self, ops):
        statements = []
        lineno = None
        for op in ops:
            if op.compound:
                lineno = None
                statements.extend(self.compound(op))
                continue
            if op.lineno != lineno:
                lineno = op.lineno
                statements.append(self.comments.marker(self.line_comment(lineno)))
            statements.extend(kept_constant(op, self.statement(op), self.module_names["rt"]))
        return merged_constant_blocks(statements)

    def compound(self, op):
        marker = self.comments.marker(self.line_comment(op.lineno))
        if op.kind == "with":
            return [marker, with_statement(op, self.block(op.body))]
        if op.kind == "if" and op.guard is not None:
            count = op.guard.count
            return [marker] + try_statements(op, self.block(op.body[:count]), self.block(op.body[count:]),
                                             self.block(op.orelse), self.module_names["rt"])
        if op.kind == "if":
            body = self.block(op.body) or [gast.Pass()]
            return [marker, gast.If(test=op.value, body=body, orelse=self.block(op.orelse))]
        if op.loop_target is not None and op.reads() & self.activity.varied and any(
                t in self.activity.active for t in op.targets):
            raise errors.UnsupportedSyntaxError(
                self.location(op), "for loop over an iterator of differentiated values",
                "the items of this kind of iterable cannot carry derivatives.",
                "Loop over the sequence itself, or over range(len(...)) and index it.")
        body = self.block(op.body) + self.block(op.latch) + self.block(op.exit_check)
        if op.kind == "for":
            target = clone(op.loop_target) if op.loop_target is not None else store(op.targets[0])
            loop = gast.For(target=target, iter=op.value, body=body or [gast.Pass()], orelse=[],
                            type_comment=None)
        else:
            loop = gast.While(test=op.value, body=body or [gast.Pass()], orelse=[])
        return [marker, loop]

    def statement(self, op):
        """The primal statement of ``op`` and the tangents of its targets."""
        if op.kind == "break":
            return [gast.Break()]
        if id(op) in self.activity.deferred:
            # a branch whose derivative is missing: an error naming the user's
            # line, raised only if the branch runs (as in reverse mode)
            message = str(self.activity.deferred[id(op)]).splitlines()[0]
            return [gast.Expr(value=self.rt_call("missing_rule", constant(message))), self.primal(op)] + [
                self.zeros(t) for t in op.targets if t in self.activity.active]
        checks = complex_checks(op, self.activity.varied, self.rt_call)  # (np.var of a complex value: refused)
        self.complex_sensitive = self.complex_sensitive or bool(checks)
        if checks and self.complex_mix.possible:
            return checks + self.statement_checked(op)
        return self.statement_checked(op)

    def statement_checked(self, op):
        active_targets = [t for t in op.targets if t in self.activity.active]
        if not active_targets or op.prim is NONDIFF or not carries_derivative(op):
            # (a nondifferentiable function's result, active as a phi of a
            # branch whose other path assigns a derivative: zeros here)
            primal = self.primal(op)
            zeros = [self.zeros(t) for t in active_targets]
            if op.prim is rt.absent_bar:  # no adjoint (reverse-mode code): its tangent is none too
                for statement in zeros:
                    statement.value.func.attr = "absent_bar"
            return [primal] + zeros
        if isinstance(op.prim, UserCall):
            return self.user_call(op)
        if op.prim in rt.DYNAMIC_HELPERS:
            return self.dynamic_helper_call(op)
        if isinstance(op.prim, (MethodCall, StarredCall)):
            return self.dynamic_call(op)
        statements = [self.primal(op)]
        if not any(self.is_active(a) for a in list(op.args) + list(op.kwargs.values())):
            return statements + [self.zeros(t) for t in active_targets]
        statements.extend(self.tangent(op))
        return statements

    def primal(self, op):
        # left as written by the backend's constant folding (m * 1 is no copy
        # of a boolean, integer or list m)
        stmt = self.primal_statement(op)
        stmt.adjoint_as_written = True
        return stmt

    @staticmethod
    def primal_statement(op):
        if op.statement is not None:
            return op.statement
        if op.kind == "expr":
            return gast.Expr(value=op.value)
        if op.kind == "unpack":
            targets = gast.Tuple(elts=[store(t) for t in op.targets], ctx=gast.Store())
            return gast.Assign(targets=[targets], value=op.value, type_comment=None)
        return gast.Assign(targets=[store(op.targets[0])], value=op.value, type_comment=None)

    def tangent_atom(self, atom):
        """The tangent of an argument, or None for a constant (no tangent)."""
        return load(self.dot_of(atom.id)) if self.is_active(atom) else constant(None)

    def tangent(self, op):
        target = op.targets[0]
        prim = op.prim
        if prim is UNPACK:
            value = op.args[0]
            unpack = gast.Tuple(elts=[store(self.dot_of(t)) for t in op.targets], ctx=gast.Store())
            return [gast.Assign(targets=[unpack], value=self.rt_call(
                "unpack_tangent", load(self.dot_of(value.id)), load(value.id), constant(len(op.targets)),
                load(self.batch_name)), type_comment=None)]
        if prim is rt.make_list:
            return [self.assign(self.dot_of(target), self.rt_call(
                "make_list", *[self.tangent_atom(a) for a in op.args]))]
        if prim is rt.make_tuple:  # a tuple or a namedtuple (keys: the slots the items fill)
            keys = op.keys if op.keys is not None else list(range(len(op.args)))
            namedtuple_call = isinstance(op.value, gast.Call) and not (
                isinstance(op.value.func, gast.Attribute) and op.value.func.attr == "make_tuple")
            if not namedtuple_call:
                return [self.assign(self.dot_of(target), self.rt_call(
                    "make_tuple", *[self.tangent_atom(a) for a in op.args]))]
            if list(keys) == list(range(len(op.args))):
                return [self.assign(self.dot_of(target), self.rt_call(
                    "tuple_tangent", load(target), *[self.tangent_atom(a) for a in op.args]))]
            slots = gast.Tuple(elts=[clone(k) if isinstance(k, gast.AST) else constant(k) for k in keys],
                               ctx=gast.Load())
            return [self.assign(self.dot_of(target), self.rt_call(
                "tuple_tangent", load(target), *[self.tangent_atom(a) for a in op.args], slots=slots))]
        if prim is rt.tuple_tangent:  # forward code differentiated again: linear in the item tangents
            value, *items = op.args
            return [self.assign(self.dot_of(target), self.rt_call(
                "tuple_tangent", clone(value), *[self.tangent_atom(a) for a in items],
                **{key: clone(slots) for key, slots in op.kwargs.items()}))]
        if prim is rt.make_dict:
            keys = gast.Tuple(elts=[clone(k) if isinstance(k, gast.AST) else constant(k) for k in op.keys],
                              ctx=gast.Load())
            return [self.assign(self.dot_of(target), self.rt_call(
                "make_dict", keys, *[self.tangent_atom(a) for a in op.args]))]
        if prim is rt.identity or prim is rt.copy:
            return [self.assign(self.dot_of(target), load(self.dot_of(op.args[0].id)))]
        if prim is rt.attribute and op.attribute_sources is None and isinstance(op.args[0], gast.Name):
            # value.name where value may be an object of the user's class read through a
            # container or a call's result: refused if its class computes name (runtime.objects)
            value, key = op.args
            return [self.assign(self.dot_of(target), self.rt_call(
                "object_attribute_tangent", self.tangent_atom(value), load(value.id), load(target), clone(key),
                load(self.batch_name)))]
        if prim is rt.getitem or prim is rt.attribute:
            value, key = op.args
            helper = "item_tangent" if prim is rt.getitem else "attribute_tangent"
            return [self.assign(self.dot_of(target), self.rt_call(
                helper, self.tangent_atom(value), load(target), clone(key), load(self.batch_name)))]
        if prim is rt.append:
            items, value, _position = op.args
            return [self.assign(self.dot_of(target), self.rt_call(
                "append_tangent", self.tangent_atom(items), self.container_atom(items),
                self.tangent_atom(value)))]
        if prim in (rt.store_attribute, rt.init_attribute):  # obj.name = value (runtime.objects)
            obj, name, value = op.args
            return [self.assign(self.dot_of(target), self.rt_call(
                "store_attribute_tangent", self.tangent_atom(obj), clone(name), self.tangent_atom(value)))]
        if prim is rt.replace_item:
            container, key, value = op.args
            return [self.assign(self.dot_of(target), self.rt_call(
                "replace_item_tangent", self.tangent_atom(container), self.container_atom(container),
                clone(key), self.tangent_atom(value)))]
        if prim is rt.concat_items:
            a, b = op.args
            return [self.assign(self.dot_of(target), self.rt_call(
                "concat_items", self.tangent_or_holes(a), self.tangent_or_holes(b)))]
        if prim is rt.repeat_items:
            items, count = op.args
            return [self.assign(self.dot_of(target), self.rt_call(
                "repeat_items", load(self.dot_of(items.id)), clone(count)))]
        if prim is rt.setitem:
            array, index, value = op.args
            return [self.assign(self.dot_of(target), self.rt_call(
                "setitem_tangent", self.tangent_atom(array), clone(index), self.tangent_atom(value),
                load(target), load(self.batch_name)))]
        if prim in MERGING:
            return self.merged_tangent(op)
        rule = rules.lookup_tangent(prim)
        if rule is None and prim in rules.LINEAR_HELPERS and len(op.args) > rules.LINEAR_HELPERS[prim]:
            position = rules.LINEAR_HELPERS[prim]
            if not self.is_active(op.args[position]):
                return [self.zeros(op.targets[0])]
            func = gast.Attribute(value=load(self.module_names["rt"]), attr=prim.__name__, ctx=gast.Load())
            call = self.rt_call("tangent_rows", func, constant(position), load(self.dot_of(op.args[position].id)),
                                *[clone(a) for a in op.args], **{k: clone(v) for k, v in op.kwargs.items()})
            return [self.assign(self.dot_of(op.targets[0]), call)]
        if rule is None and prim in rules.REFUSED_TANGENTS:
            raise errors.NoRuleError(self.location(op), op.construct, *rules.REFUSED_TANGENTS[prim])
        if prim in custom_calls.helpers():  # a user rule met again (a second derivative)
            replaced = self.custom_rule_call(op)
            if replaced is not None:
                return replaced
        if rule is None and rules.helper_by_source(prim):
            # a helper of generated code without a tangent rule (the tangent
            # helpers of forward code, differentiated again): its own source
            # is NumPy code, transformed like a function of the user's
            call = UserCall(prim, [], {})
            call.arity = arity_of(prim, len(op.args), tuple(op.kwargs))  # (helpers with *pieces)
            return self.user_call(Op(op.kind, op.targets, op.value, call, op.args,
                                     op.kwargs, op.lineno, op.no_grad, op.construct))
        if isinstance(rule, rules.CustomJVP):
            return self.custom_tangent(op, rule, "call_jvp")
        if isinstance(rule, rules.CustomVJP):
            return self.custom_tangent(op, rule, "jvp_from_vjp")
        if rule is None:
            raise errors.NoRuleError(
                self.location(op), op.construct,
                "adjoint has no forward-mode (tangent) rule for this function, and the value it "
                "computes depends on the inputs being differentiated.",
                "Use jacrev for this function, or register a tangent rule with adjoint.defjvp.")
        return self.template_tangent(op, rule)

    def merged_tangent(self, op):
        """``z = rt.merged(helper, t, *args)`` (or another helper of MERGING):
        ``helper`` applied with the two leading axes of ``t`` merged, linear
        in ``t``. Along ``t`` the tangent is the same call one axis further
        out, ``merged(rt.apply_merged, t_dot, merged, helper, *args)``; along
        an argument ``helper``'s own tangent rule makes it, on ``t`` merged
        and split again. (Third order through forward-over-reverse code.)"""
        merge = op.prim
        helper_atom, t, *rest = op.args
        target = op.targets[0]
        kwargs = op.kwargs
        terms = []
        prelude = []

        def ref(name):
            return gast.Attribute(value=load(self.module_names["rt"]), attr=name, ctx=gast.Load())

        if self.is_active(t):
            terms.append(self.rt_call(merge.__name__, ref("apply_merged"), load(self.dot_of(t.id)),
                                      ref(merge.__name__), clone(helper_atom), *[clone(a) for a in rest],
                                      **{k: clone(v) for k, v in kwargs.items()}))
        helper, inner_rest = self.resolver.value_of(helper_atom), rest
        while helper is rt.apply_merged and len(inner_rest) >= 2:  # the tangent of a tangent of merged
            helper, inner_rest = self.resolver.value_of(inner_rest[1]), inner_rest[2:]
        rule = rules.lookup_tangent(helper)
        name = getattr(helper, "__name__", "the helper")
        template = None
        if callable(rule) and not isinstance(rule, (rules.CustomJVP, rules.CustomVJP)):
            template = tangent_template_for(rule)
        varying = {}
        if rest or kwargs:
            try:  # the helper's parameters as its tangent rule names them
                bound = (template.bind([t] + list(inner_rest), kwargs)[0] if template is not None
                         else inspect.signature(helper).bind(t, *inner_rest, **kwargs).arguments)
            except (TypeError, ValueError):  # not known: every argument may carry a derivative
                bound = {f"argument {i + 1}": atom for i, atom in enumerate(inner_rest)}
            constants = rules.TANGENT_CONSTANTS.get(helper, frozenset()) if template is not None else frozenset()
            for position, (param, value) in enumerate(bound.items()):
                atoms = list(value.values()) if isinstance(value, dict) else (
                    list(value) if isinstance(value, tuple) else [value])
                if position and param not in constants and any(
                        isinstance(a, gast.Name) and self.is_active(a) for a in atoms):
                    varying[param] = value
        if varying:
            tree = merge is rt.merged_tree  # lists / tuples of adjoints: leaf by leaf, summed item by item
            simple = (merge in (rt.merged, rt.vmerged, rt.merged_tree) and inner_rest is rest and template is not None
                      and isinstance(t, gast.Name) and all(isinstance(v, gast.Name) for v in varying.values()))
            if not simple:
                raise errors.NoRuleError(
                    self.location(op), op.construct,
                    f"a derivative of this order through rt.{name} with respect to its argument "
                    f"{sorted(varying)[0]!r} is not supported yet (only with respect to the adjoint "
                    "it carries).",
                    "Compute one order less with adjoint and take the last derivative by finite "
                    "differences, or use jacrev for the outermost derivative.")
            merged_t, merged_z = self.namer.temp(), self.namer.temp()
            merge_name, split_name = ("merge_axes_tree", "split_axes_tree") if tree else ("merge_axes", "split_axes")
            prelude.append(self.assign(merged_t, self.rt_call(merge_name, load(t.id))))
            prelude.append(self.assign(merged_z, self.rt_call(merge_name, load(target))))
            bindings, supplied = template.bind([load(merged_t)] + list(rest), kwargs)
            active = set(varying) & set(bindings)
            missing = active - template.contributed
            if missing:
                raise errors.NoRuleError(
                    self.location(op), op.construct,
                    f"no derivative of rt.{name} with respect to argument {sorted(missing)[0]!r} is defined.",
                    "Use jacrev for the outermost derivative.")
            expanded, contributions = template.expand(
                load(merged_z), lambda param: load(self.dot_of(bindings[param].id)), bindings, supplied,
                active, self.namer, self.module_names)
            prelude.extend(expanded)
            for _, expr in contributions:
                terms.append(self.rt_call(split_name, expr, load(t.id), constant(1)))
        if not terms:
            return [self.zeros(target)]
        total = terms[0]
        for term in terms[1:]:
            if merge is rt.merged_tree:
                total = self.rt_call("add_bar", total, term)
            else:
                total = gast.BinOp(left=total, op=gast.Add(), right=term)
        return prelude + [self.assign(self.dot_of(target), total)]

    def container_atom(self, atom):
        return clone(atom) if isinstance(atom, gast.AST) else constant(atom)

    def tangent_or_holes(self, atom):
        if self.is_active(atom):
            return load(self.dot_of(atom.id))
        return self.rt_call("no_tangents", clone(atom))

    def template_tangent(self, op, rule):
        template = tangent_template_for(rule)
        try:
            bindings, supplied = template.bind(op.args, op.kwargs)
        except TypeError as exc:
            raise errors.NoRuleError(
                self.location(op), op.construct,
                f"adjoint's derivative rule does not take this form of the call ({exc}).",
                "Call it with the arguments the rule takes (docs/supported.md lists them), or "
                "register a rule with adjoint.defjvp.",
            ) from None
        active = {p for p, atom in bindings.items() if self.is_active(atom)}
        missing = active - template.contributed - rules.TANGENT_CONSTANTS.get(op.prim, frozenset())
        if missing:
            raise errors.NoRuleError(
                self.location(op), op.construct,
                f"no derivative with respect to argument {sorted(missing)[0]!r} is defined.",
                "Wrap that argument in adjoint.stop_gradient(...) or register a rule with adjoint.defjvp.",
            )
        target = op.targets[0]
        elementwise = op.prim in rules.ELEMENTWISE_TANGENTS
        # (runtime helpers of generated code take containers of tangents as they are)
        # and so do Python's builtins (dict(entries), a dict built by a loop
        # that may look like a list)
        takes_sequences = (op.prim in rules.SEQUENCE_RULES or rt.is_helper(op.prim)
                           or getattr(op.prim, "__module__", None) == "builtins")

        def tangent_of(param):
            atom = bindings[param]
            expr = load(self.dot_of(atom.id))
            held = atom.id in self.held_sequences and not rt.is_helper(op.prim)
            if (atom.id in self.maybe_sequences or held) and not takes_sequences:
                # a list NumPy reads as one array (np.sin([x, y])): its items' tangents, stacked
                expr = self.rt_call("as_tangent", expr, load(atom.id))
            if elementwise and not self.shapes.same(atom.id, target):
                expr = self.rt_call("lift", expr, load(target))
            return expr

        prelude, contributions = template.expand(
            load(target), tangent_of, bindings, supplied, active, self.namer,
            {**names_for(template, self.module_names, self.namer, self.extra_globals), "batch": self.batch_name})
        if any(isinstance(n, gast.Attribute) and n.attr in ("real_for", "abs_slope") and isinstance(n.value, gast.Name)
               and n.value.id == self.module_names["rt"] for part in list(prelude) + [e for _, e in contributions]
               for n in walk_tree(part)):
            self.complex_sensitive = True
            if not self.complex_mix.possible:  # tangent code for real values (analysis/complex_values.py)
                prelude = [real_only(stmt, self.module_names) for stmt in prelude]
                contributions = [(k, real_only(e, self.module_names)) for k, e in contributions]
        total = None
        for _, expr in contributions:
            if total is None:
                total = expr
            elif op.prim in rules.TUPLE_RESULTS:  # tangents of tuple results add item by item
                total = self.rt_call("add_bar", total, expr)
            else:
                total = gast.BinOp(left=total, op=gast.Add(), right=expr)
        if total is not None and op.cast is not None:
            total = self.rt_call("cast_tangent", total, clone(op.cast))  # dtype= known only now
        if total is None:  # only constant arguments are active: a zero tangent
            return [self.zeros(target)]
        return prelude + [self.assign(self.dot_of(target), total)]

    def custom_rule_call(self, op):
        """``rt.call_vjp(maker, batched, g, ans, *args)`` (or ``call_jvp``,
        ``jvp_from_vjp``) with a maker known here: the call of a function
        written for that maker (transforms/custom_calls.py), transformed like
        a user's function, so that the maker's own source is differentiated."""
        maker = self.resolver.value_of(op.args[0])
        if not callable(maker):
            return None
        skip, batched = 1, False
        if op.prim is not rt.call_jvp:
            skip, flag = 2, op.args[1]
            batched = flag.value if isinstance(flag, gast.Constant) else self.resolver.value_of(flag)
            if not isinstance(batched, bool):
                return None
        rest = list(op.args[skip:])
        function = custom_calls.rule_function(op.prim, maker, batched, len(rest) - 2, tuple(op.kwargs))
        if isinstance(function, str):
            raise errors.NoRuleError(
                self.location(op), f"the rule of {getattr(maker, 'rule_name', 'a function')} (adjoint.defvjp / defjvp)",
                f"a derivative of second order differentiates the maker's own source, and {function}.",
                "Define the maker with def or lambda at the top level of a module that imports NumPy.")
        return self.user_call(Op(op.kind, op.targets, op.value, UserCall(function, [], {}), rest,
                                 op.kwargs, op.lineno, op.no_grad, op.construct))

    def custom_tangent(self, op, rule, helper):
        if any(self.is_active(v) for v in op.kwargs.values()):
            raise errors.NoRuleError(
                self.location(op), op.construct,
                "a differentiated value is passed by keyword to a function with a custom rule.",
                "Pass it positionally: custom rules are matched to positional arguments.")
        name = getattr(rule.primitive, "__name__", "custom")
        total = None
        for position, atom in enumerate(op.args):
            if not self.is_active(atom):
                continue
            maker = rule.makers[position] if position < len(rule.makers) else None
            if maker is None:
                raise errors.NoRuleError(
                    self.location(op), op.construct,
                    f"its custom rule gives no derivative for positional argument {position}.",
                    "Add a maker for that argument, or wrap it in adjoint.stop_gradient(...).")
            maker_name = self.namer.fresh(f"{name}_rule_{position}")
            self.extra_globals[maker_name] = maker
            leading = [load(maker_name)]
            if helper == "jvp_from_vjp":
                leading.append(constant(rule.batched))
            call = self.rt_call(helper, *leading, load(self.dot_of(atom.id)), load(op.targets[0]), *op.args)
            call.keywords = [gast.keyword(arg=k, value=v) for k, v in op.kwargs.items()]
            total = call if total is None else gast.BinOp(left=total, op=gast.Add(), right=call)
        return [self.assign(self.dot_of(op.targets[0]), total)]

    def user_call(self, op):
        """``z = g(a, b)`` with differentiated arguments: ``z, z_dot =
        g_jvp((a_dot,), a, b)``, g's own forward-mode transform."""
        call = op.prim
        try:
            found = call.differentiated(op.args, op.kwargs, self.is_active)
        except TypeError as exc:
            raise errors.TransformError(self.location(op), op.construct, f"the call does not match "
                                        f"the function's parameters ({exc}).", "Fix the call.") from None
        target = op.targets[0]
        if not found:
            return [self.primal(op), self.zeros(target)]
        positions = tuple(position for position, _, _ in found)
        function_name = self.callee(call, positions)
        self.extra_globals.update(call.bound)
        tangents = gast.Tuple(elts=[load(self.batch_name)] + [load(self.dot_of(atom.id)) for _, _, atom in found],
                              ctx=gast.Load())
        value = gast.Call(func=load(function_name), args=[tangents] + list(op.args),
                          keywords=[gast.keyword(arg=k, value=v) for k, v in op.kwargs.items()])
        targets = gast.Tuple(elts=[store(target), store(self.dot_of(target))], ctx=gast.Store())
        return [gast.Assign(targets=[targets], value=value, type_comment=None)]

    def dynamic_call(self, op):
        """A call whose callee is known only when the code runs (a function
        or an object passed in, ``obj.method(...)``), or whose arguments are
        laid out then (``f(*seq)``): ``z, z_dot = rt.starred_jvp(...)``
        transforms the callee when it runs, for the arguments that carry
        derivatives here."""
        prim = op.prim
        if isinstance(prim, MethodCall):
            if any(self.is_active(v) for v in op.kwargs.values()):
                raise errors.NoRuleError(
                    self.location(op), op.construct,
                    "a differentiated value is passed by keyword to a function known only at run time.",
                    "Pass it positionally.")
            receiver, args = op.args[0], list(op.args[1:])
            if prim.name is None:  # a function passed in: the callee is the first atom
                spec, callee, pieces = [""] * len(args), receiver, args
            else:
                spec, callee, pieces = ["self"] + [""] * len(args), constant(prim.name), [receiver] + args
            spec += list(op.kwargs)
            pieces += list(op.kwargs.values())
        else:
            spec, pieces = list(prim.spec), list(op.args)
            callee = constant(prim.method) if prim.method is not None else clone(prim.callee)
        active = tuple(self.is_active(a) for a in pieces)
        tangents = gast.Tuple(elts=[self.tangent_atom(a) if flag else constant(None)
                                    for a, flag in zip(pieces, active, strict=True)], ctx=gast.Load())
        value = self.rt_call("starred_jvp", constant(tuple(spec)), constant(active), callee,
                             load(self.batch_name), tangents, *pieces)
        target = op.targets[0]
        targets = gast.Tuple(elts=[store(target), store(self.dot_of(target))], ctx=gast.Store())
        return [gast.Assign(targets=[targets], value=value, type_comment=None)]

    def dynamic_helper_call(self, op):
        """A helper of generated code calling a function known only when it
        runs (``rt.function_forward``, ``rt.call_backward``, ...), met again
        by a derivative of a derivative: ``z, z_dot = rt.dynamic_tangent(
        rt.helper, batch, (a_dot, None, ...), *args)`` transforms, when it
        runs, the function that call amounts to (runtime/dynamic_tangents.py)."""
        if any(self.is_active(v) for v in op.kwargs.values()):  # (first order refuses these already)
            location = self.location(op)
            place = errors.user_line(location.filename, location.lineno)
            if place is not None:  # generated code: the user's line it comes from
                import linecache

                location = errors.SourceLocation(place[0], place[1], linecache.getline(*place).rstrip("\n"))
            raise errors.NoRuleError(
                location, "a call of a function known only when the code runs",
                "a differentiated value is passed by keyword to it.", "Pass it positionally.")
        func = gast.Attribute(value=load(self.module_names["rt"]), attr=op.prim.__name__, ctx=gast.Load())
        tangents = gast.Tuple(elts=[self.tangent_atom(a) for a in op.args], ctx=gast.Load())
        value = self.rt_call("dynamic_tangent", func, load(self.batch_name), tangents, *op.args, **op.kwargs)
        target = op.targets[0]
        targets = gast.Tuple(elts=[store(target), store(self.dot_of(target))], ctx=gast.Store())
        return [gast.Assign(targets=[targets], value=value, type_comment=None)]

    def callee(self, call, positions):
        function = call.function
        key = (function, positions, call.arity)
        if key in self.callee_names:
            return self.callee_names[key]
        name = self.namer.fresh(f"{call.name}_jvp")
        self.callee_names[key] = name
        if self.callees.in_progress(function, "jvp"):
            self.extra_globals[name] = self.callees.lazy(function, positions, "jvp", mode="jvp", arity=call.arity)
        else:
            compiled = self.callees.jvp(function, positions, call.arity)
            self.callee_transforms.append(compiled)
            # (through the callee's local Jacobian where it is small: backend/local_calls.py)
            self.extra_globals[name] = self.callees.forward_function(function, compiled, positions, call.arity)
        return name


