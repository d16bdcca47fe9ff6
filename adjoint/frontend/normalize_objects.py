"""A-normal form of objects of the user's classes that hold differentiated
values: ``s = State(x)`` (``__init__`` storing arrays), a ``@dataclass``
built from arrays, and ``self.h = ...`` in a method called on an object the
function made or reads from its module or closure (``cell.step(x)``).

Such an object is followed like a dict whose keys are its attribute names,
in SSA form: ``obj.name = value`` becomes ``obj_1 = rt.store_attribute(obj,
"name", value)``, which really sets the attribute and returns the object
itself, so every version of it is the same Python object, as in the user's
program; ``obj.name`` reads are ``rt.attribute`` ops on the current version.
The class's ``__init__`` and the methods called on such an object are
inlined (their ``self`` is the receiver's current version, and the
receiver's name gets the version the method leaves), so every store is an op
of this function. They must be defined in the function's own module (their
names resolve as the function's do).

What stays exact is checked once the function is normalized
(``check_objects``): an object that is passed on (to a call, a container,
another name) and then changed again is refused, since the other holder
would read the new value without its derivative. Objects the function does
not make (a cell of the module) may be changed only by the function being
differentiated itself: ``Normalized.outside_stores`` lists where, and a
transform used by a caller that has any is refused (cache.py).
"""
import contextvars
import dataclasses
import functools
import inspect
import types

import gast

from .. import errors
from .. import runtime as rt
from .gastutil import clone, constant, load
from .gastutil import walk as walk_tree
from .ir import NONDIFF, Op, is_library
from .classes import (body_changes_held, changes_held, computed_by_class, method_of, methods_called_on,  # noqa: F401
                      mutates_self)
from .normalize_cached import CachedProperties, read_as
from .normalize_dataclasses import init_parameters, init_vars, slot_of
from .normalize_held import Held, describe, passed_to_a_changer
from .normalize_records import RECORDS_ONLY, SharedObjectsChanged, mark_records
from .normalize_self_calls import objects_calling_own_methods
from .normalize_star import StarObjects
from .resolve import UNRESOLVED


#: normalize_records.RECORDS_ONLY while vmap's transform is made: objects are followed
#: only if all are records (set once, then only read); else (False) vmap runs a function
#: that makes objects from batched values once per example (its builder has no rules for them).
FOLLOW_OBJECTS = contextvars.ContextVar("follow_objects", default=True)


def user_class(cls):
    """Whether instances of ``cls`` may be followed: a class of the user's
    (not a library's), made by ``object.__new__``, holding its attributes
    itself (not a tuple, list, dict or array subclass)."""
    return (isinstance(cls, type) and not is_library(cls) and cls.__new__ is object.__new__
            and cls.__getattribute__ is object.__getattribute__ and not hasattr(cls, "__getattr__")
            and not issubclass(cls, (tuple, list, dict, set, BaseException)) and not hasattr(cls, "__array__")
            and (isinstance(cls.__dict__.get("__setattr__", object.__setattr__), type(object.__setattr__))
                 or dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen))


def user_instance(value):
    if isinstance(value, (type, types.ModuleType, types.FunctionType, types.MethodType,
                          types.BuiltinFunctionType, functools.partial)):
        return False
    return user_class(type(value)) and rt.is_plain_object(value)


def outside_objects_changed(function_node, value_of, local):
    """``{name: object}``: the objects of the module or closure (not local
    names) whose attributes the function body sets, directly (``cell.h =``)
    or by calling a method that does (``cell.step(x)``)."""
    found = {}
    for child in walk_tree(function_node):
        name = None
        if (isinstance(child, gast.Attribute) and isinstance(child.ctx, gast.Store)
                and isinstance(child.value, gast.Name)):
            name = child.value.id
        elif (isinstance(child, gast.Call) and isinstance(child.func, gast.Attribute)
              and isinstance(child.func.value, gast.Name)):
            name = child.func.value.id
        if name is None or local(name) or name in found:
            continue
        value = value_of(gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None))
        if value is UNRESOLVED or not user_instance(value):
            continue
        if isinstance(child, gast.Call):
            method = method_of(type(value), child.func.attr)
            if method is None or not mutates_self(type(value), method):
                continue
        found[name] = value
    for child in walk_tree(function_node):  # step(CELL, x) setting state.h (normalize_held)
        if not isinstance(child, gast.Call):
            continue
        for arg in list(child.args) + [k.value for k in child.keywords]:
            if not isinstance(arg, gast.Name) or local(arg.id) or arg.id in found:
                continue
            value = value_of(arg)
            if (value is not UNRESOLVED and user_instance(value)
                    and passed_to_a_changer(child, arg.id, type(value), value_of)):
                found[arg.id] = value
    return found


def held_by_parameter(classes, name):
    """``{attribute: class}`` of the objects the argument ``name`` holds
    (``calling.object_arguments``: the keys ``name.attribute``)."""
    prefix = f"{name}."
    return {key[len(prefix):]: cls for key, cls in classes.items() if key.startswith(prefix)}


def parameter_objects_changed(function_node, classes, value_of=None):
    """``{name: class}``: the parameters holding objects of the user's
    classes (``classes``, by parameter name, from the call) whose attributes
    the function body sets, directly (``model.h = ...``) or by calling a
    method that does (``model.step(x)``)."""
    found = {}
    for name, cls in classes.items():  # model.layer.h = v, model.layer.step(x) in the body itself
        held = held_by_parameter(classes, name)
        if held and "." not in name and body_changes_held(function_node, name, cls, held):
            found[name] = cls
    for child in walk_tree(function_node):
        if (isinstance(child, gast.Attribute) and isinstance(child.ctx, gast.Store)
                and isinstance(child.value, gast.Name) and child.value.id in classes):
            found[child.value.id] = classes[child.value.id]
        elif (isinstance(child, gast.Call) and isinstance(child.func, gast.Attribute)
              and isinstance(child.func.value, gast.Name) and child.func.value.id in classes):
            cls = classes[child.func.value.id]
            method = method_of(cls, child.func.attr)
            held = held_by_parameter(classes, child.func.value.id)
            if method is not None and (mutates_self(cls, method) or changes_held(cls, method, held)):
                found[child.func.value.id] = cls
        elif isinstance(child, gast.Call) and isinstance(child.func, gast.Name) and child.func.id in classes:
            cls = classes[child.func.id]  # model(x): its __call__
            method = method_of(cls, "__call__")
            if method is not None and mutates_self(cls, method):
                found[child.func.id] = cls
        if isinstance(child, gast.Call) and value_of is not None:  # step(model, x) setting model.h
            for arg in list(child.args) + [k.value for k in child.keywords]:
                if (isinstance(arg, gast.Name) and arg.id in classes and arg.id not in found
                        and passed_to_a_changer(child, arg.id, classes[arg.id], value_of)):
                    found[arg.id] = classes[arg.id]
    return found


class Objects(Held, CachedProperties, StarObjects):
    """Methods of ``normalize.Normalizer`` (see its docstring for the state
    they share), and the state of their own, made by ``init_objects``.
    Objects held by other objects (``self.layer.h = v``): normalize_held."""

    def init_objects(self):
        self.object_tokens = {}  # version -> the objects (tokens) it may hold
        self.object_classes = {}  # token -> its class
        self.outside_tokens = set()  # tokens of objects the function did not make
        self.receiver_bindings = set()  # the ``self`` of an inlined method (an alias that ends with it)
        self.object_handoffs = set()  # a constructor's last ``self``, copied to the caller's name
        self.inline_receiver = None  # (class) for the next inline: its first parameter is an object
        self.inline_final_self = None
        self.follow_objects = FOLLOW_OBJECTS.get()
        self.followed_globals = {}  # name of an object of the module followed -> its class (see bind_outside_objects)
        self.followed_global_tokens = {}  # token of such an object -> its name
        self.init_held()

    # ------------------------------------------------------------ state

    def object_class(self, version):
        tokens = self.object_tokens.get(version)
        if not tokens:
            return None
        classes = {self.object_classes[t] for t in tokens}
        found = classes.pop() if len(classes) == 1 else None
        return None if found is list else found  # (a list held by an object: see normalize_held)

    def track_ownership(self, op):
        super().track_ownership(op)
        if not op.targets:
            return
        target = op.targets[0]
        if (op.prim in (rt.identity, rt.store_attribute, rt.init_attribute, rt.append, rt.replace_item)
                or op.construct in ("phi", "merge", "copy")) and op.args and isinstance(op.args[0], gast.Name):
            tokens = self.object_tokens.get(op.args[0].id)
            if tokens:
                self.object_tokens[target] = self.object_tokens.get(target, frozenset()) | tokens
        self.track_held(op)

    def new_token(self, version, cls, outside=False):
        self.object_tokens[version] = frozenset([version])
        self.object_classes[version] = cls
        if outside:
            self.outside_tokens.add(version)

    # ------------------------------------------------ objects of the module

    def bind_outside_objects(self, node):
        """Objects of the module or closure whose attributes the function
        sets get a version of their own before anything else runs (so a loop
        or a branch that changes them carries them like any name)."""
        if not self.follow_objects:
            return
        params = set(self.params)

        def local(name):
            return name in self.resolver.locals or name in params or name in self.version

        changed = outside_objects_changed(node, self.resolver.value_of, local)
        chains = self.module_chains(node, local, changed)  # MODEL.layer.W = v: normalize_module_held
        if self.follow_objects != RECORDS_ONLY:  # OSC.energy(x) calling self.accel(x): normalize_self_calls
            changed.update(objects_calling_own_methods(node, self.resolver.value_of, local, self.method_function,
                                                       user_instance, changed))
        for name, value in sorted(changed.items()):
            version = self.namer.fresh(name)
            self.defined.add(version)
            self.ops.append(Op("assign", [version], load(name), NONDIFF, [], lineno=self.lineno,
                               no_grad=self.no_grad, construct="copy"))
            self.version[name] = version
            self.user_versions[version] = name
            self.new_token(version, type(value), outside=True)
            # its class's methods are inlined: the transform is stale once the name holds another class's object
            self.followed_globals[name] = type(value)
            self.followed_global_tokens[version] = name
            if name in chains:
                self.bind_module_held(node, name, version, value, chains[name][1])
        # Objects passed in whose methods set attributes (``model.step(x)``): followed
        # the same way. The transform is made for their classes (the cache's key).
        for name, cls in sorted(parameter_objects_changed(node, self.object_params, self.resolver.value_of).items()):
            if name in params and self.version.get(name) == name:
                self.new_token(name, cls, outside=True)
                for attribute, held_cls in held_by_parameter(self.object_params, name).items():
                    # model.layer (model.block.layer), made before the call: followed under its
                    # attribute, held by its holder's token (normalize_held)
                    token = f"{name}.{attribute}"
                    self.new_token(token, held_cls, outside=True)
                    holder, _, last = token.rpartition(".")
                    self.attribute_holds[(holder, last)] = frozenset([token])
        # Objects passed in whose methods the body only calls (model.predict(x)): their methods are read
        # in place too, so derivatives of derivatives go through them (hessian(f, 1)(model, x))
        for name, cls in sorted(self.object_params.items()):
            if self.follow_objects == RECORDS_ONLY:
                break  # (vmap's batched code calls them as they are; records made here stay records)
            if name in params and self.version.get(name) == name and not self.object_tokens.get(name):
                called = methods_called_on(node, name)
                if called and all(method_of(cls, m) is not None and self.method_function(method_of(cls, m))
                                  is not None for m in called):
                    self.new_token(name, cls, outside=True)
        self.bind_star_objects(node)  # objects given through *args: see normalize_star
        self.bind_dataclass_parameters(node, params)  # replace(cfg, w=v) of one passed in: see normalize_dataclasses

    def changed_by_local_calls(self, stmts):
        """Also the names of objects whose attributes ``stmts`` may set (a
        loop carries them): ``obj.h = v``, and every name of a followed
        object that ``stmts`` (or a nested function) mention at all, since any
        use may call a method that changes it (``cell.step(x)``, ``cell(x)``)."""
        changed = super().changed_by_local_calls(stmts)
        bodies = list(stmts) + [f for f in self.local_functions.values()]
        for child in (n for stmt in bodies for n in walk_tree(stmt)):
            if (isinstance(child, gast.Attribute) and isinstance(child.ctx, gast.Store)
                    and isinstance(child.value, gast.Name)):
                changed.add(child.value.id)
            elif isinstance(child, gast.Name) and self.object_tokens.get(self.version.get(child.id)):
                changed.add(child.id)
        return changed

    # ------------------------------------------------------------ stores

    def store_object_attribute(self, target, value, helper=rt.store_attribute):
        """``obj.name = value`` on a followed object: True if done here."""
        if not isinstance(target.value, gast.Name):
            return self.follow_objects and self.store_through_holder(target, value, helper)
        if target.value.id not in self.version:
            return False
        name = target.value.id
        version = self.read(name)
        if not self.object_tokens.get(version):
            return False
        stored = self.atom(value)
        args = [load(version), constant(target.attr), stored]
        call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr=helper.__name__, ctx=gast.Load()),
                         args=[clone(a) for a in args], keywords=[])
        new = self.bind(name)
        self.emit(call, helper, args, target=new, construct=f"attribute .{target.attr} set")
        return True

    def update_object_attribute(self, stmt):
        """``obj.name op= value`` on a followed object, as Python runs it:
        ``t = obj.name; t op= value; obj.name = t`` (an array attribute is
        then updated in place, which the rules of ``op=`` decide about)."""
        target = stmt.target
        if not (isinstance(target.value, gast.Name) and self.object_tokens.get(self.version.get(target.value.id))
                or self.held_chain(target.value)):
            return False
        receiver = describe(target.value, self.user_names)
        held = self.namer.fresh(f"{receiver.replace('.', '_')}_{target.attr}")
        self.user_names[held] = f"{receiver}.{target.attr}"  # (as messages name it)
        self.assign(gast.Name(id=held, ctx=gast.Store(), annotation=None, type_comment=None),
                    gast.Attribute(value=clone(target.value), attr=target.attr, ctx=gast.Load()))
        self.statement(gast.copy_location(gast.AugAssign(
            target=gast.Name(id=held, ctx=gast.Store(), annotation=None, type_comment=None), op=stmt.op,
            value=stmt.value), stmt), last=False)
        return self.store_object_attribute(target, gast.Name(id=held, ctx=gast.Load(), annotation=None,
                                                             type_comment=None))

    # ------------------------------------------------------------ calls

    def method_function(self, method):
        """The FunctionDef of ``method`` (a function of the user's class) to
        inline here, its free names read as the method reads them: a name
        this function binds too, or one its module binds differently (a
        class of another module), is renamed to a constant of the transform.
        None for what cannot be inlined: a library's code, a generator,
        ``*args``/``**kwargs``, a closure (``super()``), no source."""
        import builtins

        from .parse import parse_function
        from .resolve import local_names

        if (not isinstance(method, types.FunctionType) or is_library(method)
                or method.__closure__ and method.__code__.co_freevars != ("__class__",)
                or method is self.parsed.func or method.__code__.co_flags & 0x2C):
            return None
        try:
            node = clone(parse_function(method).node)
        except errors.AdjointError:
            return None
        if node.args.vararg is not None or node.args.kwarg is not None or node.args.kwonlyargs:
            return None
        own = local_names(node) | {n.id for n in walk_tree(node)
                                   if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Param))}
        renames = {}
        for child in walk_tree(node):
            if not isinstance(child, gast.Name) or child.id in own:
                continue
            name = child.id
            if name not in renames:
                if name in method.__globals__:
                    value = method.__globals__[name]
                elif hasattr(builtins, name):
                    value = getattr(builtins, name)
                else:
                    return None  # a NameError when it runs: left to the plain call
                here = UNRESOLVED
                if name not in self.resolver.locals and name not in self.resolver.cells and name not in self.version:
                    here = self.resolver.lookup(name)
                if here is not UNRESOLVED and here is value:
                    renames[name] = name
                else:
                    fresh = self.namer.fresh(f"{name}_of_{method.__name__}")
                    self.resolver.constants[fresh] = value
                    renames[name] = fresh
            child.id = renames[name]
        if method.__closure__ and not self.explicit_super(node, method):
            return None
        return node

    def object_call(self, node):
        """``State(...)`` of a user's class, or ``obj.method(...)`` on a
        followed object: the ops of its inlined code, and the value as
        ``call`` returns it; None when it is not such a call."""
        if not self.follow_objects:
            return None
        func = node.func
        by_name = self.attribute_by_name(node)
        if by_name is not None:
            return by_name
        if self.held_chain(func):  # a.layer(x): the object an attribute holds, called
            return self.call_through_holder(node, func)
        if isinstance(func, gast.Attribute) and self.held_chain(func.value):  # a.layer.step(x)
            return self.call_through_holder(node, func.value)
        receiver = None
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and (
                func.value.id in self.version or self.object_tokens.get(func.value.id)):
            receiver = func.value  # (a user's name, or an object computed above: (-v).norm())
        elif isinstance(func, gast.Attribute) and self.computed_receiver(func.value):
            receiver = self.atom(func.value)  # (-(a - b)).norm2(), b.add(x).mul(y): normalize_operators
        elif isinstance(func, gast.Attribute) and self.super_method(func) is not None:
            return self.super_call(node)  # super(Child, self).__init__(x): see normalize_held
        elif (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Call)
              and user_class(self.resolver.value_of(func.value.func))):
            receiver = self.atom(func.value)  # State(x).energy(): the object made, then its method
            if not self.object_tokens.get(receiver.id):
                value = gast.Call(func=gast.Attribute(value=receiver, attr=func.attr, ctx=gast.Load()),
                                  args=node.args, keywords=node.keywords)
                return self.call(value)  # an object not followed (its class's __init__ is not inlined): as before
        elif isinstance(func, gast.Call) and user_class(self.resolver.value_of(func.func)):
            shown = func.func.id if isinstance(func.func, gast.Name) else "made"
            made = self.namer.fresh(f"{shown}_object")
            self.user_names[made] = f"{shown}(...)"
            self.assign(gast.Name(id=made, ctx=gast.Store(), annotation=None, type_comment=None), func)
            call = gast.copy_location(gast.Call(func=load(made), args=node.args, keywords=node.keywords), node)
            return self.object_call(call) or self.call(call)  # Stack(W)(x): the object made, then its __call__
        if receiver is not None:
            version = self.read(receiver.id)
            cls = self.object_class(version)
            if cls is None:  # (a receiver computed above is not computed again: (CELL.step(x) * 2).sum())
                return None if receiver is func.value else self.call(gast.Call(func=gast.Attribute(
                    value=receiver, attr=func.attr, ctx=gast.Load()), args=node.args, keywords=node.keywords))
            method = method_of(cls, func.attr)
            if method is None:
                if receiver is not func.value:
                    value = gast.Call(func=gast.Attribute(value=receiver, attr=func.attr, ctx=gast.Load()),
                                      args=node.args, keywords=node.keywords)
                    return self.call(value)
                return self.static_method_call(node, cls, func.attr)  # (self.kernel(z): normalize_class_methods)
            function = self.method_function(method)
            if function is None:
                raise self.unsupported(
                    node, f"method .{func.attr}() of an object of class {cls.__name__} holding differentiated "
                    "values",
                    "its methods are differentiated by reading their code in place of the call, which "
                    "needs them defined in this function's module, without super() or a closure, reading "
                    "no name this function binds.",
                    "Define the class in the module of the function being differentiated, or pass the "
                    "arrays to a function of it as arguments.")
            return self.inline_method(function, node, receiver, cls)
        if isinstance(func, gast.Name) and func.id in self.version:
            cls = self.object_class(self.read(func.id))
            method = method_of(cls, "__call__") if cls is not None else None
            if method is None:
                return None
            function = self.method_function(method)
            if function is None:
                raise self.unsupported(
                    node, f"call of an object of class {cls.__name__} holding differentiated values",
                    "its __call__ is differentiated by reading its code in place of the call, which needs it "
                    "defined in this function's module, without super() or a closure, reading no name this "
                    "function binds.",
                    "Define the class in the module of the function being differentiated, or pass the "
                    "arrays to a function of it as arguments.")
            return self.inline_method(function, node, func, cls)
        cls = self.resolver.value_of(func)
        if cls is UNRESOLVED or not user_class(cls):
            return self.changer_call(node)  # step(state, x) setting state.h: see normalize_held
        if dataclasses.is_dataclass(cls) and cls.__init__.__code__.co_filename.startswith("<"):
            return self.dataclass_instance(cls, node)
        init = method_of(cls, "__init__")
        if init is None:
            return None
        function = self.method_function(init)
        if function is None:
            return None
        made = self.emit(self.new_object_call(func), NONDIFF, [], construct=f"{cls.__name__}(...)")
        self.new_token(made.id, cls)
        self.inline_method(function, node, made, cls)
        final = self.inline_final_self
        self.object_handoffs.add(final)
        return load(final), rt.identity, [load(final)], {}, "call of a nested function", None

    def attribute_by_name(self, node):
        """``getattr(obj, "name")`` and ``setattr(obj, "name", value)`` with a
        literal name on a followed object: ``obj.name`` read or set."""
        import builtins

        callee = self.resolver.value_of(node.func)
        if (callee not in (builtins.getattr, builtins.setattr) or node.keywords
                or len(node.args) != (2 if callee is builtins.getattr else 3)
                or not isinstance(node.args[0], gast.Name) or node.args[0].id not in self.version
                or not self.object_tokens.get(self.read(node.args[0].id))
                or not (isinstance(node.args[1], gast.Constant) and isinstance(node.args[1].value, str))):
            return None
        attribute = gast.Attribute(value=node.args[0], attr=node.args[1].value, ctx=gast.Load())
        gast.copy_location(attribute, node)
        if callee is builtins.getattr:
            return self.attribute(attribute)
        attribute.ctx = gast.Store()
        self.store_object_attribute(attribute, node.args[2])
        return constant(None), NONDIFF, [], {}, "call of a nested function", None  # (done: no statement left)

    def object_attribute(self, node, made=False):
        """``obj.name`` read on a followed object, when it is not a plain
        attribute: a property (its getter inlined, like a method), else None.
        ``obj.__dict__`` and other descriptors are refused (their values
        would be read without derivative)."""
        if self.follow_objects and self.held_chain(node.value):
            return self.held_attribute(node)  # held[0].energy, self.layer.energy: see normalize_held
        if not (self.follow_objects and isinstance(node.value, gast.Name) and (made or node.value.id in self.version)):
            return None  # (made: a name of the ops' own, for the object an expression made: Charged(x).energy)
        cls = self.object_class(self.read(node.value.id))
        if cls is None or read_as(node) == "stored":
            return None
        try:
            static = inspect.getattr_static(cls, node.attr)
        except AttributeError:
            static = None
        if isinstance(static, functools.cached_property):
            if read_as(node) is None:
                return self.cached_property_read(node)  # see normalize_cached
            static = property(static.func)  # (its first read: the getter, read in place)
        if node.attr == "__dict__" or (
                static is not None and not isinstance(static, (property, types.FunctionType, staticmethod, classmethod))
                and hasattr(type(static), "__get__") and not slot_of(cls, node.attr, static)):
            raise self.unsupported(
                node, f"attribute .{node.attr} of an object of class {cls.__name__} holding differentiated values",
                "adjoint follows the attributes such an object stores by name; this one computes its value "
                "in another way (a descriptor, or the object's whole __dict__), which would carry no derivative.",
                "Read the attributes by name (obj.a), or compute the value with a method or a property.")
        if not isinstance(static, property):
            return None
        function = self.method_function(static.fget) if static.fget is not None else None
        if function is None:
            raise self.unsupported(
                node, f"property .{node.attr} of an object of class {cls.__name__} holding differentiated values",
                "a property is differentiated by reading its getter in place of the read, which needs a Python "
                "function without a closure (super()), *args or **kwargs.",
                "Compute the value with a method of the class, or from the attributes themselves.")
        call = gast.Call(func=node, args=[], keywords=[])
        return self.inline_method(function, call, node.value, cls)

    def new_object_call(self, func):
        """``State.__new__(State)``: the class is called by name, so the
        transform is stale (made again) once the name holds another class
        whose methods would be inlined instead."""
        return gast.Call(func=gast.Attribute(value=clone(func), attr="__new__", ctx=gast.Load()),
                         args=[clone(func)], keywords=[])

    def inline_method(self, function, node, receiver, cls):
        call = gast.Call(func=node.func, args=[receiver] + list(node.args), keywords=list(node.keywords))
        self.inline_receiver = cls
        result = self.inline(self.with_evaluated_defaults(function), call)
        final = self.inline_final_self
        # (the receiver's parameter still at the version it was bound with: the method changed nothing)
        untouched = bool(self.inline_final_params) and final == self.inline_final_params[0][1]
        if (isinstance(receiver, gast.Name) and receiver.id in self.version and final != self.read(receiver.id)
                and not untouched):
            # the method left its object in a new version: the caller's name holds it from here on
            self.object_handoffs.add(final)
            self.emit(load(final), rt.identity, [load(final)], target=self.bind(receiver.id), construct="copy")
        return result, rt.identity, [result], {}, "call of a nested function", None

    def dataclass_instance(self, cls, node):
        """``Point(x, y=...)`` of a dataclass (its ``__init__`` is generated,
        with no source): the fields set in order, then ``__post_init__``."""
        fields = dataclasses.fields(cls)
        init_fields = init_parameters(cls)  # InitVar ones too, kw_only ones last (normalize_dataclasses)
        names = [f.name for f in init_fields]
        positional = [f.name for f in init_fields if not f.kw_only]
        if len(node.args) > len(positional) or any(isinstance(a, gast.Starred) for a in node.args):
            return None
        given = positional[:len(node.args)] + [k.arg for k in node.keywords]
        if any(k not in names for k in given) or len(set(given)) != len(given):
            return None  # Python's TypeError, raised by the plain call
        for field in list(fields) + init_vars(cls):
            if field.name in given:
                continue
            if field.default_factory is not dataclasses.MISSING:
                continue  # made by its factory when the object is made (below)
            if field.default is dataclasses.MISSING:
                if field.init:
                    return None  # a missing argument: Python's TypeError, from the plain call
                continue  # init=False and no default: not set
            if not isinstance(field.default, (int, float, complex, str, bool, type(None))):
                return None
        post_init = method_of(cls, "__post_init__")
        post_function = None
        if post_init is not None:
            post_function = self.method_function(post_init)
            if post_function is None or len(post_function.args.args) != 1 + len(init_vars(cls)):
                return None
        values = {}
        for name, arg in zip(positional[:len(node.args)], node.args, strict=True):
            values[name] = self.atom(arg)
        for keyword in node.keywords:
            values[keyword.arg] = self.atom(keyword.value)
        made = self.emit(self.new_object_call(node.func), NONDIFF, [], construct=f"{cls.__name__}(...)")
        self.new_token(made.id, cls)
        current = made.id
        for field in fields:
            if field.name in values:
                stored = values[field.name]
            elif field.default is not dataclasses.MISSING:
                stored = constant(field.default)
            elif field.default_factory is not dataclasses.MISSING:
                stored = self.factory_value(field)  # field(default_factory=list): see normalize_held
            else:
                continue
            args = [load(current), constant(field.name), stored]
            call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="init_attribute",
                                                 ctx=gast.Load()), args=[clone(a) for a in args], keywords=[])
            current = self.emit(call, rt.init_attribute, args, construct=f"{cls.__name__}(...)").id
        if post_function is not None:
            self.inline_receiver = cls
            passed = [values[f.name] if f.name in values else constant(f.default) for f in init_vars(cls)]
            call = gast.Call(func=node.func, args=[load(current)] + [clone(a) for a in passed], keywords=[])
            self.inline(post_function, call)
            current = self.inline_final_self
        self.object_handoffs.add(current)
        return load(current), rt.identity, [load(current)], {}, "call of a nested function", None

    # ------------------------------------------------------------ checks

    def check_objects(self, ops):
        """Refuse a change of an object after another holder got it (a call,
        a container, another name): that holder would read the new value
        without its derivative. A store inside a loop counts after every use
        in that loop. Reads of attributes the function never sets carry no
        derivative (NONDIFF), and stores to objects the function did not
        make are listed on ``outside_stores``."""
        if not self.object_tokens:
            return []
        stores, escapes, reads = [], [], []
        stored_names = {}
        counter = [0]
        placed = []  # (here, loops, tokens, op, version): a user's name's object stored into a followed holder
        handed = []  # (here, loops, tokens, op, version): an argument bound to an inlined function's parameter
        read_loops = {}
        uses, derived = [], {}  # (here, loops, version) of every use of an object; version -> its source version
        bindings, flows = [], []  # the loop name bound after a loop over objects; (here, loops, op) of every op
        positions = {}  # id(op) -> its place in program order

        def tokens(atom):
            return self.object_tokens.get(atom.id, frozenset()) if isinstance(atom, gast.Name) else frozenset()

        params = self.__dict__.get("inlined_params", set())

        def variable(version):
            # the variable a version is of: an inlined function's parameter is its own (its first
            # version is named after the user's parameter, the later ones after it)
            return version if version in params else self.user_versions.get(version)

        def users_name(version):
            # a name of the user's (not a temporary, nor a holder read for a change through a chain)
            return version in self.user_versions and self.user_versions[version] not in self.chain_names

        def walk(block, loops):
            for op in block:
                counter[0] += 1
                here = counter[0]
                positions[id(op)] = here
                if op.targets and op.targets[0] in self.unread_tuples:
                    continue  # (*models read by constant index only: see normalize_star)
                if op.kind in ("for", "while"):
                    span = [here, None]
                    for part in (op.body, op.latch, op.exit_check):
                        walk(part, loops + [span])
                    span[1] = counter[0]
                    continue
                if op.compound:
                    for part in (op.body, op.orelse, op.latch, op.exit_check):
                        walk(part, loops)
                    continue
                args = list(op.args or ()) + list((op.kwargs or {}).values())
                flows.append((here, loops, op))
                for position, arg in enumerate(args):
                    held = tokens(arg)
                    if not held:
                        continue
                    uses.append((here, loops, arg.id))
                    lists = any(self.is_list_token(t) for t in held)
                    if op.prim in (rt.store_attribute, rt.init_attribute) and position == 0:
                        stores.append((here, loops, held, op))
                        derived[op.targets[0]] = arg.id
                        for token in held:
                            stored_names.setdefault(token, {}).setdefault(op.args[1].value, []).append(op.args[2])
                    elif op.prim in (rt.append, rt.replace_item) and position == 0 and lists:
                        stores.append((here, loops, held, op))  # a list held by an object, changed
                        derived[op.targets[0]] = arg.id
                    elif (op.prim is rt.make_list or op.prim is rt.append and position == 1
                          or op.prim is rt.replace_item and position == 2) and self.tokens_of(load(op.targets[0])):
                        # put in a followed list ([Layer(W), Layer(V)], cells[0] = t): followed through it
                        if users_name(arg.id) and arg.id not in self.object_handoffs:
                            placed.append((here, loops, held, op, arg.id))
                    elif op.prim is len and lists:
                        continue  # (its length: a read)
                    elif op.prim is rt.getitem and position == 0 and lists:
                        got = tokens(load(op.targets[0]))
                        if got and op.targets[0] in self.loop_bindings:
                            bindings.append((here, loops, got, op))  # the loop's name after the loop
                        elif got and users_name(op.targets[0]):  # c = cells[0]: another holder
                            escapes.append((here, loops, got, op))
                    elif op.prim in (rt.store_attribute, rt.init_attribute) and position == 2 and tokens(op.args[0]):
                        # held by a followed object (self.layer = Layer(W)): followed through it
                        if users_name(arg.id) and arg.id not in self.object_handoffs:
                            placed.append((here, loops, held, op, arg.id))
                    elif op.prim is rt.attribute and position == 0:
                        reads.append((held, op))
                        read_loops[id(op)] = loops
                        got = tokens(load(op.targets[0])) if op.targets else frozenset()
                        if got and users_name(op.targets[0]):  # l = self.layer: another holder
                            escapes.append((here, loops, got, op))
                    elif op.prim is NONDIFF and op.construct != "copy":
                        continue  # a check or a value with no derivative (isinstance(s, State))
                    elif op.prim is rt.identity or op.construct in ("phi", "merge", "copy"):
                        target = op.targets[0]
                        derived[target] = arg.id
                        same = (variable(target) == variable(arg.id) and target in self.user_versions)
                        if same or target in self.receiver_bindings or arg.id in self.object_handoffs \
                                or self.user_versions.get(target) in self.chain_names:
                            pass
                        elif target in params:
                            # an inlined function's parameter bound to the argument (Net(layers)): another
                            # holder only if the caller reads the argument's variable again (checked below)
                            handed.append((here, loops, held, op, arg.id))
                        else:
                            escapes.append((here, loops, held, op))
                    else:
                        escapes.append((here, loops, held, op))

        walk(ops, [])
        if isinstance(self.output, gast.Name) and tokens(self.output):
            escapes.append((counter[0] + 1, [], tokens(self.output), None))
            uses.append((counter[0] + 1, [], self.output.id))
        for here, loops, held, op, version in placed:
            # l = Layer(W); self.layer = l: l is another holder if it is used after
            def family(name):
                seen = set()
                while name not in seen:
                    if name == version:
                        return True
                    seen.add(name)
                    if name not in derived:
                        return False
                    name = derived[name]
                return False

            if any((u_here > here or any(loop in loops for loop in u_loops)) and family(name)
                   for u_here, u_loops, name in uses if name != version or u_here != here):
                escapes.append((here, loops, held, op))
        for here, loops, held, op, version in handed:
            source = variable(version) or version
            if any((u_here > here or any(loop in loops for loop in u_loops)) and (variable(name) or name) == source
                   for u_here, u_loops, name in uses if u_here != here):
                escapes.append((here, loops, held, op))
        escapes.extend(read_after_a_change(bindings, flows, stores))
        for holders, name, op, found in self.held_reads:
            # (a loop may bring the object stored further down: it must be the one read)
            if self.attribute_tokens(holders, name) != found and (
                    read_loops.get(id(op)) or not self.attribute_tokens(holders, name)):
                raise self.unsupported(
                    op, f"attribute .{name} holding an object that holds differentiated values",
                    "this attribute is also given another value (another object, or one that is not "
                    "followed), so which object's attributes a change through it sets is not known here.",
                    "Give the attribute one object for the whole function (set it once, in __init__).")
        for s_here, s_loops, s_held, s_op in stores:
            for e_here, e_loops, e_held, e_op in escapes:
                if not (s_held & e_held):
                    continue
                shared_loop = any(loop in s_loops for loop in e_loops)
                if e_here < s_here or shared_loop:
                    cls = self.object_classes[next(iter(s_held & e_held))]
                    where = self.parsed.location(e_op) if e_op is not None else None
                    if cls is list:
                        raise self.list_change_error(s_op, where)
                    raise self.unsupported(
                        s_op, f"{s_op.construct} on an object of class {cls.__name__} that is held elsewhere",
                        "the object was passed on before this change (to a call, into a container, or to "
                        f"another name{f', line {where.lineno}' if where is not None else ''}), and what "
                        "holds it there would read the new attribute without its derivative.",
                        "Change the object only through one name (make it, change it, then pass it on), or "
                        "build a new object instead of changing this one.")
        outside = [(self.parsed.location(op), op.args[2]) for _, _, held, op in stores if held & self.outside_tokens]
        if self.follow_objects == RECORDS_ONLY and outside:  # under vmap: one object for the whole batch
            first = next(held for _, _, held, _ in stores if held & self.outside_tokens) & self.outside_tokens
            token = sorted(first)[0]
            module = bool(first & set(self.followed_global_tokens))
            raise SharedObjectsChanged(outside[0][0], module, self.followed_global_tokens.get(token, token))
        for held, op in reads:
            # What a read may give: the values stored under its name (activity
            # reads those, not the whole object: weights given as constants
            # stay constants when another attribute carries a derivative).
            sources = [value for token in held for value in stored_names.get(token, {}).get(op.args[1].value, ())]
            if not sources and not any(computed_by_class(self.object_classes[t], op.args[1].value) for t in held):
                op.prim = NONDIFF  # an attribute the function never sets: a value from outside
            else:
                op.attribute_sources = sources
        if self.follow_objects:  # objects used as records: their reads are the stored values (normalize_records)
            mark_records(self, {id(op) for op in ops}, stores, escapes, reads, positions)
        return outside


def read_after_a_change(bindings, flows, stores):
    """The bindings (``layer = self.layers[-1]`` after a loop over objects)
    that pass the item on: read (under the name or its next versions) after
    a later change of the item, or in a loop around both. A binding read
    only before the item changes again (a method called twice) holds
    nothing stale."""
    found = []
    for here, loops, held, op in bindings:
        names, reads = {op.targets[0]}, []
        for f_here, f_loops, f_op in flows:
            if not (f_here > here or any(loop in loops for loop in f_loops)) or f_op is op:
                continue
            if not any(isinstance(a, gast.Name) and a.id in names
                       for a in list(f_op.args or ()) + list((f_op.kwargs or {}).values())):
                continue
            if f_op.construct in ("phi", "merge", "copy") or f_op.prim is rt.identity:
                names.update(f_op.targets[:1])  # the same value under the name's next version
            else:
                reads.append((f_here, f_loops))
        for s_here, s_loops, s_held, _ in stores:
            if not s_held & held or not (s_here > here or any(loop in loops for loop in s_loops)):
                continue
            if any(r_here > s_here or any(loop in s_loops for loop in r_loops) for r_here, r_loops in reads):
                found.append((here, loops, held, op))
                break
    return found
