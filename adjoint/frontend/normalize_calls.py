"""A-normal form of calls: primitives, the user's own functions (a
``UserCall``, transformed in turn), array methods, derivatives called in
the function. Calls are dispatched here; their families are normalized in
``normalize_arguments`` (``*seq``, ``**mapping``, partials),
``normalize_inline`` (nested functions and lambdas, inlined),
``normalize_call_forms`` (calls rewritten to the form the rules take),
``normalize_functional`` (map, filter, reduce, np.select),
``normalize_scipy`` and ``normalize_scipy_calls``."""
import builtins
import functools
import types

import gast
import numpy as np

from .. import errors, made, rules
from .. import runtime as rt
from . import normalize_functional as functional, normalize_scipy, normalize_scipy_calls, operator_calls
from . import normalize_numpy_more, normalize_scipy_distance
from .gastutil import clone, constant, load
from .ir import (
    ARRAY_METHODS, NONDIFF, VARARG_METHODS, MethodCall, Op, UndefinedName, UserCall,
    arity_of, callable_name, dotted, is_library,
)
from .normalize_call_forms import is_xp_promote, ufunc_reduction
from .resolve import UNRESOLVED


class Calls:
    """Methods of ``normalize.Normalizer``; see its docstring for the state they share."""

    def call(self, node):
        node = self.without_partial(node)
        helper, shown = None, None
        packed = self.packed_varargs(node)
        if packed is not None:  # np.gradient(f, dx, *h): called as rt.numpy_gradient(f, (dx, *h))
            node, helper, shown = packed
        if self.resolver.value_of(node.func) in (builtins.map, builtins.filter):
            result = functional.map_or_filter(self, node, self.resolver.value_of(node.func))
            return result, rt.identity, [result], {}, "copy", None
        if functional.is_reduce(self.resolver.value_of(node.func)):
            result = functional.reduce_as_loop(self, node)
            return result, rt.identity, [result], {}, "copy", None
        if functional.is_select(self.resolver.value_of(node.func)):
            chosen = functional.select_as_where(self, node)
            if not isinstance(chosen, gast.Call):  # the loop's result
                return chosen, rt.identity, [chosen], {}, "copy", None
            node = chosen
        if (isinstance(node.func, gast.Attribute) and node.func.attr in VARARG_METHODS and len(node.args) == 1
                and isinstance(node.args[0], gast.Starred) and not node.keywords
                and self.resolver.value_of(node.func.value) is UNRESOLVED):
            # x.reshape(*shape) is x.reshape(shape)
            node = gast.Call(func=node.func, args=[node.args[0].value], keywords=[])
        if (isinstance(node.func, gast.Attribute) and node.func.attr == "_replace"
                and self.may_be_namedtuple(node.func.value)
                and (node.args or not all(self.known_mapping(k.value) for k in node.keywords if k.arg is None))):
            raise errors.namedtuple_replace_error(self.parsed.location(node), "method ._replace()")
        if not all(self.known_starred(a.value) for a in node.args if isinstance(a, gast.Starred)) or not all(
                self.known_mapping(k.value) for k in node.keywords if k.arg is None):
            return self.starred_call(node)
        if any(isinstance(arg, gast.Starred) for arg in node.args):
            args = []
            for arg in node.args:
                args.extend(self.starred_items(arg) if isinstance(arg, gast.Starred) else [arg])
            node = gast.Call(func=node.func, args=args, keywords=node.keywords)
        if any(keyword.arg is None for keyword in node.keywords):
            keywords = []
            for keyword in node.keywords:
                keywords.extend(self.mapping_keywords(keyword.value) if keyword.arg is None else [keyword])
            names = [k.arg for k in keywords]
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise self.unsupported(node, f"keyword argument {repeated[0]!r} given twice",
                                       "Python raises TypeError for this call.",
                                       "Pass each keyword once.")
            node = gast.Call(func=node.func, args=node.args, keywords=keywords)
        func = node.func
        local = self.local_function(func)
        if local is not None:  # a call in statement position
            result = self.inline(local, node)
            return result, rt.identity, [result], {}, "call of a nested function", None
        frozen = normalize_scipy.frozen_method_call(self, node)
        if frozen is not None:  # d = stats.norm(loc, scale); d.logpdf(x): see normalize_scipy
            return frozen
        record = self.dataclass_function_call(node)
        if record is not None:  # dataclasses.replace(obj, w=v), asdict(obj): see normalize_dataclasses
            return record
        made_object = self.object_call(node)  # State(x), obj.method(x): see normalize_objects
        if made_object is not None:
            return made_object
        if isinstance(func, gast.Attribute) and func.attr == "_replace" and self.may_be_namedtuple(func.value):
            return self.namedtuple_replace(self.atom(func.value), node.keywords)
        if isinstance(func, gast.Attribute) and self.resolver.value_of(func.value) is UNRESOLVED:
            return self.method_call(node)
        if (isinstance(func, gast.Attribute) and func.attr in ARRAY_METHODS
                and isinstance(self.resolver.value_of(func.value), np.ndarray)):
            return self.method_call(node)  # C.dot(x) with C an array of the module: np.dot(C, x)
        callee = self.resolver.value_of(func)
        if isinstance(func, gast.Call):
            callee = self.derivative_made_here(func)
        expression = operator_calls.as_expression(callee, node)
        if expression is not None:  # operator.mul(a, b) is a * b
            return self.operation(expression)
        expression = functional.qr_r_alone(node, callee)
        if expression is not None:  # np.linalg.qr(a, mode='r') is np.linalg.qr(a)[1]
            return self.operation(expression)
        rewritten = self.numpy_form(callee, node)
        if rewritten is not None:  # np.sum(x, where=m), np.insert, np.bincount(x, w): see normalize_numpy_forms
            return rewritten
        expression = normalize_numpy_more.as_rule_call(self, callee, node)
        if expression is not None:  # np.maximum.accumulate, np.vander, ...: see normalize_numpy_more
            return self.operation(expression)
        if callee is rt.check_unshared and len(node.args) >= 4 and self._is_locals_call(node.args[2]):
            node = self._explicit_scope(node)
        if callee in (builtins.eval, builtins.exec, builtins.locals, builtins.vars, builtins.globals):
            raise self.unsupported(node, f"{callee.__name__}()",
                                   "the values it reads are not visible in the source, so their "
                                   "derivatives cannot be followed.",
                                   "Use the names themselves (x * 2.0, not eval('x * 2.0')).")
        if callee is builtins.super and not node.args and not node.keywords and self.parsed.node.args.args:
            # super() reads the method's __class__ cell, which generated code has
            # no cell for: name both arguments (the cell's value is resolved as a closure).
            first = self.parsed.node.args.args[0].id
            node = gast.Call(func=node.func, args=[gast.Name(id="__class__", ctx=gast.Load(), annotation=None,
                                                             type_comment=None),
                                                   gast.Name(id=first, ctx=gast.Load(), annotation=None,
                                                             type_comment=None)], keywords=[])
        taker = self.function_taker(callee, node)
        if taker is not None:  # apply(g, y) with g a lambda or partial made here: apply's body inlined
            result = self.inline(taker, node, callee=callee)
            return result, rt.identity, [result], {}, f"call of {dotted(func)}", None
        node = self.consumed_iterables(node, callee)  # sum(x * w for ...): the list it produces
        func = node.func
        literal = self.dict_call_as_literal(callee, node)
        if literal is not None:
            return self.operation(literal)
        signed = normalize_scipy.signed_logsumexp(self, callee, node)
        if signed is not None:  # logsumexp(..., return_sign=True): see normalize_scipy
            return signed
        rewritten = normalize_scipy_calls.as_rule_call(self, callee, node)
        if rewritten is not None:  # scipy.linalg.solve as np.linalg.solve, ...: see normalize_scipy_calls
            return rewritten
        rewritten = normalize_scipy_distance.as_rule_call(self, callee, node)
        if rewritten is not None:  # cdist and pdist as NumPy's norm: see normalize_scipy_distance
            return rewritten
        if callee is np.einsum:
            node = self.einsum_with_subscripts(node)
        if helper is not None:
            func = gast.Attribute(value=load(self.rt_name), attr=helper.__name__, ctx=gast.Load())
            node, callee = gast.Call(func=func, args=node.args, keywords=node.keywords), helper
        fused = functional.root_sum_squares(self, node, callee)
        if fused is not None:  # np.sqrt(np.sum(x ** 2)): the norm's subgradient at 0
            node, callee = fused, rt.root_sum_squares
            func = node.func
        if is_xp_promote(callee) and len(node.args) == 1:
            node, callee = self.as_promoted(node), np.asarray
            func = node.func
        reduction = ufunc_reduction(callee)
        if reduction is not None:
            node, callee = self.as_reduction(node, reduction)
            func = node.func
        if callee in (builtins.max, builtins.min) and len(node.args) > 1 and not node.keywords:
            # max(a, b) is max((a, b)): one rule covers both forms.
            node = gast.Call(func=func, args=[gast.Tuple(elts=node.args, ctx=gast.Load())], keywords=[])
        if callee in (rt.sort_order, rt.extremum_position) and len(node.args) == 3 and not node.keywords:
            # generated code's order of sorted / max / min (differentiated again): the key
            # stays as written (a lambda), as for the user's key= (key_function)
            args = [self.atom(node.args[0]), self.key_function(node, node.args[1]), self.atom(node.args[2])]
        else:
            args = [self.atom(a) for a in node.args]
        kwargs = {k.arg: self.atom(k.value) for k in node.keywords}
        value = gast.Call(func=clone(func) if callee is not UNRESOLVED else self.atom(func),
                          args=args, keywords=[gast.keyword(arg=k, value=v) for k, v in kwargs.items()])
        if callee in (rt.store_attribute, rt.init_attribute) and len(args) == 3 and not kwargs:
            # obj.name = value as generated code writes it (runtime.objects), differentiated again
            return value, callee, args, {}, f"attribute .{getattr(args[1], 'value', '?')} set", None
        if callee is rt.append and len(args) == 2 and not kwargs:
            # items.append(value) as generated code writes it: the position it fills, as for the method
            position = self.emit(gast.Call(func=load("len"), args=[clone(args[0])], keywords=[]), NONDIFF,
                                 [clone(args[0])], construct="len")
            return value, rt.append, args + [position], {}, "list.append", None
        if callee in (rt.make_tuple, rt.make_list) and not kwargs:
            # a container literal written by generated code: its items fill slots 0, 1, ...
            return value, callee, args, {}, "literal", list(range(len(args)))
        if (callee is rt.make_dict and not kwargs and node.args and isinstance(node.args[0], gast.Tuple)
                and all(isinstance(k, gast.Constant) for k in node.args[0].elts)):
            return value, callee, args[1:], {}, "literal", [clone(k) for k in node.args[0].elts]
        if isinstance(callee, type) and issubclass(callee, tuple) and hasattr(callee, "_fields"):
            # A namedtuple built from values: a container literal with named slots.
            fields = list(callee._fields)
            keys = list(range(len(args))) + [fields.index(k) if k in fields else k for k in kwargs]
            return value, rt.make_tuple, args + list(kwargs.values()), {}, f"{callee.__name__}(...)", keys
        if callee is not UNRESOLVED and made.of(callee) is not None:
            # A derivative called here (grad(f)(x) * x): its code is differentiated.
            if made.of(callee)[1] == "value_and_grad":
                raise errors.value_and_grad_transformed_error(
                    getattr(made.of(callee)[0], "__name__", "f"), self.parsed.location(node))
            if kwargs or any(isinstance(a, gast.Starred) for a in node.args):
                raise self.unsupported(node, f"call of {dotted(func)}",
                                       "a derivative called with keyword or * arguments cannot be "
                                       "differentiated again.", "Pass its arguments by position.")
            callee = self.callees.derivative_function(callee, len(args))
        # A recursive call in generated code: the generated function it
        # stands for, differentiated like any function of the user's.
        resolved = self.callees.resolve(callee)
        if resolved is not callee:
            # the call kept as it is (its arguments not differentiated here)
            # runs the general function too: a small function's local-Jacobian
            # stand-in would return residuals of its own form, which the
            # general backward function, differentiated here, cannot read
            alias = self.namer.fresh(getattr(resolved, "__name__", "callee"))
            self.resolver.constants[alias] = resolved
            value = gast.Call(func=gast.Name(id=alias, ctx=gast.Load(), annotation=None, type_comment=None),
                              args=value.args, keywords=value.keywords)
        callee = resolved
        prim = None if callee is UNRESOLVED else callee
        name = callable_name(callee) if callee is not UNRESOLVED else dotted(func)
        name = shown or name
        if callee is UNRESOLVED and isinstance(value.func, gast.Name) and value.func.id in self.defined:
            # A function passed in (or computed): looked up when the code runs.
            return value, MethodCall(None), [value.func] + args, kwargs, f"call of {name}", None
        if callee is UNRESOLVED and isinstance(func, gast.Name) and self.resolver.is_undefined(func.id):
            name = UndefinedName(name)  # NameError when it runs (refused if it is differentiated)
        if callee is not UNRESOLVED and rules.lookup(callee) is None and not rules.is_nondifferentiable(callee):
            call = self.user_call(callee, func)
            if call is not None:
                self.specialize(call, args, kwargs)
                return value, call, call.leading + args, {**call.keywords, **kwargs}, name, None
        if prim is np.linalg.eig or prim is np.linalg.eigvals:
            # computed with NumPy 1's meaning, real arrays for a real spectrum (runtime/eig.py)
            helper = rt.eig_real_spectrum if prim is np.linalg.eig else rt.eigvals_real_spectrum
            value = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr=helper.__name__, ctx=gast.Load()),
                              args=value.args, keywords=value.keywords)
        return value, prim, args, kwargs, name, None

    def _is_locals_call(self, node):
        return (isinstance(node, gast.Call) and not node.args and not node.keywords
                and self.resolver.value_of(node.func) is builtins.locals)

    def _explicit_scope(self, node):
        """``rt.check_unshared(value, message, locals(), names, ...)`` of
        generated code that is differentiated again: ``locals()`` becomes a
        dict of the names it is read for that are bound here (a name not
        bound on this path is skipped, as ``locals()`` skips it)."""
        names = node.args[3]
        keys, values = [], []
        if isinstance(names, gast.Tuple):
            for item in names.elts:
                name = item.elts[0].value if isinstance(item, gast.Tuple) and item.elts and isinstance(
                    item.elts[0], gast.Constant) else None
                if isinstance(name, str) and name in self.version:
                    keys.append(constant(name))
                    values.append(load(name))
        scope = gast.Dict(keys=keys, values=values)
        return gast.Call(func=node.func, args=[node.args[0], node.args[1], scope] + list(node.args[3:]),
                         keywords=node.keywords)

    def derivative_made_here(self, node):
        """``adjoint.grad(f)(x)`` written in place: the derivative of a
        function known now, with constant options, made at transform time
        (its code is then differentiated like any derivative's)."""
        maker = self.resolver.value_of(node.func)
        if maker is UNRESOLVED or not any(maker is known for known in self.callees.makers):
            return UNRESOLVED

        def known(expr):
            if isinstance(expr, gast.Constant):
                return expr.value
            if isinstance(expr, gast.Tuple) and all(isinstance(e, gast.Constant) for e in expr.elts):
                return tuple(e.value for e in expr.elts)
            value = self.resolver.value_of(expr)
            if value is UNRESOLVED:
                raise self.unsupported(node, f"{dotted(node.func)}(...)",
                                       "a derivative made in the function must be of a function and with "
                                       "options known when it is transformed (names of the module, "
                                       "constants).",
                                       "Make the derivative at module level (df = adjoint.grad(f)) and "
                                       "call df here.")
            return value

        args = [known(a) for a in node.args]
        keywords = {k.arg: known(k.value) for k in node.keywords}
        return maker(*args, **keywords)

    def user_call(self, callee, func):
        """A UserCall if ``callee`` is the user's own Python code."""
        leading = []
        bound = {}
        keywords = {}
        while isinstance(callee, functools.partial):
            for value in reversed(callee.args):
                name = self.namer.fresh("partial_arg")
                bound[name] = value
                leading.insert(0, load(name))
            for key, value in callee.keywords.items():
                if key not in keywords:
                    name = self.namer.fresh(f"partial_{key}")
                    bound[name] = value
                    keywords[key] = load(name)
            callee = callee.func
        receiver = None
        if isinstance(callee, types.MethodType) and isinstance(callee.__func__, types.FunctionType):
            receiver, callee = callee.__self__, callee.__func__
        elif (not isinstance(callee, (types.FunctionType, type, functools.partial))
              and isinstance(getattr(type(callee), "__call__", None), types.FunctionType)):
            receiver, callee = callee, type(callee).__call__  # an object whose class defines __call__
        if receiver is not None:
            if isinstance(func, gast.Attribute) and callee is getattr(type(receiver), func.attr, None):
                leading.insert(0, self.atom(func.value))  # obj.method(...): obj as written
            elif callee is getattr(type(receiver), "__call__", None) and isinstance(func, gast.Name):
                leading.insert(0, self.atom(func))  # model(x): the object is its own first argument
            else:  # a bound method held by a name
                name = self.namer.fresh("bound_self")
                bound[name] = receiver
                leading.insert(0, load(name))
        if not isinstance(callee, types.FunctionType) or is_library(callee):
            return None
        return UserCall(callee, leading, bound, keywords)

    def specialize(self, call, args, kwargs):
        """A call of a function with *args or **kwargs: its transform is made
        for this call's number of arguments and keywords."""
        if isinstance(call, UserCall):
            call.arity = arity_of(call.function, len(call.leading) + len(args), tuple({**call.keywords, **kwargs}))
        return call

    def may_be_namedtuple(self, node):
        """``node`` (the receiver of ._replace) is a namedtuple, or is known only when the code runs."""
        held = self.resolver.value_of(node)
        return held is UNRESOLVED or isinstance(held, tuple) and hasattr(type(held), "_fields")

    def namedtuple_replace(self, receiver, keywords):
        """``p._replace(a=v, b=w)``: the tuple with one field replaced after
        another (``rt.replace_item`` with the field's name as its key, which
        names its slot when the code runs), each a new namedtuple of p's class."""
        check = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="check_namedtuple", ctx=gast.Load()),
                          args=[clone(receiver)], keywords=[])
        self.ops.append(Op("expr", [], check, NONDIFF, [clone(receiver)], lineno=self.lineno, no_grad=self.no_grad,
                           construct="argument check"))
        current = receiver
        for position, keyword in enumerate(keywords):
            key, item = constant(keyword.arg), self.atom(keyword.value)
            call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="replace_item", ctx=gast.Load()),
                             args=[current, key, item], keywords=[])
            if position == len(keywords) - 1:
                return call, rt.replace_item, [current, key, item], {}, "method ._replace()", None
            current = self.emit(call, rt.replace_item, [current, key, item], construct="method ._replace()")

    def method_call(self, node):
        func = node.func
        if (func.attr == "append" and isinstance(func.value, gast.Name) and func.value.id in self.version
                and len(node.args) == 1 and not node.keywords):
            # items.append(v) inside an expression (a lambda's body, z = items.append(v)):
            # the append as a statement, then its value, None.
            self.list_append(node)
            return constant(None), NONDIFF, [], {}, "list.append", None
        receiver = self.atom(func.value)
        if (func.attr == "get" and isinstance(receiver, gast.Name) and receiver.id in self.dict_items
                and 1 <= len(node.args) <= 2 and not node.keywords and isinstance(node.args[0], gast.Constant)):
            # d.get("k", default) on a dict whose keys are known here (a literal,
            # **kwargs): the item, or the default
            key = node.args[0]
            if key.value in self.dict_items[receiver.id]:
                index = constant(key.value)
                value = gast.Subscript(value=receiver, slice=index, ctx=gast.Load())
                return value, rt.getitem, [receiver, index], {}, "indexing", None
            default = self.atom(node.args[1]) if len(node.args) > 1 else constant(None)
            return default, rt.identity if self.is_local(default) else NONDIFF, [default], {}, "copy", None
        if func.attr == "tolist" and not node.args and not node.keywords:
            # x.tolist(): nested lists of x's numbers (runtime.nested_lists), with a derivative
            call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="array_to_list", ctx=gast.Load()),
                             args=[receiver, clone(receiver)], keywords=[])
            return call, rt.array_to_list, [receiver, clone(receiver)], {}, "method .tolist()", None
        rewritten = self.method_form(node, receiver, ARRAY_METHODS.get(func.attr))
        if rewritten is not None:  # x.sum(where=m): see normalize_numpy_forms
            return rewritten
        args = [self.atom(a) for a in node.args]
        kwargs = {k.arg: self.atom(k.value) for k in node.keywords}
        value = gast.Call(func=gast.Attribute(value=receiver, attr=func.attr, ctx=gast.Load()),
                          args=args, keywords=[gast.keyword(arg=k, value=v) for k, v in kwargs.items()])
        prim = ARRAY_METHODS.get(func.attr)
        if func.attr == "item" and not args and not kwargs:
            prim = float  # x.item() of a one-element array: its number, differentiated as float(x) is
        elif func.attr == "keys" and not args and not kwargs:
            prim = NONDIFF  # a dict's keys carry no derivative: for k in params.keys()
        elif prim is None and func.attr not in ARRAY_METHODS:
            prim = MethodCall(func.attr)
        rule_args = list(args)
        if func.attr in VARARG_METHODS and len(args) > 1:
            rule_args = [gast.Tuple(elts=list(args), ctx=gast.Load())]
        return value, prim, [receiver] + rule_args, kwargs, f"method .{func.attr}()", None
