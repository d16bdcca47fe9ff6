"""A-normal form: one primitive application per assignment.

``normalize(parsed, resolver, namer, has_aux, np_name, rt_name)`` turns the
body of the user's function into a list of ``ir.Op``s. Each ``Op`` assigns
the result of one primitive (a NumPy function, an operator, an indexing, a
container literal, a call of the user's own function) applied to atoms
(names and constants) to fresh names, in SSA form: a name assigned twice
gets a new version (``h``, ``h_1``), so every value the backward pass needs
is still there when the forward pass ends. Branches and loops stay
structured (``Op`` kinds "if", "for", "while"); early returns, break and
continue are lowered first (``lower.py``).

Guarantees: every ``Op.value`` is an expression over atoms that computes what
the user's code computed; ``Op.prim`` is the live object a rule is looked up
under (``np.multiply`` for ``*``, ``rt.getitem`` for ``x[i]``), ``NONDIFF``
for values that carry no derivative by construction, ``OPAQUE`` for
expressions kept whole (their derivative, if ever needed, is an error), or
None for calls to callables unknown until run time. Syntax outside the
supported subset raises ``UnsupportedSyntaxError`` with the user's file:line.

The statements are here, expressions in ``normalize_expressions``; branches
and loops in ``normalize_flow``, in-place updates in ``normalize_inplace`` (with
``normalize_ownership`` and ``normalize_caller_objects``), calls in
``normalize_calls`` (and the families it hands on: ``normalize_arguments``,
``normalize_inline``, ``normalize_call_forms``, ``normalize_functional``).
"""

import gast
import numpy as np

from .. import errors, rules
from . import parameter_kinds
from .. import runtime as rt
from .gastutil import clone, constant, load, store, walk as walk_tree
from .changed_in_place import changed_in_place
from .normalize_arguments import Arguments
from .normalize_call_forms import CallForms, is_array_namespace
from .normalize_caller_objects import CallerObjects
from .normalize_dataclasses import Dataclasses
from .normalize_calls import Calls
from .normalize_expressions import Expressions
from .normalize_flow import ControlFlow
from .normalize_imports import bind_local_import
from .normalize_inplace import InPlace, _is_add_at
from .normalize_inline import Inlining
from .normalize_iteration import Iteration
from .normalize_module_lists import ModuleLists
from .normalize_numpy_forms import NumpyForms
from .normalize_list_operands import lists_as_arrays
from .normalize_objects import Objects
from .normalize_operators import Operators
from .normalize_module_held import ModuleHeld
from .normalize_class_methods import ClassMethods
from .normalize_ownership import Ownership
from .normalize_views import rewrite_views
from .ir import (
    NONDIFF, UNPACK, MethodCall, Normalized, Op, StarredCall, UserCall, assigned_names, fresh_result, is_atom,
    lambda_as_def,
)
from .lower import lower_jumps, lower_returns
from .resolve import UNRESOLVED, bind_known_defaults
from ..rules.signatures import call_signature



class Normalizer(Dataclasses, Objects, ControlFlow, InPlace, Ownership, CallerObjects, Calls, Arguments, Inlining,
                 CallForms, NumpyForms, Iteration, Expressions, ModuleLists, Operators, ModuleHeld,
                 ClassMethods):
    """Builds the ops of one function; see the module docstring.

    State shared with the mixins: ``ops`` (the list being filled, swapped by
    ``region``), ``version`` (user name -> current SSA name), ``defined``
    (every name assigned), ``computed`` (pure expressions already computed),
    ``owners`` (which values may be updated in place), ``local_functions``
    (nested functions and lambdas by name), ``namer`` and ``resolver``.
    """

    def __init__(self, parsed, resolver, namer, has_aux, np_name, rt_name, callees, arity=None, objects=None):
        self.callees = callees
        self.arity = arity  # (positional count, keyword names) of the call a variadic function is made for
        self.object_params = dict(objects or ())  # parameter name -> class of the object the call passes
        # parameter name -> "array", "sequence" or "other", for the parameters noted in parameter_kinds
        self.param_kinds = dict(self.object_params.pop(parameter_kinds.KINDS_KEY, ()))
        self.prologue = []  # statements that take *args and **kwargs apart (see parameters)
        self.rt_name = rt_name
        self.parsed = parsed
        self.resolver = resolver
        self.namer = namer
        self.has_aux = has_aux
        self.np_name = np_name
        self.ops = []
        self.version = {}
        self.defined = set()  # every name the normalized code assigns
        self.computed = {}  # (primitive, expression text) -> the name holding it
        self.changed_names = set()  # the user's names whose arrays may change in place (changed_in_place)
        self.lineno = parsed.node.lineno
        self.local_functions = {}  # version name -> FunctionDef of a nested def or lambda
        self.ambiguous_functions = set()  # versions bound to different nested functions on different paths
        self.owners = {}  # version -> "owned" (made here, shared with nothing) or "shared"
        self.rebindable = set()  # versions that ``name op= v`` may re-bind (see InPlace)
        self.merged = set()  # phi and merge names seen (ownership is met over their sources)
        self.assigned = set()  # names some op has assigned (ownership is met over their definitions)
        self.views = {}  # temporary x[...] -> x (it may be a view of x)
        self.item_assumptions = {}  # phi version -> [(key, statement)] checked again at the latch
        self.owner_assumptions = {}  # phi version -> [(name, node, what)]: updates checked again at the latch
        self.rebind_ok = set()  # merged versions every source of which is owned or a number
        self.literal_items = {}  # version of a tuple/list literal -> its item atoms
        self.item_views = {}  # a value read out of a list or dict -> the items it may be
        self.local_partials = {}  # version of g = functools.partial(f, ...) -> (f, args, keywords)
        self.nested_partials = set()  # those of them whose f is a nested function (no object)
        self.made_here = set()  # values a function that returns new arrays made (no views)
        self.possible_items = {}  # a list or dict version -> every item it may hold, positions unknown
        self.starred_assumptions = {}  # a loop's phi -> (its length, the *items that relied on it)
        self.augmented_params = {}  # parameter -> where an update in place may change the caller's object
        self.caller_objects = {}  # version -> the parameter whose caller's object it is (see InPlace)
        self.caller_mixed = set()  # versions that are the caller's object on some paths only
        self.caller_assumptions = {}  # a loop's phi -> [(name, node)]: updates that took it for the caller's
        self.mapping_assumptions = {}  # a loop's phi -> (its keys, the **items that relied on them)
        self.held_elsewhere = set()  # items of a list or dict that something else also holds
        self.in_slots = set()  # values put in a slot of a list, tuple or dict
        self.dict_items = {}  # version of a dict literal with constant keys -> {key: item atom}
        self.list_versions = set()  # versions of lists made here (by literals and appends)
        self.container_versions = set()  # versions of lists and dicts made here (item assignment)
        self.user_versions = {}  # every version bound to a user's name -> that name
        self.changed_values = []  # objects and classes of the module changed as written (normalize_module_held)
        self.frozen_in_branches = set()  # versions of a name frozen in a branch, read as d.logpdf(x) (normalize_scipy)
        self.aliases = {}  # version -> the versions whose values it may share memory with (both ways)
        self.untracked = set()  # values whose other holders are not visible here (a callee's result)
        self.mapping_versions = set()  # versions of dicts made here (for k in d visits their keys)
        self.params = set()
        self.user_names = {}  # an inlined function's renamed local -> the name its user wrote
        #: loop-carried versions of names with no value before the loop (phi -> the user's name):
        #: a read of one that the loop has not bound yet is checked when the code runs
        self.maybe_unbound = {}
        self.loop_inits = set()  # ids of the ops that bind, before a loop, what it may leave unbound
        self.inline_stack = []  # nested functions being inlined (to catch recursion)
        self.inlining = []  # where each inlined function's return value goes
        self.no_grad = False
        self.output = None
        self.result = None
        self.init_objects()

    def unsupported(self, node, construct, reason, fix):
        return errors.UnsupportedSyntaxError(self.parsed.location(node), construct, reason, fix)

    def read(self, name):
        return self.version.get(name, name)

    def bind(self, name):
        """A new SSA version for an assignment to the user's ``name``."""
        if name in self.version or name in self.local_functions:
            # (a nested function bound on another path under the same name
            # must keep its own version: each is inlined where it is called)
            new = self.namer.fresh(name)
        else:
            new = name
        self.version[name] = new
        self.user_versions[new] = name
        self.defined.add(new)
        return new

    def may_change(self, value):
        """Whether ``value`` reads a name whose array the function may change
        in place (np.copyto(y, v): ``y - 1`` before and after differ)."""
        if not self.changed_names:
            return False
        for n in walk_tree(value):
            if isinstance(n, gast.Name):
                name = self.user_versions.get(n.id, n.id)
                if name in self.changed_names or self.user_names.get(name, name) in self.changed_names:
                    return True
        return False

    def emit(self, value, prim, args=(), kwargs=None, target=None, construct="", keys=None):
        # The same pure primitive on the same values is computed once
        # (``x[:-1]`` written twice); names are SSA, so equal text is equal value.
        key = None
        # (Not an attribute read: an object that is not followed may have changed in between, obj.n = 1.)
        # (Nor a new list or dict, list(x) twice: appends change the first one in place.)
        if not self.no_grad and prim is not rt.attribute and rules.lookup(prim) is not None and not isinstance(
                rules.lookup(prim), rules.CustomVJP) and not _new_container(prim) and not self.may_change(value):
            key = (id(prim), gast.dump(value))
            # (A new array bound to a user's name, ``v = x * 1.0`` twice, is
            # made again: one of them may be updated in place, and NumPy
            # gives each name its own array.)
            if key in self.computed and (target is None or not fresh_result(prim, kwargs)):
                previous = load(self.computed[key])
                if target is None:
                    return previous
                return self.emit(previous, rt.identity, [previous], target=target, construct="copy")
        target = target or self.namer.temp()
        if key is not None:
            self.computed[key] = target
        self.defined.add(target)
        op = Op("assign", [target], value, prim, args, kwargs, self.lineno, self.no_grad, construct, keys)
        self.cast_to(op)
        if isinstance(prim, (UserCall, MethodCall, StarredCall)):
            # The callee's residuals, kept for its backward pass.
            saved = self.namer.fresh(f"{getattr(prim, 'label', prim.name)}_saved")
            self.defined.add(saved)
            op.targets.append(saved)
        self.ops.append(op)
        self.track_ownership(op)
        self.track_mapping(target, prim, args, construct)
        if prim in (rt.make_tuple, rt.make_list) and not kwargs:
            self.literal_items[target] = list(args)
        elif (prim is rt.repeat_items and isinstance(args[0], gast.Name) and args[0].id in self.literal_items
              and all(isinstance(a, gast.Constant) for a in self.literal_items[args[0].id])):
            if isinstance(args[1], gast.Constant):
                self.literal_items[target] = self.literal_items[args[0].id] * args[1].value  # [0.0] * 3
            else:
                self.possible_items[target] = tuple(self.literal_items[args[0].id])  # [0.0] * n
        elif prim is rt.concat_items and all(isinstance(a, gast.Name) and self.all_items(a.id) is not None
                                             for a in args):
            first, second = (a.id for a in args)  # [0.0] * n + [1.0]: what each part holds, joined
            if all(v in self.literal_items and v not in self.possible_items for v in (first, second)):
                self.literal_items[target] = self.literal_items[first] + self.literal_items[second]
            else:
                self.possible_items[target] = tuple(self.all_items(first)) + tuple(self.all_items(second))
        elif prim is rt.make_dict and keys is not None and all(isinstance(k, gast.Constant) for k in keys):
            self.dict_items[target] = {k.value: v for k, v in zip(keys, args, strict=True)}
        return load(target)

    def function(self):
        node = self.parsed.node
        params = self.parameters()
        self.params = set(params)
        for name in params:
            self.user_versions[name] = name
        self.values_at_entry(node, params)
        self.changed_names = changed_in_place(node)  # (their expressions are computed where written)
        self.bind_outside_objects(node)
        self.bind_outside_lists(node)  # LAYERS[k] = v on a list of the module (normalize_module_lists)
        rewrite_views(node, self.resolver, self.namer)  # u[1:-1] held in a name and updated (normalize_views)
        lower_returns(node, self.namer)
        self.block(node.body)
        if self.output is None:
            self.output = constant(None)
            self.result = constant(None)
        self.without_unread_loop_inits(self.ops)
        lists_as_arrays(self.ops, self.namer, self.np_name)  # np.power([x, y], 3): the list made an array once
        outside_stores = list(self.check_objects(self.ops)) + self.outside_list_stores
        normalized = Normalized(node.name, params, self.ops, self.output, self.result)
        normalized.outside_stores = outside_stores
        # (any of them, differentiated or not: passes of the code run more than once restore it, api/passes.py)
        normalized.changes_module_state = bool(outside_stores) or bool(self.changed_values)
        normalized.changed_values = self.changed_values
        normalized.followed_globals = self.followed_globals
        normalized.frozen_in_branches = self.frozen_in_branches
        normalized.prologue = self.prologue
        normalized.augmented_params = self.augmented_params
        normalized.immutable = set(self.rebindable)
        normalized.rt_name = self.rt_name
        normalized.aliases = self.aliases  # (which values may share memory: analysis/activity.py)
        # (a caller may update in place what this returns: nothing else holds it)
        normalized.returns_new_value = (isinstance(self.result, gast.Name) and not self.has_aux
                                        and self.owners.get(self.result.id) == "owned"
                                        and self.holds_only_new_items(self.result.id))
        return normalized

    def parameters(self):
        """The parameters the transform differentiates, in the order of
        ``ir.specialized_parameters``. ``*args`` and ``**kwargs`` are
        specialized for the call (``self.arity``): each item gets a name of
        its own, taken out of the tuple or dict by the ``prologue`` (which
        checks that the call has that form), and the user's name is bound to
        a tuple or dict literal of them, so ``*args`` and ``kwargs["k"]`` in
        the body are items of a container of known length and keys."""
        args = self.parsed.node.args
        positional = [a.id for a in args.posonlyargs + args.args]
        kwonly = [a.id for a in args.kwonlyargs]
        nargs, keywords = self.arity if self.arity is not None else (len(positional), ())
        star_items, double_items, double_keys = [], [], []
        if args.vararg is not None:
            star_items = [self.namer.fresh(f"{args.vararg.id}_{i}") for i in range(max(0, nargs - len(positional)))]
        if args.kwarg is not None:
            named = {a.id for a in args.args} | set(kwonly)
            double_keys = [k for k in keywords if k not in named]
            double_items = [self.namer.fresh(f"{args.kwarg.id}_{k}") for k in double_keys]
        params = positional + star_items + kwonly + double_items
        for name in params:
            self.version[name] = name
            self.defined.add(name)
        if self.arity is not None:
            bind_known_defaults(self.resolver, self.parsed.node, positional, nargs, keywords)
        self.namer.taken.update(params)
        rt_helper = lambda name: gast.Attribute(value=load(self.rt_name), attr=name, ctx=gast.Load())  # noqa: E731
        if args.vararg is not None:
            star = args.vararg.id
            self.prologue.append(gast.Assign(
                targets=[gast.Tuple(elts=[store(n) for n in star_items], ctx=gast.Store())],
                value=gast.Call(func=rt_helper("variadic_items"),
                                args=[load(star), constant(len(star_items)), constant(star)], keywords=[]),
                type_comment=None))
            self.version[star] = self.namer.fresh(star)
            self.emit(gast.Tuple(elts=[load(n) for n in star_items], ctx=gast.Load()), rt.make_tuple,
                      [load(n) for n in star_items], target=self.version[star], construct=f"*{star}",
                      keys=list(range(len(star_items))))
        if args.kwarg is not None:
            double = args.kwarg.id
            self.prologue.append(gast.Assign(
                targets=[gast.Tuple(elts=[store(n) for n in double_items], ctx=gast.Store())],
                value=gast.Call(func=rt_helper("keyword_items"),
                                args=[load(double), gast.Tuple(elts=[constant(k) for k in double_keys],
                                                                ctx=gast.Load()), constant(double)],
                                keywords=[]),
                type_comment=None))
            self.version[double] = self.namer.fresh(double)
            keys = [constant(k) for k in double_keys]
            self.emit(gast.Dict(keys=keys, values=[load(n) for n in double_items]), rt.make_dict,
                      [load(n) for n in double_items], target=self.version[double], construct=f"**{double}",
                      keys=[constant(k) for k in double_keys])
        return params

    def block(self, body):
        self.open_blocks.append(body)  # (what a statement's neighbours read: normalize_held)
        try:
            for position, stmt in enumerate(body):
                if self.output is not None:
                    raise self.unsupported(stmt, "code after return", "it never runs.",
                                           "Remove it.")
                self.lineno = stmt.lineno
                self.statement(stmt, last=position == len(body) - 1)
        finally:
            self.open_blocks.pop()

    def statement(self, stmt, last):
        if isinstance(stmt, gast.Assign):
            if len(stmt.targets) == 1:
                self.assign(stmt.targets[0], stmt.value)
            else:
                value = self.atom(stmt.value)
                for target in stmt.targets:
                    self.assign(target, value)
        elif isinstance(stmt, gast.AnnAssign):
            if stmt.value is not None:
                self.assign(stmt.target, stmt.value)
        elif isinstance(stmt, gast.AugAssign):
            if isinstance(stmt.target, gast.Name):
                self.check_rebinding_update(stmt)
                before = self.read(stmt.target.id)
                current = load(stmt.target.id)
                value = gast.copy_location(gast.BinOp(left=current, op=stmt.op, right=stmt.value), stmt)
                # (v += w on an object of the user's class: v.__iadd__(w), normalize_operators)
                self.assign(stmt.target, self.operator_as_method(value, in_place=True))
                self.changed_in_place(stmt, stmt.target.id, before)
            elif isinstance(stmt.target, gast.Subscript):
                self.refuse_object_item_store(stmt.target)
                self.check_item_update(stmt)
                read = gast.Subscript(value=clone(stmt.target.value), slice=clone(stmt.target.slice),
                                      ctx=gast.Load())
                self.setitem(stmt.target, gast.BinOp(left=read, op=stmt.op, right=stmt.value))
            elif isinstance(stmt.target, gast.Attribute) and self.update_object_attribute(stmt):
                return
            elif isinstance(stmt.target, gast.Attribute):
                # obj.n += v, as Python does it (an array attribute is updated in
                # place); like obj.n = v, refused where v carries a derivative
                self.note_module_change(stmt.target.value)  # (Counter.n += 1: passes give it back)
                receiver, value = self.atom(stmt.target.value), self.atom(stmt.value)
                kept = gast.AugAssign(target=gast.Attribute(value=receiver, attr=stmt.target.attr, ctx=gast.Store()),
                                      op=stmt.op, value=value)
                self.ops.append(Op("stmt", [], None, rt.set_attribute, [receiver, constant(stmt.target.attr), value],
                                   lineno=self.lineno, no_grad=self.no_grad,
                                   construct=f"attribute .{stmt.target.attr} set", statement=kept))
            else:
                raise self.in_place(stmt)
        elif isinstance(stmt, gast.Expr):
            if isinstance(stmt.value, gast.Constant):
                return  # a docstring or a bare constant does nothing
            if isinstance(stmt.value, (gast.ListComp, gast.SetComp, gast.DictComp)):
                self.comprehension_statement(stmt.value)
                return
            call = stmt.value
            if (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute)
                    and call.func.attr == "append" and isinstance(call.func.value, gast.Name)
                    and call.func.value.id in self.version and len(call.args) == 1 and not call.keywords):
                self.list_append(call)
                return
            if (isinstance(call, gast.Call) and _is_add_at(self.resolver.value_of(call.func))
                    and self.add_at(call)):
                return
            if (isinstance(call, gast.Call) and self.resolver.value_of(call.func) is np.fill_diagonal
                    and self.fill_diagonal(call)):
                return
            value, prim, args, kwargs, construct, keys = self.operation(stmt.value)
            if construct == "call of a nested function":
                return  # inlined: its body's ops, changes in place included, are the call
            self.ops.append(Op("expr", [], value, prim, args, kwargs, self.lineno,
                               self.no_grad, construct, keys))
        elif isinstance(stmt, gast.Return):
            if not last or self.no_grad:
                raise self.unsupported(stmt, "return before the end of the function",
                                       "early returns are not supported yet.",
                                       "Assign the value and return it once, at the end.")
            self.returns(stmt)
        elif isinstance(stmt, gast.With):
            self.with_block(stmt)
        elif isinstance(stmt, gast.Pass):
            return
        elif isinstance(stmt, (gast.Assert, gast.Raise)):
            # Checks of the input: they run in the forward pass, and carry no derivative.
            kept = self.rename_opaque(stmt)
            self.ops.append(Op("stmt", [], None, NONDIFF, lineno=self.lineno,
                               construct="assert" if isinstance(stmt, gast.Assert) else "raise",
                               statement=kept))
        elif isinstance(stmt, gast.If):
            self.if_statement(stmt)
        elif isinstance(stmt, (gast.For, gast.While)):
            if stmt.orelse:
                raise self.unsupported(stmt, f"{type(stmt).__name__.lower()} ... else",
                                       "a loop's else clause is not supported.",
                                       "Use a flag set before break instead.")
            before, stmt = lower_jumps(stmt, self.namer)
            for flag_init in before:
                self.statement(flag_init, last=False)
            self.lineno = stmt.lineno
            if isinstance(stmt, gast.For):
                self.for_statement(stmt)
            else:
                self.while_statement(stmt)
        elif isinstance(stmt, gast.Break):
            self.ops.append(Op("break", [], None, NONDIFF, lineno=self.lineno, construct="break"))
        elif isinstance(stmt, gast.FunctionDef) and not stmt.decorator_list:
            # A nested function: its calls are inlined where they happen, so
            # its closure over the enclosing function's values differentiates.
            self.local_functions[self.bind(stmt.name)] = self.with_evaluated_defaults(stmt)
        elif isinstance(stmt, (gast.Global, gast.Nonlocal)):
            kind = type(stmt).__name__.lower()
            if not set(stmt.names) & assigned_names(self.parsed.node.body):
                return  # a declaration of names the function only reads
            raise self.unsupported(stmt, f"{kind} statement",
                                   f"a differentiated function cannot write {kind} variables: the "
                                   "derivative would miss the values they carry.",
                                   "Pass the value in as an argument and return the new value.")
        elif isinstance(stmt, gast.Try):
            self.try_statement(stmt)
        elif isinstance(stmt, (gast.Import, gast.ImportFrom)) and bind_local_import(self, stmt):
            return  # from scipy.special import ndtr in the function: see normalize_imports
        elif isinstance(stmt, gast.Delete):
            raise self.unsupported(stmt, "del statement",
                                   "deleting names or items is not supported in a differentiated function.",
                                   "Remove it; names go away when the function returns.")
        else:
            construct = type(stmt).__name__
            raise self.unsupported(stmt, f"{construct} statement",
                                   "this statement is not supported inside a "
                                   "differentiated function.",
                                   "Move it out of the function, or compute the "
                                   "value outside and pass it in.")

    def in_place_refusal(self, node, construct, reason, fix):
        """An update in place refused: NumPy would change a value something
        else holds (a call of this function changes what it is given)."""
        return errors.InPlaceChangeError(self.parsed.location(node), construct, reason, fix)

    def in_place(self, stmt):
        return self.in_place_refusal(stmt, "in-place update of an element or attribute",
                                "assignments to x[...] or x.attr are not supported yet.",
                                "Build the new value instead (np.where, np.concatenate).")

    def assign(self, target, value):
        if (isinstance(target, gast.Name) and isinstance(value, gast.Call)
                and is_array_namespace(self.resolver.value_of(value.func))):
            # xp = array_namespace(x) (SciPy's array API code): NumPy's functions
            # for NumPy arrays, which is what xp.sum(...) then resolves to.
            self.resolver.constants[target.id] = np
            return
        if isinstance(target, gast.Name) and isinstance(value, gast.Lambda):
            self.local_functions[self.bind(target.id)] = self.with_evaluated_defaults(lambda_as_def(value))
            return
        if isinstance(target, gast.Name) and self.is_partial_call(value):
            self.local_partial(target.id, value)
            return
        if isinstance(target, gast.Name):
            if is_atom(value) or isinstance(value, gast.Name):
                atom = self.atom(value)
                prim = rt.identity if self.is_local(atom) else NONDIFF
                self.emit(atom, prim, [atom], target=self.bind(target.id), construct="copy")
            else:
                self.expression(value, target=None, user_name=target.id)
        elif isinstance(target, (gast.Tuple, gast.List)):
            if (isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(target.elts)
                    and not any(isinstance(e, gast.Starred) for e in target.elts + value.elts)):
                self.parallel_assign(target.elts, value.elts)
                return
            atom = self.atom(self.unpacked_iterator(value))  # a, b = zip(u, v): see normalize_numpy_forms
            self.unpack(target, atom)
        elif isinstance(target, gast.Subscript):
            self.setitem(target, value)
        elif isinstance(target, gast.Attribute) and self.store_object_attribute(target, value):
            return
        elif isinstance(target, gast.Attribute):
            # obj.attr = value: done in the forward pass; a differentiated value
            # stored so is refused (activity), as its readers would miss its derivative
            self.note_module_change(target.value)  # (Counter.scale = v: passes give it back)
            receiver, stored = self.atom(target.value), self.atom(value)
            call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="set_attribute", ctx=gast.Load()),
                             args=[receiver, constant(target.attr), stored], keywords=[])
            self.ops.append(Op("expr", [], call, rt.set_attribute, [receiver, constant(target.attr), stored],
                               lineno=self.lineno, no_grad=self.no_grad, construct=f"attribute .{target.attr} set"))
        else:
            raise self.in_place(target)

    def parallel_assign(self, targets, values):
        """``a, b = e1, e2``: every value is computed before any name is bound
        (so ``a, b = b, a`` swaps), each straight into its target's name."""
        if not all(isinstance(t, gast.Name) for t in targets):
            atoms = [self.atom(v) for v in values]
            for target, atom in zip(targets, atoms, strict=True):
                self.assign(target, atom)
            return
        names = []
        for target, value in zip(targets, values, strict=True):
            name = self.namer.fresh(target.id) if target.id in self.version else target.id
            if name == target.id:
                self.namer.taken.add(name)
            self.user_versions[name] = target.id  # (bound once every value is computed)
            if is_atom(value):
                atom = self.atom(value)
                prim = rt.identity if self.is_local(atom) else NONDIFF
                self.emit(atom, prim, [atom], target=name, construct="copy")
            else:
                self.expression(value, target=name)
            names.append((target.id, name))
        for user_name, name in names:
            self.version[user_name] = name
            self.defined.add(name)

    def unpack(self, target, atom):
        names = []
        nested = []
        for element in target.elts:
            if isinstance(element, gast.Name):
                names.append(element.id)
            elif isinstance(element, (gast.Tuple, gast.List)):
                temp = self.namer.temp()
                names.append(None)
                nested.append((temp, element))
                names[-1] = temp
            else:
                raise self.unsupported(element, "starred or subscripted unpacking target",
                                       "only names and nested tuples of names can be unpacked into.",
                                       "Unpack into names first.")
        nested_temps = {temp for temp, _ in nested}
        targets = [n if n in nested_temps else self.bind(n) for n in names]
        self.defined.update(targets)
        statement = gast.Assign(targets=[gast.Tuple(elts=[store(t) for t in targets], ctx=gast.Store())],
                                value=atom, type_comment=None)
        self.ops.append(Op("unpack", targets, atom, UNPACK, [atom], None, self.lineno,
                           self.no_grad, "unpacking", statement=statement))
        self.track_unpacking(targets, atom)
        for temp, element in nested:
            self.unpack(element, load(temp))

    def returns(self, stmt):
        value = stmt.value if stmt.value is not None else constant(None)
        if self.inlining:
            returned = None
            if isinstance(value, gast.Lambda):
                returned = self.with_evaluated_defaults(lambda_as_def(value))
            elif isinstance(value, gast.Name) and self.read(value.id) in self.local_functions:
                self.check_unambiguous_function(value)
                returned = self.local_functions[self.read(value.id)]
            if returned is not None:  # a closure returned by a function inlined here: inlined where called
                self.local_functions[self.inlining[-1]] = self.frozen(returned)
                self.defined.add(self.inlining[-1])
                return
            self.assign_to(self.inlining[-1], value)
            return
        if self.has_aux and isinstance(value, gast.Tuple) and len(value.elts) == 2:
            output = self.atom(value.elts[0])
            aux = self.atom(value.elts[1])
            self.output = output
            self.result = gast.Tuple(elts=[output, aux], ctx=gast.Load())
            return
        if is_atom(value) or isinstance(value, gast.Constant):
            result = self.atom(value)
        else:
            result = self.expression(value, target=self.namer.fresh("out"))
        self.result = result
        if self.has_aux:
            check = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="check_aux_result",
                                                  ctx=gast.Load()), args=[result], keywords=[])
            self.ops.append(Op("expr", [], check, NONDIFF, [result], lineno=self.lineno,
                               construct="has_aux check"))
            index = constant(0)
            self.output = self.emit(gast.Subscript(value=result, slice=index, ctx=gast.Load()),
                                    rt.getitem, [result, index], construct="indexing")
        else:
            self.output = result

    def with_block(self, stmt):
        from ..constants import no_grad

        items = stmt.items
        context = items[0].context_expr if len(items) == 1 else None
        if isinstance(context, gast.Call) and not context.args and not context.keywords:
            context = context.func
        if context is None or self.resolver.value_of(context) is not no_grad:
            return self.context_block(stmt)
        if items[0].optional_vars is not None:
            raise self.unsupported(stmt, "with no_grad() as ...", "no_grad() binds no value.",
                                   "Drop the `as` part.")
        outer = self.no_grad
        self.no_grad = True
        self.block(stmt.body)
        self.no_grad = outer

    def cast_to(self, op):
        """A primitive whose rule takes ``dtype`` (``np.sum(x, dtype=int)``,
        ``x.astype(bool)``, ``np.cumsum``, ``np.full``, ...) computes in that
        type: through integers or booleans its result is flat, so its
        derivative is 0 (a slope of 1 would be wrong: the cast truncates).
        A dtype written in the source makes the op carry no derivative; one
        known only when the code runs (``dtype=x.dtype``) is kept in
        ``op.cast`` for the builders, which cast the derivative with it."""
        rule = rules.lookup(op.prim)
        if rule is None or isinstance(rule, rules.CustomVJP):
            return
        try:
            signature = call_signature(rule)  # (z, the arguments...): the arguments
            if "dtype" not in signature.parameters:
                return
            supplied = signature.bind(*op.args, **op.kwargs).arguments
        except (TypeError, ValueError):
            return  # the builders say what does not fit
        if "dtype" not in supplied:
            return
        dtype = supplied["dtype"]
        if isinstance(dtype, gast.Constant):
            value = dtype.value
        elif self.is_local(dtype):
            value = UNRESOLVED
        else:
            value = self.resolver.value_of(dtype)
        if value is UNRESOLVED:
            op.cast = dtype
            return
        try:
            flat = value is not None and np.dtype(value).kind in "biu"
        except TypeError:
            return  # NumPy refuses it when the code runs
        if flat:
            op.no_grad = True

    def is_local(self, atom):
        return isinstance(atom, gast.Name) and atom.id in self.defined

    def check_unambiguous_function(self, node):
        if self.read(node.id) in self.ambiguous_functions:
            raise self.unsupported(node, f"nested function {node.id!r}",
                                   "it is defined differently on different paths (in the branches of "
                                   "an if, or again in a loop) and used after them, but nested "
                                   "functions are inlined where they are called.",
                                   "Call it on each path where it is defined, or define module-level "
                                   "functions and choose between them: act = np.sin if c else np.cos.")


def _new_container(prim):
    """Whether ``prim`` returns a new list or dict (which appends and item updates may change in place)."""
    try:
        return prim in _NEW_CONTAINERS
    except TypeError:  # (unhashable)
        return False


_NEW_CONTAINERS = {list, dict, rt.array_to_list, rt.copy, rt.concat_items, rt.repeat_items}


def normalize(parsed, resolver, namer, has_aux, np_name, rt_name, callees, arity=None, objects=None):
    from .normalize_self_calls import LOOKUPS

    lookups = set()  # the methods read from classes (classes.method_of): the transform's is_current checks them
    token = LOOKUPS.set(lookups)
    try:
        normalized = Normalizer(parsed, resolver, namer, has_aux, np_name, rt_name, callees, arity, objects).function()
    finally:
        LOOKUPS.reset(token)
    normalized.class_lookups = tuple(lookups)
    return normalized

