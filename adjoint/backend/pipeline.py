"""The pipeline of DESIGN.md, end to end, for one function and one set of
options: parse -> resolve -> normalize -> activity -> reverse -> optimize ->
compile. ``vjp_transform`` returns a ``CompiledVJP`` holding the generated
source and the live forward and backward functions.
"""
import builtins
import os
import types
import weakref

import gast
import numpy as np

from ..analysis import activity as activity_pass
from . import (common_subexpressions, diagonal_rows, freshness, fuse_tangents, one_example, optimize,
               reuse_forward, scaled_seed, shared_matrix, vmap_objects)
from .. import errors, runtime
from .compile import load_module, to_source, unique_filename
from ..frontend.gastutil import clone, constant, load, store, walk
from ..frontend.naming import Namer, names_in
from ..frontend.ir import (UserCall, is_library, kept_constant, merged_constant_blocks, try_statements, walk_ops,
                           with_statement)
from ..frontend.normalize import normalize
from ..frontend.normalize_objects import FOLLOW_OBJECTS
from ..frontend.normalize_self_calls import class_checks, lookups_current
from ..frontend.normalize_records import RECORDS_ONLY, NotRecords, SharedObjectsChanged
from ..frontend.parse import parse_function
from ..frontend.resolve import UNRESOLVED, Resolver
from ..transforms.batching import BatchBuilder, Unbatchable, warn_loops
from .uniform_branches import UniformOrLooped
from ..transforms.forward import JVPBuilder
from ..transforms.reverse import Comments, VJPBuilder

#: how many times the pipeline ran; tests use it to prove the cache works.
TRANSFORM_COUNT = {"vjp": 0, "jvp": 0, "vmap": 0}


class CompiledVJP:
    """The generated forward and backward functions of one transform."""

    def __init__(self, func, forward, backward, source, filename, params, wrt,
                 namespace, resolver, callees, rt_name):
        self.func = func
        self.forward = forward
        self.backward = backward
        self.source = source
        self.filename = filename
        self.params = params
        self.wrt = wrt
        self.namespace = namespace
        self.resolver = resolver
        self.callees = callees
        self.rt_name = rt_name
        self.number_globals = {}
        self.attribute_callees = []
        self.class_lookups = ()  # (class, name, what it held) read when it was made (normalize_self_calls)
        #: (number of returned items, {(item, argument)}) that cannot depend on each other
        self.independent = None
        #: parameter -> where ``param += v`` changes in place the array a caller passes
        self.augmented_params = {}
        self.callee_transforms = []
        self.owners = owners_of(func)
        self.freshness = None  # (freshness.plan, made at the first check)
        # How to re-read each free name cheaply: globals from the function's
        # module, closure variables from their cells; builtins never change.
        globals_get = resolver.globals.get
        self.readers = []
        for name, where in resolver.free.items():
            if where == "global":
                self.readers.append((name, globals_get))
            elif where == "closure":
                cell = resolver.cells[name]
                self.readers.append((name, lambda _name, cell=cell: cell.cell_contents))
            elif where == "constant" and name in resolver.defaults:  # a parameter's default function
                self.readers.append((name, resolver.defaults[name]))

    def is_current(self):
        """Re-read the function's free names; False if a callee changed
        (its derivative was chosen for the old one, so transform again).
        Runs on every call of a derivative: a flat look first
        (backend/freshness.py), the full check when something changed."""
        entries = self.freshness
        if entries is None:
            entries = self.freshness = freshness.plan(self, CompiledVJP)
        if freshness.unchanged(entries):
            return True
        return self.refresh()

    def refresh(self):
        """The full ``is_current``: refresh the namespaces of this transform
        and of those it reads; False if one must be made again."""
        if not owners_current(self.owners):
            return False
        namespace = self.namespace
        for name, read in self.readers:
            value = read(name)
            if value is not namespace[name]:
                if name in self.callees or name in self.resolver.defaults:
                    return False
                if name in self.number_globals and type(value) is not self.number_globals[name]:
                    return False  # the generated code assumed a number's shape
                namespace[name] = value
        # A callee reached through attributes (mylib.act, MODEL.predict) may
        # have been replaced on its module or class.
        for root, attributes, value in self.attribute_callees:
            current = namespace[root]
            try:
                for attribute in attributes:
                    current = getattr(current, attribute)
            except AttributeError:
                return False
            if current is not value and current != value:  # bound methods are made anew, and equal
                return False
        if self.class_lookups and not lookups_current(self.class_lookups):
            return False  # a class whose methods it read in place holds another one now
        # The functions this one calls read their own globals; a callee that
        # must be rebuilt means this one must be too. (A loop, not all() over
        # a generator: this runs on every call of a derivative.)
        for callee in self.callee_transforms:
            if not callee.is_current():
                return False
        return True


def owners_of(func):
    """The transforms whose namespace ``func`` reads, weakly held: generated
    code (a transform of it reads its globals from the namespace of the
    transform that generated it, which only that transform's is_current
    refreshes) and a derivative function of api/derivatives (the transform
    whose generated code it runs)."""
    owners = []
    owner = getattr(func, "__adjoint_owner__", None)
    if owner is not None:
        owners.append(owner)
    derivative = getattr(func, "__adjoint_derivative__", None)
    if derivative is not None and hasattr(derivative, "is_current"):
        owners.append(weakref.ref(derivative))
    return owners


def owners_current(owners):
    """Refresh ``owners`` (first: their namespaces are read next); False if
    one must be made again."""
    for owner in owners:
        generator = owner()
        if generator is not None and not generator.is_current():
            return False
    return True


def own_generated_functions(compiled):
    """Mark the functions of ``compiled``'s generated code with it (weakly),
    so that a transform of them refreshes ``compiled``'s namespace first."""
    owner = weakref.ref(compiled)
    for value in list(compiled.namespace.values()):
        if type(value) is types.FunctionType and value.__globals__ is compiled.namespace:
            value.__adjoint_owner__ = owner
    return compiled


def module_name(resolver, taken, namer, preferred, module):
    if preferred in taken and resolver.lookup(preferred) is not module:
        return namer.fresh(preferred)
    namer.taken.add(preferred)
    return preferred


def vjp_transform(func, wrt_positions, has_aux, for_caller, callees, arity=None, objects=None, real_params=False):
    """The reverse-mode transform; ``callees`` (cache.Callees) gives the
    transforms of the functions its code calls; ``arity`` (positional count,
    keyword names) the calls a function with *args or **kwargs is made for;
    ``objects`` ((parameter name, class), ...) the objects of the user's
    classes the call passes in (normalize_objects follows those it changes)."""
    TRANSFORM_COUNT["vjp"] += 1
    return _vjp_transform(func, wrt_positions, has_aux, for_caller, callees, arity, objects, real_params)


class FrontEnd:
    """What every transform shares: the parsed, resolved, normalized function
    and its activity with respect to ``wrt_positions``."""

    def __init__(self, func, wrt_positions, has_aux, callees, mode="vjp", arity=None, objects=None):
        self.parsed = parsed = parse_function(func)
        self.node = node = parsed.node
        self.resolver = resolver = Resolver(func, node)
        taken = names_in(node)
        self.namer = namer = Namer(taken)
        np_name = module_name(resolver, taken, namer, "np", np)
        rt_name = module_name(resolver, taken, namer, "rt", runtime)
        self.module_names = {"np": np_name, "rt": rt_name}
        self.callees = callees
        self.normalized = normalize(parsed, resolver, namer, has_aux, np_name, rt_name, callees, arity, objects)
        self.normalized.module_names = self.module_names
        # Calls from other transformed functions may differentiate keyword-only
        # parameters too: they are counted after the positional ones (and the
        # items of *args), as ir.specialized_parameters says.
        positional = self.normalized.params
        self.wrt = [positional[i] for i in wrt_positions]
        self.activity = activity_pass.analyze(self.normalized, self.wrt, parsed, callees, mode)
        # Objects of the module changed with differentiated values (normalize_objects):
        # a caller of this transform would read them without derivative (see cache.py).
        self.normalized.outside_stores = [
            location for location, stored in getattr(self.normalized, "outside_stores", ())
            if isinstance(stored, gast.Name) and stored.id in self.activity.varied]


def _vjp_transform(func, wrt_positions, has_aux, for_caller, callees, arity=None, objects=None, real_params=False):
    front = FrontEnd(func, wrt_positions, has_aux, callees, arity=arity, objects=objects)
    parsed, node, resolver, namer = front.parsed, front.node, front.resolver, front.namer
    module_names, normalized, wrt, activity = front.module_names, front.normalized, front.wrt, front.activity
    rt_name = module_names["rt"]
    np_name = module_names["np"]

    comments = Comments()
    builder = VJPBuilder(parsed, normalized, activity, wrt, namer, module_names, comments, resolver, callees)
    builder.real_params = real_params  # (else a caller may pass complex values: analysis/complex_values.py)
    seed, returns = builder.build()
    # (With no None adjoint, for_caller changes nothing: the cache uses this
    # transform for both, see cache.get_vjp.)
    same_for_caller = not any(isinstance(r, gast.Constant) for r in returns)
    if for_caller:  # a caller adds these adjoints up: zeros, not None
        returns = [builder.zero_init(p).value if isinstance(r, gast.Constant) else r
                   for p, r in zip(wrt, returns, strict=True)]
    back_body = builder.body
    return_names = {r.id for r in returns if isinstance(r, gast.Name)}
    back_body = optimize.forward_copies(back_body, protected=return_names | {seed})
    back_body = optimize.eliminate_dead_code(back_body, return_names)
    back_body = [optimize.scalars_out_of_reductions(optimize.fold_constants(stmt), rt_name) for stmt in back_body]
    batched = set(builder.bar_names.values()) | builder.call_adjoints | {seed}
    back_body = optimize.fuse_scalings(back_body, batched, return_names, namer, rt_name)
    back_body = [optimize.fold_constants(stmt, unguard=False) for stmt in back_body]
    back_body = optimize.eliminate_dead_code(back_body, return_names)
    back_body = reuse_forward.reuse(back_body, reuse_forward.forward_values(normalized),
                                    reuse_forward.forward_nodes(normalized))  # (x ** 2: the forward's t2)
    back_body = common_subexpressions.eliminate(back_body, namer, np_name, rt_name)  # (200.0 * t4 once)

    primal_names = set(normalized.params)
    for op in walk_ops(normalized.ops):
        primal_names.update(op.targets)
    primal_names.update(op.tape for op, _ in builder.loops)

    # What each loop saves per iteration: what its backward body reads that
    # the iteration computed (read before written there).
    for op, loop in builder.loops:
        inner = set(op.targets) | {op.tape for op in walk_ops(op.body + op.latch) if op.tape}
        inner.update(t for o in walk_ops(op.body + op.latch) for t in o.targets)
        saved = sorted(optimize.free_reads(loop.body) & inner, key=_order(normalized))
        if saved:
            loop.target.elts = [store(n) for n in saved]
        else:  # the iteration needs no value, only to happen
            loop.target = store(namer.fresh("_"))
        op.tape_values = saved

    read = optimize.free_reads(back_body) | optimize.reads(gast.Tuple(elts=returns, ctx=gast.Load()))
    residuals = sorted((read - {seed}) & primal_names, key=_order(normalized))
    # What the backward pass reads only for its shape can be saved as a shape.
    shape_only = optimize.shape_only_reads(back_body + [gast.Return(value=gast.Tuple(
        elts=returns, ctx=gast.Load()))], rt_name)
    builder.shape_only = shape_only

    name = node.name
    forward_name = namer.fresh(f"{name}_forward")
    backward_name = namer.fresh(f"{name}_backward")
    # (At function level the arrays are kept: one reference each costs less
    # than taking shapes on every call. Tapes grow with the iterations, so
    # there only the shape is saved; see _forward_compound.)
    residual_tuple = gast.Tuple(elts=[load(r) for r in residuals], ctx=gast.Load())

    forward_body = [comments.marker(f"forward pass of {name} ({os.path.basename(parsed.filename)}:{node.lineno})")]
    # A saved value that only some branches compute must still exist on the others.
    saved_names = set(residuals).union(*(op.tape_values for op, _ in builder.loops))
    branch_only = sorted(saved_names & _assigned_in_branches(normalized.ops), key=_order(normalized))
    if branch_only:
        forward_body.append(comments.marker("values that only some branches compute"))
        forward_body.append(gast.Assign(targets=[store(n) for n in branch_only], value=constant(None),
                                        type_comment=None))
    forward_body.extend(clone(s) for s in normalized.prologue)
    forward_body.extend(_forward_block(normalized.ops, comments, builder))
    forward_body.append(gast.Return(value=gast.Tuple(elts=[normalized.result, residual_tuple], ctx=gast.Load())))
    default_values = _defaults_by_value(func, node.args, resolver, namer)
    forward = gast.FunctionDef(name=forward_name, args=node.args, body=forward_body,
                               decorator_list=[], returns=None, type_comment=None, type_params=[])

    backward_body = [comments.marker(f"backward pass: adjoints of {', '.join(wrt)}")]
    if residuals:
        unpack = gast.Tuple(elts=[store(r) for r in residuals], ctx=gast.Store())
        backward_body.append(gast.Assign(targets=[unpack], value=load("residuals"), type_comment=None))
    returned = gast.Tuple(elts=returns, ctx=gast.Load())
    if builder.uses_batch and builder.batch_name in optimize.free_reads(back_body) | optimize.reads(returned):
        backward_body.append(gast.Assign(
            targets=[store(builder.batch_name)],
            value=gast.Call(func=gast.Attribute(value=load(rt_name), attr="batch_size", ctx=gast.Load()),
                            args=[load(seed)], keywords=[]),
            type_comment=None))
    backward_body.extend(back_body)
    result = returns[0] if len(returns) == 1 else gast.Tuple(elts=returns, ctx=gast.Load())
    backward_body.append(gast.Return(value=gast.Tuple(elts=returns, ctx=gast.Load())
                                     if len(returns) != 1 else gast.Tuple(elts=[result], ctx=gast.Load())))
    backward_args = gast.arguments(
        args=[gast.Name(id="residuals", ctx=gast.Param(), annotation=None, type_comment=None),
              gast.Name(id=seed, ctx=gast.Param(), annotation=None, type_comment=None)],
        posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    backward = gast.FunctionDef(name=backward_name, args=backward_args, body=backward_body,
                                decorator_list=[], returns=None, type_comment=None, type_params=[])

    module = gast.Module(body=[forward, backward], type_ignores=[])
    source = to_source(module, comments.texts)

    namespace, callees, attribute_callees = _namespace(front, builder, primal_names, default_values)
    filename = f"<adjoint vjp of {name} at {parsed.filename}:{node.lineno}>"
    filename = unique_filename(filename, source)
    load_module(source, filename, namespace, user_file=parsed.filename)
    forward_fn = namespace[forward_name]
    code_func = getattr(func, "__code__", None) and func
    if code_func is not None:
        forward_fn.__defaults__ = func.__defaults__
        forward_fn.__kwdefaults__ = func.__kwdefaults__
    compiled = CompiledVJP(func, forward_fn, namespace[backward_name], source, filename,
                           normalized.params, wrt, namespace, resolver, callees, rt_name)
    compiled.number_globals = {**builder.number_globals, **getattr(normalized, "followed_globals", {})}
    compiled.attribute_callees = attribute_callees + class_checks(normalized, namespace)
    compiled.class_lookups = normalized.class_lookups
    compiled.independent = activity_pass.independent_outputs(normalized, wrt)
    compiled.augmented_params = normalized.augmented_params
    compiled.outside_stores = normalized.outside_stores
    compiled.changes_module_state = getattr(normalized, "changes_module_state", False)
    compiled.followed_globals = getattr(normalized, "followed_globals", {})
    compiled.changed_values = getattr(normalized, "changed_values", ())
    compiled.callee_transforms = builder.callee_transforms
    compiled.same_for_caller = same_for_caller
    compiled.scaled_seed = len(returns) == 1 and scaled_seed.single_scaling(
        back_body, seed, returns[0], rt_name, unread=(builder.batch_name,))
    return own_generated_functions(compiled)


def jvp_transform(func, wrt_positions, has_aux, callees, arity=None, objects=None, real_params=False):
    """The forward-mode transform (see vjp_transform for ``callees``, ``arity`` and ``objects``)."""
    TRANSFORM_COUNT["jvp"] += 1
    front = FrontEnd(func, wrt_positions, has_aux, callees, mode="jvp", arity=arity, objects=objects)
    parsed, node, namer, normalized = front.parsed, front.node, front.namer, front.normalized
    comments = Comments()
    builder = JVPBuilder(parsed, normalized, front.activity, front.wrt, namer, front.module_names, comments,
                         front.resolver, callees)
    builder.real_params = real_params  # (else a caller may pass complex values: analysis/complex_values.py)
    body, output_dot = builder.build()
    body = [optimize.fold_constants(stmt) for stmt in body]
    sequences = builder.maybe_sequences | builder.held_sequences  # (a list's tangent is a list: not scaled)
    body, output_dot = fuse_tangents.fuse_tangents(
        body, output_dot, [dot for name, dot in builder.dot_names.items() if name not in sequences], namer,
        front.module_names["rt"], front.module_names["np"])
    body = [optimize.fold_constants(stmt, unguard=False) for stmt in body]
    body = reuse_forward.reuse_in_order(body, reuse_forward.forward_values(normalized),
                                        reuse_forward.forward_nodes(normalized))  # (x ** 2: the forward's t2)
    body = common_subexpressions.drop_unread(body, set(builder.dot_names.values()), optimize.reads(output_dot),
                                             front.module_names["np"])  # (the links of a fused chain)
    body = common_subexpressions.eliminate(body, namer, front.module_names["np"], front.module_names["rt"])
    scaled = not normalized.prologue and len(front.wrt) == 1 and scaled_seed.single_scaling(
        body, builder.dot_of(front.wrt[0]), output_dot, front.module_names["rt"], unread=(builder.batch_name,))
    name = node.name
    jvp_name = namer.fresh(f"{name}_jvp")
    marker = comments.marker(f"forward mode: tangents of {', '.join(front.wrt) or 'nothing'} "
                             f"({os.path.basename(parsed.filename)}:{node.lineno})")
    body = [marker] + [clone(s) for s in normalized.prologue] + body
    body.append(gast.Return(value=gast.Tuple(elts=[normalized.result, output_dot], ctx=gast.Load())))
    default_values = _defaults_by_value(func, node.args, front.resolver, namer)
    args = node.args
    tangents = gast.Name(id=builder.tangents_name, ctx=gast.Param(), annotation=None, type_comment=None)
    args.posonlyargs = [tangents] + list(args.posonlyargs)
    function = gast.FunctionDef(name=jvp_name, args=args, body=body, decorator_list=[], returns=None,
                                type_comment=None, type_params=[])
    source = to_source(gast.Module(body=[function], type_ignores=[]), comments.texts)
    primal_names = set(normalized.params)
    for op in walk_ops(normalized.ops):
        primal_names.update(op.targets)
    namespace, callees, attribute_callees = _namespace(front, builder, primal_names, default_values)
    filename = f"<adjoint jvp of {name} at {parsed.filename}:{node.lineno}>"
    filename = unique_filename(filename, source)
    load_module(source, filename, namespace, user_file=parsed.filename)
    jvp_fn = namespace[jvp_name]
    if getattr(func, "__code__", None) is not None:
        jvp_fn.__defaults__ = func.__defaults__
        jvp_fn.__kwdefaults__ = func.__kwdefaults__
    compiled = CompiledVJP(func, None, None, source, filename, normalized.params, front.wrt, namespace,
                           front.resolver, callees, front.module_names["rt"])
    compiled.jvp = jvp_fn
    compiled.augmented_params = normalized.augmented_params
    compiled.outside_stores = normalized.outside_stores
    compiled.changes_module_state = getattr(normalized, "changes_module_state", False)
    compiled.followed_globals = getattr(normalized, "followed_globals", {})
    compiled.changed_values = getattr(normalized, "changed_values", ())
    compiled.number_globals = {**builder.number_globals, **getattr(normalized, "followed_globals", {})}
    compiled.attribute_callees = attribute_callees + class_checks(normalized, namespace)
    compiled.class_lookups = normalized.class_lookups
    compiled.independent = activity_pass.independent_outputs(normalized, front.wrt)
    compiled.callee_transforms = builder.callee_transforms
    compiled.scaled_seed = scaled
    compiled.square_shapes = frozenset()  # (argument shapes whose output had the same: api/fast_forward.py)
    return own_generated_functions(compiled)


def vmap_transform(func, batched_positions, callees, arity=None, objects=None):
    """The batched transform of ``func`` for arguments batched at
    ``batched_positions``: ``compiled.vmap(batch, *args)`` returns the
    result, with a batch axis if ``compiled.out_batched``. Control flow that
    depends on batched values makes it a loop over the examples. ``objects``:
    the objects of the user's classes the call passes (see vjp_transform);
    one whose attributes the function sets makes it a loop over the examples,
    each on its own copy of the object (vmap_objects)."""
    TRANSFORM_COUNT["vmap"] += 1
    # Objects made from batched values are followed only if all are records (normalize_records):
    # else the function runs once per example, as before
    following = FOLLOW_OBJECTS.set(RECORDS_ONLY)
    module_changed = None  # an object of the module the function changes (refused if with batched values)
    try:
        front = FrontEnd(func, (), False, callees, arity=arity, objects=objects)
    except SharedObjectsChanged as changed:  # one object for the whole batch, changed by each example
        FOLLOW_OBJECTS.reset(following)
        if not changed.module:
            following = None
            return vmap_objects.looped_over_copies(func, batched_positions, changed, LoopedVmap)
        module_changed = changed
        following = FOLLOW_OBJECTS.set(False)
        front = FrontEnd(func, (), False, callees, arity=arity)
    except (NotRecords, errors.AdjointError):
        FOLLOW_OBJECTS.reset(following)
        following = FOLLOW_OBJECTS.set(False)
        front = FrontEnd(func, (), False, callees, arity=arity)
    finally:
        if following is not None:
            FOLLOW_OBJECTS.reset(following)
    parsed, node, namer, normalized = front.parsed, front.node, front.namer, front.normalized
    positional = normalized.params
    batched = [positional[i] for i in batched_positions]
    comments = Comments()
    builder = BatchBuilder(parsed, normalized, batched, namer, front.module_names, comments, front.resolver,
                           callees)
    # (objects given whose attributes the function sets raised SharedObjectsChanged above: these do not)
    builder.unchanged_objects = {name for name, _ in objects or () if name.isidentifier()}
    name = node.name
    try:
        body, out_batched = builder.build()
    except Unbatchable as reason:
        if getattr(reason, "changes_objects", False):  # an attribute set with batched values
            return vmap_objects.looped_over_copies(func, batched_positions, module_changed or reason, LoopedVmap)
        return LoopedVmap(func, batched_positions, reason)
    except errors.AdjointError:
        if module_changed is not None:  # (what the builder cannot batch may be the change itself)
            return vmap_objects.looped_over_copies(func, batched_positions, module_changed, LoopedVmap)
        raise
    if module_changed is not None and builder.looped:
        # a call run once per example (COUNT.step(x)) may be what changes the module's object
        return vmap_objects.looped_over_copies(func, batched_positions, module_changed, LoopedVmap)
    vmap_name = namer.fresh(f"{name}_vmap")
    marker = comments.marker(f"batched: {', '.join(batched)} carry a leading batch axis "
                             f"({os.path.basename(parsed.filename)}:{node.lineno})")
    body = [marker] + [clone(s) for s in normalized.prologue] + body + [gast.Return(value=normalized.result)]
    body = one_example.on_first_example(body, builder.batched, builder.batch_name, front.module_names["rt"],
                                        front.module_names["np"], set(normalized.params))
    body = shared_matrix.shared_matmuls(body, front.module_names["rt"], builder.batch_name)
    body = diagonal_rows.fuse_diagonal_rows(body, front.module_names["rt"], namer, set(normalized.params),
                                         builder.batch_name)
    default_values = _defaults_by_value(func, node.args, front.resolver, namer)
    args = node.args
    batch = gast.Name(id=builder.batch_name, ctx=gast.Param(), annotation=None, type_comment=None)
    args.posonlyargs = [batch] + list(args.posonlyargs)
    function = gast.FunctionDef(name=vmap_name, args=args, body=body, decorator_list=[], returns=None,
                                type_comment=None, type_params=[])
    source = to_source(gast.Module(body=[function], type_ignores=[]), comments.texts)
    primal_names = set(normalized.params)
    for op in walk_ops(normalized.ops):
        primal_names.update(op.targets)
    namespace, callees, attribute_callees = _namespace(front, builder, primal_names, default_values)
    filename = f"<adjoint vmap of {name} at {parsed.filename}:{node.lineno}>"
    filename = unique_filename(filename, source)
    load_module(source, filename, namespace, user_file=parsed.filename)
    vmap_fn = namespace[vmap_name]
    if getattr(func, "__code__", None) is not None:
        vmap_fn.__defaults__ = func.__defaults__
        vmap_fn.__kwdefaults__ = func.__kwdefaults__
    compiled = CompiledVJP(func, None, None, source, filename, normalized.params, batched, namespace,
                           front.resolver, callees, front.module_names["rt"])
    compiled.vmap = vmap_fn
    if builder.uniform_tests:  # branches on batched flags of generated code: a loop only if examples differ
        compiled.vmap = UniformOrLooped(vmap_fn, func, batched_positions, builder.uniform_tests, parsed.filename)
    compiled.augmented_params = normalized.augmented_params
    compiled.out_batched = out_batched
    compiled.looped = builder.looped
    warn_loops(name, builder.looped)
    compiled.attribute_callees = attribute_callees + class_checks(normalized, namespace)
    compiled.class_lookups = normalized.class_lookups
    compiled.callee_transforms = builder.callee_transforms
    return own_generated_functions(compiled)


class LoopedVmap:
    """A batched transform that calls the function once per example (its
    control flow depends on the batched values); warns once, naming why."""

    out_batched = True
    callee_transforms = ()
    looped = ()

    def __init__(self, func, batched_positions, reason):
        self.func = func
        self.positions = batched_positions
        self.reason = reason
        self.source = (f"# vmap of {getattr(func, '__name__', func)} runs once per example: "
                       f"{reason.construct} ({reason.location.filename}:{reason.location.lineno})\n")
        self.warned = False
        self.owners = owners_of(func)

    def is_current(self):
        return owners_current(self.owners)

    def vmap(self, batch, *args, **kwargs):
        if not self.warned:
            self.warned = True
            import warnings

            warnings.warn(f"vmap of {getattr(self.func, '__name__', self.func)}: "
                          f"{self.reason.location.filename}:{self.reason.location.lineno}: "
                          f"{self.reason.construct}, so the function runs once per example "
                          "(a Python loop over the batch).", RuntimeWarning, stacklevel=3)
        batched = tuple(i in self.positions for i in range(len(args)))
        return runtime.vmap_loop_shared(batch, self.func, batched, getattr(self.func, "__name__", "the function"),
                                        *args, **kwargs)


def _namespace(front, builder, primal_names, default_values):
    """The generated module's globals: every free name the function reads,
    bound as the function sees it, plus what the builder added; and the
    callees whose re-binding makes the transform stale."""
    normalized, resolver, node, namer = front.normalized, front.resolver, front.node, front.namer
    np_name, rt_name = front.module_names["np"], front.module_names["rt"]
    # Every free name the forward pass reads is bound in its namespace.
    for op in walk_ops(normalized.ops):
        for read_name in op.reads() - primal_names - {rt_name}:
            resolver.lookup(read_name)
    for node_ in walk(normalized.result):
        if isinstance(node_, gast.Name) and node_.id not in primal_names:
            resolver.lookup(node_.id)
    # Defaults of the user's parameters are evaluated in the namespace too.
    for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
        for n in walk(default):
            if isinstance(n, gast.Name):
                resolver.lookup(n.id)
    namespace = {"__builtins__": builtins, np_name: np, rt_name: runtime}
    namespace.update(resolver.refresh())
    namespace.update(default_values)
    namespace.update(builder.extra_globals)
    for op in walk_ops(normalized.ops):
        if isinstance(op.prim, UserCall):
            namespace.update(op.prim.bound)
    callees = {}
    attribute_callees = []  # (root name, attribute names, value): mylib.act, MODEL.predict
    for op in walk_ops(normalized.ops):
        func_node = op.value.func if isinstance(op.value, gast.Call) else None
        attributes = []
        called = func_node
        while isinstance(func_node, gast.Attribute):
            attributes.insert(0, func_node.attr)
            func_node = func_node.value
        if isinstance(func_node, gast.Name) and func_node.id in resolver.free:
            callees[func_node.id] = namespace[func_node.id]
            root = namespace[func_node.id]
            # (the runtime's helpers, which derivative code calls, are the library's own: not re-checked)
            if attributes and not is_library(root) and root is not runtime:
                value = resolver.value_of(called)
                if value is not UNRESOLVED:
                    attribute_callees.append((func_node.id, tuple(attributes), value))
    return namespace, callees, attribute_callees


def _defaults_by_value(func, args, resolver, namer):
    """Defaults written with names the generated module cannot see (``lambda
    t, k=k: ...`` in a loop, a local of the enclosing function) become names
    bound to the values the function holds: ``k=k_default``."""
    values = {}
    positional = args.posonlyargs + args.args
    held = getattr(func, "__defaults__", None) or ()
    held_keywords = getattr(func, "__kwdefaults__", None) or {}

    def unseen(expr):
        return any(isinstance(n, gast.Name) and resolver.lookup(n.id) is UNRESOLVED for n in walk(expr))

    for i, default in enumerate(args.defaults):
        if unseen(default) and len(held) == len(args.defaults):
            param = positional[len(positional) - len(args.defaults) + i].id
            name = namer.fresh(f"{param}_default")
            values[name] = held[i]
            args.defaults[i] = load(name)
    for i, (param, default) in enumerate(zip(args.kwonlyargs, args.kw_defaults, strict=True)):
        if default is not None and unseen(default) and param.id in held_keywords:
            name = namer.fresh(f"{param.id}_default")
            values[name] = held_keywords[param.id]
            args.kw_defaults[i] = load(name)
    return values


def _order(normalized):
    position = {p: i for i, p in enumerate(normalized.params)}
    for op in walk_ops(normalized.ops):
        if op.tape:
            position.setdefault(op.tape, len(position))
        for target in op.targets:
            position.setdefault(target, len(position))
    return lambda name: position[name]


def _saved(name, shape_only, rt_name):
    if name in shape_only:
        return gast.Call(func=gast.Attribute(value=load(rt_name), attr="shape_of", ctx=gast.Load()),
                         args=[load(name)], keywords=[])
    return load(name)


def _assigned_in_branches(ops):
    """Names that some path through a branch leaves unassigned."""
    names = set()
    for op in walk_ops(ops):
        if op.kind == "if":
            everywhere = ({t for o in op.body if not o.compound for t in o.targets}
                          & {t for o in op.orelse if not o.compound for t in o.targets})
            for inner in walk_ops(op.body + op.orelse):
                names.update(set(inner.targets) - everywhere)
                if inner.tape:
                    names.add(inner.tape)
    return names


def _forward_block(ops, comments, builder):
    """The forward pass: the user's computation, plus a tape per loop that
    the backward pass reads."""
    statements = []
    lineno = None
    for op in ops:
        if op.lineno != lineno and not op.compound:
            lineno = op.lineno
            statements.append(comments.marker(builder.line_comment(lineno)))
        if op.compound:
            lineno = None
            statements.extend(_forward_compound(op, comments, builder))
        else:
            rt_name = builder.module_names["rt"]
            statements.extend(kept_constant(op, [_forward_statement(op, rt_name)], rt_name))
    return merged_constant_blocks(statements)


def _forward_compound(op, comments, builder):
    if op.kind == "with":
        return [comments.marker(builder.line_comment(op.lineno)),
                with_statement(op, _forward_block(op.body, comments, builder))]
    if op.kind == "if" and op.guard is not None:
        count = op.guard.count
        guarded = _forward_block(op.body[:count], comments, builder)
        rest = _forward_block(op.body[count:], comments, builder)
        orelse = _forward_block(op.orelse, comments, builder)
        return [comments.marker(builder.line_comment(op.lineno))] + try_statements(
            op, guarded, rest, orelse, builder.module_names["rt"])
    if op.kind == "if":
        body = _forward_block(op.body, comments, builder) or [gast.Pass()]
        orelse = _forward_block(op.orelse, comments, builder)
        return [comments.marker(builder.line_comment(op.lineno)),
                gast.If(test=op.value, body=body, orelse=orelse)]
    body = _forward_block(op.body, comments, builder)
    before = [comments.marker(builder.line_comment(op.lineno))]
    if op.tape:
        values = getattr(op, "tape_values", [])
        record = gast.Tuple(elts=[_saved(v, builder.shape_only, builder.module_names["rt"]) for v in values],
                            ctx=gast.Load())
        before.append(gast.Assign(targets=[store(op.tape)], value=gast.List(elts=[], ctx=gast.Load()),
                                  type_comment=None))
        body.append(gast.Expr(value=gast.Call(
            func=gast.Attribute(value=load(op.tape), attr="append", ctx=gast.Load()),
            args=[record], keywords=[])))
    body.extend(_forward_block(op.latch, comments, builder))
    body.extend(_forward_block(op.exit_check, comments, builder))
    if op.kind == "for":
        target = clone(op.loop_target) if op.loop_target is not None else store(op.targets[0])
        loop = gast.For(target=target, iter=op.value, body=body or [gast.Pass()],
                        orelse=[], type_comment=None)
    else:
        loop = gast.While(test=op.value, body=body or [gast.Pass()], orelse=[])
    return before + [loop]


def _forward_statement(op, rt_name):
    if op.kind == "break":
        return gast.Break()
    if isinstance(op.call_forward, tuple) and op.call_forward[0] == "starred":
        # A call laid out when it runs: its callee is transformed then.
        _, prim, active = op.call_forward
        callee = constant(prim.method) if prim.method is not None else clone(prim.callee)
        value = gast.Call(func=gast.Attribute(value=load(rt_name), attr="starred_forward", ctx=gast.Load()),
                          args=[constant(prim.spec), constant(active), callee] + list(op.args), keywords=[])
        targets = gast.Tuple(elts=[store(t) for t in op.targets], ctx=gast.Store())
        if op.kind == "expr":
            return gast.Expr(value=value)
        return gast.Assign(targets=[targets], value=value, type_comment=None)
    if isinstance(op.call_forward, tuple):
        # A method of an object known only at run time, transformed then.
        _, method, positions = op.call_forward
        if method is None:
            helper, leading = "function_forward", [constant(positions)]
        else:
            helper, leading = "method_forward", [constant(method), constant(positions)]
        value = gast.Call(func=gast.Attribute(value=load(rt_name), attr=helper, ctx=gast.Load()),
                          args=leading + list(op.args),
                          keywords=[gast.keyword(arg=k, value=v) for k, v in op.kwargs.items()])
        targets = gast.Tuple(elts=[store(t) for t in op.targets], ctx=gast.Store())
        return gast.Assign(targets=[targets], value=value, type_comment=None)
    if op.call_forward is not None:
        # A call of the user's function whose result carries derivatives:
        # its forward pass also returns what its backward pass needs.
        value = gast.Call(func=load(op.call_forward), args=list(op.args),
                          keywords=[gast.keyword(arg=k, value=v) for k, v in op.kwargs.items()])
        targets = gast.Tuple(elts=[store(t) for t in op.targets], ctx=gast.Store())
        return gast.Assign(targets=[targets], value=value, type_comment=None)
    if op.statement is not None:
        return op.statement
    if op.kind == "expr":
        return gast.Expr(value=op.value)
    return gast.Assign(targets=[store(op.targets[0])], value=op.value, type_comment=None)


# ------------------------------------------------------------ facts about callees

#: function -> (its code, its facts)
_CALLEE_FACTS = weakref.WeakKeyDictionary()
_IN_PROGRESS = set()


def callee_facts(function, callees):
    """What a caller of ``function`` (the user's) needs to know about it:
    whether it returns a value it made and shared with nothing (the caller
    may update it in place), and its parameters that ``p += v`` may change
    in place (parameter -> (location, operator)). Read from its normalized
    form, made once per code object."""
    unknown = (False, {})
    try:
        code, known = _CALLEE_FACTS[function]
        if code is function.__code__:
            return known
    except (KeyError, TypeError, AttributeError):
        pass
    if function in _IN_PROGRESS:
        return unknown  # a recursive call: not known yet
    _IN_PROGRESS.add(function)
    try:
        parsed = parse_function(function)
        resolver = Resolver(function, parsed.node)
        taken = names_in(parsed.node)
        namer = Namer(taken)
        np_name, rt_name = (namer.fresh(n) if n in taken else n for n in ("np", "rt"))
        normalized = normalize(parsed, resolver, namer, False, np_name, rt_name, callees)
        known = (normalized.returns_new_value, normalized.augmented_params)
    except Exception:  # noqa: BLE001 (its own transform says what is wrong with it)
        known = unknown
    finally:
        _IN_PROGRESS.discard(function)
    try:
        _CALLEE_FACTS[function] = (function.__code__, known)
    except TypeError:
        pass
    return known
