"""A-normal form of expressions: atoms (names and constants), operators,
indexing, attributes; each part that is not an atom becomes an op of its own
(``Expressions.expression``), calls handed to ``normalize_calls``."""
import gast
import numpy as np

from .. import runtime as rt
from . import parameter_kinds
from .gastutil import clone, constant, load, walk as walk_tree
from .ir import BINARY_OPERATORS, NONDIFF, Op, NONDIFF_ATTRIBUTES, OPAQUE, UNARY_OPERATORS, dotted, is_atom, symbol
from .normalize_iteration import LOWERED_COMPREHENSIONS
from .normalize_list_operands import known_array
from .resolve import UNRESOLVED

#: np.r_ and np.c_ (and any other AxisConcatenator): indexing them joins arrays.
INDEX_TRICKS = (type(np.r_).__mro__[1],)


class Expressions:
    """Methods of ``normalize.Normalizer``; see its docstring for the state they share."""

    def atom(self, node):
        """The expression as an atom, emitting ops for its parts."""
        if isinstance(node, gast.Constant):
            return node
        if (isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd))
                and isinstance(node.operand, gast.Constant)
                and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool)):
            value = node.operand.value
            return constant(-value if isinstance(node.op, gast.USub) else value)
        if isinstance(node, gast.Name):
            if node.id in self.resolver.locals and node.id not in self.version:
                raise self.unsupported(node, f"name {node.id!r}",
                                       "it is read before it is assigned.",
                                       "Assign it first.")
            self.check_unambiguous_function(node)
            if self.version.get(node.id) in self.maybe_unbound:
                self.check_bound(node)
            if self.read(node.id) in self.local_functions or self.read(node.id) in self.nested_partials:
                name = self.user_names.get(node.id, node.id)  # the name the user wrote
                raise self.unsupported(node, f"nested function {name!r} used as a value",
                                       "nested functions and lambdas are inlined where they are "
                                       "called, so they cannot be passed to other functions or stored.",
                                       "Define the function at module level and pass the values it "
                                       "uses as arguments (functools.partial fixes some of them).")
            return load(self.read(node.id))
        root = node
        while isinstance(root, gast.Attribute):
            root = root.value  # (MODEL.layer.W on an object of the module followed: normalize_module_held)
        if (isinstance(node, gast.Attribute) and self.resolver.value_of(node) is not UNRESOLVED
                and not (isinstance(root, gast.Name) and self.object_tokens.get(self.version.get(root.id)))):
            return clone(node)  # (an object of the module the function changes is followed: normalize_objects)
        return self.expression(node)

    def check_bound(self, node):
        """A read of a loop-carried name that the loop may not have bound
        yet (no value before the loop): Python raises UnboundLocalError
        there, and so does the generated code (the phi holds None until then)."""
        version = self.version[node.id]
        name = self.maybe_unbound[version]
        message = (f"{self.parsed.location(node)}: local variable {name!r} is read before it is assigned (the "
                   f"loop binds it later in its body, and no earlier iteration has). Assign {name} before the "
                   "loop, or read it only once an iteration has bound it.")
        call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="check_bound", ctx=gast.Load()),
                         args=[load(version), constant(message)], keywords=[])
        self.ops.append(Op("expr", [], call, NONDIFF, [load(version)], lineno=self.lineno, no_grad=self.no_grad,
                           construct="bound check"))

    def expression(self, node, target=None, user_name=None):
        node = self.operator_as_method(node)  # v + w on objects of the user's class: normalize_operators
        if isinstance(node, gast.IfExp):
            if user_name is None:
                return self.conditional_expression(node, target or self.namer.temp())
            # Both arms read the name's current version; the new one is bound after.
            new = self.namer.fresh(user_name) if user_name in self.version else user_name
            self.namer.taken.add(new)
            self.user_versions[new] = user_name
            result = self.conditional_expression(node, new)
            self.version[user_name] = new
            self.defined.add(new)
            return result
        lowered = self.lowered_expression(node, target, user_name)
        if lowered is not None:  # comprehensions, and/or, sorted: ops of their own
            return lowered
        node = self.without_partial(node)
        local = self.local_function(node.func) if isinstance(node, gast.Call) else None
        if local is None and isinstance(node, gast.Call) and user_name is not None:
            local = self.factory(node.func)  # g = make(s): make's closure is inlined where g is called
        if local is not None:
            # The body of a nested function, its result straight into the target.
            if user_name is None:
                return self.inline(local, node, target)
            new = self.namer.fresh(user_name) if user_name in self.version else user_name
            self.namer.taken.add(new)
            self.user_versions[new] = user_name
            result = self.inline(local, node, new)
            self.version[user_name] = new
            self.defined.add(new)
            return result
        value, prim, args, kwargs, construct, keys = self.operation(node)
        if user_name is not None:
            target = self.bind(user_name)
        return self.emit(value, prim, args, kwargs, target=target, construct=construct, keys=keys)

    def parameter_kind(self, atom):
        """The kind of the argument ``atom`` holds, where it is a parameter's
        value at entry and the transform is made for that kind (see
        parameter_kinds); else None, and the parameter is noted."""
        if not isinstance(atom, gast.Name) or atom.id not in self.entry_parameters():
            return None
        if atom.id in self.param_kinds:
            return self.param_kinds[atom.id]
        parameter_kinds.note_sensitive(self.parsed.func, atom.id)
        return None

    def entry_parameters(self):
        """Names of the function's own parameters (their versions at entry bear their names)."""
        args = self.parsed.node.args
        return {a.id for a in list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)}

    def rt_helper_call(self, name, args):
        func = gast.Attribute(value=load(self.rt_name), attr=name, ctx=gast.Load())
        return gast.Call(func=func, args=[clone(a) for a in args], keywords=[])

    def operation(self, node):
        """(value, prim, args, kwargs, construct, keys) for one expression."""
        if isinstance(node, gast.BinOp):
            left, right = self.atom(node.left), self.atom(node.right)
            prim = BINARY_OPERATORS.get(type(node.op), NONDIFF)
            value = gast.BinOp(left=left, op=node.op, right=right)
            lists = [a for a in (left, right) if isinstance(a, gast.Name) and a.id in self.container_versions]
            if len(lists) == 1 and known_array(self, right if lists[0] is left else left):
                lists = []  # [x, y] + shift with an array shift: NumPy's sum (the list read as an array)
            elif len(lists) == 1 and isinstance(node.op, (gast.Add, gast.Mult)):
                other = right if lists[0] is left else left
                if self.parameter_kind(other) == "array":
                    # [x, y] + a with a parameter a that is an array in this call (parameter_kinds):
                    # NumPy's sum, the list made an array in the code (which is transformed again)
                    func = gast.Attribute(value=load(self.np_name), attr="asarray", ctx=gast.Load())
                    made = self.emit(gast.Call(func=func, args=[clone(lists[0])], keywords=[]), np.asarray,
                                     [clone(lists[0])], construct="list read as an array")
                    left, right = (made, right) if lists[0] is left else (left, made)
                    value = gast.BinOp(left=left, op=node.op, right=right)
                    lists = []
            if lists and isinstance(node.op, gast.Add):
                # states + [h]: a list made here joined with another, not arithmetic (with an operand
                # not known to be a list, by the helper, which refuses an array: NumPy would add).
                # Written as the helper's call even when both are lists, so that code transforming the
                # derivative code again sees a join where its operands are not known lists (slices of
                # x.tolist() read through rt.item_position: hessian of np.array(t[1:] + t[:1]) crashed)
                value = self.rt_helper_call("concat_items", [left, right])
                return value, rt.concat_items, [left, right], {}, "list concatenation", None
            if len(lists) == 1 and isinstance(node.op, gast.Mult):
                # items * n: Python repeats a list by an int (and refuses anything else)
                count = right if lists[0] is left else left
                if isinstance(count, gast.Name):  # (an array count would be NumPy's product: refused)
                    value = self.rt_helper_call("repeat_items", [lists[0], count])
                return value, rt.repeat_items, [lists[0], count], {}, "list repetition", None
            return value, prim, [left, right], {}, f"operator {symbol(node.op)}", None
        if isinstance(node, gast.UnaryOp):
            operand = self.atom(node.operand)
            prim = UNARY_OPERATORS[type(node.op)]
            return gast.UnaryOp(op=node.op, operand=operand), prim, [operand], {}, "unary operator", None
        if isinstance(node, gast.Compare):
            left = self.atom(node.left)
            rights = [self.atom(c) for c in node.comparators]
            value = gast.Compare(left=left, ops=node.ops, comparators=rights)
            return value, NONDIFF, [left] + rights, {}, "comparison", None
        if isinstance(node, gast.Call):
            return self.call(node)
        if isinstance(node, gast.Subscript):
            return self.subscript(node)
        if isinstance(node, gast.Attribute):
            return self.attribute(node)
        if isinstance(node, (gast.Tuple, gast.List)):
            if any(isinstance(e, gast.Starred) and not self.known_starred(e.value) for e in node.elts):
                # (*x.shape, 1): built as written; an error if its value needs a derivative
                elements = [gast.Starred(value=self.atom(e.value), ctx=gast.Load()) if isinstance(e, gast.Starred)
                            else self.atom(e) for e in node.elts]
                value = type(node)(elts=elements, ctx=gast.Load())
                return value, OPAQUE, [], {}, "starred element in a literal", None
            elements = []
            for element in node.elts:
                if isinstance(element, gast.Starred):
                    elements.extend(self.starred_items(element))
                    continue
                elements.append(self.atom(element))
            kind = gast.Tuple if isinstance(node, gast.Tuple) else gast.List
            prim = rt.make_tuple if kind is gast.Tuple else rt.make_list
            value = kind(elts=elements, ctx=gast.Load())
            return value, prim, elements, {}, "container literal", list(range(len(elements)))
        if isinstance(node, gast.Dict):
            keys, values = [], []
            for key, item in zip(node.keys, node.values, strict=True):
                if key is None:
                    raise self.unsupported(node, "**mapping in a dict literal",
                                           "not supported yet.", "Write the keys out.")
                keys.append(self.atom(key))
                values.append(self.atom(item))
            value = gast.Dict(keys=keys, values=values)
            return value, rt.make_dict, values, {}, "dict literal", keys
        if isinstance(node, (gast.Constant, gast.Name)) or is_atom(node):
            atom = self.atom(node)
            return atom, rt.identity if self.is_local(atom) else NONDIFF, [atom], {}, "copy", None
        if isinstance(node, (gast.Yield, gast.YieldFrom, gast.Await)):
            raise self.unsupported(node, type(node).__name__.lower(),
                                   "generators and coroutines cannot be differentiated.",
                                   "Return the values instead.")
        if isinstance(node, LOWERED_COMPREHENSIONS) or (isinstance(node, gast.BoolOp)
                                                        and not self.plainly_boolean(node)):
            atom = self.expression(node)  # a statement of its own: [print(v) for v in xs]
            return atom, rt.identity if self.is_local(atom) else NONDIFF, [atom], {}, "copy", None
        if isinstance(node, gast.BoolOp):
            # comparisons and `not` joined by and/or, kept as written: a flag, no derivative
            return self.rename_opaque(node), NONDIFF, [], {}, "and/or", None
        if isinstance(node, gast.NamedExpr):
            raise self.unsupported(node, "assignment expression (:=)", "not supported.",
                                   "Use a separate assignment.")
        if (isinstance(node, gast.GeneratorExp) and self.plainly_boolean(node.elt)
                and all(self.plainly_boolean(test) for generator in node.generators for test in generator.ifs)):
            # flags (v > 0.5 for v in x), for any() or all(): no derivative (generated code keeps
            # them under a name of their own, which differentiating it again reads)
            return self.rename_opaque(node), NONDIFF, [], {}, "generator of flags", None
        construct = {
            gast.BoolOp: "and/or", gast.ListComp: "list comprehension",
            gast.GeneratorExp: "generator expression", gast.DictComp: "dict comprehension",
            gast.SetComp: "set comprehension", gast.Lambda: "lambda", gast.Set: "set literal",
            gast.JoinedStr: "f-string",
        }.get(type(node), type(node).__name__)
        return self.rename_opaque(node), OPAQUE, [], {}, construct, None

    def rename_opaque(self, node):
        """A copy of ``node`` reading the current versions of the user's names."""
        node = clone(node)
        bound = {n.id for n in walk_tree(node) if isinstance(n, gast.Name)
                 and isinstance(n.ctx, (gast.Store, gast.Param))}  # (a lambda's parameters too)
        for child in walk_tree(node):
            if isinstance(child, gast.Name) and isinstance(child.ctx, gast.Load) and child.id not in bound:
                child.id = self.read(child.id)
        return node

    def subscript(self, node):
        if isinstance(self.resolver.value_of(node.value), INDEX_TRICKS):
            return self.index_trick(node)
        container = self.atom(node.value)
        index = self.index(node.slice)
        if isinstance(container, gast.Name):
            index = self.from_the_front(container.id, index)
        value = gast.Subscript(value=container, slice=index, ctx=gast.Load())
        return value, rt.getitem, [container, self.index_value(index)], {}, "indexing", None

    def index_trick(self, node):
        """``np.r_[a, b, 1:10]`` (or ``np.c_``) joins its items: it is
        ``rt.index_trick(np.r_, (a, b, np.s_[1:10]))``, differentiated in
        each item, not an index (which has no derivative)."""
        parts = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
        items = []
        for part in parts:
            if isinstance(part, gast.Slice):
                items.append(self.emit(self.index_value(self.index(part)), NONDIFF, [], construct="slice"))
            else:
                items.append(self.atom(part))
        keys = list(range(len(items)))
        joined = self.emit(gast.Tuple(elts=items, ctx=gast.Load()), rt.make_tuple, items,
                           construct="container literal", keys=keys)
        trick = clone(node.value)
        value = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="index_trick", ctx=gast.Load()),
                          args=[trick, joined], keywords=[])
        return value, rt.index_trick, [trick, joined], {}, f"{dotted(node.value)}[...]", None

    def index(self, node):
        if isinstance(node, gast.Slice):
            parts = [None if p is None else self.atom(p) for p in (node.lower, node.upper, node.step)]
            return gast.Slice(lower=parts[0], upper=parts[1], step=parts[2])
        if isinstance(node, gast.Tuple):
            return gast.Tuple(elts=[self.index(e) for e in node.elts], ctx=gast.Load())
        return self.atom(node)

    def index_value(self, index):
        """The index as an expression usable outside brackets (``np.s_[...]``)."""
        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        if any(isinstance(p, gast.Slice) for p in parts):
            return gast.Subscript(value=gast.Attribute(value=load(self.np_name), attr="s_", ctx=gast.Load()),
                                  slice=clone(index), ctx=gast.Load())
        return clone(index)

    def attribute(self, node):
        found = self.object_attribute(node)  # a property of a followed object: see normalize_objects
        if found is not None:
            return found
        receiver = self.atom(node.value)
        value = gast.Attribute(value=receiver, attr=node.attr, ctx=gast.Load())
        if (not isinstance(node.value, gast.Name) and isinstance(receiver, gast.Name)
                and self.__dict__.get("object_tokens", {}).get(receiver.id)):
            # Charged(x).energy, make(x).energy: the object made here, then a property of it
            found = self.object_attribute(gast.copy_location(value, node), made=True)
            if found is not None:
                return found
        if node.attr == "T":
            return value, rt.transpose_attribute, [receiver], {}, "attribute .T", None
        if node.attr in NONDIFF_ATTRIBUTES:
            return value, NONDIFF, [receiver], {}, f"attribute .{node.attr}", None
        if node.attr in ("real", "imag"):  # z.real is np.real(z), which reads val.real
            call = gast.Call(func=gast.Attribute(value=load(self.np_name), attr=node.attr, ctx=gast.Load()),
                             args=[receiver], keywords=[])
            return call, getattr(np, node.attr), [receiver], {}, f"attribute .{node.attr}", None
        return value, rt.attribute, [receiver, constant(node.attr)], {}, f"attribute .{node.attr}", None


#: np.r_ and np.c_ (and any other AxisConcatenator): indexing them joins arrays.
