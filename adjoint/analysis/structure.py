"""Whether a function's Jacobian sparsity pattern can depend on the values
of its inputs (for sparse Jacobians: a pattern found at one point holds at
every point of the same shapes only when nothing value-dependent decides the
structure).

Takes a normalized function (``frontend.ir.Normalized``) and the positions
of its *tainted* parameters: those whose values are not part of the pattern
cache's key (the differentiated arrays, and other arrays). Taint flows
through every op, derivative or not (a comparison of a tainted value is
tainted), except ops that read only a shape (``x.shape``, ``len(x)``,
``x.ndim``, ``x.size``, ``np.shape``, the length of a loop over items).
Loops are a fixed point. The function's globals and closure variables that
hold values (not modules, classes or functions) are tainted too: they are
not part of the cache's key either.

The structure is value-dependent (``find`` returns ``(lineno, construct)``
of the first such op, else None) when:

- an ``if`` or ``while`` test, or the iterable of a ``for`` loop built by a
  call (``range(n)``), is tainted;
- an index (``x[i]``, ``x[mask]``, ``x[i] = v``) is tainted;
- a value-selecting primitive (``np.maximum``, ``np.where``, ``np.sort``,
  ``np.max``, ``np.argmax``, ``np.clip``, ``np.median``, ``max``, ...)
  reads a tainted value;
- a NumPy function reads a tainted value as an argument that decides a
  structure (``np.roll``'s shift, ``np.reshape``'s shape, an ``axis``:
  ``structural_arguments.py``);
- a call whose callee is known only when it runs, or a construct kept
  whole (OPAQUE), reads a tainted value (conservative).

A call of the user's own function is analysed in turn with the parameters
its tainted arguments bind (``callee_ir(function, arity)`` gives its
normalized IR); its result is taken as tainted when any argument is.
Conservative by construction: anything not known to be safe is reported.
"""
import builtins
import inspect
import operator

import gast
import numpy as np

from ..frontend.gastutil import loaded_names, walk as walk_tree
from ..frontend.ir import NONDIFF, OPAQUE, MethodCall, StarredCall, UserCall, walk_ops
from .. import runtime as rt
from .structural_arguments import tainted_argument

#: primitives whose result (or derivative) selects among values by comparing them
_SELECTING_NAMES = [
    "maximum", "minimum", "fmax", "fmin", "clip", "where", "select", "piecewise", "sort", "argsort",
    "argmax", "argmin", "max", "amax", "min", "amin", "nanmax", "nanmin", "nanargmax", "nanargmin",
    "median", "nanmedian", "percentile", "nanpercentile", "quantile", "nanquantile", "partition",
    "argpartition", "nonzero", "flatnonzero", "argwhere", "unique", "searchsorted", "digitize", "extract",
    "compress", "choose", "nan_to_num", "interp", "lexsort", "ptp", "histogram", "bincount", "isfinite",
    "isnan", "isinf", "heaviside", "nansum", "nanmean", "nanvar", "nanstd", "nanprod", "nancumsum",
    "nancumprod",
]
SELECTING = {getattr(np, name) for name in _SELECTING_NAMES if hasattr(np, name)}
SELECTING |= {builtins.max, builtins.min, builtins.sorted}
# Its second-order tangent is 0 where the norm is 0 (a convention, not the structure elsewhere).
SELECTING.add(np.linalg.norm)
for _name in ("maximum", "minimum", "clip", "where", "sort", "max", "min", "amax", "amin", "argmax", "argmin"):
    if hasattr(rt, _name):
        SELECTING.add(getattr(rt, _name))

#: primitives whose result is a shape, a length or a number of axes
SHAPE_ONLY = {builtins.len, np.shape, np.ndim, np.size}
_SHAPE_ATTRIBUTES = ("shape", "ndim", "size", "dtype", "itemsize", "nbytes")

_INDEXING = {operator.getitem, operator.setitem}
_INDEXING |= {np.take, np.take_along_axis, np.put, np.put_along_axis}
for _name in ("getitem", "setitem", "add_at", "replace_item"):
    if hasattr(rt, _name):
        _INDEXING.add(getattr(rt, _name))


def _is(prim, table):
    try:
        return prim in table
    except TypeError:  # unhashable
        return False


def _shape_only(op):
    if _is(op.prim, SHAPE_ONLY):
        return True
    construct = op.construct or ""
    if op.prim is NONDIFF and (construct.startswith("attribute .") and construct[len("attribute ."):]
                               in _SHAPE_ATTRIBUTES or construct in ("len", "loop length")):
        return True
    return False


def _atom_names(atom):
    if not isinstance(atom, gast.AST):
        return set()
    return loaded_names(atom)


class _Finder:
    def __init__(self, callee_ir):
        self.callee_ir = callee_ir
        self.seen = set()
        #: (function, name) of the free names holding numbers, strings or
        #: tuples of them, read where they could decide a structure: their
        #: values go into the pattern cache's key instead of being tainted
        self.keyed = []

    def function(self, normalized, tainted_params, function=None):
        tainted = {p for i, p in enumerate(normalized.params) if i in tainted_params}
        tainted |= _free_values(normalized, function, self.keyed)
        return self.block(normalized.ops, tainted)

    def block(self, ops, tainted):
        """Fixed point of the taint over ``ops`` (loops carry it around);
        the first value-dependent op found, or None."""
        while True:
            before = len(tainted)
            found = self._pass(ops, tainted)
            if found is not None:
                return found
            if len(tainted) == before:
                return None

    def _pass(self, ops, tainted):
        for op in ops:
            reads = op.reads() if op.kind != "break" else set()
            hit = bool(reads & tainted)
            if op.compound:
                if op.kind == "if" and _atom_names(op.value) & tainted:
                    return op.lineno, "a branch on a value computed from the inputs or module state"
                if op.kind == "while":
                    found = self._loop(op, tainted)
                    if found is not None:
                        return found
                    if _atom_names(op.value) & tainted:
                        return op.lineno, "a while loop whose test is computed from the inputs or module state"
                    continue
                if op.kind == "for":
                    if hit and not isinstance(op.value, gast.Name):
                        return op.lineno, ("a for loop whose number of steps is computed from the inputs or "
                                           "module state")
                    if hit:
                        tainted.update(op.targets)
                    found = self._loop(op, tainted)
                    if found is not None:
                        return found
                    continue
                for block in (op.body, op.orelse, op.latch, op.exit_check):
                    found = self._pass(block, tainted)
                    if found is not None:
                        return found
                continue
            if not hit:
                continue
            if _shape_only(op):
                continue
            prim = op.prim
            if _is(prim, _INDEXING):
                # getitem(x, index), setitem(x, index, value): the index decides the structure
                index_names = _atom_names(op.args[1]) if len(op.args) > 1 else set()
                if index_names & tainted:
                    return op.lineno, "an index computed from the inputs or module state"
            elif _is(prim, SELECTING):
                name = getattr(prim, "__name__", str(prim))
                return op.lineno, f"{op.construct or name} (it selects values by comparing them)"
            elif (parameter := tainted_argument(op, tainted, _atom_names)) is not None:
                name = getattr(prim, "__name__", str(prim))
                return op.lineno, f"the {parameter} of {op.construct or name} computed from the inputs or module state"
            elif isinstance(prim, UserCall):
                found = self._user_call(op, prim, tainted)
                if found is not None:
                    return found
            elif isinstance(prim, (MethodCall, StarredCall)) or prim is OPAQUE:
                return op.lineno, f"{op.construct or 'a call'} (a call known only when it runs)"
            tainted.update(op.targets)
        return None

    def _loop(self, op, tainted):
        while True:
            before = len(tainted)
            for block in (op.body, op.latch, op.exit_check):
                found = self._pass(block, tainted)
                if found is not None:
                    return found
            if len(tainted) == before:
                return None

    def _user_call(self, op, prim, tainted):
        function = prim.function
        leading = list(prim.leading or ())
        args = leading + list(op.args)
        flags = [bool(_atom_names(a) & tainted) for a in args]
        keyword_flags = {k: bool(_atom_names(v) & tainted) for k, v in op.kwargs.items()}
        try:
            signature = inspect.signature(function, follow_wrapped=False)
            bound = signature.bind(*range(len(args)), **{k: -1 - i for i, k in enumerate(op.kwargs)})
        except (TypeError, ValueError):
            return op.lineno, f"a call of {prim.name} that the analysis cannot follow"
        params = list(signature.parameters)
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in signature.parameters.values()):
            if any(flags) or any(keyword_flags.values()):
                return op.lineno, f"a call of {prim.name}, which takes *args or **kwargs"
            return None
        tainted_positions = set()
        keys = list(op.kwargs)
        for name, value in bound.arguments.items():
            tainted_here = flags[value] if value >= 0 else keyword_flags[keys[-1 - value]]
            if tainted_here:
                tainted_positions.add(params.index(name))
        if not tainted_positions:
            return None
        key = (function, frozenset(tainted_positions))
        if key in self.seen:  # recursion, or analysed before
            return None
        self.seen.add(key)
        try:
            normalized, filename = self.callee_ir(function, prim.arity)
        except Exception:  # noqa: BLE001 (anything the front end refuses: not known to be safe)
            return op.lineno, f"a call of {prim.name} that the analysis cannot follow"
        found = self.function(normalized, tainted_positions, function)
        if found is not None:
            if len(found) == 3:  # in a callee of this callee: where it is already says its file
                return found
            lineno, construct = found
            return lineno, construct, filename
        return None


def find(normalized, tainted_params, callee_ir, function=None, keyed=None):
    """``None`` when the pattern cannot depend on the tainted parameters'
    values, else ``(lineno, construct)`` or ``(lineno, construct)``
    (the last for a construct in a callee): the first value-dependent op.
    ``function`` (the Python function ``normalized`` was made from) tells
    which free names hold values; ``keyed`` (a list) receives the
    ``(function, name)`` of those holding plain numbers or strings, which are
    not tainted: the caller keys its cache by their current values
    (``free_value``)."""
    finder = _Finder(callee_ir)
    found = finder.function(normalized, set(tainted_params), function)
    if keyed is not None:
        keyed.extend(dict.fromkeys(finder.keyed))
    return found


def free_value(function, name):
    """The current value of the free name ``name`` of ``function`` (a
    closure variable, a global, a builtin), or of a dotted attribute read
    rooted at one (``"config.N"``: an attribute of a module or a class)."""
    root, *attributes = name.split(".")
    code = function.__code__
    if root in code.co_freevars:
        value = function.__closure__[code.co_freevars.index(root)].cell_contents
    elif root in function.__globals__:
        value = function.__globals__[root]
    else:
        value = vars(builtins).get(root)
    for attribute in attributes:
        try:
            value = getattr(value, attribute)
        except AttributeError:
            return _MISSING
    return value


class _Missing:
    """An attribute read that no longer resolves (a key part equal only to itself)."""

    def __repr__(self):
        return "<missing>"


_MISSING = _Missing()


_PLAIN = (int, float, complex, str, bytes, bool, type(None), np.generic)


def _plain(value):
    """A number, a string, or a tuple of them: a value a cache can be keyed by."""
    if isinstance(value, tuple):
        return all(_plain(item) for item in value)
    return isinstance(value, _PLAIN)


def _free_values(normalized, function, keyed=None):
    """Names the function reads but neither binds nor takes: its globals and
    closure variables. Their values are not part of a pattern cache's key
    (a module flag re-bound between calls changes which branch runs), so
    they are tainted, except the ones that name code (modules, classes,
    functions: rebinding those makes the transform again). Names whose
    value cannot be found are tainted (conservative)."""
    assigned = set(normalized.params)
    read = set()
    for op in walk_ops(normalized.ops):
        assigned.update(op.targets)
        read |= op.reads()
    free = read - assigned - set(normalized.module_names.values())
    if not free:
        return set()
    try:
        found = inspect.getclosurevars(function)
        values = {**vars(builtins), **function.__globals__, **found.nonlocals}
    except (TypeError, ValueError, AttributeError):
        return free
    tainted = set()
    for name in free:
        if name in values and not _holds_value(values[name]):
            # a module, class or function: its attributes the function reads
            # (``config.N``, ``Grid.n``) may hold values, rebound between calls
            if _attribute_reads(normalized, name, values[name], function, keyed):
                tainted.add(name)
            continue
        if name in values and keyed is not None and _plain(values[name]) and function is not None:
            keyed.append((function, name))  # (its value keys the cache instead)
            continue
        tainted.add(name)
    return tainted


def _attribute_chains(normalized, root):
    """The dotted attribute reads rooted at the name ``root`` in the
    function's ops: tuples of attribute names (``config.grid.n``: ``("grid",
    "n")`` and ``("grid",)``)."""
    chains = set()
    for op in walk_ops(normalized.ops):
        if op.kind == "break":
            continue
        node = op.statement if op.statement is not None else op.value
        if not isinstance(node, gast.AST):
            continue
        for sub in walk_tree(node):
            if not isinstance(sub, gast.Attribute):
                continue
            path = []
            inner = sub
            while isinstance(inner, gast.Attribute):
                path.append(inner.attr)
                inner = inner.value
            if isinstance(inner, gast.Name) and inner.id == root and isinstance(inner.ctx, gast.Load):
                chains.add(tuple(reversed(path)))
    return chains


def _attribute_reads(normalized, root, value, function, keyed):
    """Whether ``root`` (a free name naming a module, a class or a function)
    must be tainted: one of its attributes the function reads holds a value
    the cache cannot key (an array, an object). Those holding plain numbers
    or strings go to ``keyed`` (as ``"root.attribute"``) instead."""
    for chain in sorted(_attribute_chains(normalized, root)):
        current = value
        for attribute in chain:
            try:
                current = getattr(current, attribute)
            except AttributeError:
                return True  # (not known now: conservative)
        if not _holds_value(current):
            continue
        if keyed is not None and function is not None and _plain(current):
            keyed.append((function, ".".join((root,) + chain)))
            continue
        return True
    return False


def _holds_value(value):
    """Whether a free name's value could decide a structure: not a module, a
    class, or a function (plain, builtin, or a NumPy ufunc)."""
    return not (inspect.ismodule(value) or inspect.isclass(value) or inspect.isroutine(value)
                or isinstance(value, np.ufunc))
