"""Objects of the user's classes that hold differentiated values.

An object made in the differentiated function (``s = State(x)``), or one it
was given through a closure whose methods set attributes (``cell.step(x)``
storing ``self.h``), is followed like a dict whose keys are its attribute
names: the forward pass really sets the attributes (``store_attribute``
returns the object itself, so every version of it in the generated code is
the same Python object, exactly as in the user's program), and the adjoint
(and the tangent) of an object is a dict ``{attribute name: adjoint}`` with
only the attributes that received one.
"""
import numpy as np

from .indexing import absent_bar, batch_size, is_plain_object  # noqa: F401 (re-exported by indexing)


def new_object(cls):
    """The instance ``cls(...)`` starts from, before its ``__init__`` runs."""
    return cls.__new__(cls)


def store_attribute(obj, name, value):
    """``obj.name = value``, done on ``obj`` itself, which is returned (the
    next version of it in the generated code)."""
    setattr(obj, name, value)
    return obj


def init_attribute(obj, name, value):
    """A field set by a dataclass's ``__init__`` (frozen ones included, as
    the generated ``__init__`` does with ``object.__setattr__``)."""
    object.__setattr__(obj, name, value)
    return obj


def without_attribute(g, name):
    """Adjoint of the object before ``obj.name = value``: the attribute that
    was replaced reaches nothing from here on."""
    if g is None:
        return None
    return {key: bar for key, bar in g.items() if key != name}


def attribute_bar(g, name, like, batch=None):
    """The adjoint of the value stored by ``obj.name = value`` (zeros when no
    later read of the attribute received any)."""
    bar = None if g is None else g.get(name)
    if bar is None:
        rows = batch_size(g)
        return absent_bar(like, batch if rows is None else rows)
    return bar


def store_attribute_tangent(t, name, value_t):
    """The tangent of the object after ``obj.name = value``."""
    return {**({} if t is None else t), name: value_t}
