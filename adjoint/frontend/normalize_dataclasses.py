"""The functions of ``dataclasses`` on an object the function made (a
followed object, normalize_objects), and the parameters of a dataclass's
generated ``__init__``:

- ``dataclasses.replace(obj, w=v)`` is the class called again with the
  changed fields and the others read from ``obj`` (``Params(w=v,
  b=obj.b)``), as ``replace`` does; an ``InitVar`` left out takes its
  default (without one the call is left as written, and refused; a field
  that ``__init__`` does not take is refused at the user's line, where
  Python raises);
- ``dataclasses.asdict(obj)`` is the dict literal of its fields
  (``{"w": obj.w, "b": obj.b}``), a field holding a followed dataclass
  object made a dict in turn; ``dict_factory`` is not taken;
- ``InitVar`` fields are parameters of ``__init__`` that are not stored,
  passed to ``__post_init__`` after ``self`` (``init_parameters``);
- an attribute of a class with ``__slots__`` is stored on the instance by
  the slot's member descriptor: read and set as a plain attribute
  (``slot_of``), not refused as a computed one.

A dataclass object passed in as an argument (outside the differentiated
ones) that the body hands to ``replace`` or ``asdict`` is followed from the
start (``bind_dataclass_parameters``): the transform is made for its class
(the cache's key), so the rewrites above apply to it too. Objects that are
not followed otherwise (made elsewhere, read from a container) are left to
the plain call, which is refused where it is differentiated."""
import dataclasses
import types

import gast

from .gastutil import clone, constant, load, walk as walk_tree


def init_parameters(cls):
    """The pseudo-fields a dataclass's generated ``__init__`` takes, in its
    order: the fields with ``init=True`` and the ``InitVar`` ones, by
    position first (declaration order), then those declared ``kw_only``."""
    taken = [f for f in cls.__dataclass_fields__.values()
             if f._field_type in (dataclasses._FIELD, dataclasses._FIELD_INITVAR) and f.init]
    return [f for f in taken if not f.kw_only] + [f for f in taken if f.kw_only]


def init_vars(cls):
    """The ``InitVar`` pseudo-fields of a dataclass, in declaration order
    (``__post_init__``'s parameters after ``self``)."""
    return [f for f in cls.__dataclass_fields__.values() if f._field_type is dataclasses._FIELD_INITVAR]


def slot_of(cls, name, static):
    """Whether ``static`` (``cls.name`` read without calling descriptors) is
    the member of ``__slots__`` that stores ``name`` on each instance (a
    plain stored attribute, for a class with ``__slots__``: ``@dataclass(slots=True)``
    too)."""
    if not isinstance(static, types.MemberDescriptorType):
        return False
    for owner in cls.__mro__:
        slots = owner.__dict__.get("__slots__", ())
        slots = (slots,) if isinstance(slots, str) else tuple(slots)
        if name in slots:
            return owner.__dict__.get(name) is static
    return False


class Dataclasses:
    """Methods of ``normalize.Normalizer``; see its docstring for the state they share."""

    def bind_dataclass_parameters(self, node, params):
        """Follow the parameters holding a dataclass object (the call's, in
        ``object_params``) that ``node``'s body passes to
        ``dataclasses.replace`` or ``dataclasses.asdict``."""
        if not any(dataclasses.is_dataclass(cls) for name, cls in self.object_params.items() if name in params):
            return  # (no dataclass passed in: nothing to look for)
        handed = set()
        for child in walk_tree(node):
            if (isinstance(child, gast.Call) and child.args and isinstance(child.args[0], gast.Name)
                    and self.resolver.value_of(child.func) in (dataclasses.replace, dataclasses.asdict)):
                handed.add(child.args[0].id)
        for name in sorted(handed & set(params)):
            cls = self.object_params.get(name)
            if (cls is not None and dataclasses.is_dataclass(cls) and self.version.get(name) == name
                    and not self.object_tokens.get(name)):
                self.new_token(name, cls, outside=True)

    def dataclass_function_call(self, node):
        """The operation of ``dataclasses.replace(obj, ...)`` or
        ``dataclasses.asdict(obj)`` on a followed dataclass object, else None."""
        callee = self.resolver.value_of(node.func)
        if callee not in (dataclasses.replace, dataclasses.asdict) or not node.args:
            return None
        obj = node.args[0]
        if (any(isinstance(a, gast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords)
                or not isinstance(obj, gast.Name) or obj.id not in self.version):
            return None
        cls = self.object_class(self.read(obj.id))
        if cls is None or not dataclasses.is_dataclass(cls):
            return None
        if callee is dataclasses.asdict:
            if len(node.args) != 1 or node.keywords:
                return None  # dict_factory: left as written
            return self.operation(self.fields_as_dict(obj, cls, node))
        if len(node.args) != 1:
            return None
        return self.replaced(obj, cls, node)

    def replaced(self, obj, cls, node):
        changes = {k.arg: k.value for k in node.keywords}
        keywords = []
        for field in init_parameters(cls):
            if field.name in changes:
                value = changes.pop(field.name)
            elif field._field_type is dataclasses._FIELD_INITVAR:
                if field.default is dataclasses.MISSING:
                    return None  # Python's ValueError, from the plain call
                value = constant(field.default)
            else:
                value = gast.Attribute(value=clone(obj), attr=field.name, ctx=gast.Load())
            keywords.append(gast.keyword(arg=field.name, value=value))
        if changes:
            name = sorted(changes)[0]
            raise self.unsupported(node, f"dataclasses.replace(..., {name}=...)",
                                   f"{cls.__name__} has no field {name!r} that its __init__ takes (Python raises "
                                   "an error for this call: a field declared init=False cannot be replaced).",
                                   f"Replace the fields __init__ takes, or set .{name} on the new object.")
        holder = self.namer.fresh(cls.__name__)
        self.resolver.constants[holder] = cls
        call = gast.Call(func=load(holder), args=[], keywords=keywords)
        for child in walk_tree(call):
            if "lineno" in child._attributes and getattr(child, "lineno", None) is None:
                gast.copy_location(child, node)
        return self.call(call)

    def fields_as_dict(self, obj, cls, node):
        """``{"name": obj.name, ...}`` for ``asdict(obj)``: a field holding a
        followed dataclass object is made a dict in turn."""
        keys, values = [], []
        for field in dataclasses.fields(cls):
            read = gast.copy_location(gast.Attribute(value=clone(obj), attr=field.name, ctx=gast.Load()), node)
            value = self.atom(read)
            inner = self.object_class(value.id) if isinstance(value, gast.Name) else None
            if inner is not None and dataclasses.is_dataclass(inner):
                value = self.atom(self.fields_as_dict(value, inner, node))
            keys.append(constant(field.name))
            values.append(value)
        return gast.Dict(keys=keys, values=values)
