"""Arguments known when the function is transformed: the items of ``*seq``
built here from a literal, the keywords of ``**mapping`` with known keys,
``functools.partial`` objects made in the function (each call of one is
differentiated as the call it stands for), and calls with ``*`` or ``**``
arguments known only when they run (an ``ir.StarredCall``)."""
import functools

import gast

from .. import rules
from .. import runtime as rt
from .gastutil import clone, constant, load, store
from .ir import NONDIFF, UNPACK, Op, StarredCall, dotted
from .resolve import UNRESOLVED


class Arguments:
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
        return (value, StarredCall(spec, callee, method, None if called is UNRESOLVED else called), pieces, {},
                f"call of {name}", None)
