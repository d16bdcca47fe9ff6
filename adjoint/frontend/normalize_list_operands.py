"""Python lists handed to NumPy functions as arrays: made arrays once.

NumPy reads ``np.power([x, y], 3)`` as ``np.power(np.asarray([x, y]), 3)``.
The rules of such a function are written for arrays: their templates apply
Python's operators and read attributes of the argument (``x1 ** (x2 - 1)``,
``weights.shape``), which a list lacks, and the helpers a rule calls hand the
list on to the code that differentiates them again (a Hessian's forward pass
over the backward pass), which then meets a list where the first derivative
met an array.

So, after normalization, an operand that may hold a list or tuple built in
the function (a literal ``[x, y]``, ``list(...)``, a list grown by
``append``, or a loop's copy of one) and that a NumPy or SciPy function with a
derivative rule reads as one array is first made an array by its own op,
``t = np.asarray(items)``, whose rules (``rules/shape.py``) stack the items'
derivatives and hand each item its share of the cotangent. Every transform
(reverse, forward, vmap) and every derivative of their generated code then
sees an array where NumPy saw one.

"Reads as one array" is what the batching rule says: the parameters it reads
with ``vec[...]``, or every operand of an elementwise function. Left as they
are: functions that read a sequence item by item (``rules.SEQUENCE_RULES``:
np.stack, np.concatenate, np.array itself ...; np.einsum, np.block,
np.choose ...), shapes and axes (``np.sum(a, axis=(0, 1))``: not read with
``vec``), the runtime helpers, the user's own functions and Python's
operators (``+`` of two lists joins them).
"""
import gast
import numpy as np

from .. import rules
from .. import runtime as rt
from .gastutil import Rename, clone, load
from .ir import Op, walk_ops

#: primitives whose result is a list or tuple built in the function
_MAKES_LISTS = (rt.make_list, rt.make_tuple, rt.append, rt.concat_items, rt.repeat_items, rt.replace_item,
                list, tuple, rt.array_to_list)
#: primitives whose result is their argument (a loop's copies of a value)
_COPIES = (rt.identity, rt.copy, rt.entry_value)
#: NumPy functions without a rule that reads sequences that read one item by item
_ITEM_READERS = {np.block, np.select, np.piecewise, np.lexsort, np.ix_, np.meshgrid, np.broadcast_arrays,
                 np.einsum, np.choose}


def _built_lists(ops):
    """Names that may hold a list or tuple built by the function."""
    found = {t for op in walk_ops(ops) if op.prim in _MAKES_LISTS for t in op.targets}
    copies = [(op.targets[0], op.args[0].id) for op in walk_ops(ops) if op.prim in _COPIES
              and len(op.targets) == 1 and op.args and isinstance(op.args[0], gast.Name)]
    changed = True
    while changed:
        changed = False
        for target, source in copies:
            if source in found and target not in found:
                found.add(target)
                changed = True
    return found


def _reads_arrays(prim):
    """Whether ``prim`` is a NumPy or SciPy function with a derivative rule
    that reads a list argument as one array."""
    try:
        if (prim in rules.SEQUENCE_RULES or prim in _ITEM_READERS or rt.is_helper(prim)
                or rules.lookup(prim) is None):
            return False
    except TypeError:  # (an unhashable callable)
        return False
    if isinstance(prim, np.ufunc):
        return True
    module = getattr(prim, "__module__", None) or ""
    return module.split(".")[0] in ("numpy", "scipy")


def _array_operands(op):
    """The parameters' atoms of ``op`` its primitive reads as arrays."""
    operands = list(op.args) + list(op.kwargs.values())
    rule = rules.lookup_batch(op.prim)
    if rule is None:
        return operands if rules.is_elementwise(op.prim) else []
    from ..transforms.templates import batch_template_for  # (transforms import the frontend)

    template = batch_template_for(rule)
    try:
        bindings, _ = template.bind(op.args, op.kwargs)
    except TypeError:
        return []
    return [atom for param, atom in bindings.items() if param in template.batched_params]


def known_array(normalizer, atom):
    """Whether ``atom`` surely holds a NumPy array (or NumPy scalar) when
    the code runs: a global or closure array, or the result of a NumPy
    function (or ufunc) called earlier in the current block. ``[x, y] +
    a`` with such an ``a`` is NumPy's sum, not a list concatenation."""
    if not isinstance(atom, gast.Name):
        return False
    if atom.id not in normalizer.defined:
        value = normalizer.resolver.lookup(atom.id)
        return isinstance(value, (np.ndarray, np.generic))
    for op in reversed(normalizer.ops):
        if atom.id in op.targets:
            # (a NumPy call written out: an operator's result may be a Python number, rank - x.ndim)
            return (op.kind == "assign" and len(op.targets) == 1 and isinstance(op.value, gast.Call)
                    and _reads_arrays(op.prim) and op.prim in rules.ADJOINT_RULES
                    and op.prim not in rules.TUPLE_RESULTS)
    return False


def lists_as_arrays(ops, namer, np_name):
    """``ops`` with each list operand of a NumPy function that reads it as an
    array made an array first (``t = np.asarray(items)``), in place, nested
    blocks included; and each list item of a list literal handed to a
    NumPy function that reads a sequence of arrays (``multi_dot([[[a, b],
    [c, d]], B])``) too, in a copy of the literal. Returns ``ops``."""
    lists = _built_lists(ops)
    if lists:
        literals = {op.targets[0]: op for op in walk_ops(ops) if op.prim in (rt.make_list, rt.make_tuple)
                    and op.kind == "assign" and len(op.targets) == 1 and not op.kwargs}
        _rewrite(ops, lists, literals, namer, np_name)
    return ops


def _as_array_op(name, op, namer, np_name):
    target = namer.temp()
    func = gast.Attribute(value=load(np_name), attr="asarray", ctx=gast.Load())
    value = gast.Call(func=func, args=[load(name)], keywords=[])
    return target, Op("assign", [target], value, np.asarray, [load(name)], None, op.lineno, op.no_grad, op.construct)


def _reads_sequences_of_arrays(prim):
    """NumPy and SciPy functions that read a sequence of arrays item by item (np.stack, multi_dot)."""
    try:
        if prim not in rules.SEQUENCE_RULES or prim in (np.array, np.asarray, np.asanyarray) or rt.is_helper(prim):
            return False
    except TypeError:
        return False
    return (getattr(prim, "__module__", None) or "").split(".")[0] in ("numpy", "scipy")


def _sequence_items(op, lists, literals, namer, np_name):
    """``(ops to insert, renamed)``: the list literals ``op`` reads as
    sequences of arrays, copied with their list items made arrays."""
    made, renamed = [], {}
    for atom in list(op.args) + list(op.kwargs.values()):
        literal = literals.get(atom.id) if isinstance(atom, gast.Name) else None
        if literal is None or atom.id in renamed:
            continue
        nested = [a for a in literal.args if isinstance(a, gast.Name) and a.id in lists]
        if not nested:
            continue
        items = {}
        for item in dict.fromkeys(a.id for a in nested):
            items[item], converted = _as_array_op(item, op, namer, np_name)
            made.append(converted)
        elements = [load(items[a.id]) if isinstance(a, gast.Name) and a.id in items else clone(a)
                    for a in literal.args]
        target = namer.temp()
        kind = gast.Tuple if literal.prim is rt.make_tuple else gast.List
        made.append(Op("assign", [target], kind(elts=elements, ctx=gast.Load()), literal.prim,
                       [clone(e) for e in elements], None, op.lineno, op.no_grad, op.construct))
        renamed[atom.id] = target
    return made, renamed


def _rewrite(ops, lists, literals, namer, np_name):
    position = 0
    while position < len(ops):
        op = ops[position]
        if op.compound:
            for block in (op.body, op.orelse, op.latch, op.exit_check):
                _rewrite(block, lists, literals, namer, np_name)
            position += 1
            continue
        # (Python's operators but + and *, which lists do not take: [x, y] ** a is NumPy's with an
        # array a; tuple(a) + b may join two tuples the normalizer took for NumPy's sum)
        if op.kind != "assign" or op.statement is not None or not (isinstance(op.value, gast.Call) or (
                isinstance(op.value, gast.BinOp) and not isinstance(op.value.op, (gast.Add, gast.Mult)))):
            position += 1
            continue
        if _reads_sequences_of_arrays(op.prim):
            made, renamed = _sequence_items(op, lists, literals, namer, np_name)
        elif _reads_arrays(op.prim):
            made, renamed = [], {}
            for name in dict.fromkeys(a.id for a in _array_operands(op) if isinstance(a, gast.Name) and a.id in lists):
                renamed[name], converted = _as_array_op(name, op, namer, np_name)
                made.append(converted)
        else:
            made = []
        if not made:
            position += 1
            continue
        rename = Rename(renamed)
        op.value = rename.visit(clone(op.value))
        op.args = [rename.visit(clone(a)) for a in op.args]
        op.kwargs = {k: rename.visit(clone(v)) for k, v in op.kwargs.items()}
        ops[position:position] = made
        position += len(made) + 1
