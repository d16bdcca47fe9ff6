"""Names and attributes -> live objects.

``Resolver(func, node)`` knows which names are local to the function (its
parameters and every name it assigns) and resolves every other name the way
Python would when the function runs: closure cells, then globals, then
builtins. ``value_of(expr)`` returns the live object of a ``Name`` or of an
attribute chain on one (``np.linalg.norm``), or ``UNRESOLVED`` for values
only known at run time (locals, calls).
"""
import builtins

import gast

UNRESOLVED = object()


def local_names(node):
    """Parameters and names assigned anywhere in the function's own scope."""
    names = set()
    args = node.args
    for arg in args.posonlyargs + args.args + args.kwonlyargs:
        names.add(arg.id)
    for arg in (args.vararg, args.kwarg):
        if arg is not None:
            names.add(arg.id)
    stack = list(node.body)
    while stack:
        child = stack.pop()
        if isinstance(child, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            names.add(child.name)
            continue
        if isinstance(child, gast.Lambda):
            continue
        if isinstance(child, gast.comprehension):
            # Its variables are the comprehension's own (Python 3), not the function's.
            stack.extend([child.iter] + child.ifs)
            continue
        if isinstance(child, gast.Name) and isinstance(child.ctx, (gast.Store, gast.Del)):
            names.add(child.id)
        if isinstance(child, (gast.Import, gast.ImportFrom)):
            for alias in child.names:
                names.add((alias.asname or alias.name).split(".")[0])
        stack.extend(gast.iter_child_nodes(child))
    return names


class Resolver:
    def __init__(self, func, node):
        self.func = func
        self.locals = local_names(node)
        code = getattr(func, "__code__", None)
        cells = getattr(func, "__closure__", None) or ()
        self.cells = {}
        if code is not None:
            self.cells = dict(zip(code.co_freevars, cells, strict=True))
        self.globals = getattr(func, "__globals__", {})
        #: free names the function reads, with where they come from.
        self.free = {}
        #: local names the normalizer found bound to a known constant for the
        #: whole function (``xp = array_namespace(x)``: NumPy), read as globals.
        self.constants = {}
        #: parameters among ``constants`` bound to the function's default (a
        #: function or a module, see bind_known_defaults): name -> reader of
        #: the default now, so that a new default makes the transform stale
        self.defaults = {}

    def lookup(self, name):
        if name in self.constants:
            self.free[name] = "constant"
            return self.constants[name]
        if name in self.locals:
            return UNRESOLVED
        if name in self.cells:
            try:
                value = self.cells[name].cell_contents
            except ValueError:  # an empty cell: the name is not bound yet
                return UNRESOLVED
            self.free[name] = "closure"
            return value
        if name in self.globals:
            self.free[name] = "global"
            return self.globals[name]
        if hasattr(builtins, name):
            self.free[name] = "builtin"
            return getattr(builtins, name)
        return UNRESOLVED

    def is_undefined(self, name):
        """``name`` is bound nowhere: not local, not a closure cell, not a
        global of the function's module, not a builtin (Python would raise
        NameError when it is read)."""
        return (name not in self.locals and name not in self.cells and name not in self.globals
                and not hasattr(builtins, name))

    def value_of(self, expr):
        if isinstance(expr, gast.Name):
            return self.lookup(expr.id)
        if isinstance(expr, gast.Attribute):
            base = self.value_of(expr.value)
            if base is UNRESOLVED:
                return UNRESOLVED
            try:
                return getattr(base, expr.attr)
            except AttributeError:
                return UNRESOLVED
        return UNRESOLVED

    def refresh(self):
        """Current values of the free names (globals may be re-bound)."""
        values = {}
        for name, where in self.free.items():
            if where == "constant":
                values[name] = self.constants[name]
            elif where == "closure":
                values[name] = self.cells[name].cell_contents
            elif where == "global":
                values[name] = self.globals.get(name, getattr(builtins, name, None))
            else:
                values[name] = getattr(builtins, name)
        return values


def bind_known_defaults(resolver, node, positional, nargs, keywords):
    """A parameter whose default is a function or a module (``act=np.tanh``,
    ``xp=np``), left out by the call a transform is made for (``nargs``
    positional arguments and ``keywords``, see ir.arity_of) and never
    re-bound in the body, is that value: ``resolver`` reads it as a constant,
    so its calls are differentiated by their rules or their source, at any
    order, like calls of a global."""
    from .ir import assigned_names, known_defaults

    defaults = known_defaults(resolver.func)
    if not defaults:
        return
    assigned = assigned_names(node.body)
    for name, value in defaults.items():
        passed = name in keywords or (name in positional and positional.index(name) < nargs)
        if not passed and name not in assigned:
            resolver.constants[name] = value
            resolver.defaults[name] = lambda _name, func=resolver.func: known_defaults(func).get(_name)
