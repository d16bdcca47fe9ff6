"""Rules of the syntax that is not a call: indexing ``x[i]`` (arrays and
containers) and plain copies ``y = x``. Container literals and unpacking are
expanded by the transformer itself, element by element."""
from .. import runtime as rt
from . import adjoint_rule, bar


@adjoint_rule(rt.getitem)
def getitem_adjoint(z, value, index):
    bar[value] = rt.getitem_adjoint(bar[z], value, index)


@adjoint_rule(rt.attribute)
def attribute_adjoint(z, value, name):
    bar[value] = rt.attribute_adjoint(bar[z], value, name)


@adjoint_rule(rt.setitem)
def setitem_adjoint(z, array, index, value):
    bar[array] = rt.overwritten_adjoint(bar[z], index)
    # An element written twice keeps one write: only that one gets a derivative.
    bar[value] = rt.unbroadcast(rt.assigned_adjoint(bar[z], index), value)

