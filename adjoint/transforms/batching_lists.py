"""vmap of a NumPy call given a Python list of batched values.

In batched code a list (or tuple) holds every item with its own batch axis
(``[x, y]`` of two batched scalars is a list of two ``(B,)`` arrays). A
NumPy function reads such an argument as one array, and ``np.asarray`` of
it would put the list's axis first, ``(2, B)``, where the batched result
needs ``(B, 2)``: ``np.maximum([x, y], 0.5)`` gave every example's results
transposed, and its derivatives failed inside the library.

So before a NumPy (or SciPy) call, an argument that may hold a list is
stacked after the batch axis (``rt.vasarray``, which has its own rules, so
the batched code can be differentiated again), the way the forward
transform stacks the tangents of such an argument (``rt.as_tangent``).
Left as they are: the functions whose rules read a sequence item by item
(``rules.SEQUENCE_RULES``: np.stack, np.concatenate, builtins.sum ...),
the runtime helpers of generated code (written for containers), the
user's own functions and methods, and Python's operators (``+`` of two
lists joins them).
"""
import copy

import gast
import numpy as np

from .. import rules
from .. import runtime as rt
from ..frontend.gastutil import Rename, clone, load
from ..frontend.ir import UNPACK, MethodCall, StarredCall, UserCall, walk_ops
from .templates import batch_template_for

#: primitives whose result may be a list or tuple (so may a name they assign)
_MAKES_SEQUENCES = (rt.make_list, rt.make_tuple, rt.append, rt.concat_items, rt.repeat_items, rt.replace_item,
                    list, tuple, rt.array_to_list)
#: primitives whose result may be an item of a container (a list too: residuals of generated code)
_HOLDS_SEQUENCES = (UNPACK, rt.getitem, rt.attribute)
#: primitives whose result is their argument (a loop's copies of a value): a list if that is one
_COPIES = (rt.identity, rt.copy, rt.entry_value)


def copied_sequences(ops, *found):
    """Add to each set of names in ``found`` the copies (a loop's carried
    values, ``items_2 = items_1``) of the names it holds, to a fixed point."""
    copies = [(op.targets[0], op.args[0].id) for op in walk_ops(ops) if op.prim in _COPIES and len(op.targets) == 1
              and op.args and isinstance(op.args[0], gast.Name)]
    changed = True
    while changed:
        changed = False
        for names in found:
            for target, source in copies:
                if source in names and target not in names:
                    names.add(target)
                    changed = True


def maybe_sequences(ops):
    """The names that may hold a list or tuple when the code runs."""
    found = set()
    for op in walk_ops(ops):
        if op.prim in _MAKES_SEQUENCES or op.prim in _HOLDS_SEQUENCES or isinstance(
                op.prim, (UserCall, MethodCall, StarredCall)):
            found.update(op.targets)
    copied_sequences(ops, found)
    return found


#: NumPy functions without a rule of their own that read a list item by
#: item (its items may differ in shape, or a nested list is a layout)
_SEQUENCE_READERS = {np.block, np.select, np.piecewise, np.lexsort, np.ix_, np.meshgrid, np.broadcast_arrays,
                     np.einsum, np.savez, np.choose}


def _reads_as_array(prim):
    """Whether ``prim`` is a NumPy or SciPy function that reads a list
    argument as one array (not item by item)."""
    try:
        if prim in rules.SEQUENCE_RULES or prim in _SEQUENCE_READERS or rt.is_helper(prim):
            return False
    except TypeError:  # (an unhashable callable)
        return False
    if isinstance(prim, np.ufunc):
        return True
    module = getattr(prim, "__module__", None) or ""
    return module.split(".")[0] in ("numpy", "scipy")


def _rule_helpers():
    """The runtime helpers that the derivative rules of those functions
    call (``rt.dot_adjoint_left(g, a, b)``): handed a list where the user's
    call had one (the backward code keeps ``[x, y]`` as it was), they read
    it as one array too. Not those of the functions returning several
    arrays, whose cotangents are tuples, nor those of the rules that read
    sequences. Found once, from the names the rules' code reads."""
    if _HELPERS:
        return _HELPERS[0]
    rules.load_optional_rules()
    found, shared = set(), set()
    for table in (rules.ADJOINT_RULES, rules.TANGENT_RULES):
        for prim, template in list(table.items()):
            names = set(getattr(getattr(template, "__code__", None), "co_names", ()))
            if prim in rules.TUPLE_RESULTS or prim in rules.SEQUENCE_RULES:
                shared.update(names)
            elif _reads_as_array(prim):
                found.update(names)
    helpers = (getattr(rt, name, None) for name in found - shared)
    _HELPERS.append({helper for helper in helpers if callable(helper) and rt.is_helper(helper)}
                    - {rt.zeros_bar, rt.absent_bar})  # (adjoints shaped like a container: a list for a list)
    return _HELPERS[0]


_HELPERS = []


def _array_operands(prim, op):
    """The argument atoms of ``op`` that ``prim`` reads as arrays: those
    its batching rule reads with ``vec[...]``, or every operand of an
    elementwise function. None of a call that runs once per example (no
    batching rule): each example's list reaches it as the user's call
    would."""
    helper = rt.is_helper(prim)
    if helper and prim not in _rule_helpers():
        return []
    operands = list(op.args) + list(op.kwargs.values())
    rule = rules.lookup_batch(prim)
    if rule is None:
        return operands if rules.is_elementwise(prim) and not helper else []
    template = batch_template_for(rule)
    try:
        bindings, _ = template.bind(op.args, op.kwargs)
    except TypeError:
        return [] if helper else operands
    return [atom for param, atom in bindings.items() if param in template.batched_params]


def stack_list_operands(builder, op):
    """``(statements, op)``: ``op`` reading its list arguments stacked
    (``t = rt.vasarray(items)`` first), or ``([], op)`` as it was."""
    if op.kind != "assign" or op.statement is not None or not isinstance(op.value, gast.Call):
        return [], op
    candidates = builder.maybe_sequences & builder.batched
    if not candidates or not (_reads_as_array(op.prim) or rt.is_helper(op.prim)):
        return [], op
    names = dict.fromkeys(a.id for a in _array_operands(op.prim, op)
                          if isinstance(a, gast.Name) and a.id in candidates)
    if not names:
        return [], op
    statements, renamed = [], {}
    for name in names:
        stacked = builder.namer.temp()
        statements.append(builder.assign(stacked, builder.rt_call("vasarray", load(name))))
        builder.batched.add(stacked)
        renamed[name] = stacked
    rename = Rename(renamed)
    changed = copy.copy(op)
    changed.value = rename.visit(clone(op.value))
    changed.args = [rename.visit(clone(a)) for a in op.args]
    changed.kwargs = {k: rename.visit(clone(v)) for k, v in op.kwargs.items()}
    return statements, changed
