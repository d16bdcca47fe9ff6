"""Class methods of the user's classes that make an object of their class:
``Gauss.standard(mu)`` with ``@classmethod def standard(cls, mu): return
cls(mu, 1.0)``, in the differentiated function.

Such a call is read in place of the call, as a function of the module that
returns an object it makes is (normalize_held.changer_call): its ``cls`` is
the class the call names (``Gauss``, or the subclass it is called on), so
``cls(...)`` makes an object the function follows, and the methods called on
it afterwards are read in place too. A static method called on a followed
object (``self.kernel(z)``) is read in place as a function of the module
is. Guarantees: only a class method whose
body makes and returns an object of ``cls`` (``return cls(...)``, or ``obj =
cls(...)`` then ``return obj``) and that can be read in place (its names
resolved as its own module binds them); any other is called as before.
"""
import inspect
import types

import gast

from .gastutil import clone, walk as walk_tree


class ClassMethods:
    """Methods of ``normalize.Normalizer``; see the module docstring."""

    def class_method_call(self, node, callee):
        """The value of ``node``, a call of the class method ``callee``
        (bound to a class of the user's), read in place; None if it is not
        one this module reads."""
        from .normalize_objects import user_class

        if not (isinstance(callee, types.MethodType) and isinstance(callee.__self__, type)
                and user_class(callee.__self__) and isinstance(callee.__func__, types.FunctionType)):
            return None
        function = self.method_function(callee.__func__)
        if function is None or not (function.args.posonlyargs + function.args.args):
            return None
        function = clone(function)
        first = (function.args.posonlyargs + function.args.args)[0].id
        holder = self.namer.fresh(f"class_{callee.__self__.__name__}")
        self.resolver.constants[holder] = callee.__self__
        for child in walk_tree(function):
            if isinstance(child, gast.Name) and child.id == first and not isinstance(child.ctx, gast.Param):
                child.id = holder
        if function.args.posonlyargs:
            function.args.posonlyargs = function.args.posonlyargs[1:]
        else:
            function.args.args = function.args.args[1:]
        if not self.returns_made_object(function):
            return None
        result = self.inline(self.with_evaluated_defaults(function), node)
        name = f"{callee.__self__.__name__}.{callee.__func__.__name__}"
        return result, _identity(), [result], {}, f"call of {name}", None


    def static_method_call(self, node, cls, name):
        """``obj.name(...)`` on a followed object of class ``cls`` whose
        ``name`` is a static method (read in place, as a function of the
        module is) or a class method (``class_method_call``); None for a
        callable attribute, or one that cannot be read in place."""
        found = inspect.getattr_static(cls, name, None)
        if isinstance(found, classmethod):
            return self.class_method_call(node, getattr(cls, name))
        if not isinstance(found, staticmethod) or not isinstance(found.__func__, types.FunctionType):
            return None
        function = self.method_function(found.__func__)
        if function is None:
            return None
        result = self.inline(self.with_evaluated_defaults(function), node)
        return result, _identity(), [result], {}, f"call of {cls.__name__}.{name}", None


def _identity():
    from .. import runtime as rt

    return rt.identity
