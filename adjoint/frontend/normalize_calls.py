"""A-normal form of calls: primitives, the user's own functions (a
``UserCall``, transformed in turn), nested functions and lambdas (inlined),
array methods, ``*args`` from literals."""
import builtins
import functools
import types

import gast
import numpy as np

from .. import errors, made, rules
from .. import runtime as rt
from . import normalize_functional as functional, normalize_scipy, operator_calls
from .gastutil import clone, constant, load, store
from .ir import (
    ARRAY_METHODS, NONDIFF, UNPACK, VARARG_METHODS, MethodCall, Op, StarredCall, UndefinedName, UserCall,
    arity_of, callable_name, dotted,
    is_library, lambda_as_def,
)
from .lower import lower_returns
from .resolve import UNRESOLVED, local_names


def _ufunc_method(value):
    """``(ufunc, method name)`` for a method of a ufunc (``np.add.reduce``), else None."""
    owner = getattr(value, "__self__", None)
    if isinstance(owner, np.ufunc):
        return owner, getattr(value, "__name__", None)
    return None


#: ufunc methods with the meaning of a reduction or a scan: the function
#: computed instead, and whether it takes dtype as its third positional argument.
_UFUNC_METHODS = {
    (np.add, "reduce"): (np.sum, True),
    (np.multiply, "reduce"): (np.prod, True),
    (np.maximum, "reduce"): (np.max, False),
    (np.minimum, "reduce"): (np.min, False),
    (np.add, "accumulate"): (np.cumsum, True),
    (np.multiply, "accumulate"): (np.cumprod, True),
}


#: functions whose ``*varargs`` a rule template cannot name, called as a
#: runtime helper that takes them as one tuple (``np.gradient(f, dx, dy,
#: axis=a)`` is ``rt.numpy_gradient(f, (dx, dy), axis=a)``): the rules are the helper's.
CALLS_AS_HELPERS = {np.gradient: rt.numpy_gradient}


def _helper_for(value):
    """The helper of CALLS_AS_HELPERS that ``value`` is called as, else None."""
    return next((helper for function, helper in CALLS_AS_HELPERS.items() if function is value), None)


def _array_api_function(value, name):
    """Whether ``value`` is the function ``name`` of SciPy's array API
    support (scipy._lib._array_api, or the array_api_compat it wraps)."""
    module = getattr(value, "__module__", None) or ""
    return (getattr(value, "__name__", None) == name
            and module.startswith(("scipy._lib", "array_api_compat")))


def is_array_namespace(value):
    """``array_namespace(x)``, which gives NumPy's namespace for NumPy arrays."""
    return _array_api_function(value, "array_namespace")


def _sublist_term(node):
    """One einsum sublist (a literal list or tuple of integers and ``...``)
    as its letters (0-25 are A-Z, 26-51 a-z, NumPy's order), else None."""
    if not isinstance(node, (gast.List, gast.Tuple)):
        return None
    letters = []
    for element in node.elts:
        if isinstance(element, gast.Name) and element.id == "Ellipsis":
            letters.append("...")
            continue
        if not isinstance(element, gast.Constant):
            return None
        if element.value is Ellipsis:
            letters.append("...")
        elif type(element.value) is int and 0 <= element.value < 52:
            letters.append(chr(ord("A") + element.value) if element.value < 26
                           else chr(ord("a") + element.value - 26))
        else:
            return None
    return "".join(letters)


class Calls:
    """Methods of ``normalize.Normalizer``; see its docstring for the state they share."""

    def starred_items(self, starred):
        """The items of ``*seq`` in a call, when the function built ``seq``
        from a literal (so their number is known)."""
        value = starred.value
        if isinstance(value, (gast.Tuple, gast.List)):
            return list(value.elts)
        if isinstance(value, gast.Name) and self.read(value.id) in self.literal_items:
            # Its length is known; its items are read from the value itself
            # (a branch or an earlier iteration may have replaced them), by
            # unpacking, which also fails loudly if the length is not that.
            version = self.read(value.id)
            temps = [self.namer.temp() for _ in self.literal_items[version]]
            if version in self.merged:  # a loop's phi: the next iterations must keep the length
                self.starred_assumptions.setdefault(version, []).append((len(temps), starred))
            if temps:
                self.defined.update(temps)
                statement = gast.Assign(targets=[gast.Tuple(elts=[store(t) for t in temps], ctx=gast.Store())],
                                        value=load(version), type_comment=None)
                self.ops.append(Op("unpack", temps, load(version), UNPACK, [load(version)], None, self.lineno,
                                   self.no_grad, "unpacking", statement=statement))
            return [load(t) for t in temps]
        raise self.unsupported(starred, "*args in a call",
                               "the number of arguments must be known when the function is "
                               "transformed, and this sequence was not built here from a literal.",
                               "Pass the arguments one by one, or build the tuple in the function.")

    def is_partial_call(self, node):
        return (isinstance(node, gast.Call) and self.resolver.value_of(node.func) is functools.partial
                and node.args and not any(isinstance(a, gast.Starred) for a in node.args)
                and all(k.arg is not None for k in node.keywords))

    def local_partial(self, name, node):
        """``g = functools.partial(f, a, k=v)`` in the function: its values
        are taken now, and each call ``g(x)`` is differentiated as
        ``f(a, x, k=v)``. The partial object is made too, for other uses."""
        func = node.args[0]
        if isinstance(func, gast.Attribute) and self.resolver.value_of(func) is UNRESOLVED:
            # m.method of an object known when the code runs: the object as it is now
            func = gast.Attribute(value=self.bound_value(func.value), attr=func.attr, ctx=gast.Load())
        elif not (isinstance(func, gast.Name) or self.resolver.value_of(func) is not UNRESOLVED):
            func = self.atom(func)
        args = [self.bound_value(a) for a in node.args[1:]]
        keywords = {k.arg: self.bound_value(k.value) for k in node.keywords}
        version = self.namer.fresh(name)  # its own, even where another path binds the name
        if self.local_function(func) is not None:
            # Of a nested function, which is inlined where it is called: no
            # object, so only calls of it can be differentiated.
            self.nested_partials.add(version)
        else:
            made = gast.Call(func=node.func, args=[func] + args,
                             keywords=[gast.keyword(arg=k, value=v) for k, v in keywords.items()])
            self.expression(made, target=version)
        self.version[name] = version
        self.user_versions[version] = name
        self.defined.add(version)
        self.local_partials[version] = (func, args, keywords)

    def bound_value(self, node):
        """A value a partial binds, under a name of its own: the user's name
        may be re-bound before the partial is called."""
        atom = self.atom(node)
        if isinstance(atom, gast.Name) and atom.id in self.version.values():
            return self.emit(atom, rt.identity, [atom], construct="copy")
        return atom

    def without_partial(self, node):
        """A call of a partial made in the function, as the call it stands for."""
        if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)
                and self.read(node.func.id) in self.local_partials):
            return node
        func, args, keywords = self.local_partials[self.read(node.func.id)]
        keywords = {**keywords, **{k.arg: k.value for k in node.keywords}}
        return gast.copy_location(
            gast.Call(func=clone(func), args=[clone(a) for a in args] + list(node.args),
                      keywords=[gast.keyword(arg=k, value=v) for k, v in keywords.items()]), node)

    def known_starred(self, value):
        """Whether the items of ``*value`` are known here (a literal)."""
        return isinstance(value, (gast.Tuple, gast.List)) and not any(
            isinstance(e, gast.Starred) for e in value.elts) or (
            isinstance(value, gast.Name) and self.read(value.id) in self.literal_items)

    def known_mapping(self, value):
        """Whether the keys of ``**value`` are known here (a literal with constant keys)."""
        if isinstance(value, gast.Dict):
            return all(isinstance(k, gast.Constant) and isinstance(k.value, str) for k in value.keys)
        return (isinstance(value, gast.Name) and self.read(value.id) in self.dict_items
                and all(isinstance(k, str) for k in self.dict_items[self.read(value.id)]))

    def mapping_keywords(self, value):
        """The keyword arguments ``**value`` stands for, when its keys are known."""
        if isinstance(value, gast.Dict):
            return [gast.keyword(arg=k.value, value=v) for k, v in zip(value.keys, value.values, strict=True)]
        version = self.read(value.id)
        if version in self.merged:  # a loop's phi: the next iterations must keep the keys
            self.mapping_assumptions.setdefault(version, []).append((list(self.dict_items[version]), value))
        keywords = []
        for key in self.dict_items[version]:
            index = constant(key)
            item = self.emit(gast.Subscript(value=load(version), slice=index, ctx=gast.Load()), rt.getitem,
                             [load(version), index], construct="indexing")
            keywords.append(gast.keyword(arg=key, value=item))
        return keywords

    def starred_call(self, node):
        """A call with ``*seq`` or ``**mapping`` whose items are known only
        when it runs: laid out and differentiated then (ir.StarredCall)."""
        func = node.func
        if self.local_function(func) is not None:
            raise self.unsupported(node, "*args or **kwargs in a call of a nested function or lambda",
                                   "the number of arguments must be known when the function is "
                                   "transformed, and this sequence was not built here from a literal.",
                                   "Pass the arguments one by one, build the tuple in the function, or "
                                   "define the function at module level.")
        spec, pieces, method = [], [], None
        if isinstance(func, gast.Attribute) and self.resolver.value_of(func.value) is UNRESOLVED:
            method = func.attr
            spec.append("self")
            pieces.append(self.atom(func.value))
            callee = None
        elif self.resolver.value_of(func) is not UNRESOLVED:
            callee = clone(func)
        else:
            callee = self.atom(func)
        for arg in node.args:
            if isinstance(arg, gast.Starred):
                spec.append("*")
                pieces.append(self.atom(arg.value))
            else:
                spec.append("")
                pieces.append(self.atom(arg))
        for keyword in node.keywords:
            spec.append("**" if keyword.arg is None else keyword.arg)
            pieces.append(self.atom(keyword.value))
        args, keywords = [], []
        for kind, piece in zip(spec, pieces, strict=True):
            if kind == "":
                args.append(piece)
            elif kind == "*":
                args.append(gast.Starred(value=piece, ctx=gast.Load()))
            elif kind != "self":
                keywords.append(gast.keyword(arg=None if kind == "**" else kind, value=piece))
        function = gast.Attribute(value=pieces[0], attr=method, ctx=gast.Load()) if method else callee
        value = gast.Call(func=function, args=args, keywords=keywords)
        called = self.resolver.value_of(func)
        name = dotted(func)
        if called is not UNRESOLVED and rules.is_nondifferentiable(called):
            return value, NONDIFF, pieces, {}, name, None
        return value, StarredCall(spec, callee, method), pieces, {}, f"call of {name}", None

    def map_or_filter(self, node, callee):
        """``map(f, xs, ...)`` and ``filter(f, xs)`` as the loop they stand
        for, building a list (which every consumer of the iterator accepts):
        each call of ``f`` is then differentiated like any call, a lambda's
        or nested function's inlined."""
        name = callee.__name__
        if node.keywords or any(isinstance(a, gast.Starred) for a in node.args) or len(node.args) < 2 or (
                callee is builtins.filter and len(node.args) != 2):
            raise self.unsupported(node, f"{name}(...)", "only map(f, iterable, ...) and filter(f, iterable) "
                                   "with their arguments written out are differentiated.",
                                   "Write the loop out, or pass the iterables one by one.")
        func = node.args[0]
        if isinstance(func, gast.Constant) and func.value is None and callee is builtins.filter:
            func = None
        elif self.is_partial_call(func):  # map(functools.partial(h, x), xs): made once, its calls as h's
            name = self.namer.temp()
            self.local_partial(name, func)
            func = load(name)
        elif not (isinstance(func, gast.Lambda) or self.local_function(func) is not None
                  or self.resolver.value_of(func) is not UNRESOLVED
                  or isinstance(func, gast.Name) and func.id in self.version
                  and self.read(func.id) in self.local_partials):
            func = self.atom(func)  # evaluated once, before the items
        sequences = [self.atom(a) for a in node.args[1:]]
        result = self.namer.fresh(f"{name}_result")
        items = [self.namer.fresh("item") for _ in sequences]

        def name_node(identifier, ctx=None):
            return gast.Name(id=identifier, ctx=ctx or gast.Load(), annotation=None, type_comment=None)

        def located(tree):
            for child in gast.walk(tree):
                if "lineno" in child._attributes:
                    gast.copy_location(child, node)
            return tree

        if len(items) == 1:
            target, iterable = name_node(items[0], gast.Store()), sequences[0]
        else:
            target = gast.Tuple(elts=[name_node(i, gast.Store()) for i in items], ctx=gast.Store())
            iterable = gast.Call(func=name_node("zip"), args=list(sequences), keywords=[])
        if func is None:
            called = name_node(items[0])
        else:
            called = gast.Call(func=clone(func), args=[name_node(i) for i in items], keywords=[])

        def append(value):
            return gast.Expr(value=gast.Call(func=gast.Attribute(value=name_node(result), attr="append",
                                                                 ctx=gast.Load()), args=[value], keywords=[]))

        if callee is builtins.map:
            body = [append(called)]
        else:
            body = [gast.If(test=called, body=[append(name_node(items[0]))], orelse=[])]
        statements = [gast.Assign(targets=[name_node(result, gast.Store())], value=gast.List(elts=[], ctx=gast.Load()),
                                  type_comment=None),
                      gast.For(target=target, iter=iterable, body=body, orelse=[], type_comment=None)]
        zip_shadowed = len(items) > 1 and self.resolver.lookup("zip") is not builtins.zip
        if zip_shadowed:
            raise self.unsupported(node, f"{name}(...) over several iterables",
                                   "the name zip is bound to something else here.", "Write the loop out.")
        lineno = self.lineno
        for statement in statements:
            self.statement(located(statement), last=False)
            self.lineno = lineno
        return load(self.read(result))

    def call(self, node):
        node = self.without_partial(node)
        helper, shown = None, None
        packed = self.packed_varargs(node)
        if packed is not None:  # np.gradient(f, dx, *h): called as rt.numpy_gradient(f, (dx, *h))
            node, helper, shown = packed
        if self.resolver.value_of(node.func) in (builtins.map, builtins.filter):
            result = self.map_or_filter(node, self.resolver.value_of(node.func))
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
        made_object = self.object_call(node)  # State(x), obj.method(x): see normalize_objects
        if made_object is not None:
            return made_object
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
        if callee is np.einsum:
            node = self.einsum_with_subscripts(node)
        if helper is not None:
            func = gast.Attribute(value=load(self.rt_name), attr=helper.__name__, ctx=gast.Load())
            node, callee = gast.Call(func=func, args=node.args, keywords=node.keywords), helper
        fused = functional.root_sum_squares(self, node, callee)
        if fused is not None:  # np.sqrt(np.sum(x ** 2)): the norm's subgradient at 0
            node, callee = fused, rt.root_sum_squares
            func = node.func
        if _array_api_function(callee, "xp_promote") and len(node.args) == 1:
            node, callee = self.as_promoted(node), np.asarray
            func = node.func
        reduction = _UFUNC_METHODS.get(_ufunc_method(callee))
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
        callee = self.callees.resolve(callee)
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

    def dict_call_as_literal(self, callee, node):
        """``dict(a=u, b=v)``, ``dict(zip([k1, k2], [u, v]))`` and
        ``dict([(k1, u), (k2, v)])`` as the dict literal they build (the
        keys and values written out, evaluated in the same order)."""
        if callee is not builtins.dict:
            return None
        if not node.args and node.keywords:
            return gast.Dict(keys=[gast.Constant(value=k.arg, kind=None) for k in node.keywords],
                             values=[k.value for k in node.keywords])
        if len(node.args) != 1 or node.keywords:
            return None
        arg = node.args[0]
        sequences = (gast.List, gast.Tuple)
        if (isinstance(arg, gast.Call) and self.resolver.value_of(arg.func) is builtins.zip
                and len(arg.args) == 2 and not arg.keywords and all(isinstance(a, sequences) for a in arg.args)
                and len(arg.args[0].elts) == len(arg.args[1].elts)
                and all(isinstance(k, gast.Constant) for k in arg.args[0].elts)):
            return gast.Dict(keys=list(arg.args[0].elts), values=list(arg.args[1].elts))
        if (isinstance(arg, sequences) and arg.elts
                and all(isinstance(e, sequences) and len(e.elts) == 2 and isinstance(e.elts[0], gast.Constant)
                        for e in arg.elts)):
            return gast.Dict(keys=[e.elts[0] for e in arg.elts], values=[e.elts[1] for e in arg.elts])
        return None

    def einsum_with_subscripts(self, node):
        """``np.einsum(x, [0, 1], y, [1, 2], [0, 2])``, the operand / sublist
        form, as the same call with a subscripts string
        (``np.einsum('AB,BC->AC', x, y)``): the rules take that form. Sublists
        must be literal lists of integers (and ``...``); any other form is
        left as it is (and refused where it is differentiated)."""
        args = node.args
        if len(args) < 2 or (isinstance(args[0], gast.Constant) and isinstance(args[0].value, str)):
            return node
        operands, sublists = args[0::2], args[1::2]
        output = None
        if len(args) % 2:  # an output sublist last
            output, operands = operands[-1], operands[:-1]
        terms = [_sublist_term(sublist) for sublist in sublists]
        if output is not None:
            terms.append(_sublist_term(output))
        if any(term is None for term in terms):
            return node
        subscripts = ",".join(terms[:len(operands)])
        if output is not None:
            subscripts += "->" + terms[-1]
        return gast.Call(func=node.func, args=[gast.Constant(value=subscripts, kind=None)] + list(operands),
                         keywords=node.keywords)

    def packed_varargs(self, node):
        """A call of a function of CALLS_AS_HELPERS with its ``*varargs``
        packed into one tuple (``np.gradient(f, dx, dy)`` as
        ``np.gradient(f, (dx, dy))``, ``np.gradient(f, *h)`` as
        ``np.gradient(f, tuple(h))``), the helper it is then called as, and
        the name the user wrote; None for other calls and forms (a starred
        first argument, ``**`` keywords, several ``*`` items)."""
        helper = _helper_for(self.resolver.value_of(node.func))
        first = next((k for k in node.keywords if k.arg == "f"), None)
        if helper is not None and not node.args and first is not None:  # np.gradient(f=x)
            node = gast.Call(func=node.func, args=[first.value],
                             keywords=[k for k in node.keywords if k is not first])
        if (helper is None or not node.args or isinstance(node.args[0], gast.Starred)
                or any(k.arg is None for k in node.keywords)):
            return None
        rest = list(node.args[1:])
        if not any(isinstance(arg, gast.Starred) for arg in rest):
            packed = gast.Tuple(elts=rest, ctx=gast.Load())
        elif len(rest) == 1 and self.resolver.value_of(load("tuple")) is builtins.tuple:
            packed = gast.Call(func=load("tuple"), args=[rest[0].value], keywords=[])
        else:
            return None
        call = gast.Call(func=node.func, args=[node.args[0], packed], keywords=list(node.keywords))
        return call, helper, dotted(node.func)

    def as_promoted(self, node):
        """SciPy's ``xp_promote(x, force_floating=True, xp=xp)`` of one array:
        ``np.asarray(x, dtype=rt.floating_type(x))`` (``np.asarray(x)``
        without force_floating), which the rules of np.asarray take."""
        keywords = []
        value = self.atom(node.args[0])
        force = next((k.value for k in node.keywords if k.arg == "force_floating"), None)
        if force is not None:
            force = self.atom(force)
            dtype = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="floating_type", ctx=gast.Load()),
                              args=[clone(value), clone(force)], keywords=[])
            dtype = self.emit(dtype, NONDIFF, [clone(value), clone(force)], construct="xp_promote's dtype")
            keywords.append(gast.keyword(arg="dtype", value=dtype))
        func = gast.Attribute(value=load(self.np_name), attr="asarray", ctx=gast.Load())
        return gast.Call(func=func, args=[value], keywords=keywords)

    def as_reduction(self, node, reduction):
        """``np.add.reduce(x, axis)`` and the other ufunc methods with the
        meaning of a reduction (``_UFUNC_METHODS``), as that reduction:
        ``np.sum(x, axis)``. Their ``axis`` defaults to 0, the functions' to
        None, so it is passed explicitly. Forms the function does not take
        (np.maximum.reduce's dtype by position) are left as they are."""
        function, takes_dtype = reduction
        if not node.args or len(node.args) > (3 if takes_dtype else 2) or any(
                isinstance(a, gast.Starred) for a in node.args):
            return node, self.resolver.value_of(node.func)
        keywords = list(node.keywords)
        if len(node.args) < 2 and not any(k.arg == "axis" for k in keywords):
            keywords.append(gast.keyword(arg="axis", value=gast.Constant(value=0, kind=None)))
        func = gast.Attribute(value=load(self.np_name), attr=function.__name__, ctx=gast.Load())
        return gast.Call(func=func, args=list(node.args), keywords=keywords), function

    def callable_argument(self, node):
        """What an argument that is a function made here stands for: the
        FunctionDef of a lambda or nested function, or the version of a
        ``functools.partial`` made here (one written in the call is made now);
        None for any other argument."""
        if isinstance(node, gast.Lambda):
            return self.local_function(node)
        if self.is_partial_call(node):
            name = self.namer.temp()
            self.local_partial(name, node)
            return self.read(name)
        if isinstance(node, gast.Name) and node.id in self.version:
            version = self.read(node.id)
            if version in self.local_functions:
                return self.local_functions[version]
            if version in self.local_partials:
                return version
        return None

    def function_taker(self, callee, node):
        """The FunctionDef of ``callee``, one of the user's functions of this
        module, when this call passes it a lambda, nested function or partial
        made here (``apply(g, y)``, ``g = functools.partial(h, x)``): its body
        is then inlined here with that parameter standing for the function
        passed, so each call of it inside is differentiated as the call it
        stands for, the values it closes over or binds included. None for
        other calls (and for a callee already being inlined: recursion)."""
        if (not isinstance(callee, types.FunctionType) or rules.lookup(callee) is not None
                or rules.is_nondifferentiable(callee)):
            return None
        values = list(node.args) + [k.value for k in node.keywords]
        if any(isinstance(v, gast.Starred) for v in node.args) or any(k.arg is None for k in node.keywords):
            return None

        def made_here(value):
            if isinstance(value, gast.Lambda) or self.is_partial_call(value):
                return True
            if isinstance(value, gast.Name) and value.id in self.version:
                version = self.read(value.id)
                return version in self.local_functions or version in self.local_partials
            return False

        if not any(made_here(v) for v in values) or callee in self.__dict__.get("taker_stack", ()):
            return None
        definition = self.same_module_function(callee)
        if definition is None:
            return None
        return self.with_evaluated_defaults(definition)

    def inline(self, function, call, result=None, callee=None):
        """The body of a nested function or lambda, in place of its call
        (or, with ``callee``, of that function of the module, which is
        passed a function made here: see ``function_taker``)."""
        receiver, self.inline_receiver = self.inline_receiver, None  # a method's object (normalize_objects)
        if function in self.inline_stack:
            raise self.unsupported(call, f"recursive call of nested function {function.name!r}",
                                   "nested functions are inlined where they are called.",
                                   "Define the function at module level; recursion works there.")
        node = clone(function)
        # The parameters as the user named them (keywords at the call use
        # these names), then the callee's names are made its own.
        user_params = [a.id for a in node.args.posonlyargs + node.args.args]
        own = local_names(node)
        # The names it reads from its module stay as they are: no local of a function inlined
        # inside it may take them (Layer(W) in a method reading the module's W, Layer's parameter W).
        self.namer.taken.update(n.id for n in gast.walk(node) if isinstance(n, gast.Name) and n.id not in own)
        renames = {name: self.namer.fresh(name) for name in sorted(own)}
        self.user_names.update({new: name for name, new in renames.items()})
        for child in gast.walk(node):
            if isinstance(child, gast.Name) and child.id in renames:
                child.id = renames[child.id]
            elif isinstance(child, gast.FunctionDef) and child is not node and child.name in renames:
                child.name = renames[child.name]  # a def inside it: its name is a local too
        params = [a.id for a in node.args.posonlyargs + node.args.args]
        if len(call.args) > len(params) or node.args.vararg or node.args.kwarg or node.args.kwonlyargs:
            raise self.unsupported(call, f"call of nested function {function.name!r}",
                                   "only positional and keyword arguments matching its parameters "
                                   "are supported.", "Pass one argument per parameter.")
        unknown = [k.arg for k in call.keywords if k.arg not in user_params[len(call.args):]]
        if unknown:
            raise self.unsupported(call, f"call of nested function {function.name!r}",
                                   f"it has no parameter {unknown[0]!r} left to take that keyword.",
                                   "Pass one argument per parameter, by position or by its name.")
        # Arguments are evaluated in the order they are written, as Python does;
        # a function made here stands for itself (a FunctionDef, or a partial's version).
        def argument(node):
            passed = self.callable_argument(node)
            return passed if passed is not None else self.atom(node)

        args = [argument(a) for a in call.args]
        keywords = {k.arg: argument(k.value) for k in call.keywords}
        defaults = dict(zip(user_params[len(params) - len(node.args.defaults):], node.args.defaults, strict=True))
        outer_version = dict(self.version)
        for position, (user_param, param) in enumerate(zip(user_params, params, strict=True)):
            if position < len(args):
                value = args[position]
            elif user_param in keywords:
                value = keywords[user_param]
            elif user_param in defaults:
                value = defaults[user_param]
            else:
                raise self.unsupported(call, f"call of nested function {function.name!r}",
                                       f"parameter {user_param!r} gets no value.", "Pass it.")
            self.user_versions[param] = user_param
            if isinstance(value, gast.FunctionDef):  # a lambda or nested function passed in
                self.local_functions[param] = value
                self.defined.add(param)
            elif isinstance(value, str):  # a partial made here, passed in: called as it stands for
                self.local_partials[param] = self.local_partials[value]
                self.nested_partials.add(param)  # (no object under this name: calls only)
                self.defined.add(param)
            else:
                self.assign_to(param, value)
            self.version[param] = param
        if receiver is not None and params:
            self.receiver_bindings.add(params[0])
        lower_returns(node, self.namer)
        if not isinstance(node.body[-1], gast.Return):
            # No return at the end (none at all, or only inside a with block):
            # the call's value is None, as in Python.
            node.body.append(gast.copy_location(gast.Return(value=None), node.body[-1]))
        result = result or self.namer.temp()
        self.defined.add(result)
        self.inline_stack.append(function)
        self.inlining.append(result)
        takers = self.__dict__.setdefault("taker_stack", [])
        takers.append(callee)
        try:
            self.block(node.body)
        finally:
            takers.pop()
            self.inlining.pop()
            self.inline_stack.pop()
            self.inline_final_self = self.version.get(params[0]) if params else None
            # (user's parameter name, its SSA name, its last version): objects changed there (normalize_held)
            self.inline_final_params = [(u, p, self.version.get(p)) for u, p in zip(user_params, params, strict=True)]
            self.__dict__.setdefault("inlined_params", set()).update(params)  # (their later versions name them)
            # The callee's names are its own. It cannot re-bind the caller's
            # (global and nonlocal are refused), so a caller's name with a new
            # version was changed in place there (y[0] = v, d[k] = v,
            # items.append(v) on a value of the closure): the caller sees it.
            self.version = {name: version for name, version in self.version.items()
                            if name in outer_version or name not in renames.values()}
        return load(result)

    def with_evaluated_defaults(self, function):
        """A nested function whose default values are computed now, where it
        is defined (as Python does), not where it is called."""
        function = clone(function)
        defaults = []
        for default in function.args.defaults:
            atom = self.atom(default)
            if isinstance(atom, gast.Name):
                # Held under a name of its own: the user's name may be re-bound
                # before the call.
                held = self.namer.temp()
                self.ops.append(self.copy_op(held, atom, construct="copy"))
                # the function keeps this value: an update in place changes what it reads
                name = getattr(function, "name", "lambda")
                self.__dict__.setdefault("closure_held", {})[held] = (
                    f"the default value of {'a lambda' if name == 'lambda' else repr(name)} (kept since it "
                    "was defined)")
                self.hold(atom.id)
                atom = load(held)
            defaults.append(atom)
        function.args.defaults = defaults
        return function

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

    def local_function(self, func):
        """The FunctionDef of a lambda or nested function called by ``func``."""
        if isinstance(func, gast.Lambda):
            return self.with_evaluated_defaults(lambda_as_def(func))
        if isinstance(func, gast.Name):
            self.check_unambiguous_function(func)
        if isinstance(func, gast.Name) and self.read(func.id) in self.local_functions:
            return self.local_functions[self.read(func.id)]
        if isinstance(func, gast.Call) and not any(isinstance(a, gast.Starred) for a in func.args) and all(
                k.arg is not None for k in func.keywords):
            maker = self.factory(func.func)
            if maker is not None:  # make(s)(x): the closure make returns, inlined
                made_here = self.namer.temp()
                self.inline(maker, func, made_here)
                return self.local_functions.get(made_here)
        return None

    def same_module_function(self, callee):
        """The FunctionDef of ``callee``, one of the user's functions that can
        be inlined here: defined in this function's module and file (so its
        names resolve as this function's do), without closure, and reading no
        name this function binds; None otherwise."""
        from .parse import parse_function
        from .resolve import local_names

        if (not isinstance(callee, types.FunctionType) or is_library(callee) or callee.__closure__
                or callee.__globals__ is not self.resolver.globals or callee is self.parsed.func
                or callee.__code__.co_filename != self.parsed.func.__code__.co_filename
                or callee.__code__.co_flags & 0x2C):  # generators, coroutines, *args / **kwargs
            return None
        try:
            node = parse_function(callee).node
        except errors.AdjointError:
            return None
        if node.args.vararg is not None or node.args.kwarg is not None or node.args.kwonlyargs:
            return None
        own = local_names(node) | {n.id for n in gast.walk(node)
                                   if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Param))}
        free = {n.id for n in gast.walk(node) if isinstance(n, gast.Name) and n.id not in own}
        if free & (self.resolver.locals | set(self.resolver.cells)):
            return None
        return node

    def factory(self, func):
        """``make(s)``, a function of the user's module that returns a lambda
        or a nested function: inlined, so that the closure it returns is
        inlined where it is called, its captured values differentiated."""
        if not isinstance(func, gast.Name) and not isinstance(func, gast.Attribute):
            return None
        callee = self.resolver.value_of(func)
        if callee is UNRESOLVED or (rules.lookup(callee) is not None) or rules.is_nondifferentiable(callee):
            return None
        node = self.same_module_function(callee)
        if node is None or not node.body or not isinstance(node.body[-1], gast.Return):
            return None
        value = node.body[-1].value
        nested = {s.name for s in node.body if isinstance(s, gast.FunctionDef)} | {
            s.targets[0].id for s in node.body if isinstance(s, gast.Assign) and len(s.targets) == 1
            and isinstance(s.targets[0], gast.Name) and isinstance(s.value, gast.Lambda)}
        if not (isinstance(value, gast.Lambda) or isinstance(value, gast.Name) and value.id in nested):
            return None
        return self.with_evaluated_defaults(node)

    def frozen(self, function):
        """A closure being returned by an inlined factory, its free names read
        as they are now (the factory's frame is over when it is called)."""
        from .resolve import local_names

        function = clone(function)
        own = local_names(function)
        kept = self.__dict__.setdefault("closure_held", {})
        for child in gast.walk(function):
            if (isinstance(child, gast.Name) and isinstance(child.ctx, gast.Load) and child.id not in own
                    and child.id in self.version):
                user = child.id
                child.id = self.read(child.id)
                # the closure keeps this value: an update in place changes what it reads
                kept[child.id] = (f"the value {self.user_versions.get(child.id, user)!r} of a closure made by a "
                                  "function called here")
                self.hold(child.id)
        return function

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
        args = [self.atom(a) for a in node.args]
        kwargs = {k.arg: self.atom(k.value) for k in node.keywords}
        value = gast.Call(func=gast.Attribute(value=receiver, attr=func.attr, ctx=gast.Load()),
                          args=args, keywords=[gast.keyword(arg=k, value=v) for k, v in kwargs.items()])
        prim = ARRAY_METHODS.get(func.attr)
        if func.attr == "keys" and not args and not kwargs:
            prim = NONDIFF  # a dict's keys carry no derivative: for k in params.keys()
        elif prim is None and func.attr not in ARRAY_METHODS:
            prim = MethodCall(func.attr)
        rule_args = list(args)
        if func.attr in VARARG_METHODS and len(args) > 1:
            rule_args = [gast.Tuple(elts=list(args), ctx=gast.Load())]
        return value, prim, [receiver] + rule_args, kwargs, f"method .{func.attr}()", None
