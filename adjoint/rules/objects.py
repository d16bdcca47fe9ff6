"""Rules of the helpers that follow objects of the user's classes
(runtime.objects): ``obj.name = value`` itself is expanded by the builders
(reverse.py, forward.py), like a container's item; these are the tangents
of what they write, for derivatives of derivatives."""
from .. import runtime as rt
from . import SEQUENCE_RULES, TUPLE_RESULTS, adjoint_rule, bar, batch_rule, dot, nondifferentiable, tangent_rule, vec

nondifferentiable(rt.attribute_of_bar, rt.is_plain_object, rt.has_stored, rt.keep_attribute, rt.keep_init_attribute)


# vmap of a record's stores (normalize_records): the one object holds the batch's values,
# which no read goes through (the reads are the stored values themselves)
@batch_rule(rt.keep_attribute)
def keep_attribute_batched(r, obj, name, value):
    vec[r] = rt.keep_attribute(obj, name, vec[value])  # noqa: F821 (the template's vec)


@batch_rule(rt.keep_init_attribute)
def keep_init_attribute_batched(r, obj, name, value):
    vec[r] = rt.keep_init_attribute(obj, name, vec[value])  # noqa: F821 (the template's vec)


@tangent_rule(rt.without_attribute, constant=("name",))
def without_attribute_tangent(r, g, name):
    dot[r] = rt.merged_items(rt.without_attribute, dot[g], name)


# ``rows`` (attribute_bar's own batch size) is named apart from ``batch``,
# the number of tangents in a tangent template.
@tangent_rule(rt.attribute_bar, constant=("name", "like", "rows"))
def attribute_bar_tangent(r, g, name, like, rows=None):
    dot[r] = rt.attribute_bar_tangent(dot[g], name, like, r, batch)  # noqa: F821 (the template's batch)


@tangent_rule(rt.store_attribute_tangent, constant=("name",))
def store_attribute_tangent_tangent(z, t, name, value_t):
    dot[z] = rt.merged_items(rt.store_attribute_tangent, dot[t], name, None)
    dot[z] = rt.store_attribute_tangent(None, name, dot[value_t])


# The tangent of value.name read from the tangent of value (forward code
# differentiated again: jacfwd(jacfwd(f)), jacrev(jacfwd(f))), as
# rt.item_tangent's rules.
# (``rows`` is the helper's own batch argument; ``batch`` the template's
# tangent count, the outer axis of zeros where no tangent array tells it)
@tangent_rule(rt.attribute_tangent, constant=("item",))
def attribute_tangent_tangent(z, t, item, name, rows):
    dot[z] = rt.attribute_tangent_tangent(dot[t], t, item, name, rows, batch)  # noqa: F821 (the template's batch)


# (``rows`` is the helper's own batch argument; ``batch`` the template's tangent count)
@tangent_rule(rt.attribute_tangent_tangent, constant=("t", "item"))
def attribute_tangent_tangent_tangent(z, tt, t, item, name, rows, outer=None):
    dot[z] = rt.attribute_tangent_tangent_tangent(dot[tt], z, name, batch)  # noqa: F821 (the template's batch)


@tangent_rule(rt.attribute_tangent_tangent_tangent, constant=("z",))
def attribute_tangent_tangent_tangent_tangent(r, ttt, z, name, rows):
    dot[r] = rt.attribute_tangent_tangent_tangent(dot[ttt], r, name, batch)  # noqa: F821 (the template's batch)


@adjoint_rule(rt.attribute_tangent, constant=("item",))
def attribute_tangent_adjoint(z, t, item, name, batch):
    bar[t] = rt.attribute_tangent_adjoint(bar[z], t, name)


@tangent_rule(rt.object_attribute_tangent, constant=("value", "item"))
def object_attribute_tangent_tangent(z, t, value, item, name, rows):
    dot[z] = rt.attribute_tangent_tangent(dot[t], t, item, name, rows, batch)  # noqa: F821 (the template's batch)


@adjoint_rule(rt.object_attribute_tangent, constant=("value", "item"))
def object_attribute_tangent_adjoint(z, t, value, item, name, batch):
    bar[t] = rt.attribute_tangent_adjoint(bar[z], t, name)


# vmap of forward code reading an attribute (``rows``: the tangent count).
@batch_rule(rt.attribute_tangent)
def attribute_tangent_batched(r, t, item, name, rows):
    vec[r] = rt.vattribute_tangent(vec[t], vec[item], name, rows, batch)  # noqa: F821 (the template's batch)


@batch_rule(rt.object_attribute_tangent)
def object_attribute_tangent_batched(r, t, value, item, name, rows):
    vec[r] = rt.vattribute_tangent(vec[t], vec[item], name, rows, batch)  # noqa: F821 (the template's batch)


SEQUENCE_RULES.update({rt.without_attribute, rt.attribute_bar, rt.store_attribute_tangent})
TUPLE_RESULTS.update({rt.without_attribute, rt.store_attribute_tangent})
