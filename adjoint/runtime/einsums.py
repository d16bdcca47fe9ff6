"""The helpers of ``np.einsum``'s derivatives, closed under differentiation.

Every derivative of an einsum is an einsum: the tangent along one operand
is the same contraction with a batch letter added to that operand and to
the output, and the adjoint of one operand contracts the cotangent with
the others. So one helper, ``einsum_with(spec, a0, ..., a5)`` (an einsum
with its subscripts spelled out), carries them all, and its own tangent
rule and batching rule are ``einsum_with`` and ``veinsum`` again
(``rules/linalg.py``): a derivative of any order, under ``vmap`` or not,
stays a chain of einsums with one more letter at each order.

``einsum_adjoint`` and ``veinsum`` have no tangent rule: forward mode
differentiates their source (a Hessian's code, ``jacrev(vmap(f))``), so
they are written in the subset adjoint transforms (no generator, no
in-place write, operands passed one by one). What they compute from
shapes alone is in the ``..._plan`` and ``..._spec`` helpers, which are not
differentiated and which ``vmap`` reads from the first example.
"""
import functools
import math

import numpy as np

from .linalg import _EINSUM_LETTERS, einsum_explicit
from .batched_linalg import _vconst, _vnone


#: above this many multiply-adds per batch row, an einsum goes through BLAS.
_EINSUM_DIRECT_WORK = 4096


# ------------------------------------------------- plans (shapes only)

def einsum_operand_count(spec):
    """How many operands ``np.einsum(spec, ...)`` takes."""
    return spec.partition("->")[0].count(",") + 1


def _operand_shapes(spec, operands):
    return [np.shape(o) for o in operands[:einsum_operand_count(spec)]]


def einsum_spec_along(subscripts, position, a0, a1=None, a2=None, a3=None, a4=None, a5=None):
    """The subscripts of the tangent of ``np.einsum(subscripts, a0, ...)``
    along operand ``position``: spelled out, with a letter that the others
    do not use added in front of that operand's term and of the output
    (the tangent's batch axis)."""
    if not isinstance(subscripts, str):
        return einsum_explicit(subscripts, ())  # (raises: the derivatives take a string)
    return _spec_along(subscripts, position, tuple(_operand_shapes(subscripts, (a0, a1, a2, a3, a4, a5))))


@functools.lru_cache(maxsize=1024)
def _spec_along(subscripts, position, shapes):
    terms, output, letter = einsum_explicit(subscripts, shapes)
    terms = list(terms)
    terms[position] = letter + terms[position]
    return ",".join(terms) + "->" + letter + output


def einsum_path_for(spec, lead, optimize, a0, a1=None, a2=None, a3=None, a4=None, a5=None):
    """The ``optimize`` argument of ``np.einsum`` in ``einsum_with``: the
    caller's when given; else none (a direct loop) for small contractions
    of one or two operands, and otherwise the greedy pairwise order (through
    BLAS where it applies) chosen for one row of the ``lead`` leading
    output letters (the batch axes), so that every row is computed the same
    way whatever the batch size."""
    if optimize is not None:
        return optimize
    operands = (a0, a1, a2, a3, a4, a5)[:einsum_operand_count(spec)]
    return _path(spec, lead, tuple(np.shape(o) for o in operands))


@functools.lru_cache(maxsize=1024)
def _path(spec, lead, shapes):
    inputs, _, output = spec.partition("->")
    terms = inputs.split(",")
    rows = set(output[:lead])
    sizes = {}
    for term, shape in zip(terms, shapes, strict=True):
        for letter, size in zip(term, shape, strict=True):
            if letter not in rows:
                sizes[letter] = max(size, sizes.get(letter, 1))
    if len(terms) < 3 and math.prod(sizes.values()) <= _EINSUM_DIRECT_WORK:
        return False
    dummies = [np.broadcast_to(0.0, tuple(1 if c in rows else n for c, n in zip(term, shape, strict=True)))
               for term, shape in zip(terms, shapes, strict=True)]
    return np.einsum_path(spec, *dummies, optimize="greedy")[0]


def einsum_with(spec, a0, a1=None, a2=None, a3=None, a4=None, a5=None, lead=0, optimize=None):
    """``np.einsum(spec, a0, a1, ...)`` over as many operands as ``spec``
    names (at most six; the rest are None). ``lead`` counts the output's
    leading batch letters, read when choosing the contraction order
    (``einsum_path_for``). Its tangent and batching rules are einsums too."""
    path = einsum_path_for(spec, lead, optimize, a0, a1, a2, a3, a4, a5)
    operands = (a0, a1, a2, a3, a4, a5)[:einsum_operand_count(spec)]
    return np.einsum(spec, *operands, optimize=path)


def einsum_adjoint_plan(subscripts, position, g, own, other0=None, other1=None, other2=None, other3=None,
                        other4=None):
    """What ``einsum_adjoint`` computes from shapes: ``(spec, distinct,
    summed, sizes, embed, mask)``. ``spec`` contracts the cotangent with
    the other operands into the operand's distinct letters that they reach;
    ``distinct`` is the shape of that result with a 1 for each letter only
    the operand has; ``summed`` the axes NumPy broadcast from size 1 (summed
    back); ``sizes`` the operand's size along each distinct letter, or None
    when the result has them already; ``embed`` and ``mask`` (or None) put
    the result on the operand's diagonal when a letter repeats in its term."""
    others = [other0, other1, other2, other3, other4]
    operands = others[:position] + [own] + others[position:]
    return _adjoint_plan(subscripts, position, np.shape(g)[1:], tuple(_operand_shapes(subscripts, operands)))


@functools.lru_cache(maxsize=1024)
def _adjoint_plan(subscripts, position, output_shape, shapes):
    terms, output, batch = einsum_explicit(subscripts, shapes)
    term = terms[position]
    distinct = "".join(dict.fromkeys(term))
    others = [t for i, t in enumerate(terms) if i != position]
    reached = set(output).union(*(set(t) for t in others))
    present = "".join(c for c in distinct if c in reached)
    spec = ",".join([batch + output] + others) + "->" + batch + present
    found = dict(zip(output, output_shape, strict=True))
    for i in range(len(terms)):
        if i != position:
            for c, n in zip(terms[i], shapes[i], strict=True):
                found[c] = max(n, found.get(c, 1))
    own = dict(zip(term, shapes[position], strict=True))
    part = tuple(found[c] if c in present else 1 for c in distinct)
    summed = tuple(i + 1 for i, c in enumerate(distinct) if own[c] == 1 and part[i] != 1)
    kept = tuple(1 if i + 1 in summed else n for i, n in enumerate(part))
    target = tuple(own[c] for c in distinct)
    sizes = None if kept == target else target
    if distinct == term:
        return spec, part, summed, sizes, None, None
    renamed, mask = _diagonal_mask(term, batch, tuple(shapes[position]))
    return spec, part, summed, sizes, f"{batch}{distinct},{renamed}->{batch}{renamed}", mask


@functools.lru_cache(maxsize=64)
def _diagonal_mask(term, batch, shape):
    """For an operand term with a repeated letter (``"ii"``): the term with
    each repeat renamed to an unused letter (``"ik"``) and the 0/1 array of
    ``shape`` that is 1 where every repeat of a letter has the same index
    (read-only: it is cached)."""
    free = [c for c in _EINSUM_LETTERS if c not in term and c != batch]
    renamed, grids = "", np.indices(shape)
    mask = np.ones(shape, dtype=float)
    for i, c in enumerate(term):
        first = term.index(c)
        if first == i:
            renamed += c
        else:
            renamed += free.pop(0)
            mask = mask * (grids[i] == grids[first])
    mask.flags.writeable = False
    return renamed, mask


def veinsum_plan(subscripts, operand0, operand1=None, operand2=None, operand3=None, operand4=None,
                 operand5=None):
    """What ``veinsum`` computes from shapes: ``(spec, batch, shared)``,
    with ``shared[k]`` True where operand ``k`` is the same for every
    example (a stride-0 broadcast, contracted once) and ``spec`` the
    subscripts with a batch letter on the other operands and the output;
    ``spec`` is None when every operand is shared."""
    operands = [o for o in (operand0, operand1, operand2, operand3, operand4, operand5)
                if o is not None and not _vnone(o)]
    shared = tuple(_vconst(np.asarray(o)) for o in operands)
    batch = np.shape(operands[0])[0]
    if all(shared):
        return None, batch, shared + (True,) * (6 - len(shared))
    terms, output, letter = einsum_explicit(subscripts, [np.shape(o)[1:] for o in operands])
    spec = ",".join(t if c else letter + t for t, c in zip(terms, shared, strict=True)) + "->" + letter + output
    return spec, batch, shared + (True,) * (6 - len(shared))


# ------------------------------------ differentiable helpers (by source)

def einsum_adjoint(g, subscripts, position, own, other0=None, other1=None, other2=None, other3=None,
                   other4=None):
    """Adjoint of operand ``position`` (``own``) of ``np.einsum(subscripts,
    ...)`` from the cotangent ``g`` (``(B,) + z.shape``); ``other0``, ...
    are the other operands in order (None after the last).

    The cotangent contracted with the other operands gives the operand's
    distinct letters; letters only the operand has (summed away in the
    forward pass) get the cotangent broadcast; size-1 axes that NumPy
    broadcast are summed back; a repeated letter (a diagonal) puts the
    result on that diagonal and zeros elsewhere (a product with a 0/1 mask,
    not a write through a view: this code is differentiated again). ``own``
    is read for its shape only.
    """
    spec, distinct, summed, sizes, embed, mask = einsum_adjoint_plan(
        subscripts, position, g, own, other0, other1, other2, other3, other4)
    part = einsum_with(spec, g, other0, other1, other2, other3, other4, lead=1)
    part = np.reshape(part, np.shape(part)[:1] + distinct)
    if summed:
        part = np.sum(part, axis=summed, keepdims=True)
    if sizes is not None:
        part = np.broadcast_to(part, np.shape(part)[:1] + sizes)
    if embed is not None:
        part = einsum_with(embed, part, mask, lead=1)
    return part


def veinsum(subscripts, operand0, operand1=None, operand2=None, operand3=None, operand4=None, operand5=None,
            optimize=False, lead=0):
    """``np.einsum(subscripts, *operands)`` of every example (each operand
    and the result with a leading batch axis; operands the user did not
    pass are None, or None given a batch axis; the interleaved operand,
    sublist form reaches vmap only through a loop over the examples, since
    the front end spells literal sublists as a string). Shared operands (the
    same for every example) are contracted once, without the batch letter.
    ``lead``: the batch letters of the output already there (``einsum_with``)."""
    spec, batch, shared = veinsum_plan(subscripts, operand0, operand1, operand2, operand3, operand4, operand5)
    a0 = operand0[0] if shared[0] else operand0
    a1 = operand1[0] if shared[1] and operand1 is not None else operand1
    a2 = operand2[0] if shared[2] and operand2 is not None else operand2
    a3 = operand3[0] if shared[3] and operand3 is not None else operand3
    a4 = operand4[0] if shared[4] and operand4 is not None else operand4
    a5 = operand5[0] if shared[5] and operand5 is not None else operand5
    if spec is None:  # every operand shared: one result for every example
        z = einsum_with(subscripts, a0, a1, a2, a3, a4, a5, lead=lead, optimize=optimize)
        return np.broadcast_to(z, (batch,) + np.shape(z))
    return einsum_with(spec, a0, a1, a2, a3, a4, a5, lead=lead + 1, optimize=optimize)



def veinsum_with(spec, a0, a1=None, a2=None, a3=None, a4=None, a5=None, lead=0, optimize=None):
    """``einsum_with`` of every example: ``veinsum`` with ``einsum_with``'s
    defaults (its batching rule leaves out the keywords the call did not
    pass)."""
    return veinsum(spec, a0, a1, a2, a3, a4, a5, optimize=optimize, lead=lead)


def veinsum_adjoint_plan(subscripts, position, own, other0=None, other1=None, other2=None, other3=None,
                         other4=None):
    """What ``veinsum_adjoint`` computes from shapes: ``(spec, shared)``,
    the subscripts of one example spelled out with a batch letter on the
    output, on operand ``position`` and on every operand that differs
    between examples, and ``shared[k]`` True for the others (and for the
    operands the user did not pass)."""
    others = [o for o in (other0, other1, other2, other3, other4) if o is not None and not _vnone(o)]
    operands = others[:position] + [own] + others[position:]
    terms, output, letter = einsum_explicit(subscripts, [np.shape(o)[1:] for o in operands])
    shared = [_vconst(np.asarray(o)) for o in others]
    terms = [letter + t for t in terms]  # own: its examples are not summed
    for k in range(len(others)):
        if shared[k]:
            i = k if k < position else k + 1
            terms[i] = terms[i][1:]
    spec = ",".join(terms) + "->" + letter + output
    return spec, tuple(shared) + (True,) * (5 - len(shared))


def veinsum_adjoint(g, subscripts, position, own, other0=None, other1=None, other2=None, other3=None,
                    other4=None):
    """``einsum_adjoint`` of every example: ``g`` is ``(V, B) + z.shape``
    and each operand has the vmap axis first. One adjoint of the einsum
    with the vmap axis as a letter of its own (on the operand, so that its
    examples are not summed, and on every operand that is not shared)."""
    spec, shared = veinsum_adjoint_plan(subscripts, position, own, other0, other1, other2, other3, other4)
    a0 = other0[0] if shared[0] and other0 is not None else other0
    a1 = other1[0] if shared[1] and other1 is not None else other1
    a2 = other2[0] if shared[2] and other2 is not None else other2
    a3 = other3[0] if shared[3] and other3 is not None else other3
    a4 = other4[0] if shared[4] and other4 is not None else other4
    part = einsum_adjoint(np.swapaxes(g, 0, 1), spec, position, own, a0, a1, a2, a3, a4)
    return np.swapaxes(part, 0, 1)
