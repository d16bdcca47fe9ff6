"""The reverse-mode transformer: normalized ops -> forward and backward functions.

Given the ops of ``normalize`` and the ``activity`` sets, ``build_vjp``
returns two gast ``FunctionDef``s:

* ``<name>_forward(<the user's parameters>)`` runs the user's computation once
  and returns ``(result, residuals)``: what the function returns, and the
  tuple of values the backward pass reads (nothing more);
* ``<name>_backward(residuals, <output>_bar)`` takes the output's cotangent
  with a leading batch axis (DESIGN.md convention 1) and returns one adjoint
  per differentiated parameter, ``None`` where the output does not depend on
  it. It only reads ``residuals``, so it can be called again and again.

Each rule is expanded from its template; contributions to one adjoint are
summed, inactive inputs get none, and zero adjoints are never built.
"""

import builtins

import gast
import numpy as np

from .. import errors
from .. import rules
from .. import runtime as rt
from ..analysis.activity import STRUCTURAL, carries_derivative
from ..frontend.gastutil import Transformer, clone, constant, load, store, walk as walk_tree
from ..frontend.ir import NONDIFF, UNPACK, MethodCall, StarredCall, UserCall, walk_ops
from ..analysis.complex_values import REAL_PRODUCT_HELPERS, ComplexMix, complex_checks, real_only, unchecked_params
from ..analysis.shapes import SCALAR, same_shape_classes
from .templates import names_for, template_for

#: primitives whose result may be a container (its adjoints add with
#: rt.add_bar; other rules give arrays, whose adjoints add with ``+``).
#: Python's max and min return one of their items: an object (``min(q1, q2)``
#: by its ``__lt__``) or a container too.
_CONTAINER_PRIMS = STRUCTURAL | {rt.getitem, rt.identity, rt.attribute, rt.copy, list, tuple, dict,
                                 builtins.max, builtins.min}

COMMENT = "__adjoint_comment_{}__"


class Comments:
    """Comment lines for generated code; astor cannot print comments, so a
    marker statement stands in for each and ``compile`` substitutes them."""

    def __init__(self):
        self.texts = []

    def marker(self, text):
        self.texts.append(text)
        return gast.Expr(value=load(COMMENT.format(len(self.texts) - 1)))


class _CopyInstead(Transformer):
    """In-place updates of adjoints turned back into copies."""

    def __init__(self, rt_name):
        self.rt_name = rt_name

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if not (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
                and func.value.id == self.rt_name):
            return node
        if func.attr == "overwritten_adjoint":
            node.keywords = [k for k in node.keywords if k.arg != "in_place"]
        elif func.attr == "scatter_add":  # x_bar + the scattered part, as a new array
            x_bar, g, x, index = node.args
            scattered = gast.Call(func=gast.Attribute(value=gast.Name(id=self.rt_name, ctx=gast.Load(),
                                                                      annotation=None, type_comment=None),
                                                      attr="getitem_adjoint", ctx=gast.Load()),
                                  args=[g, x, index], keywords=[])
            node = gast.Call(func=gast.Attribute(value=func.value, attr="add_bar", ctx=gast.Load()),
                             args=[x_bar, scattered], keywords=[])
        return node


def _without_in_place(stmt, rt_name):
    return _CopyInstead(rt_name).visit(stmt)


class VJPBuilder:
    def __init__(self, parsed, normalized, activity, wrt, namer, module_names, comments, resolver, callees):
        self.callees = callees
        self.resolver = resolver
        self.defined_names = set(normalized.params) | {t for op in walk_ops(normalized.ops) for t in op.targets}
        self.parsed = parsed
        self.normalized = normalized
        self.activity = activity
        self.wrt = wrt
        self.namer = namer
        self.module_names = module_names
        self.comments = comments
        self.bar_names = {}
        self.has_bar = set()
        self.array_names = set()
        self.extra_globals = {}
        self.body = []
        #: adjoints whose array was created by this backward pass (safe to update in place)
        self.fresh = set()
        #: (loop op, backward For node): the tape's contents are chosen after optimization
        self.loops = []
        self.uses_batch = False
        #: the op being read backwards is a copy (its adjoint moves to its source)
        self.moving = False
        self.batch_name = namer.fresh("batch")
        #: compiled transforms of the user's functions this one calls
        self.callee_transforms = []
        #: (function, positions) -> the names its forward and backward are bound to
        self.callee_names = {}
        #: adjoints returned by callees' backward functions (batched, like bar names)
        self.call_adjoints = set()
        self.number_globals = {}
        self.shapes = same_shape_classes(list(walk_ops(normalized.ops)), self.is_number_global)
        #: complex values in this function (docs/complex.md)
        self.complex_mix = ComplexMix(normalized.ops, resolver.lookup, self.defined_names)
        #: whether the code would differ if complex values were possible (then,
        #: written for real values, it checks its arguments are real)
        self.complex_sensitive = False
        #: the arguments are real (the API's call), else a caller may pass complex ones
        self.real_params = False

    # ------------------------------------------------------------ helpers

    def is_number_global(self, name):
        """A free name bound to a Python number now (recorded: the compiled
        code is rebuilt if it stops being one)."""
        if name in self.defined_names:
            return False
        value = self.resolver.lookup(name)
        if type(value) in (int, float):
            self.number_globals[name] = type(value)
            return True
        return False

    def bar_of(self, name):
        if name not in self.bar_names:
            self.bar_names[name] = self.namer.fresh(f"{name}_bar")
        return self.bar_names[name]

    def rt_call(self, helper, *args):
        func = gast.Attribute(value=load(self.module_names["rt"]), attr=helper, ctx=gast.Load())
        return gast.Call(func=func, args=list(args), keywords=[])

    def is_rt_call(self, expr, helper):
        return (isinstance(expr, gast.Call) and isinstance(expr.func, gast.Attribute)
                and expr.func.attr == helper and isinstance(expr.func.value, gast.Name)
                and expr.func.value.id == self.module_names["rt"])

    def contribute(self, name, expr):
        bar = self.bar_of(name)
        scatter = self.is_rt_call(expr, "getitem_adjoint")
        if name not in self.has_bar:
            value = expr
            self.has_bar.add(name)
            if scatter or self.is_rt_call(expr, "overwritten_adjoint"):
                self.fresh.add(name)  # a new array: later scatters may add into it in place
            elif self.moving and isinstance(expr, gast.Name) and expr.id in self.fresh_bars():
                # A copy read backwards (x = y, a phi, a loop's latch) hands its
                # adjoint on whole: the array moves, since nothing reads the
                # copy's adjoint after this. (Not so for z = a + b, which hands
                # the same adjoint to both a and b.)
                self.fresh.add(name)
        elif scatter and name in self.fresh:
            # x_bar is an array this backward pass made: add in place.
            g, value_atom, index = expr.args
            value = self.rt_call("scatter_add", load(bar), g, value_atom, index)
        elif name in self.array_names:
            value = gast.BinOp(left=load(bar), op=gast.Add(), right=expr)
        else:
            value = self.rt_call("add_bar", load(bar), expr)
        self.body.append(gast.Assign(targets=[store(bar)], value=value, type_comment=None))

    def fresh_bars(self):
        return {self.bar_names[n] for n in self.fresh if n in self.bar_names}

    def setitem_in_place(self, op, result_bar):
        """``y_1 = rt.setitem(y, i, v)`` backwards, when y_1's adjoint is an
        array this backward pass made that nothing reads afterwards: the
        value's part is copied out first, then the written part is zeroed in
        place (a copy of the whole adjoint per update made loops that fill
        an array quadratic)."""
        array, index, value = op.args
        if self.is_active(value):
            written = self.rt_call("written_adjoint", result_bar, load(op.targets[0]))
            part = self.rt_call("unbroadcast", self.rt_call("assigned_adjoint", written, index,
                                                            constant(True)), load(value.id))
            self.contribute(value.id, self.without_noop_unbroadcast(part, value.id, op.targets[0]))
        if self.is_active(array):
            call = self.rt_call("overwritten_adjoint", result_bar, index)
            call.keywords = [gast.keyword(arg="in_place", value=constant(True))]
            self.contribute(array.id, call)

    def is_active(self, atom):
        return isinstance(atom, gast.Name) and atom.id in self.activity.active

    def location(self, op):
        return self.parsed.location(op)

    # ------------------------------------------------------------ building

    def build(self):
        normalized = self.normalized
        self.complex_mix.possible = self.complex_mix.sources or not self.real_params
        maybe_containers = set()
        for op in walk_ops(normalized.ops):
            if (op.kind == "assign" and op.prim not in _CONTAINER_PRIMS and op.prim not in rules.TUPLE_RESULTS
                    and op.prim in rules.ADJOINT_RULES):
                self.array_names.update(op.targets)
            if op.prim in (rt.getitem, rt.attribute, UNPACK, rt.replace_item, rt.store_attribute,
                           rt.init_attribute) and isinstance(op.args[0], gast.Name):
                maybe_containers.add(op.args[0].id)
            if op.prim in rules.SEQUENCE_RULES and op.args and isinstance(op.args[0], gast.Name):
                maybe_containers.add(op.args[0].id)  # np.stack(items): items may be a list
            if isinstance(op.prim, (UserCall, MethodCall, StarredCall)):
                # The user's code may take any argument as a container; its
                # adjoint comes back with the argument's structure.
                maybe_containers.update(a.id for a in list(op.args) + list(op.kwargs.values())
                                        if isinstance(a, gast.Name))
        sources = {}
        for op in walk_ops(normalized.ops):
            if op.kind == "assign" and op.prim is rt.identity:
                sources.setdefault(op.targets[0], []).append(op.args[0])
            elif op.targets and op.kind != "for":
                sources.setdefault(op.targets[0], []).append(None)
        # A copy of a value that is indexed like a container may be one, and
        # so may what it was copied from.
        changed = True
        while changed:
            changed = False
            for name, froms in sources.items():
                if name in maybe_containers:
                    for source in froms:
                        if isinstance(source, gast.Name) and source.id not in maybe_containers:
                            maybe_containers.add(source.id)
                            changed = True
        # A parameter only ever passed to NumPy functions is an array, and so
        # is a copy (phi, merge) whose every source is an array.
        self.array_names.update(p for p in normalized.params if p not in maybe_containers)
        changed = True
        while changed:
            changed = False
            for name, froms in sources.items():
                if name not in self.array_names and name not in maybe_containers and all(
                        isinstance(f, gast.Name) and f.id in self.array_names for f in froms):
                    self.array_names.add(name)
                    changed = True
        output = normalized.output
        seed = self.bar_of(output.id) if isinstance(output, gast.Name) else self.namer.fresh("output_bar")
        if isinstance(output, gast.Name):
            self.has_bar.add(output.id)
        self.seed = seed
        self.body = self.reverse_block(normalized.ops)
        checked = unchecked_params(self.normalized, self.wrt, self.activity.varied)
        if self.complex_sensitive and not self.complex_mix.possible and checked:
            # code for real values: a complex argument (a caller's complex values) is refused
            message = errors.complex_arguments_refused(self.parsed.location(self.parsed.node), self.parsed.node.name)
            self.body.insert(0, gast.Expr(value=self.rt_call(
                "refuse_complex_arguments", constant(message), *[load(p) for p in checked])))
        returns = [load(self.bar_names[p]) if p in self.has_bar else constant(None) for p in self.wrt]
        return seed, returns

    def reverse_block(self, ops):
        """Backward statements for ``ops`` (in reverse order). ``has_bar`` on
        entry says which adjoints exist after the ops; on exit, before them.
        An op's result has no adjoint before the op, so it is dropped there."""
        outer, self.body = self.body, []
        lineno = None
        for op in reversed(_without_with(ops)):
            if op.kind == "if":
                self.reverse_if(op)
                lineno = None
                continue
            if op.kind in ("for", "while"):
                self.reverse_loop(op)
                lineno = None
                continue
            checks = complex_checks(op, self.activity.varied, self.rt_call)  # (np.var of a complex value: refused)
            self.complex_sensitive = self.complex_sensitive or bool(checks)
            if not self.complex_mix.possible:
                checks = []
            if not checks and not any(t in self.activity.active for t in op.targets):
                continue
            if op.lineno != lineno:
                lineno = op.lineno
                self.body.append(self.comments.marker(self.line_comment(lineno)))
            self.body.extend(checks)
            if not any(t in self.activity.active for t in op.targets):
                continue
            self.adjoint_of(op)
            for target in op.targets:
                self.has_bar.discard(target)
                self.fresh.discard(target)
        body, self.body = self.body, outer
        return body

    def zero_init(self, name):
        """``x_bar = zeros``: an adjoint that must exist on every path."""
        self.uses_batch = True
        self.has_bar.add(name)
        return gast.Assign(targets=[store(self.bar_of(name))],
                           value=self.rt_call("zeros_bar", load(name), load(self.batch_name)),
                           type_comment=None)

    def zero_if_none(self, name):
        """``if x_bar is None: x_bar = zeros``: the adjoint of a value that
        the first iteration backwards receives and later ones start at zero."""
        test = gast.Compare(left=load(self.bar_of(name)), ops=[gast.Is()], comparators=[constant(None)])
        return gast.If(test=test, body=[self.absent_init(name)], orelse=[])


    def absent_init(self, name):
        """``x_bar = absent zeros``: the adjoint of a value the branch taken
        did not use; its rule pulls them back to zeros (never 0 * inf)."""
        init = self.zero_init(name)
        init.value.func.attr = "absent_bar"
        return init

    def reverse_if(self, op):
        self.fresh.clear()
        before = set(self.has_bar)
        then_body = self.reverse_block(op.body)
        after_then, self.has_bar = self.has_bar, set(before)
        else_body = self.reverse_block(op.orelse)
        after_else = self.has_bar
        then_body.extend(self.absent_init(n) for n in sorted(after_else - after_then))
        else_body.extend(self.absent_init(n) for n in sorted(after_then - after_else))
        self.has_bar = after_then | after_else
        self.fresh.clear()
        if not then_body and not else_body:
            return
        self.body.append(self.comments.marker(f"{self.line_comment(op.lineno)} (the branch taken)"))
        self.body.append(gast.If(test=clone(op.value), body=then_body or [gast.Pass()], orelse=else_body))

    def reverse_loop(self, op):
        """The loop backwards, over the values each iteration saved on its tape."""
        fresh_before = set(self.fresh)
        self.fresh.clear()
        inner_ops = list(walk_ops(op.body + op.latch))
        defined = {t for o in inner_ops for t in o.targets}
        read = set().union(*(o.reads() for o in inner_ops if not o.compound)) if inner_ops else set()
        active = self.activity.active
        carried_in = {n for n in (read - defined) | set(op.carried) if n in active}
        if not any(t in active for o in inner_ops for t in o.targets):
            return
        before = set(self.has_bar)
        init = [self.absent_init(n) for n in sorted(carried_in - before)]
        entry = before | carried_in
        self.has_bar = set(entry)
        # An adjoint carried into the loop is an array this backward pass made
        # if it was one before the loop (or starts as zeros) and every
        # iteration leaves it one; assumed here, checked after the body.
        assumed = {n for n in carried_in if n not in before or n in fresh_before}
        self.fresh = set(assumed)
        body = self.reverse_block(op.body + op.latch)
        if not all(n in self.fresh or n not in self.has_bar for n in assumed):
            body = [_without_in_place(stmt, self.module_names["rt"]) for stmt in body]
        # The next iteration backwards needs the adjoints the body consumed
        # again, as zeros shaped like that iteration's values (a loop may
        # change a value's shape: the layers of an MLP). A carried name's
        # saved value is the one it held when its iteration began, the shape
        # the earlier iteration ended with. A name only the body binds holds
        # this iteration's value instead: its adjoint is left None here and
        # made from the saved value at the top of the next iteration.
        consumed = sorted(entry - self.has_bar)
        per_iteration = [n for n in consumed if n not in op.carried]
        body = [self.zero_if_none(n) for n in per_iteration] + body
        body.extend(self.absent_init(n) for n in consumed if n in op.carried)
        body.extend(gast.Assign(targets=[store(self.bar_of(n))], value=constant(None), type_comment=None)
                    for n in per_iteration)
        self.has_bar = entry
        self.fresh.clear()
        op.tape = self.namer.fresh("tape")
        loop = gast.For(target=gast.Tuple(elts=[], ctx=gast.Store()),
                        iter=gast.Subscript(value=load(op.tape),
                                            slice=gast.Slice(lower=None, upper=None, step=constant(-1)),
                                            ctx=gast.Load()),
                        body=body or [gast.Pass()], orelse=[], type_comment=None)
        self.loops.append((op, loop))
        self.body.extend(init)
        self.body.append(self.comments.marker(f"{self.line_comment(op.lineno)} (iterations in reverse)"))
        self.body.append(loop)

    def line_comment(self, lineno):
        text = self.parsed.lines[lineno - 1].strip() if 0 < lineno <= len(self.parsed.lines) else ""
        return f"line {lineno}: {text}"

    def adjoint_of(self, op):
        try:
            self._adjoint_of(op)
        except errors.NoRuleError as error:
            if id(op) not in self.activity.in_branches:
                raise
            self.activity.deferred[id(op)] = error
        if id(op) in self.activity.deferred:
            self.missing_rule(op)

    def missing_rule(self, op):
        """The backward pass of a branch whose derivative is missing: an
        error that names the user's line, raised only if the branch ran."""
        message = str(self.activity.deferred[id(op)]).splitlines()[0]
        self.body.append(gast.Expr(value=self.rt_call("missing_rule", constant(message))))

    def _adjoint_of(self, op):
        if id(op) in self.activity.deferred:
            return
        if not carries_derivative(op):
            # a constant (np.zeros, stop_gradient, a no_grad block) merged with a
            # differentiated value of another path of a branch: no contribution
            return
        self.moving = op.prim is rt.identity and len(op.args) == 1
        if op.prim is UNPACK:
            return self.unpack_adjoint(op)
        target = op.targets[0]
        if target not in self.has_bar or op.prim is NONDIFF:
            # Only reached through a container element that got no cotangent,
            # or a name left unbound on this path of a branch.
            return
        result_bar = load(self.bar_of(target))
        if op.prim is rt.append:  # items.append(value): the batch size fills a missing adjoint
            items, value, position = op.args
            if self.is_active(items):
                self.contribute(items.id, self.rt_call("list_head", result_bar, position))
            if self.is_active(value):
                self.uses_batch = True
                self.contribute(value.id, self.rt_call("element_bar", result_bar, position, load(value.id),
                                                       load(self.batch_name)))
            return
        if op.prim is rt.concat_items:  # a + b on lists
            for which, part in enumerate(op.args):
                if self.is_active(part):
                    self.contribute(part.id, self.rt_call("concat_items_adjoint", result_bar, load(op.args[0].id)
                                                          if isinstance(op.args[0], gast.Name) else op.args[0],
                                                          load(op.args[1].id) if isinstance(op.args[1], gast.Name)
                                                          else op.args[1], constant(which)))
            return
        if op.prim is rt.repeat_items:  # items * n on a list
            items, count = op.args
            if self.is_active(items):
                self.contribute(items.id, self.rt_call("repeat_items_adjoint", result_bar, load(items.id), count))
            return
        if op.prim in (rt.store_attribute, rt.init_attribute):  # obj.name = value (runtime.objects)
            obj, name, value = op.args
            if self.is_active(obj):
                self.contribute(obj.id, self.rt_call("without_attribute", result_bar, name))
            if self.is_active(value):
                self.uses_batch = True
                self.contribute(value.id, self.rt_call("attribute_bar", result_bar, clone(name), load(value.id),
                                                       load(self.batch_name)))
            return
        if op.prim is rt.replace_item:  # container[key] = value on a list or dict
            container, key, value = op.args
            if self.is_active(container):
                self.contribute(container.id, self.rt_call("without_item", result_bar, key, load(container.id)))
            if self.is_active(value):
                self.uses_batch = True
                self.contribute(value.id, self.rt_call("element_bar", result_bar, key, load(value.id),
                                                       load(self.batch_name)))
            return
        if op.prim in (rt.make_tuple, rt.make_list, rt.make_dict):
            keys = op.keys if op.keys is not None else range(len(op.args))  # rt.make_tuple(...) in generated code
            for key, element in zip(keys, op.args, strict=True):
                if self.is_active(element):
                    key_node = key if isinstance(key, gast.AST) else constant(key)
                    self.uses_batch = True
                    self.contribute(element.id, self.rt_call("element_bar", result_bar, key_node,
                                                             load(element.id), load(self.batch_name)))
            return
        if op.prim is rt.tuple_tangent:  # forward code differentiated again: item tangents fill slots
            slots = op.kwargs.get("slots")
            for position, element in enumerate(op.args[1:]):
                if self.is_active(element):
                    key = constant(position) if slots is None else gast.Subscript(
                        value=clone(slots), slice=constant(position), ctx=gast.Load())
                    self.uses_batch = True
                    self.contribute(element.id, self.rt_call("element_bar", result_bar, key, load(element.id),
                                                             load(self.batch_name)))
            return
        if op.prim is rt.setitem and target in self.fresh:
            return self.setitem_in_place(op, result_bar)
        if isinstance(op.prim, UserCall):
            return self.user_call_adjoint(op, result_bar)
        if isinstance(op.prim, MethodCall):
            return self.method_call_adjoint(op, result_bar)
        if isinstance(op.prim, StarredCall):
            return self.starred_call_adjoint(op, result_bar)
        rule = rules.lookup(op.prim)
        if isinstance(rule, rules.CustomVJP):
            return self.custom_adjoint(op, rule, result_bar)
        self.template_adjoint(op, rule, result_bar)

    def template_adjoint(self, op, rule, result_bar):
        template = template_for(rule)
        try:
            bindings, supplied = template.bind(op.args, op.kwargs)
        except TypeError as exc:
            raise errors.NoRuleError(
                self.location(op), op.construct,
                f"adjoint's derivative rule does not take this form of the call ({exc}).",
                "Call it with the arguments the rule takes (docs/supported.md lists them), or "
                "register a rule with adjoint.defvjp.",
            ) from None
        active = {p for p, atom in bindings.items() if self.is_active(atom)}
        missing = active - template.contributed - rules.ADJOINT_CONSTANTS.get(op.prim, frozenset())
        if missing and op.prim is rt.getitem:
            raise errors.NoRuleError(
                self.location(op), op.construct,
                "the index depends on the differentiated values (an item of a differentiated "
                "container: for k in params: or sorted(params) makes k one), and an index has no "
                "derivative.",
                "Loop over params.keys() or params.items() (or index the dict you loop over: "
                "for k in params: ... params[k] ...), over range(len(...)) for indices, or wrap the "
                "index in adjoint.stop_gradient(...).",
            )
        if missing and op.prim is np.einsum and "subscripts" in missing:
            raise errors.NoRuleError(
                self.location(op), op.construct,
                "the operand / sublist form of einsum (einsum(x, [0, 1], y, [1, 2])) is differentiated "
                "only with its sublists written as literal lists of integers.",
                "Write the sublists in the call, or the subscripts string: np.einsum('ij,jk->ik', x, y).",
            )
        if missing:
            raise errors.NoRuleError(
                self.location(op), op.construct,
                f"no derivative with respect to argument {sorted(missing)[0]!r} is defined.",
                "Wrap that argument in adjoint.stop_gradient(...) or register a rule with adjoint.defvjp.",
            )
        if op.cast is not None:
            # dtype= known only now: nothing through integers or booleans
            cast = self.namer.fresh(f"{op.targets[0]}_bar_cast")
            self.body.append(gast.Assign(targets=[store(cast)], value=self.rt_call(
                "cast_adjoint", result_bar, clone(op.cast)), type_comment=None))
            result_bar = load(cast)
        prelude, contributions = template.expand(
            load(op.targets[0]), result_bar, bindings, supplied, active, self.namer,
            names_for(template, self.module_names, self.namer, self.extra_globals)
        )
        found = [n for part in list(prelude) + list(contributions.values()) for n in walk_tree(part)
                 if self.is_rt_call(n, "real_for") or self.is_rt_call(n, "abs_slope")]
        if found:
            # (the real part of a product's helper, x @ z, is no check on the arguments: real code of
            # real values is as it was, a complex argument there refused as before, at the result)
            if any(not (self.is_rt_call(n, "real_for") and isinstance(n.args[0], gast.Call)
                        and isinstance(n.args[0].func, gast.Attribute) and isinstance(n.args[0].func.value, gast.Name)
                        and n.args[0].func.value.id == self.module_names["rt"]
                        and n.args[0].func.attr in REAL_PRODUCT_HELPERS) for n in found):
                self.complex_sensitive = True
            if not self.complex_mix.possible:  # derivative code for real values (analysis/complex_values.py)
                prelude = [real_only(stmt, self.module_names) for stmt in prelude]
                contributions = {k: real_only(v, self.module_names) for k, v in contributions.items()}
        self.body.extend(prelude)
        for param in template.params:
            if param in contributions:
                name = bindings[param].id
                contribution = self.without_noop_unbroadcast(contributions[param], name, op.targets[0])
                if op.prim in rules.SEQUENCE_RULES and (name in self.normalized.params or name in self.array_names):
                    # np.stack(x) of one array x: the items' adjoints, as x's adjoint
                    contribution = self.rt_call("sequence_adjoint_of", contribution, load(name))
                self.contribute(name, contribution)

    def without_noop_unbroadcast(self, expr, name, result):
        """``rt.unbroadcast(e, x)`` is ``e`` when x has the result's shape."""
        if (isinstance(expr, gast.Call) and isinstance(expr.func, gast.Attribute)
                and expr.func.attr == "unbroadcast"
                and isinstance(expr.func.value, gast.Name) and expr.func.value.id == self.module_names["rt"]
                and self.shapes.same(name, result)):
            if self.complex_mix.keeps_unbroadcast(name, self.shapes.same(name, SCALAR), self):
                return expr
            return expr.args[0]
        return expr

    def custom_adjoint(self, op, rule, result_bar):
        if any(self.is_active(v) for v in op.kwargs.values()):
            raise errors.NoRuleError(
                self.location(op), op.construct,
                "a differentiated value is passed by keyword to a function with a defvjp rule.",
                "Pass it positionally: defvjp makers are matched to positional arguments.",
            )
        name = getattr(rule.primitive, "__name__", "custom")
        for position, atom in enumerate(op.args):
            if not self.is_active(atom):
                continue
            maker = rule.makers[position] if position < len(rule.makers) else None
            if maker is None:
                raise errors.NoRuleError(
                    self.location(op), op.construct,
                    f"its defvjp rule gives no derivative for positional argument {position}.",
                    "Add a maker for that argument, or wrap it in adjoint.stop_gradient(...).",
                )
            maker_name = self.namer.fresh(f"{name}_vjp_{position}")
            self.extra_globals[maker_name] = maker
            call = self.rt_call("call_vjp", load(maker_name), constant(rule.batched), result_bar,
                                load(op.targets[0]), *op.args)
            call.keywords = [gast.keyword(arg=k, value=v) for k, v in op.kwargs.items()]
            self.contribute(atom.id, call)

    def user_call_adjoint(self, op, result_bar):
        """A call of the user's function: its own transform's backward pass,
        compiled for the arguments that carry derivatives here."""
        call = op.prim
        try:
            found = call.differentiated(op.args, op.kwargs, self.is_active)
        except TypeError as exc:
            raise errors.TransformError(self.location(op), op.construct, f"the call does not match "
                                        f"the function's parameters ({exc}).", "Fix the call.") from None
        if not found:
            return
        positions = tuple(position for position, _, _ in found)
        atoms = [atom for _, _, atom in found]
        forward, backward = self.callee_functions(call, positions)
        op.call_forward = forward
        self.extra_globals.update(call.bound)
        parts = [self.namer.fresh(f"{a.id}_bar_from_{call.name}") for a in atoms]
        self.call_adjoints.update(parts)
        self.body.append(gast.Assign(
            targets=[gast.Tuple(elts=[store(p) for p in parts], ctx=gast.Store())],
            value=gast.Call(func=load(backward), args=[load(op.targets[1]), result_bar], keywords=[]),
            type_comment=None))
        for atom, part in zip(atoms, parts, strict=True):
            self.contribute(atom.id, load(part))

    def method_call_adjoint(self, op, result_bar):
        """``obj.name(args)`` on an object known only at run time: the method is
        transformed when first called, for the positional arguments that carry
        derivatives here (the object itself is position 0 and carries none)."""
        if any(self.is_active(v) for v in op.kwargs.values()):
            raise errors.NoRuleError(
                self.location(op), op.construct,
                "a differentiated value is passed by keyword to a method known only at run time.",
                "Pass it positionally.")
        active = [(i, a) for i, a in enumerate(op.args) if i > 0 and self.is_active(a)]
        if not active:
            return
        # A method's object is its parameter 0; a function passed in is not
        # one of its own parameters.
        shift = 0 if op.prim.name is not None else 1
        positions = tuple(i - shift for i, _ in active)
        op.call_forward = ("method", op.prim.name, positions)
        parts = [self.namer.fresh(f"{a.id}_bar_from_{op.prim.label}") for _, a in active]
        self.call_adjoints.update(parts)
        self.body.append(gast.Assign(
            targets=[gast.Tuple(elts=[store(p) for p in parts], ctx=gast.Store())],
            value=self.rt_call("call_backward", load(op.targets[1]), result_bar),
            type_comment=None))
        for (_, atom), part in zip(active, parts, strict=True):
            self.contribute(atom.id, load(part))

    def starred_call_adjoint(self, op, result_bar):
        """A call laid out when it runs (``f(*seq)``, ``g(**mapping)``): the
        callee is transformed then (``rt.starred_forward``), and its backward
        pass gives one adjoint per argument atom (``rt.starred_backward``)."""
        active = tuple(self.is_active(a) for a in op.args)
        if not any(active):
            return
        op.call_forward = ("starred", op.prim, active)
        parts = [self.namer.fresh(f"{a.id}_bar_from_call") if flag else self.namer.fresh("_")
                 for a, flag in zip(op.args, active, strict=True)]
        self.call_adjoints.update(p for p, flag in zip(parts, active, strict=True) if flag)
        self.body.append(gast.Assign(
            targets=[gast.Tuple(elts=[store(p) for p in parts], ctx=gast.Store())],
            value=self.rt_call("starred_backward", load(op.targets[1]), constant(active), result_bar),
            type_comment=None))
        for atom, part, flag in zip(op.args, parts, active, strict=True):
            if flag:
                self.contribute(atom.id, load(part))

    def callee_functions(self, call, positions):
        """Names bound to the callee's forward and backward functions."""
        function = call.function
        key = (function, positions, call.arity)
        if key in self.callee_names:  # called again with the same arguments differentiated
            return self.callee_names[key]
        forward = self.namer.fresh(f"{call.name}_forward")
        backward = self.namer.fresh(f"{call.name}_backward")
        self.callee_names[key] = forward, backward
        if self.callees.in_progress(function):  # recursion: compiled when first called
            self.extra_globals[forward] = self.callees.lazy(function, positions, "forward", arity=call.arity)
            self.extra_globals[backward] = self.callees.lazy(function, positions, "backward", arity=call.arity)
        else:
            compiled = self.callees.vjp(function, positions, call.arity)
            self.callee_transforms.append(compiled)
            # (through the callee's local Jacobian where it is small: backend/local_calls.py)
            self.extra_globals[forward], self.extra_globals[backward] = self.callees.reverse_pair(
                function, compiled, positions, call.arity)
        return forward, backward

    def unpack_adjoint(self, op):
        bars = [load(self.bar_names[t]) if t in self.has_bar else constant(None) for t in op.targets]
        if all(isinstance(b, gast.Constant) for b in bars):
            return
        value = op.args[0]
        self.contribute(value.id, self.rt_call("unpack_bar", load(value.id),
                                               gast.Tuple(elts=bars, ctx=gast.Load())))


def _without_with(ops):
    """The ops with the bodies of "with" ops in their place: a context manager
    changes how the forward pass runs, not what the backward pass does."""
    flat = []
    for op in ops:
        if op.kind == "with":
            flat.extend(_without_with(op.body))
        else:
            flat.append(op)
    return flat
