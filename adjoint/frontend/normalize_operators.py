"""Operators on followed objects of the user's classes: ``v + w``,
``2.0 * v``, ``-v``, ``t[i]``, ``v += w`` and ``a < b`` where ``v`` is an object the
function follows (made in it, ``Vec(x)``, or one of the module or the
arguments whose attributes it follows, normalize_objects).

Python runs such an operator as a call of the class's special method, so it
is written as that call (``v.__add__(w)``, ``v.__rmul__(2.0)``,
``v.__neg__()``, ``t.__getitem__(i)``, ``v.__iadd__(w)`` where the class
defines it) before anything else reads it; the method is then inlined like
any method called on the object, and its derivative follows. Guarantees:
the call is the one Python makes, or the operator is refused at the user's
line:

- the left operand an object whose class does not define the method, or
  whose method may return ``NotImplemented`` (Python would then try the
  other operand);
- an object on the right of an operand that is not a number written in the
  source (``k * v`` with ``k`` a name: an array's operator would run
  first, elementwise over the object);
- an item of a followed object set (``t[i] = v``);
- an operand that is an object of the module the function only reads,
  whose class defines the operator.
"""
import types

import gast

from .classes import method_of
from .gastutil import clone

BINARY = {gast.Add: "add", gast.Sub: "sub", gast.Mult: "mul", gast.Div: "truediv", gast.FloorDiv: "floordiv",
          gast.Mod: "mod", gast.Pow: "pow", gast.MatMult: "matmul"}
UNARY = {gast.USub: "__neg__", gast.UAdd: "__pos__", gast.Invert: "__invert__"}
COMPARE = {gast.Lt: "__lt__", gast.LtE: "__le__", gast.Gt: "__gt__", gast.GtE: "__ge__", gast.Eq: "__eq__",
           gast.NotEq: "__ne__"}
SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%", "pow": "**",
           "matmul": "@"}


def _method_call(receiver, name, args, node):
    call = gast.Call(func=gast.Attribute(value=clone(receiver), attr=name, ctx=gast.Load()), args=list(args),
                     keywords=[])
    return gast.copy_location(call, node)


def _returns_not_implemented(function):
    return "NotImplemented" in getattr(getattr(function, "__code__", None), "co_names", ())


class Operators:
    """Methods of ``normalize.Normalizer``; see the module docstring."""

    def followed_class(self, node):
        """The class of the followed object the name ``node`` holds, else None."""
        if not (getattr(self, "follow_objects", False) and isinstance(node, gast.Name)):
            return None
        return self.object_class(self.read(node.id))  # (a user's name, or a value computed above)

    def operator_as_method(self, node, in_place=False):
        """``node`` written as the call of the special method Python makes
        (see the module docstring), or as it is if no operand is a followed
        object (its operands computed from one evaluated: object_operands).
        ``in_place``: ``node`` is the BinOp of ``v op= w``."""
        node = self.object_operands(node)
        if isinstance(node, gast.UnaryOp) and type(node.op) in UNARY:
            cls = self.followed_class(node.operand)
            if cls is None:
                return node
            name = UNARY[type(node.op)]
            self.operator_method(cls, name, node, f"unary {name[2:-2]} of an object")
            return _method_call(node.operand, name, [], node)
        if isinstance(node, gast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARE:
            cls = self.followed_class(node.left)
            name = COMPARE[type(node.ops[0])]
            method = method_of(cls, name) if cls is not None else None
            if method is None or _returns_not_implemented(method) or self.method_function(method) is None:
                return node  # (identity, a dataclass's generated __eq__: run as written, no derivative needed)
            return _method_call(node.left, name, [node.comparators[0]], node)
        if isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Load):
            cls = self.followed_class(node.value)
            if cls is None or method_of(cls, "__getitem__") is None:
                return node  # (a loop over the object reads it by position: refused there, naming the loop)
            self.operator_method(cls, "__getitem__", node, "item of an object")
            return _method_call(node.value, "__getitem__", [node.slice], node)
        if not (isinstance(node, gast.BinOp) and type(node.op) in BINARY):
            return node
        stem = BINARY[type(node.op)]
        left, right = self.followed_class(node.left), self.followed_class(node.right)
        if left is not None:
            if in_place and method_of(left, f"__i{stem}__") is not None:
                self.operator_method(left, f"__i{stem}__", node, f"operator {SYMBOLS[stem]}= on an object")
                return _method_call(node.left, f"__i{stem}__", [node.right], node)
            self.operator_method(left, f"__{stem}__", node, f"operator {SYMBOLS[stem]} on an object")
            return _method_call(node.left, f"__{stem}__", [node.right], node)
        if right is None:
            self.refuse_unfollowed_operands(node, stem)
            return node
        construct = f"operator {SYMBOLS[stem]} with an object of class {right.__name__} on the right"
        if not (isinstance(node.left, gast.Constant) and isinstance(node.left.value, (int, float))
                and not isinstance(node.left.value, bool)):
            raise self.unsupported(
                node, construct,
                "Python asks the left operand first, and adjoint knows what it is only for a number written "
                "in the source (an array on the left would apply its operator to the object elementwise).",
                f"Write the object on the left (v {SYMBOLS[stem]} k), or call the method "
                f"(v.__r{stem}__(k)).")
        self.operator_method(right, f"__r{stem}__", node, construct)
        return _method_call(node.right, f"__r{stem}__", [node.left], node)

    def object_operands(self, node):
        """``node`` with its operands that are computed from followed objects
        (``-(a - b)``, ``(a + b) * 2.0``) evaluated first, in Python's order,
        so that the operator sees the object they make."""
        if isinstance(node, gast.BinOp) and (self.computed_receiver(node.left) or self.computed_receiver(node.right)):
            left = self.atom(node.left)
            return gast.copy_location(gast.BinOp(left=left, op=node.op, right=self.atom(node.right)), node)
        if isinstance(node, gast.UnaryOp) and self.computed_receiver(node.operand):
            return gast.copy_location(gast.UnaryOp(op=node.op, operand=self.atom(node.operand)), node)
        return node

    def refuse_unfollowed_operands(self, node, stem):
        """An operand that is an object of the user's class defining this
        operator, which the function does not follow (one of its module it
        only reads): its method would run as written, without derivative."""
        from .normalize_objects import user_instance

        for operand, name in ((node.left, f"__{stem}__"), (node.right, f"__r{stem}__")):
            value = self.resolver.value_of(operand) if isinstance(operand, gast.Name) else None
            if value is None or not user_instance(value) or method_of(type(value), name) is None:
                continue
            raise self.unsupported(
                node, f"operator {SYMBOLS[stem]} on {operand.id}, an object of class {type(value).__name__}",
                "adjoint follows the operators of objects the function makes or changes, and this one it "
                "only reads, so the values its method computes would get no derivative.",
                f"Make the object in the function ({type(value).__name__}(...)), or compute with the arrays "
                f"it holds ({operand.id}.attribute).")

    def operator_method(self, cls, name, node, construct):
        """Refuses an operator whose method ``cls`` lacks or that may return NotImplemented."""
        method = method_of(cls, name)
        if method is None:
            raise self.unsupported(
                node, construct,
                f"class {cls.__name__} defines no {name} that adjoint can read in place (a plain method), "
                "and Python runs this operator by that method.",
                f"Define {name} on {cls.__name__}, or compute with the arrays the object holds.")
        if _returns_not_implemented(method):
            raise self.unsupported(
                node, construct,
                f"{cls.__name__}.{name} may return NotImplemented, and Python then asks the other operand, "
                "which adjoint does not follow.",
                f"Make {cls.__name__}.{name} handle this operand itself, or call the method that does.")

    def computed_receiver(self, node):
        """Whether ``node``, the receiver of a method call, is computed from
        a followed object by an operator or a method of it (``(a - b).norm()``,
        ``b.add(x).mul(y)``), so that it is evaluated first and its method
        read in place (normalize_objects.object_call)."""
        if isinstance(node, gast.Name):
            return self.followed_class(node) is not None
        if isinstance(node, gast.BinOp):
            return self.computed_receiver(node.left) or self.computed_receiver(node.right)
        if isinstance(node, gast.UnaryOp):
            return self.computed_receiver(node.operand)
        if isinstance(node, gast.Subscript):
            return self.computed_receiver(node.value)
        if not (isinstance(node, gast.Call) and getattr(self, "follow_objects", False)):
            return False
        from .normalize_objects import user_class

        callee = self.resolver.value_of(node.func)
        if isinstance(callee, types.MethodType) and isinstance(callee.__self__, type):
            return user_class(callee.__self__)  # Gauss.standard(mu).pdf(x): a class method (normalize_class_methods)
        if isinstance(node.func, gast.Attribute):
            return self.computed_receiver(node.func.value)
        return user_class(callee)  # Vec(x) * 2.0: the object made first
        return False

    def refuse_object_item_store(self, target):
        """``t[i] = v`` on a followed object."""
        if isinstance(target, gast.Subscript) and self.followed_class(target.value) is not None:
            cls = self.followed_class(target.value)
            raise self.unsupported(
                target, f"item of an object of class {cls.__name__} set",
                "adjoint follows an object's attributes, and an item set on it runs __setitem__, which it "
                "does not follow.",
                "Set the attribute that holds the items instead (obj.items = ...), or keep them in a list.")
