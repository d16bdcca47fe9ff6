"""The quick look that ``CompiledVJP.is_current`` takes first, on every call
of a derivative.

``is_current`` walks the transforms a derivative's code runs: the owners
whose namespaces the generated code reads, then the transform itself, then
the transforms of the functions it calls, each of them again and again
(``vmap(jacrev(f))`` checks the reverse transform of ``f`` three times, once
per function that reads its namespace). That graph does not change once a
transform is built, so ``plan`` lists its transforms once, each once, in the
order ``is_current`` first reaches them, and ``unchanged`` reads their free
names in one flat loop. It answers True only when every name is bound to
the very value the generated code holds and every other check says so; then
the full ``is_current`` would say True too (a transform no longer alive is
skipped by both). On anything else (a re-bound global, a closure variable
that changed, a callee replaced on its module) the full check runs, which
refreshes the namespaces or decides to transform again.
"""
import weakref

from ..frontend.normalize_self_calls import lookups_current


def plan(root, compiled_type):
    """``((reference, opaque), ...)``: weak references to the transforms
    ``root.is_current()`` visits, each once; ``opaque`` for those checked by
    their own ``is_current`` (every kind other than ``compiled_type``)."""
    entries, seen = [], set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        if type(node) is not compiled_type:
            entries.append((_reference(node), True))
            return
        for owner in node.owners:
            target = owner()
            if target is not None:
                visit(target)
        entries.append((weakref.ref(node), False))
        for callee in node.callee_transforms:
            visit(callee)

    visit(root)
    return tuple(entries)


def _reference(node):
    try:
        return weakref.ref(node)
    except TypeError:  # (a kind that takes no weak reference: held as it is)
        return lambda: node


def unchanged(entries):
    """Whether every transform of ``entries`` still reads what it read (see
    the module's text); False sends the caller to the full check."""
    for reference, opaque in entries:
        node = reference()
        if node is None:
            continue
        if opaque:
            if not node.is_current():
                return False
            continue
        namespace = node.namespace
        for name, read in node.readers:
            if read(name) is not namespace[name]:
                return False
        for root, attributes, value in node.attribute_callees:  # (np.sin, mylib.act, MODEL.predict)
            current = namespace[root]
            for attribute in attributes:
                current = getattr(current, attribute, _MISSING)
            if current is not value and current != value:  # (bound methods are made anew, and equal)
                return False
        if node.class_lookups and not lookups_current(node.class_lookups):
            return False  # (a method of a class read in place was replaced: normalize_self_calls)
    return True


_MISSING = object()
