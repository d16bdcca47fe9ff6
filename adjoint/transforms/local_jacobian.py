"""The local Jacobian of a small function, written out entry by entry.

A function called many times on a few scalars (the rate function of an ODE
stepped in a Python loop) costs its caller's derivative one generated call
per use and per pass, each a string of NumPy calls on batches of three
numbers. A careful person writes such a function's Jacobian by hand instead:
a small matrix built from scalar expressions, applied to the batch of
tangents or cotangents as one product. ``build`` writes that function: for
the shapes of the differentiated arguments at a call (scalars and short 1-d
vectors), forward mode unrolled over the flat input components, each entry
of the Jacobian a scalar expression, with structural zeros and ones folded
away while the code is written.

Input: the normalized function (``Normalized``: straight-line ops), the
differentiated parameters and their shapes. Output: a ``gast.FunctionDef``
with the function's own parameters returning ``(out, J)``, ``out`` computed
by the user's statements as they are and ``J`` of shape ``(out size, total
input size)``; or ``None`` when the function is not of this kind (a branch,
a loop, an operation without a scalar rule here, a result that is not a
scalar or a 1-d array of scalars). The primal statements are the user's;
what the code assumes of values it does not differentiate (that a name read
from the module holds a number) is checked by the caller on the result's
shape (backend/local_calls.py).
"""
import gast
import numpy as np

from .. import runtime as rt
from ..frontend.gastutil import clone, constant, load, store, walk as walk_tree
from ..frontend.ir import UNPACK, UserCall

#: the largest total input size and output size written out entry by entry
MAX_SIZE = 16
#: the most statements a function may have to be written out
MAX_OPS = 200


class NotLocal(Exception):
    """The function is not a straight-line computation on a few scalars."""


class _Value:
    """A differentiated value: its shape (``()`` or ``(k,)``) and, per flat
    component, the entries of its row of the Jacobian ({input index: atom})."""

    def __init__(self, shape, rows):
        self.shape = shape
        self.rows = rows


def _number(node):
    return isinstance(node, gast.Constant) and type(node.value) in (int, float) and not isinstance(node.value, bool)


class _Writer:
    def __init__(self, normalized, wrt, shapes, np_name, namer_taken):
        self.normalized = normalized
        self.np_name = np_name
        self.taken = set(namer_taken)
        self.counter = 0
        self.body = []
        self.values = {}  # name -> _Value
        #: whether a partial may be infinite or NaN where the values are finite
        #: (a division, a power, a log, a square root, a tangent)
        self.singular = False
        self.lists = {}  # name -> list of element atoms (a list literal of scalars)
        offset = 0
        for name, shape in zip(wrt, shapes, strict=True):
            size = int(np.prod(shape)) if shape else 1
            self.values[name] = _Value(shape, [{offset + j: constant(1.0)} for j in range(size)])
            offset += size
        self.size = offset

    # -------------------------------------------------------------- atoms
    def fresh(self, stem):
        while True:
            self.counter += 1
            name = f"{stem}_{self.counter}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def let(self, expr, stem="d"):
        """``expr`` as an atom: itself when it is one, else a fresh name bound to it."""
        if isinstance(expr, (gast.Name, gast.Constant)):
            return expr
        name = self.fresh(stem)
        self.body.append(gast.Assign(targets=[store(name)], value=expr, type_comment=None))
        return load(name)

    def np_call(self, function, *args):
        return gast.Call(func=gast.Attribute(value=load(self.np_name), attr=function, ctx=gast.Load()),
                         args=list(args), keywords=[])

    def times(self, a, b):
        """The atom ``a * b``, folding numbers."""
        if _number(a) and _number(b):
            return constant(a.value * b.value)
        if _number(a):
            a, b = b, a
        if _number(b):
            if b.value == 1:
                return a
            if b.value == -1:
                return self.let(gast.UnaryOp(op=gast.USub(), operand=clone(a)))
            if b.value == 0:
                return constant(0.0)
        return self.let(gast.BinOp(left=clone(a), op=gast.Mult(), right=clone(b)))

    def plus(self, a, b):
        if _number(a) and _number(b):
            return constant(a.value + b.value)
        return self.let(gast.BinOp(left=clone(a), op=gast.Add(), right=clone(b)))

    def combine(self, parts):
        """The row ``sum(factor * row)`` over ``parts`` ((factor atom, row) pairs)."""
        out = {}
        for factor, row in parts:
            for index, entry in row.items():
                term = self.times(factor, entry)
                if _number(term) and term.value == 0:
                    continue
                out[index] = self.plus(out[index], term) if index in out else term
        return out

    # -------------------------------------------------------------- values
    def value_of(self, atom):
        """The _Value of a differentiated atom, or None for a constant."""
        if isinstance(atom, gast.Name) and atom.id in self.values:
            return self.values[atom.id]
        if isinstance(atom, gast.Name) and atom.id in self.lists:
            raise NotLocal("a list used as a value")
        return None

    def component(self, atom, value, j):
        """The primal atom of component ``j`` of ``atom`` (broadcast: a scalar
        or a constant stands for every component)."""
        if value is None or value.shape == ():
            return atom
        return self.let(gast.Subscript(value=clone(atom), slice=constant(j), ctx=gast.Load()), "c")

    def row(self, value, j):
        if value is None:
            return {}
        return value.rows[0] if value.shape == () else value.rows[j]

    # -------------------------------------------------------------- ops
    def op(self, op):
        if op.compound or op.kind not in ("assign", UNPACK) or (op.statement is not None and op.kind != UNPACK):
            raise NotLocal(op.kind)
        if isinstance(op.prim, UserCall) or op.call_forward is not None:
            raise NotLocal("a call")
        if op.kind == UNPACK:
            if op.statement is not None and any(isinstance(n, gast.Starred) for n in walk_tree(op.statement)):
                raise NotLocal("starred unpacking")
            self.body.append(gast.Assign(targets=[gast.Tuple(elts=[store(t) for t in op.targets],
                                                             ctx=gast.Store())],
                                         value=clone(op.value), type_comment=None))
            value = self.value_of(op.args[0])
            if value is None:
                return
            if value.shape != (len(op.targets),):
                raise NotLocal("unpacking")
            for j, target in enumerate(op.targets):
                self.values[target] = _Value((), [value.rows[j]])
            return
        target = op.targets[0]
        self.body.append(gast.Assign(targets=[store(target)], value=clone(op.value), type_comment=None))
        if op.prim is rt.make_list:
            if op.kwargs:
                raise NotLocal("list")
            for atom in op.args:
                value = self.value_of(atom)
                if value is not None and value.shape != ():
                    raise NotLocal("a list of arrays")
            self.lists[target] = list(op.args)
            return
        args = list(op.args)
        if op.prim is np.array and len(args) == 1 and isinstance(args[0], gast.Name) and args[0].id in self.lists:
            if op.kwargs:
                raise NotLocal("keyword arguments")
            return self.array(target, args)
        values = [self.value_of(a) for a in args]
        if all(v is None for v in values):
            return  # a constant
        if op.kwargs:
            raise NotLocal("keyword arguments")
        if op.prim in _SINGULAR:
            self.singular = True
        if op.prim is rt.getitem:
            self.getitem(target, args, values)
        elif op.prim in _BINARY:
            self.binary(target, op.prim, args, values)
        elif op.prim in _UNARY:
            self.unary(target, op.prim, args, values)
        else:
            raise NotLocal(getattr(op.prim, "__name__", str(op.prim)))

    def getitem(self, target, args, values):
        value, index = values[0], args[1]
        if value is None or len(args) != 2 or not (isinstance(index, gast.Constant) and type(index.value) is int):
            raise NotLocal("an index")
        if len(value.shape) != 1 or not -value.shape[0] <= index.value < value.shape[0]:
            raise NotLocal("an index")
        self.values[target] = _Value((), [value.rows[index.value % value.shape[0]]])

    def array(self, target, args):
        rows = [self.row(self.value_of(atom), 0) for atom in self.lists[args[0].id]]
        self.values[target] = _Value((len(rows),), rows)

    def shape_of(self, values):
        shapes = {v.shape for v in values if v is not None and v.shape != ()}
        if len(shapes) > 1:
            raise NotLocal("shapes")
        return shapes.pop() if shapes else ()

    def binary(self, target, prim, args, values):
        if len(args) != 2:
            raise NotLocal("arguments")
        shape = self.shape_of(values)
        (x, y), (vx, vy) = args, values
        rows = []
        for j in range(shape[0] if shape else 1):
            dx, dy = self.row(vx, j), self.row(vy, j)
            if prim is np.add:
                rows.append(self.combine([(constant(1.0), dx), (constant(1.0), dy)]))
            elif prim is np.subtract:
                rows.append(self.combine([(constant(1.0), dx), (constant(-1.0), dy)]))
            elif prim is np.multiply:
                rows.append(self.combine([(self.component(y, vy, j), dx), (self.component(x, vx, j), dy)]))
            elif prim is np.divide:
                yj = self.component(y, vy, j)
                inverse = self.let(gast.BinOp(left=constant(1.0), op=gast.Div(), right=clone(yj)), "f")
                parts = [(inverse, dx)]
                if dy:
                    zj = self.component(load(target), _Value(shape, None), j)
                    ratio = gast.BinOp(left=clone(zj), op=gast.Mult(), right=clone(inverse))
                    parts.append((self.let(gast.UnaryOp(op=gast.USub(), operand=ratio), "f"), dy))
                rows.append(self.combine(parts))
            else:  # np.power
                xj, yj = self.component(x, vx, j), self.component(y, vy, j)
                parts = []
                if dx:
                    if _number(yj) and yj.value == 2:
                        power = xj
                    elif _number(yj):
                        power = self.let(gast.BinOp(left=clone(xj), op=gast.Pow(), right=constant(yj.value - 1)))
                    else:
                        power = self.let(gast.BinOp(left=clone(xj), op=gast.Pow(), right=gast.BinOp(
                            left=clone(yj), op=gast.Sub(), right=constant(1))), "f")
                    parts.append((self.times(yj, power), dx))
                if dy:
                    zj = self.component(load(target), _Value(shape, None), j)
                    parts.append((self.times(zj, self.let(self.np_call("log", clone(xj)), "f")), dy))
                rows.append(self.combine(parts))
        self.values[target] = _Value(shape, rows)

    def unary(self, target, prim, args, values):
        if len(args) != 1:
            raise NotLocal("arguments")
        (x,), (vx,) = args, values
        shape = vx.shape
        rows = []
        for j in range(shape[0] if shape else 1):
            xj = self.component(x, vx, j)
            zj = self.component(load(target), vx, j)
            factor = _UNARY[prim](self, xj, zj)
            rows.append(self.combine([(factor, vx.rows[j])]))
        self.values[target] = _Value(shape, rows)

    # -------------------------------------------------------------- result
    def jacobian(self, result):
        value = self.value_of(result) if isinstance(result, gast.Name) else None
        if value is None or len(value.shape) > 1:
            raise NotLocal("the result")
        zero = constant(0.0)
        matrix = gast.List(elts=[gast.List(elts=[clone(row.get(i, zero)) for i in range(self.size)],
                                           ctx=gast.Load()) for row in value.rows], ctx=gast.Load())
        return value.shape, self.np_call("array", matrix)


def _scaled(function, sign=1.0):
    def factor(writer, x, z):
        value = writer.let(writer.np_call(function, clone(x)), "f")
        return value if sign == 1.0 else writer.times(constant(sign), value)
    return factor


def _tanh(writer, x, z):
    square = writer.let(gast.BinOp(left=clone(z), op=gast.Mult(), right=clone(z)), "f")
    return writer.let(gast.BinOp(left=constant(1.0), op=gast.Sub(), right=square), "f")


def _tan(writer, x, z):
    square = writer.let(gast.BinOp(left=clone(z), op=gast.Mult(), right=clone(z)), "f")
    return writer.let(gast.BinOp(left=constant(1.0), op=gast.Add(), right=square), "f")


_BINARY = (np.add, np.subtract, np.multiply, np.divide, np.power)
_SINGULAR = (np.divide, np.power, np.log, np.sqrt, np.tan)
_UNARY = {
    np.negative: lambda writer, x, z: constant(-1.0),
    np.positive: lambda writer, x, z: constant(1.0),
    np.sin: _scaled("cos"),
    np.cos: _scaled("sin", -1.0),
    np.exp: lambda writer, x, z: z,
    np.log: lambda writer, x, z: writer.let(gast.BinOp(left=constant(1.0), op=gast.Div(), right=clone(x)), "f"),
    np.sqrt: lambda writer, x, z: writer.let(gast.BinOp(left=constant(0.5), op=gast.Div(), right=clone(z)), "f"),
    np.square: lambda writer, x, z: writer.times(constant(2.0), x),
    np.tanh: _tanh,
    np.tan: _tan,
}


def build(normalized, arguments, wrt, shapes, np_name, name, taken):
    """The local-Jacobian function of ``normalized`` for differentiated
    parameters ``wrt`` of ``shapes`` (each ``()`` or ``(k,)``): ``(function
    definition, output shape, singular)``, or None when it is not of this kind (see the
    module docstring). ``arguments``: the function's own ``gast.arguments``;
    ``taken``: names the code must not bind. ``singular``: whether an entry
    may be infinite or NaN where the function's values are finite."""
    if normalized.prologue or len(normalized.ops) > MAX_OPS:
        return None
    if normalized.augmented_params or getattr(normalized, "outside_stores", None):
        return None  # it changes what its caller holds
    if any(len(shape) > 1 for shape in shapes):
        return None
    writer = _Writer(normalized, wrt, shapes, np_name, taken)
    if not 0 < writer.size <= MAX_SIZE:
        return None
    try:
        for op in normalized.ops:
            writer.op(op)
        out_shape, matrix = writer.jacobian(normalized.result)
    except NotLocal:
        return None
    if (out_shape[0] if out_shape else 1) > MAX_SIZE:
        return None
    jacobian = writer.fresh("jacobian")
    body = writer.body + [
        gast.Assign(targets=[store(jacobian)], value=matrix, type_comment=None),
        gast.Return(value=gast.Tuple(elts=[clone(normalized.result), load(jacobian)], ctx=gast.Load())),
    ]
    arguments = clone(arguments)  # (the defaults are the function's own values, set when compiled)
    arguments.defaults = []
    arguments.kw_defaults = [None] * len(arguments.kwonlyargs)
    function = gast.FunctionDef(name=name, args=arguments, body=body, decorator_list=[], returns=None,
                                type_comment=None, type_params=[])
    return function, out_shape, writer.singular
