"""Functions inlined where they are called: lambdas and nested functions,
closures returned by a factory of the user's module (``make(s)(x)``), and a
function of the module passed a function made here (``apply(g, y)``), its
body inlined with that parameter standing for the function passed."""
import types

import gast

from .. import errors, rules
from .gastutil import clone, load, walk as walk_tree
from .inline_ownership import BindingShare
from .ir import is_library, lambda_as_def
from .lower import lower_returns
from .normalize_caller_objects import _changed_in_place
from .resolve import UNRESOLVED, local_names


#: Methods of lists, dicts and arrays that change the object they are called on.
_MUTATING_METHODS = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update",
                               "setdefault", "popitem", "fill", "resize", "put", "itemset", "__setitem__"})


def _mutates_by_method(definition, params):
    """Whether ``definition``'s body calls a method that changes one of
    ``params`` in place (``items.append(v)``, ``a.fill(0)``)."""
    return any(isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) and isinstance(n.func.value, gast.Name)
               and n.func.value.id in params and n.func.attr in _MUTATING_METHODS for n in walk_tree(definition))


class Inlining:
    """Methods of ``normalize.Normalizer``; see its docstring for the state they share."""

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
        made here (``apply(g, y)``, ``g = functools.partial(h, x)``), or a list
        or tuple made here (``cube([x, y])``, so that a NumPy function inside
        reads it as an array, see normalize_list_operands): its body
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

        def list_made_here(value):  # (NumPy calls inside read it as the array it makes)
            if isinstance(value, (gast.List, gast.Tuple, gast.ListComp)):
                return True
            return (isinstance(value, gast.Name) and value.id in self.version
                    and (self.read(value.id) in self.list_versions or self.read(value.id) in self.literal_items))

        functions = any(made_here(v) for v in values)
        if not (functions or any(list_made_here(v) for v in values)) or callee in self.__dict__.get("taker_stack", ()):
            return None
        definition = self.same_module_function(callee)
        if definition is None:
            return None
        params = {a.id for a in definition.args.args}
        if not functions and (_changed_in_place(definition, params) or _mutates_by_method(definition, params)):
            return None  # (a callee that changes its arguments is refused where it is called, as before)
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
        self.namer.taken.update(n.id for n in walk_tree(node) if isinstance(n, gast.Name) and n.id not in own)
        renames = {name: self.namer.fresh(name) for name in sorted(own)}
        self.user_names.update({new: name for name, new in renames.items()})
        for child in walk_tree(node):
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
        share = BindingShare(self)  # (the caller's values its parameters hold: theirs again after the body)
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
        else:
            share.after(self)
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
        lineno = self.lineno  # (the rest of the caller's line, build(w).apply(x), is the caller's)
        try:
            self.block(node.body)
        finally:
            self.lineno = lineno
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
            if share.start is not None:
                share.release(self, params, result)
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
        own = local_names(node) | {n.id for n in walk_tree(node)
                                   if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Param))}
        free = {n.id for n in walk_tree(node) if isinstance(n, gast.Name) and n.id not in own}
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
        for child in walk_tree(function):
            if (isinstance(child, gast.Name) and isinstance(child.ctx, gast.Load) and child.id not in own
                    and child.id in self.version):
                user = child.id
                child.id = self.read(child.id)
                # the closure keeps this value: an update in place changes what it reads
                kept[child.id] = (f"the value {self.user_versions.get(child.id, user)!r} of a closure made by a "
                                  "function called here")
                self.hold(child.id)
        return function
