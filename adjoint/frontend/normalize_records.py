"""Objects used as records: made in the function, each attribute set once
in the function's straight-line code (``__init__`` storing the values),
then only read (``p = Params(w, b)``, then ``p.w @ x + p.b`` in a method).

Such an object is a set of names under another spelling: each read
``p.w`` is the value stored under ``w``, and nothing else sees the object
(it is not returned, passed on, put in a container or held by another
object). ``mark_records`` then writes each read as that value itself and
each store as ``rt.keep_attribute`` (the attribute is still set on the
object, as Python does, but carries no derivative: no read goes through
it). The derivative code never meets the object, and vmap batches the
reads like any name (the object itself holds the batch's values, unseen).

Under vmap (``FOLLOW_OBJECTS`` set to ``RECORDS_ONLY``), a function whose
objects are not all records raises ``NotRecords``: the pipeline then makes
the transform without following objects, once per example, as before.
"""
import gast

from .. import runtime as rt
from .gastutil import clone
from .ir import NONDIFF

#: the value of normalize_objects.FOLLOW_OBJECTS under vmap: follow objects only if all are records
RECORDS_ONLY = "records only"


class NotRecords(Exception):
    """Raised while vmap's transform is made: an object that is not a record."""


class SharedObjectsChanged(NotRecords):
    """Raised while vmap's transform is made: the function sets attributes of
    an object it did not make, which is one object for the whole batch.
    ``location``: the first such store (the user's line); ``module``: the
    object is one of the module or a closure (else an argument's)."""

    def __init__(self, location, module, name):
        super().__init__(f"{location.filename}:{location.lineno}")
        self.location = location
        self.module = module
        self.name = name
        self.construct = f"attribute set on {name!r}, an object the function was given"


def mark_records(normalizer, top_level, stores, escapes, reads, positions):
    """Rewrite the reads and stores of the record objects (see the module's
    docstring). ``stores``, ``escapes``, ``reads``: as ``check_objects``
    collects them; ``positions``: id(op) -> its position in program order;
    ``top_level``: ids of the ops of the function's own straight-line code."""
    tokens = set(normalizer.object_classes)
    candidates = {t for t in tokens if t not in normalizer.outside_tokens and normalizer.object_classes[t] is not list}
    for _, _, held, _ in escapes:
        candidates -= held
    for (holder, _), held in normalizer.attribute_holds.items():
        candidates.discard(holder)
        candidates -= held
    for held in normalizer.list_contents.values():
        candidates -= held
    stored = {}  # (token, name) -> (position, value)
    for _, _, held, op in stores:
        if op.prim not in (rt.store_attribute, rt.init_attribute) or id(op) not in top_level:
            candidates -= held
            continue
        for token in held:
            key = (token, op.args[1].value)
            if key in stored or len(held) > 1:
                candidates.discard(token)
            stored[key] = (positions[id(op)], op.args[2])
    for held, op in reads:
        if len(held) != 1 or not held <= candidates:
            candidates -= held
            continue
        token = next(iter(held))
        found = stored.get((token, op.args[1].value))
        if found is not None and found[0] > positions.get(id(op), -1):
            candidates.discard(token)  # read before it is set here (a class attribute)
    if normalizer.follow_objects == RECORDS_ONLY and tokens - candidates:
        raise NotRecords()
    if not candidates:
        return
    for held, op in reads:
        if not held <= candidates:
            continue
        found = stored.get((next(iter(held)), op.args[1].value))
        if found is None:
            continue  # (never set here: a value of the class, without derivative)
        value = found[1]
        op.value = clone(value)
        op.args = [clone(value)]
        op.prim = rt.identity if isinstance(value, gast.Name) else NONDIFF
        op.attribute_sources = None
    for _, _, held, op in stores:
        if held <= candidates:
            helper = rt.keep_attribute if op.prim is rt.store_attribute else rt.keep_init_attribute
            op.prim = helper
            op.value = gast.Call(func=gast.Attribute(value=clone(op.value.func.value), attr=helper.__name__,
                                                     ctx=gast.Load()),
                                 args=[clone(a) for a in op.args], keywords=[])
