"""The batching transformer (vmap): normalized ops -> one batched function.

Given the ops of ``normalize`` and which parameters carry a batch axis,
``BatchBuilder`` writes ``<name>_vmap(batch, <the user's parameters>)``: the
user's computation with every value that depends on a batched parameter
holding the whole batch along a new leading axis (``(B,) + x.shape``), so
each NumPy call runs once on the whole batch. Values that depend on no
batched parameter stay as they are; where an op mixes the two, the
unbatched operands are broadcast (stride-0 views, no copies).

How each primitive is batched, in order: the builder's own handling of
indexing, item updates, unpacking, containers and calls of the user's
functions (their own batched transform); a batching rule template
(``vec[x]`` is ``x`` with its batch axis, see ``rules.batch_rule``);
elementwise functions by aligning the operands; otherwise a loop over the
examples for that op alone, with a warning naming it once.

A branch or a loop whose test or bound depends on batched values cannot run
once for the whole batch: ``Unbatchable`` is raised, and the transform
falls back to calling the function once per example (with a warning that
names the construct and the line).
"""
import copy
import types
import warnings

import gast
import numpy as np

from .. import errors, rules
from .. import runtime as rt
from ..frontend.gastutil import clone, constant, load, store, walk as walk_tree
from ..frontend.ir import (
    BINARY_OPERATORS, COMPARISONS, NONDIFF, NONDIFF_ATTRIBUTES, OPAQUE, UNARY_OPERATORS, UNPACK, MethodCall, UserCall,
    fresh_result, is_library, kept_constant, merged_constant_blocks, with_statement,
    walk_ops,
)
from ..rules.builtins import MATH_TWINS
from .batching_lists import maybe_sequences, stack_list_operands
from .batching_shared import check_shared_changes
from .templates import batch_template_for, names_for


#: functions whose result's size depends on the values (per example: no common batch shape)
RAGGED = {np.nonzero, np.flatnonzero, np.argwhere, np.unique, np.extract}


#: methods of lists, dicts and sets that change them in place
CONTAINER_UPDATES = {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "popitem",
                     "sort", "reverse", "add", "discard", "difference_update", "intersection_update",
                     "symmetric_difference_update", "__setitem__", "__delitem__", "__iadd__"}


class Unbatchable(Exception):
    """Control flow that depends on batched values (its location and construct)."""

    def __init__(self, location, construct):
        super().__init__(f"{location.filename}:{location.lineno}: {construct}")
        self.location = location
        self.construct = construct


#: primitives whose result describes a shape, the same for every example.
SHAPE_RESULTS = {len, np.shape, np.ndim, np.size, rt.loop_length, rt.mapping_keys, rt.loop_keys, rt.shape_of, rt.size_of, rt.output_basis,
                 rt.scalar_seed, rt.input_basis, rt.batch_count,
                 np.iscomplexobj, np.isrealobj}  # (a dtype, the same for every example)
#: runtime helpers of generated code that read only shapes and options
SHAPE_RESULTS.update(getattr(rt, name) for name in (
    "tangent_axes", "batch_axes", "batch_axis", "negative_axis", "scan_tangent_axis", "reduction_subscripts",
    "unit_cotangent", "quantile_basis", "batch_permutation", "result_rank", "size_along", "batch_size",
    "hsplit_axis", "vaxes", "_solve_reads_vectors", "einsum_spec_along", "einsum_adjoint_plan", "veinsum_plan",
    "veinsum_adjoint_plan", "einsum_path_for", "einsum_operand_count", "_shape",
    "neg_axes", "fft_axes", "fft_lengths", "fft_sizes", "irfft_sizes", "swapped_norm", "result_dtype", "zip_length",
    "convolution_window", "window_after")
    if hasattr(rt, name))


#: keyword arguments of ufuncs that are options, not operands (``where=`` is an operand)
UFUNC_OPTIONS = frozenset({"dtype", "casting", "order", "subok", "signature"})


def _frozen(cls):
    """Whether objects of ``cls`` cannot change (a frozen dataclass)."""
    params = getattr(cls, "__dataclass_params__", None)
    return bool(getattr(params, "frozen", False))


def _is_ufunc_at(prim):
    """Whether ``prim`` is a ufunc's ``.at`` (a new bound method at every lookup)."""
    return isinstance(getattr(prim, "__self__", None), np.ufunc) and getattr(prim, "__name__", None) == "at"


def _loop_warning(function_name, lineno, construct):
    warnings.warn(
        f"vmap of {function_name}: line {lineno}: {construct} has no batching rule; it runs once per "
        "example (a Python loop over the batch).", RuntimeWarning, stacklevel=2)


class BatchBuilder:
    def __init__(self, parsed, normalized, batched_params, namer, module_names, comments, resolver, callees):
        self.callees = callees
        self.parsed = parsed
        self.normalized = normalized
        self.namer = namer
        self.module_names = module_names
        self.comments = comments
        self.resolver = resolver
        self.batch_name = namer.fresh("batch")
        self.extra_globals = {}
        self.callee_transforms = []
        self.looped = []  # (lineno, construct) of ops run once per example
        #: parameters holding objects of the user's classes whose methods do not change them (vmap_transform)
        self.unchanged_objects = set()
        #: generated derivative code (pure) may branch on a batched flag once for the batch when the
        #: examples agree, running once per example when they do not (backend/uniform_branches.py)
        self.uniform_branches = parsed.filename.startswith("<adjoint") and not any(
            op.prim is rt.write_back for op in walk_ops(normalized.ops))
        #: the flags it may test so: names unpacked from its parameters (a backward pass's residuals,
        #: whose branch flags the forward pass computed); a test it computes from batched values
        #: itself makes it run once per example, as in the user's code
        self.unpacked_flags = set()
        sources = set(normalized.params)
        for op in walk_ops(normalized.ops):
            if op.prim is UNPACK and op.args and getattr(op.args[0], "id", None) in sources:
                self.unpacked_flags.update(op.targets)
                sources.update(op.targets)
        self.uniform_tests = []  # (lineno, construct) of such branches
        #: names the function assigns (a method call on one of them is bound to a batched value)
        self.defined = set(normalized.params) | {t for op in walk_ops(normalized.ops) for t in op.targets}
        self.batched = self.propagate(set(batched_params))
        #: objects of the user's classes made here from no batched value, and their copies
        self.made_objects = {op.targets[0] for op in walk_ops(normalized.ops) if op.targets and isinstance(
            op.prim, type) and not is_library(op.prim) and not _frozen(op.prim)} - self.batched
        for op in walk_ops(normalized.ops):
            if op.prim is rt.identity and op.targets and set(op.reads()) & self.made_objects:
                self.made_objects.update(op.targets)
        #: names certain to hold a tuple or list (a literal, a call's results)
        self.containers = set()
        for op in walk_ops(normalized.ops):
            called = isinstance(op.prim, UserCall) and op.targets  # (a call statement has no target)
            if op.prim in (rt.make_tuple, rt.make_list) or (called and any(
                    o.prim is UNPACK and o.args and getattr(o.args[0], "id", None) == op.targets[0]
                    for o in walk_ops(normalized.ops))):
                self.containers.update(op.targets[:1])
        #: names that may hold a list or tuple (stacked for a NumPy call that reads it as one array)
        self.maybe_sequences = maybe_sequences(normalized.ops)

    # ------------------------------------------------------------ analysis

    def propagate(self, batched):
        """Every name whose value depends on a batched parameter (a fixed
        point: loops carry values around). A call run for its effect that
        reads batched values (``np.maximum.at(out, i, x)``) may write them
        into the array it is handed: that array holds the batch too
        (``self.updated``), each example its own."""
        ops = list(walk_ops(self.normalized.ops))
        self.updated = set()
        self.numpy_updated = set()  # (of those, the arrays NumPy writes into: np.copyto, ufunc.at, out=)
        made_here = self.defined - set(self.normalized.params)
        changed = True
        while changed:
            changed = False
            for op in ops:
                if op.kind == "expr" and self.reads_of(op) & batched and not isinstance(op.prim, (MethodCall, UserCall)):
                    # (a method or a function of the user's changes its objects as the
                    # objects' own transforms say, not as a NumPy call writes into an array)
                    for name in (self.updated_names(op) & made_here) - batched:
                        batched.add(name)
                        self.updated.add(name)
                        changed = True
                    if _numpy_writer(op.prim):
                        self.numpy_updated.update(self.updated_names(op) & made_here)
                if op.prim is rt.identity and op.kind == "assign" and set(op.targets) & self.numpy_updated and (
                        isinstance(op.value, gast.Name) and op.value.id in made_here and op.value.id not in batched):
                    # another name of an array written per example: that array is written
                    # per example too (``w = u; np.copyto(w, x)`` changes u)
                    batched.add(op.value.id)
                    self.updated.add(op.value.id)
                    self.numpy_updated.add(op.value.id)
                    changed = True
                if not op.targets or self.shape_result(op) or op.prim in (rt.keep_attribute, rt.keep_init_attribute):
                    continue  # (a record's object holds batched values, read through no name: normalize_records)
                if self.reads_of(op) & batched and not batched.issuperset(op.targets):
                    batched.update(op.targets)
                    changed = True
        return batched

    @staticmethod
    def updated_names(op):
        """The names a call run for its effect may change in place: its first
        argument, the receiver of a method, its ``out=`` (of those the
        function assigns: not a module, not a parameter)."""
        node = op.value
        if not isinstance(node, gast.Call):
            return set()
        candidates = node.args[:1] + [k.value for k in node.keywords if k.arg == "out"]
        if isinstance(node.func, gast.Attribute) and isinstance(node.func.value, gast.Name):
            candidates.append(node.func.value)
        return {c.id for c in candidates if isinstance(c, gast.Name)}

    @staticmethod
    def list_position(op):
        """Whether ``op`` is ``rt.item_position(items, key)`` (normalize_inplace):
        a position in a list made here, which has as many items in every
        example, so only the key can make it differ."""
        if op.prim is rt.item_position:  # (generated code differentiated again: the helper resolved)
            return True
        return op.prim is NONDIFF and op.construct == "position in the list"

    def reads_of(self, op):
        """The names whose batch makes ``op``'s result batched."""
        if self.list_position(op):
            return {n.id for a in op.args[1:] for n in walk_tree(a) if isinstance(n, gast.Name)}
        return op.reads()

    def shape_result(self, op):
        if op.prim is NONDIFF and isinstance(op.value, gast.Attribute) and op.value.attr in NONDIFF_ATTRIBUTES:
            return True
        if op.prim is NONDIFF and self.counting_call(op.value):
            return True
        try:
            return op.prim in SHAPE_RESULTS
        except TypeError:
            return False

    def counting_call(self, value):
        """Whether ``value`` is ``len(items)`` or ``rt.loop_length(...)`` written
        by normalize (a list's next position, a loop's count over a list built
        in the loop, np.select's cases): how many items, the same for every
        example (a list holds each item with its batch axis)."""
        if not isinstance(value, gast.Call) or value.keywords:
            return False
        func = value.func
        if isinstance(func, gast.Name) and func.id == "len" and len(value.args) == 1:
            return self.resolver.lookup("len") is len
        return (isinstance(func, gast.Attribute) and func.attr == "loop_length"
                and isinstance(func.value, gast.Name) and func.value.id == self.module_names["rt"])

    # ------------------------------------------------------------ helpers

    def is_batched(self, atom):
        """Whether ``atom`` (a name, or an index expression over names) depends on the batch."""
        if isinstance(atom, gast.Name):
            return atom.id in self.batched
        return isinstance(atom, gast.AST) and any(
            isinstance(n, gast.Name) and n.id in self.batched for n in walk_tree(atom))

    def rt_call(self, helper, *args, **keywords):
        func = gast.Attribute(value=load(self.module_names["rt"]), attr=helper, ctx=gast.Load())
        return gast.Call(func=func, args=list(args),
                         keywords=[gast.keyword(arg=k, value=v) for k, v in keywords.items()])

    def assign(self, target, value):
        return gast.Assign(targets=[store(target)], value=value, type_comment=None)

    def as_batched(self, atom):
        """``atom`` with a batch axis: itself if batched, else broadcast."""
        if self.is_batched(atom):
            return clone(atom)
        return self.rt_call("to_batched", clone(atom), load(self.batch_name))

    def line_comment(self, lineno):
        text = self.parsed.lines[lineno - 1].strip() if 0 < lineno <= len(self.parsed.lines) else ""
        return f"line {lineno}: {text}"

    # ------------------------------------------------------------ building

    def build(self):
        body = self.block(self.normalized.ops)
        result = self.normalized.result
        if not isinstance(result, (gast.Name, gast.Constant)):
            raise errors.TransformError(self.parsed.location(self.parsed.node), "return",
                                        "vmap needs the function to return one value.", "Return one value.")
        return body, self.is_batched(result)

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
        location = self.parsed.location(op)
        test = op.value
        if op.kind == "if" and self.is_batched(op.value):
            if not (self.uniform_branches and isinstance(op.value, gast.Name) and op.value.id in self.unpacked_flags):
                raise Unbatchable(location, "an if whose test depends on the batched values")
            # generated code: its flags usually agree across examples (backend/uniform_branches.py)
            self.uniform_tests.append((op.lineno, "an if whose test depends on the batched values"))
            test = self.rt_call("uniform_test", clone(op.value))
        if op.kind == "while" and self.is_batched(op.value):
            raise Unbatchable(location, "a while loop whose test depends on the batched values")
        if op.kind == "for" and any(isinstance(n, gast.Name) and n.id in self.batched
                                    for n in walk_tree(op.value)):
            raise Unbatchable(location, "a for loop over values that depend on the batched values")
        if op.kind == "if" and op.guard is not None:
            raise Unbatchable(location, "a try statement (an exception of one example must not stop the others)")
        marker = self.comments.marker(self.line_comment(op.lineno))
        if op.kind == "with":
            return [marker, with_statement(op, self.block(op.body))]
        if op.kind == "if":
            body = self.block(op.body) or [gast.Pass()]
            return [marker, gast.If(test=test, body=body, orelse=self.block(op.orelse))]
        body = self.block(op.body) + self.block(op.latch) + self.block(op.exit_check)
        if op.kind == "for":
            target = clone(op.loop_target) if op.loop_target is not None else store(op.targets[0])
            loop = gast.For(target=target, iter=op.value, body=body or [gast.Pass()], orelse=[],
                            type_comment=None)
        else:
            loop = gast.While(test=op.value, body=body or [gast.Pass()], orelse=[])
        return [marker, loop]

    def primal(self, op):
        if op.statement is not None:
            return op.statement
        if op.kind == "expr":
            return gast.Expr(value=op.value)
        if op.kind == "unpack":
            targets = gast.Tuple(elts=[store(t) for t in op.targets], ctx=gast.Store())
            return gast.Assign(targets=[targets], value=op.value, type_comment=None)
        return gast.Assign(targets=[store(op.targets[0])], value=op.value, type_comment=None)

    def statement(self, op):
        if op.kind == "break":
            return [gast.Break()]
        if op.construct == "alias check":  # (normalize_inplace) on the batch, told which values carry its axis
            call = clone(op.value)
            call.keywords = call.keywords + [gast.keyword(arg="batched", value=constant(self.is_batched(op.args[0])))]
            if len(call.args) > 3:  # the names it may share memory with: (name, label, batched)
                names = [gast.Tuple(elts=pair.elts + [constant(pair.elts[0].value in self.batched)], ctx=gast.Load())
                         for pair in call.args[3].elts]
                call.args[3] = gast.Tuple(elts=names, ctx=gast.Load())
            return [gast.Expr(value=call)]
        if op.construct == "argument check":  # (normalize_caller_objects) a batched list or dict is one too
            return [gast.Expr(value=clone(op.value))]
        if op.kind == "expr" and (op.prim in (rt.refuse_complex, rt.refuse_complex_arguments, rt.check_bound)
                                  or op.construct == "bound check"):  # (read dtypes alone; None is None batched)
            return [self.primal(op)]
        reads_batched = bool(self.reads_of(op) & self.batched)
        if not reads_batched:
            statement = self.primal(op)
            # a batched name assigned an unbatched value (a merge, a latch)
            if op.targets and op.targets[0] in self.batched and op.kind == "assign":
                # (an array that batched values update in place: a writable copy per example)
                helper = "vwritable" if op.targets[0] in self.updated else "to_batched"
                if op.targets[0] in self.numpy_updated and not fresh_result(op.prim, op.kwargs):
                    # a view or another name of an array: a copy per example would take the
                    # writes that NumPy makes in the array the other names hold
                    raise Unbatchable(self.parsed.location(op), "a call that writes batched values into an "
                                      "array that may share memory with another value (a view of it, "
                                      "or another name)")
                return [statement, self.assign(op.targets[0], self.rt_call(
                    helper, load(op.targets[0]), load(self.batch_name)))]
            return [statement]
        if self.shape_result(op):
            return [self.shape_statement(op)]
        target = op.targets[0] if op.targets else None
        prim = op.prim
        if prim is rt.write_back and all(self.is_batched(a) for a in op.args):
            # the caller's batched array takes the batched value
            return [gast.Expr(value=self.rt_call("vwrite_back", *[clone(a) for a in op.args]))]
        if prim is rt.write_back and self.is_batched(op.args[1]):
            # the caller's array is one for every example: it takes the value
            # only if every example gives it the same one
            caller = op.args[0]
            what = f"argument {caller.id!r}" if isinstance(caller, gast.Name) else "an argument"
            message = str(errors.vmap_changed_shared_argument(self.parsed.location(op), what))
            return [gast.Expr(value=self.rt_call("vwrite_back_shared", *[clone(a) for a in op.args],
                                                 constant(message)))]
        if self.read_objects(op):
            # each example has its own object (made by its own run of the function):
            # one made for the whole batch would keep every example's values in turn
            raise Unbatchable(self.parsed.location(op), f"{op.construct} with batched values and an object the "
                                                        "function made")
        if prim is rt.set_attribute and any(self.is_batched(a) for a in op.args):
            # an object this function does not follow (held by a container, ...): one for the batch
            reason = Unbatchable(self.parsed.location(op), f"{op.construct} with batched values")
            reason.changes_objects = True  # each example runs on its own copies (backend/vmap_objects)
            raise reason
        if op.kind == "expr" and _is_ufunc_at(prim) and isinstance(op.value, gast.Call) and not op.value.keywords:
            # ufunc.at(a, indices[, b]) on the whole batch (an index that differs: offset per example)
            flags = gast.Tuple(elts=[constant(self.is_batched(a)) for a in op.value.args], ctx=gast.Load())
            no_keywords = gast.Dict(keys=[], values=[])
            return [gast.Expr(value=self.rt_call("vufunc_at", load(self.batch_name), flags, no_keywords,
                                                 clone(op.value.func), *[clone(a) for a in op.value.args]))]
        if op.kind == "expr" or (op.statement is not None and prim is not UNPACK):
            return [self.looped_statement(op)]
        if prim is UNPACK:
            value = op.args[0]
            if isinstance(value, gast.Name) and value.id in self.containers:
                return [self.primal(op)]  # a tuple of batched items unpacks as it is
            unpack = gast.Tuple(elts=[store(t) for t in op.targets], ctx=gast.Store())
            return [gast.Assign(targets=[unpack], value=self.rt_call(
                "vmap_unpack", clone(value), constant(len(op.targets))), type_comment=None)]
        if prim in (rt.make_tuple, rt.make_list, rt.make_dict, rt.append, rt.replace_item, rt.concat_items,
                    rt.repeat_items):
            return [self.container_statement(op)]
        if prim in (rt.identity, rt.copy, rt.entry_value):
            return [self.primal(op)]
        if prim is rt.getitem:
            value, index = op.args
            if not self.is_batched(index):
                return [self.assign(target, self.rt_call("vmap_getitem", self.as_batched(value), clone(index)))]
            # an index computed from the example (a mask's selection may differ in size)
            raise Unbatchable(self.parsed.location(op), "indexing with an index that depends on the batched values")
        if prim in RAGGED or (prim is np.where and len(op.args) == 1):
            raise Unbatchable(self.parsed.location(op), f"{op.construct}, whose result's size depends on the values")
        if prim is rt.setitem:
            array, index, value = op.args
            if not self.is_batched(index):
                return [self.assign(target, self.rt_call(
                    "vmap_setitem", self.as_batched(array), clone(index), self.as_batched(value)))]
        if prim in (rt.store_attribute, rt.init_attribute) and any(self.is_batched(a) for a in op.args):
            # an object the derivative code follows (normalize_objects) holds one example's values:
            # one object per example cannot be stacked into one batched value
            reason = Unbatchable(self.parsed.location(op), f"{op.construct} on an object holding batched values")
            reason.changes_objects = True  # (one given by the caller: each example changes its own copy)
            raise reason
        if prim is rt.attribute and not self.is_batched(op.args[1]):
            return [self.primal(op)]  # a field of a batched container holds batched items
        if isinstance(prim, UserCall):
            return self.user_call(op)
        stacked, op = stack_list_operands(self, op)  # np.maximum([x, y], 0.5): the list stacked after the batch axis
        if stacked:
            return stacked + self.statement(op)
        if isinstance(prim, type) and not is_library(prim) and rules.lookup_batch(prim) is None:
            # one object per example cannot be stacked into one batched value
            raise Unbatchable(self.parsed.location(op), f"an object of class {prim.__name__} made from batched "
                              "values")
        if prim is NONDIFF:  # comparisons and other operators without derivative
            prim = self.operator_function(op.value)
        if prim not in (NONDIFF, OPAQUE, None) and not isinstance(prim, MethodCall):
            flagged = rules.batched_by_flags_helper(prim)
            if flagged is not None:
                return [self.looped_statement(op, flagged)]
            rule = rules.lookup_batch(prim)
            if rule is not None:
                statements = self.template_statement(op, rule)
                if statements is not None:
                    return statements
                indexed = rules.batched_index_helper(prim)
                if indexed is not None:  # an index that carries the batch axis
                    return [self.looped_statement(op, indexed)]
            function = self.function_expression(op)
            twin = MATH_TWINS.get(prim) if isinstance(prim, types.BuiltinFunctionType) else None
            if twin is not None and function is not None:
                # math.exp takes one number: the batch of them goes to np.exp
                function = gast.Attribute(value=load(self.module_names["np"]), attr=twin.__name__, ctx=gast.Load())
                op = copy.copy(op)
                op.value = gast.Call(func=function, args=[clone(a) for a in op.args], keywords=[])
            elementwise = rules.is_elementwise(prim) and not (prim is np.where and len(op.args) != 3)
            # keyword operands (scipy.stats' loc=, scale=) broadcast like positional ones;
            # a ufunc's dtype=, casting=... are options, not operands
            keyword_operands = ([v for k, v in op.kwargs.items() if k not in UFUNC_OPTIONS]
                                if "out" not in op.kwargs else None)
            if elementwise and keyword_operands is not None and function is not None and (
                    sum(isinstance(a, gast.Name) for a in op.args + keyword_operands) == 1):
                return [self.primal(op)]  # one array operand: it broadcasts as it is
            if elementwise and keyword_operands is not None and function is not None:
                # batched operands get singleton axes after the batch axis, up to the result's rank
                operands_all = op.args + keyword_operands
                names = [a for a in operands_all if isinstance(a, gast.Name)]
                if len({a.id for a in names}) == 1:
                    return [self.primal(op)]  # x * x
                flags = gast.Tuple(elts=[constant(self.is_batched(a)) for a in operands_all], ctx=gast.Load())
                rank = self.namer.temp()
                statements = [self.assign(rank, self.rt_call("result_rank", flags,
                                                             *[clone(a) for a in operands_all]))]

                def lifted(a):
                    return self.rt_call("vlift", clone(a), load(rank)) if self.is_batched(a) else clone(a)

                operands = [lifted(a) for a in op.args]
                keywords = [gast.keyword(arg=k, value=clone(v) if k in UFUNC_OPTIONS else lifted(v))
                            for k, v in op.kwargs.items()]
                if (prim is np.multiply and len(op.args) == 2 and not keywords
                        and sum(map(self.is_batched, op.args)) == 1):
                    # a shared value times a batched one: the shared one may be the identity
                    # basis of a Jacobian (vmap(jacrev(f))), whose product is written directly
                    function = gast.Attribute(value=load(self.module_names["rt"]), attr="vmultiply_shared",
                                              ctx=gast.Load())
                statements.append(self.assign(target, gast.Call(func=function, args=operands, keywords=keywords)))
                return statements
        return [self.looped_statement(op)]

    def read_objects(self, op):
        """The objects of the user's classes that the function made from no
        batched value (one object for the whole batch) which ``op`` reads
        together with batched values: a call or a store there could keep an
        example's values in the object the others read."""
        return op.reads() & self.made_objects if op.reads() & self.batched else set()

    def operator_function(self, value):
        """The NumPy function of an operator expression (``a < b`` is np.less), or None."""
        if isinstance(value, gast.Compare) and len(value.ops) == 1:
            return COMPARISONS.get(type(value.ops[0]))
        if isinstance(value, gast.BinOp):
            return BINARY_OPERATORS.get(type(value.op))
        if isinstance(value, gast.UnaryOp):
            return UNARY_OPERATORS.get(type(value.op))
        return None

    def function_expression(self, op):
        """An expression naming the op's function (``np.multiply`` for ``*``,
        ``np.sum`` for ``x.sum``: a method bound to a batched value would see
        the whole batch), or None."""
        method = (isinstance(op.value, gast.Call) and isinstance(op.value.func, gast.Attribute)
                  and isinstance(op.value.func.value, gast.Name) and op.value.func.value.id in self.defined)
        if isinstance(op.value, gast.Call) and not isinstance(op.value.func, gast.Call) and not method:
            return clone(op.value.func)
        prim = op.prim if op.prim is not NONDIFF else self.operator_function(op.value)
        name = getattr(prim, "__name__", None)
        if name is not None and getattr(np, name, None) is prim:
            return gast.Attribute(value=load(self.module_names["np"]), attr=name, ctx=gast.Load())
        return None

    def shape_statement(self, op):
        """``x.shape``, ``len(x)``: the same for every example, taken from the first."""
        value = op.value
        if isinstance(value, gast.Attribute):
            return self.assign(op.targets[0], self.rt_call("vmap_attribute", clone(value.value),
                                                           constant(value.attr)))
        func = value.func
        if op.prim in (len, NONDIFF) and isinstance(func, gast.Name) and func.id == "len" and len(value.args) == 1:
            # the length of one example: a container's item count, an array's second axis
            return self.assign(op.targets[0], self.rt_call("vlen", clone(value.args[0])))
        args = [self.rt_call("first_example", clone(a)) if self.is_batched(a) else clone(a) for a in value.args]
        return self.assign(op.targets[0], gast.Call(func=clone(func), args=args, keywords=clone(value.keywords)))

    def container_statement(self, op):
        """Containers of batched values hold every item with its batch axis
        (the key of ``d[k] = v`` stays a key)."""
        value = clone(op.value)
        if op.prim is rt.repeat_items:
            # items * n: the items keep their batch axis, the count n stays a number
            counts = [a for a in op.args if not (isinstance(a, gast.Name) and a.id in self.containers)]
            if any(self.is_batched(a) for a in counts):
                raise Unbatchable(self.parsed.location(op), "a list repeated a number of times that depends "
                                                            "on the batched values")
            return self.assign(op.targets[0], value)
        if op.prim is rt.replace_item and isinstance(value, gast.Call) and len(value.args) == 3:
            if self.is_batched(value.args[1]):
                raise Unbatchable(self.parsed.location(op), "an item assignment whose key or position depends "
                                                            "on the batched values")
            container, index, item = value.args
            value.args = [container, item]

        class Broadcast(gast.NodeTransformer):
            def visit_Constant(inner, node):  # noqa: N805 (a number among batched items)
                if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
                    return self.as_batched(node)
                return node

            def visit_Name(inner, node):  # noqa: N805 (the builder is self)
                if node.id in {a.id for a in op.args if isinstance(a, gast.Name)} and not self.is_batched(node):
                    if isinstance(node.ctx, gast.Load) and node.id not in (self.module_names["rt"],):
                        return self.as_batched(node)
                return node

        if isinstance(value, gast.Call) and op.prim is rt.make_dict and value.args:
            # rt.make_dict(keys, *values) (generated code's form): the keys stay keys
            if self.is_batched(value.args[0]):
                raise Unbatchable(self.parsed.location(op), "a dict whose keys depend on the batched values")
            value.args = value.args[:1] + [Broadcast().visit(a) for a in value.args[1:]]
        elif isinstance(value, gast.Call):
            value.args = [Broadcast().visit(a) for a in value.args]
            if op.prim is rt.replace_item and len(value.args) == 2:
                value.args.insert(1, index)
        else:
            value = Broadcast().visit(value)
        return self.assign(op.targets[0], value)

    def template_statement(self, op, rule):
        template = batch_template_for(rule)
        try:
            bindings, supplied = template.bind(op.args, op.kwargs)
        except TypeError:
            return None
        # Only the arguments a rule reads with vec[...] may carry a batch axis.
        shared = [param for param, atom in bindings.items()
                  if param not in template.batched_params and self.is_batched(atom)]
        if shared and rules.batched_index_helper(op.prim) is not None:
            return None  # (its helper batches an index that differs between the examples)
        if shared:
            return self.shared_template_statement(op, template, bindings, supplied, shared)
        prelude, value = template.expand_batch(
            load(op.targets[0]), lambda param: self.as_batched(bindings[param]), bindings, supplied,
            self.namer,
            {**names_for(template, self.module_names, self.namer, self.extra_globals), "batch": self.batch_name})
        return prelude + [self.assign(op.targets[0], value)]

    def shared_template_statement(self, op, template, bindings, supplied, shared):
        """The rule where arguments it reads for their values (an axis, an
        index, ``l_and_u``) carry the batch axis: they are most often the same
        in every example (constants that reached here through a tuple of
        residuals or a tape, broadcast with its other items), and then the
        rule runs on their one example; else the op runs once per example,
        announced when it does (``rt.vmap_loop_announced``)."""
        if op.kind != "assign" or len(op.targets) != 1:
            return None
        commons, prelude = {}, []
        for param in shared:
            name = self.namer.temp()
            prelude.append(self.assign(name, self.rt_call("common_example", clone(bindings[param]))))
            commons[param] = name
        bindings = {**bindings, **{param: load(name) for param, name in commons.items()}}
        rest, value = template.expand_batch(
            load(op.targets[0]), lambda param: self.as_batched(bindings[param]), bindings, supplied,
            self.namer,
            {**names_for(template, self.module_names, self.namer, self.extra_globals), "batch": self.batch_name})
        looped = self.looped_statement(op, announced=True)
        test = self.rt_call("all_common", *[load(name) for name in commons.values()])
        return prelude + [gast.If(test=test, body=rest + [self.assign(op.targets[0], value)], orelse=[looped])]

    def looped_statement(self, op, flagged=None, announced=False):
        """The op once per example: ``rt.vmap_loop`` calls it on each
        example's slice of the batched operands and stacks the results.
        ``flagged``: the runtime helper that batches this op given which
        operands are batched (rules.FLAG_BATCHED), called the same way."""
        if flagged is None and not announced:
            self.looped.append((op.lineno, op.construct))
        node = op.statement if op.statement is not None else op.value
        if flagged is None and isinstance(node, gast.Call):  # step(CELL, x): one CELL, changed by each example
            check_shared_changes(self, op, node, op.prim)
        function = self.function_expression(op)
        method = (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                  and isinstance(node.func.value, gast.Name) and node.func.value.id in self.defined)
        if (not isinstance(node, gast.Call) or method) and function is not None and op.kind == "assign":
            node = gast.Call(func=function, args=[clone(a) for a in op.args],
                             keywords=[gast.keyword(arg=k, value=clone(v)) for k, v in op.kwargs.items()])
        elif method:  # receiver.name(...) on each example's receiver
            if not self.is_batched(node.func.value) and not (
                    isinstance(node.func.value, gast.Name) and node.func.value.id in self.unchanged_objects):
                # one receiver for the whole batch, which the method may change (cell.step(x) on an object
                # held by a list): the whole function once per example, each on its own copies
                reason = Unbatchable(self.parsed.location(op), f"a call of .{node.func.attr}() on a value shared "
                                     "by the batch, with batched values")
                reason.changes_objects = True
                raise reason
            if node.func.attr in CONTAINER_UPDATES and self.is_batched(node.func.value):
                # an example of a list or dict is a new one: the update would be lost
                raise Unbatchable(self.parsed.location(op), f"a call of .{node.func.attr}() on a value that "
                                  "holds batched values (it updates that value in place)")
            node = gast.Call(func=gast.Attribute(value=load(self.module_names["rt"]), attr="call_method",
                                                 ctx=gast.Load()),
                             args=[clone(node.func.value), constant(node.func.attr)] + clone(node.args),
                             keywords=clone(node.keywords))
        if op.kind not in ("assign", "expr") or not isinstance(node, gast.Call) or any(
                isinstance(a, gast.Starred) for a in node.args):
            raise Unbatchable(self.parsed.location(op), op.construct or "this statement")
        flags = gast.Tuple(elts=[constant(self.is_batched(a)) for a in node.args], ctx=gast.Load())
        keyword_flags = gast.Dict(keys=[constant(k.arg) for k in node.keywords],
                                  values=[constant(self.is_batched(k.value)) for k in node.keywords])
        if flagged is not None:
            call = self.rt_call(flagged, load(self.batch_name), flags, keyword_flags, *[clone(a) for a in node.args])
        else:
            call = self.rt_call("vmap_loop_announced" if announced else "vmap_loop", load(self.batch_name),
                                clone(node.func), flags, keyword_flags, *[clone(a) for a in node.args])
        call.keywords = clone(node.keywords)
        if op.kind == "expr":
            return gast.Expr(value=call)
        return self.assign(op.targets[0], call)

    def user_call(self, op):
        call = op.prim
        try:
            found = call.differentiated(op.args, op.kwargs, self.is_batched)
        except TypeError as exc:
            raise errors.TransformError(self.parsed.location(op), op.construct, f"the call does not match "
                                        f"the function's parameters ({exc}).", "Fix the call.") from None
        positions = tuple(position for position, _, _ in found)
        if self.callees.in_progress(call.function, "vmap"):  # recursion: compiled when first called
            name = self.namer.fresh(f"{call.name}_vmap")
            self.extra_globals[name] = self.callees.lazy(call.function, positions, "vmap", mode="vmap",
                                                         arity=call.arity)
            self.extra_globals.update(call.bound)
            value = gast.Call(func=load(name), args=[load(self.batch_name)] + list(op.args),
                              keywords=[gast.keyword(arg=k, value=v) for k, v in op.kwargs.items()])
            return [self.assign(op.targets[0], value)]
        compiled = self.callees.vmap(call.function, positions, call.arity)
        if not hasattr(compiled, "namespace"):  # the callee runs once per example: so does this function
            reason = Unbatchable(self.parsed.location(op), f"a call of {call.name}, which runs once per example "
                                 f"({compiled.reason.construct})")
            reason.changes_objects = getattr(compiled.reason, "changes_objects", False)  # (see vmap_objects)
            raise reason
        self.callee_transforms.append(compiled)
        name = self.namer.fresh(f"{call.name}_vmap")
        self.extra_globals[name] = compiled.vmap
        self.extra_globals.update(call.bound)
        value = gast.Call(func=load(name), args=[load(self.batch_name)] + list(op.args),
                          keywords=[gast.keyword(arg=k, value=v) for k, v in op.kwargs.items()])
        if not compiled.out_batched:
            value = self.rt_call("to_batched", value, load(self.batch_name))
        return [self.assign(op.targets[0], value)]


def _numpy_writer(prim):
    """Whether ``prim`` is NumPy's (a function, a ufunc or a ufunc's method):
    a call of it run for its effect writes into an array."""
    owner = getattr(prim, "__self__", None)
    module = getattr(prim, "__module__", None) or ""
    return isinstance(prim, np.ufunc) or isinstance(owner, np.ufunc) or module.split(".")[0] == "numpy"


def warn_loops(function_name, looped):
    for lineno, construct in dict.fromkeys(looped):
        _loop_warning(function_name, lineno, construct)
