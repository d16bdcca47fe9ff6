"""Rules of ``x.tolist()`` (``rt.array_to_list``) and of its inverse
``rt.list_to_array``, which its adjoint calls. Both are linear in their first
argument and each is the other's transpose, so their adjoints, tangents and
batched forms are calls of the pair again (``like`` and ``skip`` only say
how many trailing axes are nested)."""
from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, dot, tangent_rule, vec


@adjoint_rule(rt.array_to_list, tuple_result=True, constant=("like", "skip"))
def array_to_list_adjoint(z, a, like, skip=0):
    bar[a] = rt.list_to_array(bar[z], like, skip)


@tangent_rule(rt.array_to_list, constant=("like", "skip"))
def array_to_list_tangent(z, a, like, skip=0):
    dot[z] = rt.array_to_list(dot[a], like, skip)


@batch_rule(rt.array_to_list)
def array_to_list_batched(z, a, like, skip=0):
    vec[z] = rt.array_to_list(vec[a], vec[like], skip + 1)


@adjoint_rule(rt.list_to_array, sequences=True, constant=("like", "skip"))
def list_to_array_adjoint(z, g, like, skip=0):
    bar[g] = rt.array_to_list(bar[z], like, skip)


@tangent_rule(rt.list_to_array, constant=("like", "skip"))
def list_to_array_tangent(z, g, like, skip=0):
    dot[z] = rt.list_to_array(dot[g], like, skip)


@batch_rule(rt.list_to_array)
def list_to_array_batched(z, g, like, skip=0):
    vec[z] = rt.list_to_array(vec[g], vec[like], skip + 1)
