"""Generated forward-mode code specialised to the shapes of one call.

Forward mode over generated reverse-mode code (``hessian(f)``) runs the
inner gradient's statements again at every call, and many of them only
compute what the shapes decide: the output's seed (``rt.output_basis``),
its broadcast back over a reduction (``rt.unreduce``), the batch size, and
the checks of helpers that do nothing for the shapes at hand
(``rt.lift(t, z)`` when ``t`` already has ``z``'s shape, ``rt.as_tangent``
of an array, ``rt.jacobian_from_rows`` of an array, which only reshapes).
``specialized(compiled, args, ...)`` writes, once per shapes and dtypes of
the arguments, a copy of the jvp function where those are decided: values
that depend on shapes alone become constants of the copy, helpers that
return their argument (or a reshape of it) are replaced by it, and the
statements nothing reads any more (the primal values computed only for a
shape; with ``primal=False``, the primal output too) are dropped.

This is exact only where every shape in the function is decided by the
shapes and dtypes of its arguments. So only straight-line code is
specialised whose every statement is one of a known set: arithmetic
operators, NumPy ufuncs and full or axis reductions, slices by literal
bounds, and the runtime helpers listed in ``HELPERS`` (whose results'
shapes and types follow from their arguments'). It reads no global besides
NumPy and the runtime, its arguments are arrays, and each name is
assigned once. Anything else keeps the generated function as it is
(``None``). The decisions are taken from one run of the function on the
first call of a shape (a probe returning every local value), so they are
the helpers' own answers, not a re-implementation of them.
"""
import ast
import math

import numpy as np

from .. import runtime as rt
from ..frontend.gastutil import walk as walk_tree

#: runtime helpers whose result's shape and type follow from their
#: arguments' shapes and types (and literal indices).
HELPERS = frozenset({
    "batch_count", "item_tangent", "as_tangent", "lift", "output_basis", "unreduce", "unbroadcast",
    "getitem_adjoint", "merged_items", "merged", "scatter_add", "add_bar", "jacobian_from_rows",
    "batched_reshape", "batched_getitem", "times_tangent", "add_bar_tangent",
})
#: the argument of a helper that is an index or an axis: it must be literal
#: (or a name bound to a literal ``np.s_[...]``), since its value decides a shape.
#: (``rt.merged(helper, t, ...)`` passes its arguments after ``helper`` on.)
INDEX_ARGUMENTS = {"item_tangent": 2, "getitem_adjoint": 2, "scatter_add": 3, "batched_getitem": 1, "unreduce": 2}
#: NumPy functions besides the ufuncs: reductions by a literal axis.
REDUCTIONS = frozenset({"sum", "mean", "prod", "max", "min", "amax", "amin"})
#: helpers whose result depends on their arguments' shapes and dtypes alone
#: (and on the values of constant arguments): computed once, as constants.
SHAPE_VALUED = {"output_basis": (), "unreduce": (0,), "unbroadcast": (0,), "batch_count": ()}
#: helpers that may write into their argument at this position.
WRITES_INTO = {"scatter_add": 0}

#: specialisations kept per transform (shapes and dtypes -> function or None)
LIMIT = 64


def specialized(compiled, args, tangents, primal=True):
    """The jvp of ``compiled`` specialised to the shapes of ``args`` (and
    the batch of ``tangents``), or None when it cannot be (see the module's
    text). ``primal=False``: the caller reads the output's tangent only."""
    if not all(type(a) is np.ndarray for a in args) or type(tangents[0]) is not int or not all(
            type(t) is np.ndarray for t in tangents[1:]):
        return None
    signature = (primal, tangents[0]) + tuple((a.shape, a.dtype.str) for a in args) + tuple(
        (t.shape, t.dtype.str) for t in tangents[1:])
    made = compiled.__dict__.setdefault("specialized", {})
    found = made.get(signature, False)
    if found is False:
        if len(made) >= LIMIT:
            made.clear()
        try:
            found = _specialize(compiled, args, tangents, primal)
        except Exception:  # noqa: BLE001 (anything unforeseen: the generated function as it is)
            found = None
        made[signature] = found
    return found


# ------------------------------------------------------------------ the check


class _Plain:
    """Whether a function's body is straight-line code of the known forms."""

    def __init__(self, function, np_names, rt_name):
        self.np_names = np_names
        self.rt_name = rt_name
        self.params = [a.arg for a in function.args.posonlyargs + function.args.args]
        self.assigned = set()
        self.literal_names = set()  # names bound to a literal np.s_[...]

    def function(self, function):
        a = function.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or a.kw_defaults or function.decorator_list:
            return False
        body = function.body
        if not body or not isinstance(body[-1], ast.Return):
            return False
        for stmt in body[:-1]:
            if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1 or not self.expression(stmt.value):
                return False
            target = stmt.targets[0]
            names = target.elts if isinstance(target, ast.Tuple) else [target]
            for name in names:
                if not isinstance(name, ast.Name) or name.id in self.assigned or name.id in self.params:
                    return False
                self.assigned.add(name.id)
            if isinstance(target, ast.Name) and self.is_s_(stmt.value):
                self.literal_names.add(target.id)
        returned = body[-1].value
        return (isinstance(returned, ast.Tuple) and len(returned.elts) == 2
                and all(isinstance(e, ast.Name) and e.id in self.assigned for e in returned.elts))

    def local(self, node):
        return isinstance(node, ast.Name) and (node.id in self.assigned or node.id in self.params)

    def literal_index(self, node):
        if isinstance(node, ast.Tuple):
            return all(self.literal_index(e) for e in node.elts)
        if isinstance(node, ast.Slice):
            return all(part is None or _literal_int(part) for part in (node.lower, node.upper, node.step))
        return _literal_int(node)

    def is_s_(self, node):
        return (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                and node.value.attr == "s_" and isinstance(node.value.value, ast.Name)
                and node.value.value.id in self.np_names and self.literal_index(node.slice))

    def helper(self, node):
        """``rt.<name>`` of a listed helper: its name, else None."""
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == self.rt_name and node.attr in HELPERS):
            return node.attr
        return None

    def numpy_function(self, node):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in self.np_names):
            return False
        return node.attr in REDUCTIONS or isinstance(getattr(np, node.attr, None), np.ufunc)

    def expression(self, node):
        if isinstance(node, ast.Constant):
            return type(node.value) in (int, float) or node.value is None
        if isinstance(node, ast.Name):
            return self.local(node)
        if isinstance(node, ast.BinOp):
            return (isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult))
                    and self.expression(node.left) and self.expression(node.right))
        if isinstance(node, ast.UnaryOp):
            return isinstance(node.op, (ast.USub, ast.UAdd)) and self.expression(node.operand)
        if isinstance(node, ast.Subscript):
            if self.is_s_(node):
                return True
            return self.local(node.value) and self.literal_index(node.slice)
        if isinstance(node, ast.Call):
            helper = self.helper(node.func)
            if helper:
                if not (all(self.expression(a) or self.helper(a) for a in node.args) and all(
                        k.arg is not None and isinstance(k.value, ast.Constant) for k in node.keywords)):
                    return False
                args = node.args
                if helper in ("merged", "merged_items"):  # rt.merged(helper, t, *args): helper(t, *args)
                    if not args or not self.helper(args[0]):
                        return False
                    helper, args = self.helper(args[0]), args[1:]
                position = INDEX_ARGUMENTS.get(helper)
                return position is None or position >= len(args) or self.literal_argument(args[position])
            if self.numpy_function(node.func):
                ufunc = getattr(np, node.func.attr, None)
                operands = ufunc.nin if isinstance(ufunc, np.ufunc) else 1
                return (len(node.args) >= 1 and all(self.expression(a) for a in node.args[:operands])
                        and all(_literal(a) for a in node.args[operands:]) and all(
                            k.arg in ("axis", "keepdims") and _literal(k.value) for k in node.keywords)
                        and (isinstance(ufunc, np.ufunc) or len(node.args) <= 2))
        return False

    def literal_argument(self, node):
        return (self.is_s_(node) or _literal(node)
                or (isinstance(node, ast.Name) and node.id in self.literal_names))


def _literal_int(node):
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def _literal(node):
    if isinstance(node, ast.Tuple):
        return all(_literal(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and (type(node.value) in (int, bool) or node.value is None)


# ------------------------------------------------------------------ the rewrite


def _function_node(compiled):
    name = compiled.jvp.__name__
    for node in ast.parse(compiled.source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    return None


def _specialize(compiled, args, tangents, primal):
    function = _function_node(compiled)
    if function is None:
        return None
    namespace = compiled.namespace
    np_names = {k for k, v in namespace.items() if v is np}
    rt_name = compiled.rt_name
    if namespace.get(rt_name) is not rt or not np_names:
        return None
    # The checks that arguments are real (docs/complex.md) run in the probe
    # below: this specialisation is for these dtypes, so they hold on every call.
    full_body = function.body
    function.body = [stmt for stmt in full_body if not _is_dtype_check(stmt, rt_name)]
    plain = _Plain(function, np_names, rt_name)
    if not plain.function(function):
        return None
    for node in walk_tree(function):  # no other global (its value or shape could change between calls)
        if (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and not plain.local(node)
                and node.id not in np_names and node.id != rt_name):
            return None
    checked = function.body
    function.body = full_body
    values = _probe(function, namespace, args, tangents)
    function.body = checked
    constants = {}
    body = []
    written = _written_into(function.body, plain)
    for stmt in function.body[:-1]:
        value = _rewrite(stmt, values, constants, plain, written)
        body.append(value)
    returned = function.body[-1]
    if not primal:
        returned = ast.Return(value=ast.Tuple(elts=[ast.Constant(value=None), returned.value.elts[1]],
                                              ctx=ast.Load()))
    body = _exact_scalings([stmt for stmt in body if stmt is not None] + [returned])
    body = _live_only(_scatters_in_place(_ones_products(body, values, constants), values, constants))
    return _compile(function, body, constants, namespace)


def _is_dtype_check(stmt, rt_name):
    """``rt.refuse_complex(...)`` or ``rt.refuse_complex_arguments(...)``."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr in ("refuse_complex", "refuse_complex_arguments")
            and isinstance(call.func.value, ast.Name) and call.func.value.id == rt_name)


def _probe(function, namespace, args, tangents):
    """Every local value of one run of the function."""
    probe = ast.FunctionDef(name="_probe", args=function.args, body=function.body[:-1] + [
        ast.Return(value=ast.Call(func=ast.Name(id="locals", ctx=ast.Load()), args=[], keywords=[]))],
        decorator_list=[], returns=None, type_comment=None, type_params=[])
    text = ast.unparse(ast.fix_missing_locations(ast.Module(body=[probe], type_ignores=[])))
    scope = {}
    exec(compile(text, "<adjoint specialisation probe>", "exec"), namespace, scope)
    with np.errstate(all="ignore"):  # (the call it precedes warns as it should)
        return scope["_probe"](tangents, *args)


def _written_into(body, plain):
    """Names a helper may write into (never made shared constants)."""
    found = set()
    for node in walk_tree(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Call):
            helper = plain.helper(node.func)
            position = WRITES_INTO.get(helper)
            if position is not None and len(node.args) > position and isinstance(node.args[position], ast.Name):
                found.add(node.args[position].id)
    return found


def _rewrite(stmt, values, constants, plain, written):
    target = stmt.targets[0]
    value = stmt.value
    if isinstance(target, ast.Name) and target.id not in written:
        if plain.is_s_(value) or _shape_valued(value, plain, constants):
            constants[target.id] = _frozen(values[target.id])
            return None  # (read from the closure)
    new = _Simplify(values, plain, constants).visit(value)
    return ast.Assign(targets=[target], value=new, lineno=stmt.lineno)


def _shape_valued(value, plain, constants):
    if isinstance(value, (ast.BinOp, ast.UnaryOp)):  # arithmetic of constants (``out_bar / 4.0``)
        return all(isinstance(n, (ast.BinOp, ast.UnaryOp, ast.Constant, ast.operator, ast.unaryop))
                   or (isinstance(n, ast.Name) and n.id in constants)
                   or isinstance(n, ast.expr_context) for n in walk_tree(value))
    if not isinstance(value, ast.Call):
        return False
    helper = plain.helper(value.func)
    if helper not in SHAPE_VALUED or value.keywords and helper != "unreduce":
        return False
    if helper == "batch_count":
        return len(value.args) == 1 and isinstance(value.args[0], ast.Name) and value.args[0].id in plain.params
    return all(isinstance(value.args[i], ast.Name) and value.args[i].id in constants
               for i in SHAPE_VALUED[helper] if i < len(value.args))


def _frozen(value):
    if type(value) is np.ndarray and value.flags.writeable:
        value = value.copy()
        value.flags.writeable = False
    return value


class _Simplify(ast.NodeTransformer):
    """Helper calls the probe showed to return their argument, or a reshape
    of it, written as that."""

    def __init__(self, values, plain, constants):
        self.values = values
        self.plain = plain
        self.constants = constants

    def array(self, node):
        """Whether ``node`` certainly gives an array (at these shapes)."""
        if isinstance(node, ast.Name):
            return type(self.values.get(node.id)) is np.ndarray
        return getattr(node, "array", False)

    def value(self, node):
        """The probe's value of a name, or of a literal ``np.s_[...]``."""
        if isinstance(node, ast.Name):
            return self.values[node.id]
        if self.plain.is_s_(node):
            return eval(compile(ast.fix_missing_locations(ast.Expression(body=ast.Subscript(
                value=ast.Attribute(value=ast.Name(id="np", ctx=ast.Load()), attr="s_", ctx=ast.Load()),
                slice=node.slice, ctx=ast.Load()))), "<index>", "eval"), {"np": np})
        raise KeyError

    def visit_Call(self, node):
        self.generic_visit(node)
        helper = self.plain.helper(node.func)
        if helper is None or node.keywords:
            return node
        if helper == "add_bar" and len(node.args) == 2 and all(self.array(a) for a in node.args):
            added = ast.BinOp(left=node.args[0], op=ast.Add(), right=node.args[1])  # (add_bar of two arrays)
            added.array = True
            return added
        if helper == "merged_items" and len(node.args) == 4 and self.plain.helper(node.args[0]) == "getitem_adjoint":
            return self.scattered(node)
        try:
            arguments = [self.value(a) for a in node.args]
        except KeyError:  # (an argument that is an expression)
            return node
        if helper in ("lift", "as_tangent", "unbroadcast") and len(arguments) == 2:
            t, like = arguments
            if type(t) is not np.ndarray:
                return node
            if helper == "as_tangent":
                return node.args[0]
            result = getattr(rt, helper)(t, like)
            if result is t:
                return node.args[0]
            if helper == "lift" and _reshaped(result, t):
                return _reshape(node.args[0], result.shape)
            return node
        if helper in ("jacobian_from_rows", "batched_reshape"):
            bar = arguments[0]
            if type(bar) is np.ndarray and all(type(a) is np.ndarray or type(a) is np.float64
                                               for a in arguments[1:]):
                if helper == "jacobian_from_rows" and arguments[-1].dtype.kind != "f":
                    return node
                if _reshaped(getattr(rt, helper)(*arguments), bar):
                    return _reshape(node.args[0], getattr(rt, helper)(*arguments).shape)
            return node
        if helper == "item_tangent" and len(node.args) == 4:
            t, _, key, _ = arguments
            if type(t) is np.ndarray and (type(key) is slice or type(key) is int) and isinstance(
                    node.args[2], (ast.Name, ast.Subscript)):
                return ast.Subscript(value=node.args[0], slice=ast.Tuple(elts=[
                    ast.Slice(lower=None, upper=None, step=None), _index_expression(node.args[2])],
                    ctx=ast.Load()), ctx=ast.Load())
        return node

    def scattered(self, node):
        """``rt.merged_items(rt.getitem_adjoint, t, x, index)`` of an array
        ``t`` (T, B, ...) into an array ``x`` at a slice or an int: zeros
        ``(T, B) + x.shape`` with ``t`` added at the index, made at once."""
        _, t, x, index = node.args
        try:
            t_value, x_value, index_value = self.value(t), self.value(x), self.value(index)
        except KeyError:
            return node
        if not (type(t_value) is np.ndarray and type(x_value) is np.ndarray and t_value.ndim >= 2
                and type(index_value) in (slice, int)) or SCATTERED in self.values:
            return node
        self.constants[SCATTERED] = scattered
        made = ast.Call(func=ast.Name(id=SCATTERED, ctx=ast.Load()), args=[
            t, ast.Constant(value=tuple(t_value.shape[:2]) + tuple(x_value.shape)), index], keywords=[])
        made.array = True
        return made


def _reshaped(result, t):
    """Whether ``result`` holds ``t``'s numbers in ``t``'s order under
    another shape (a view of the same size: no broadcast, no copy)."""
    return (type(result) is np.ndarray and result.size == t.size and np.shares_memory(result, t)
            and result.ctypes.data == t.ctypes.data)


#: the name the specialised code calls ``scattered`` by
SCATTERED = "scattered__"


def scattered(t, shape, index):
    """Zeros of ``shape`` (``(T, B) + x.shape``) with ``t`` added at
    ``[:, :, index]``: ``rt.merged_items(rt.getitem_adjoint, t, x, index)``
    for a basic index, without merging and splitting the leading axes."""
    out = np.zeros(shape, dtype=t.dtype)
    out[:, :, index] += t
    return out


def added_at(out, t, index):
    """``out`` (made by ``scattered`` and read by nothing else) with ``t``
    added at ``[:, :, index]``, in place."""
    out[:, :, index] += t
    return out


#: the name the specialised code calls ``added_at`` by
ADDED_AT = "added_at__"


def _reads(body):
    counts = {}
    for stmt in body:
        for node in walk_tree(stmt.value):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def _calls(node, name):
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _scatters_in_place(body, values, constants):
    """``b = a + scattered__(t, shape, index)`` where ``a`` was made by
    ``scattered__`` and nothing else reads it, with the same shape and
    dtype as ``b``: ``t`` is added into ``a`` (one array, not three)."""
    if SCATTERED not in constants or ADDED_AT in values:
        return body
    reads = _reads(body)
    fresh = set()
    out = []
    for stmt in body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            target, value = stmt.targets[0].id, stmt.value
            if _calls(value, SCATTERED):
                fresh.add(target)
            elif (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add)
                  and isinstance(value.left, ast.Name) and value.left.id in fresh and reads[value.left.id] == 1
                  and _calls(value.right, SCATTERED) and _same_array(values, value.left.id, target)):
                t, _, index = value.right.args
                constants[ADDED_AT] = added_at
                stmt = ast.Assign(targets=stmt.targets, value=ast.Call(func=ast.Name(id=ADDED_AT, ctx=ast.Load()),
                                                                       args=[value.left, t, index], keywords=[]),
                                  lineno=stmt.lineno)
                fresh.add(target)
        out.append(stmt)
    return out


def _same_array(values, a, b):
    a, b = values.get(a), values.get(b)
    return type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape and a.dtype == b.dtype


def _ones_products(body, values, constants):
    """``c * e`` (or ``e * c``) with ``c`` a constant array of ones whose
    product has ``e``'s shape and dtype: ``e`` itself (``x * 1.0`` is ``x``,
    bit for bit). The seed's broadcast over a sum is such a constant."""
    out = []
    for stmt in body:
        value = getattr(stmt, "value", None)
        if (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
                and isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult)):
            target = values.get(stmt.targets[0].id)
            for ones, other in ((value.left, value.right), (value.right, value.left)):
                c = constants.get(ones.id) if isinstance(ones, ast.Name) else None
                shape, dtype = _shape_and_dtype(other, values)
                if (type(c) is np.ndarray and type(target) is np.ndarray and shape == target.shape
                        and dtype == target.dtype and c.dtype.kind == "f" and bool(np.all(c == 1))):
                    stmt = ast.Assign(targets=stmt.targets, value=other, lineno=stmt.lineno)
                    break
        out.append(stmt)
    return out


def _shape_and_dtype(node, values):
    """Shape and dtype of a name, or of ``name.reshape(literal)``, at these shapes."""
    if isinstance(node, ast.Name) and type(values.get(node.id)) is np.ndarray:
        return values[node.id].shape, values[node.id].dtype
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "reshape"
            and isinstance(node.func.value, ast.Name) and type(values.get(node.func.value.id)) is np.ndarray
            and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)):
        return tuple(node.args[0].value), values[node.func.value.id].dtype
    return None, None


def _index_expression(node):
    """``np.s_[1:]`` written as the slice it is (a name holding one stays a name)."""
    if isinstance(node, ast.Subscript):
        return node.slice
    return node


def _reshape(node, shape):
    return ast.Call(func=ast.Attribute(value=node, attr="reshape", ctx=ast.Load()),
                    args=[ast.Constant(value=tuple(int(n) for n in shape))], keywords=[])


def _exact_factor(node):
    """A literal ``k`` with ``|k|`` a power of two at least 1 (scaling by
    it is exact in binary floating point, barring overflow), else None."""
    negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    if negative:
        node = node.operand
    if not (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
        return None
    value = -node.value if negative else node.value
    if value == 0 or not math.isfinite(value) or abs(value) < 1 or math.frexp(abs(value))[0] != 0.5:
        return None
    return value


def _scaling(value):
    """``(name, k)`` for ``k * name``, ``name * k`` or ``-name`` with an exact ``k``."""
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub) and isinstance(value.operand, ast.Name):
        return value.operand.id, -1
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult):
        for name, factor in ((value.left, value.right), (value.right, value.left)):
            k = _exact_factor(factor)
            if isinstance(name, ast.Name) and k is not None:
                return name.id, k
    return None


def _exact_scalings(body):
    """Chains of exact scalings (``t7 = -t2; t10 = 2 * t7; t11 = -t10``)
    written as one (``t11 = 2 * t2``) where the inner values are read once,
    and ``a + -b`` as ``a - b``: the same numbers, bit for bit, in fewer
    passes over the arrays."""
    reads = {}
    for stmt in body:
        for node in walk_tree(stmt.value):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                reads[node.id] = reads.get(node.id, 0) + 1
    chains = {}  # name -> (base name, exact factor)
    out = []
    for stmt in body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            value = stmt.value
            found = _scaling(value)
            if found is not None:
                base, k = found
                if base in chains and reads.get(base) == 1:
                    inner, k_inner = chains[base]
                    base, k = inner, k * k_inner
                    value = _scaled(base, k)
                chains[stmt.targets[0].id] = (base, k)
            elif (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add)
                  and isinstance(value.right, ast.UnaryOp) and isinstance(value.right.op, ast.USub)):
                value = ast.BinOp(left=value.left, op=ast.Sub(), right=value.right.operand)
            stmt = ast.Assign(targets=stmt.targets, value=value, lineno=stmt.lineno)
        out.append(stmt)
    return out


def _scaled(name, k):
    load = ast.Name(id=name, ctx=ast.Load())
    if k == 1:
        return load
    if k == -1:
        return ast.UnaryOp(op=ast.USub(), operand=load)
    return ast.BinOp(left=ast.Constant(value=k), op=ast.Mult(), right=load)


def _live_only(body):
    """Drop the assignments nothing later reads (straight-line code: every
    statement is an assignment of a value without effects outside it)."""
    live = set()
    kept = []
    for stmt in reversed([s for s in body if s is not None]):
        if isinstance(stmt, ast.Assign):
            target = stmt.targets[0]
            names = {n.id for n in walk_tree(target) if isinstance(n, ast.Name)}
            if not names & live:
                continue
        live |= {n.id for n in walk_tree(stmt.value) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        kept.append(stmt)
    return list(reversed(kept))


def _compile(function, body, constants, namespace):
    names = sorted(constants)
    inner = ast.FunctionDef(name=function.name, args=function.args, body=body, decorator_list=[], returns=None,
                            type_comment=None, type_params=[])
    maker = ast.FunctionDef(
        name="_make", args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=n) for n in names], vararg=None,
                                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=[inner, ast.Return(value=ast.Name(id=function.name, ctx=ast.Load()))],
        decorator_list=[], returns=None, type_comment=None, type_params=[])
    text = ast.unparse(ast.fix_missing_locations(ast.Module(body=[maker], type_ignores=[])))
    scope = {}
    exec(compile(text, f"<adjoint {function.name} specialised to its shapes>", "exec"), namespace, scope)
    made = scope["_make"](*[constants[n] for n in names])
    made.source = ast.unparse(inner)
    return made
