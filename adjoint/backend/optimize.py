"""Clean-up passes on generated straight-line code.

``eliminate_dead_code`` drops assignments whose names nothing later reads,
then drops comment markers left with no statement under them.
``fold_constants`` evaluates arithmetic on literal numbers (``2 - 1``),
picks the branch of ``np.where`` on literal numbers, and drops ``x ** 1``
and ``x * 1``. ``forward_copies`` replaces names that merely copy another name
(``x_bar = t_bar``) by the original. Both keep the meaning of the code.
"""
import gast

from ..frontend.gastutil import Transformer, loaded_names, walk
from ..transforms.reverse import COMMENT


def reads(node):
    return loaded_names(node)


def _reads_in_order(node):
    """The names ``node`` reads, each once, in the order a walk of its tree
    meets them (left to right at each depth): unlike ``reads`` (a set), the
    order does not depend on string hashing (PYTHONHASHSEED), so code
    written in this order is the same text in every run."""
    return list(dict.fromkeys(n.id for n in walk(node)
                              if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)))


def _is_comment(stmt):
    return (
        isinstance(stmt, gast.Expr)
        and isinstance(stmt.value, gast.Name)
        and stmt.value.id.startswith(COMMENT.split("{")[0])
    )


def _assigned(stmt):
    if isinstance(stmt, gast.Assign):
        return {n.id for t in stmt.targets for n in walk(t) if isinstance(n, gast.Name)}
    return set()


def free_reads(body, assigned=None):
    """Names ``body`` reads before assigning them (what it needs from outside)."""
    assigned = set() if assigned is None else assigned
    free = set()
    for stmt in body:
        if isinstance(stmt, gast.If):
            free |= reads(stmt.test) - assigned
            then_assigned, else_assigned = set(assigned), set(assigned)
            free |= free_reads(stmt.body, then_assigned) | free_reads(stmt.orelse, else_assigned)
            assigned |= then_assigned | else_assigned
        elif isinstance(stmt, (gast.For, gast.While)):
            header = stmt.iter if isinstance(stmt, gast.For) else stmt.test
            free |= reads(header) - assigned
            inner = set(assigned)
            if isinstance(stmt, gast.For):
                inner |= {n.id for n in walk(stmt.target) if isinstance(n, gast.Name)}
            free |= free_reads(stmt.body, inner)
            assigned |= inner
        else:
            free |= reads(stmt) - assigned
            assigned |= _assigned(stmt)
    return free


def _is_compound(stmt):
    return isinstance(stmt, (gast.If, gast.For, gast.While))


#: runtime helpers that set an attribute of the object they return (runtime.objects):
#: the object outlives the call, so the statement stays even when its result is unread.
ATTRIBUTE_SETTERS = ("store_attribute", "init_attribute")


def _sets_attribute(stmt):
    value = getattr(stmt, "value", None)
    return (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute)
            and value.func.attr in ATTRIBUTE_SETTERS)


def eliminate_dead_code(body, live):
    """Drop assignments nothing reads later. Inside a loop everything is
    kept (a later iteration may read it); a branch is cleaned with what is
    live after it."""
    live = set(live)
    kept = []
    for stmt in reversed(body):
        if _is_comment(stmt):
            kept.append(stmt)
            continue
        if isinstance(stmt, gast.If):
            stmt.body = eliminate_dead_code(stmt.body, live) or [gast.Pass()]
            stmt.orelse = eliminate_dead_code(stmt.orelse, live)
            live |= reads(stmt)
            kept.append(stmt)
            continue
        if _is_compound(stmt):
            # A later iteration may read what an earlier one wrote.
            stmt.body = eliminate_dead_code(stmt.body, live | reads(stmt)) or [gast.Pass()]
            live |= reads(stmt)
            kept.append(stmt)
            continue
        targets = _assigned(stmt)
        if targets and not targets & live and not _sets_attribute(stmt):
            continue
        live -= targets
        live |= reads(stmt)
        kept.append(stmt)
    kept.reverse()
    cleaned = []
    for position, stmt in enumerate(kept):
        following = kept[position + 1] if position + 1 < len(kept) else None
        if _is_comment(stmt) and (following is None or _is_comment(following)):
            continue
        cleaned.append(stmt)
    return cleaned


def forward_copies(body, protected):
    """Replace ``a = b`` copies by ``b`` where both are assigned once (at the
    top level, not in a branch or loop)."""
    aliases = {}
    assigned_count = {}
    for stmt in body:
        names = ([n.id for n in walk(stmt) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)]
                 if _is_compound(stmt) else _assigned(stmt))
        for name in names:
            assigned_count[name] = assigned_count.get(name, 0) + (2 if _is_compound(stmt) else 1)
    result = []
    for stmt in body:
        for node in walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and node.id in aliases:
                node.id = aliases[node.id]
        if (
            isinstance(stmt, gast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name)
            and isinstance(stmt.value, gast.Name)
            and stmt.targets[0].id not in protected
            and assigned_count.get(stmt.targets[0].id) == 1
            and assigned_count.get(stmt.value.id, 0) <= 1
        ):
            aliases[stmt.targets[0].id] = stmt.value.id
            continue
        result.append(stmt)
    return result


_FOLDABLE = {gast.Add: lambda a, b: a + b, gast.Sub: lambda a, b: a - b,
             gast.Mult: lambda a, b: a * b}


def _number(node):
    return (isinstance(node, gast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool))


class _Fold(Transformer):
    def __init__(self, unguard=True):
        self.unguard = unguard  # rt.times_tangent of a polynomial partial is a plain product

    # A statement of the user's (forward mode marks them adjoint_as_written)
    # is left as written: m * 1 there is no copy of m when m is boolean (it
    # makes integers), an integer (* 1.0 makes floats) or a list (a new one).
    def visit(self, node):
        if getattr(node, "adjoint_as_written", False):
            return node
        return Transformer.visit(self, node)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right = node.left, node.right
        fold = _FOLDABLE.get(type(node.op))
        if fold and _number(left) and _number(right):
            return gast.Constant(value=fold(left.value, right.value), kind=None)
        if _number(right) and right.value == 1 and isinstance(node.op, (gast.Pow, gast.Mult)):
            return left
        if (isinstance(node.op, gast.Mult) and _number(left) and isinstance(right, gast.BinOp)
                and isinstance(right.op, gast.Mult) and _number(right.left)):
            # 100.0 * (2 * x) (a scaling, then np.power's slope 2 * x): one pass over x
            return gast.BinOp(left=gast.Constant(value=left.value * right.left.value, kind=None), op=gast.Mult(),
                              right=right.right)
        return _without_negation(node, left, right)

    def visit_Call(self, node):
        # np.where(c, a, b) on literal numbers, as rule templates write it for
        # a literal argument (power's ``np.where(x2, x2 - 1, 1)``): the chosen one.
        # A partial written as a bare name (times_tangent's own rules: a slope
        # made elsewhere, infinite where it guards) keeps its guard; one that
        # folds to a name (``x ** (2 - 1)``) is the polynomial it was written as.
        written_bare = len(node.args) == 2 and isinstance(node.args[1], gast.Name)
        self.generic_visit(node)
        if (isinstance(node.func, gast.Attribute) and node.func.attr == "where"
                and len(node.args) == 3 and not node.keywords and all(_number(a) for a in node.args)):
            return node.args[1] if node.args[0].value else node.args[2]
        return _unguarded(node) if self.unguard and not written_bare else node


def _negated(node):
    return isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub)


def _without_negation(node, left, right):
    """A sum with a negated term written as a difference: the same numbers
    with one NumPy call less. ``a + -b`` is ``a - b`` and ``-a + b`` is
    ``b - a`` (IEEE subtraction is the addition of the negation, and
    addition commutes); ``a + -b * c * d`` is ``a - b * c * d`` (a
    product's sign is its factors'). No number is negated: ``-2 * x`` would
    be another type for an unsigned ``x``."""
    if not isinstance(node.op, gast.Add):
        return node
    positive = _unnegated(right)
    if positive is not None:
        return gast.BinOp(left=left, op=gast.Sub(), right=positive)
    positive = _unnegated(left)
    if positive is not None and not any(isinstance(n, gast.Call) for n in walk(node)):
        # (the terms swapped: read in the other order, so only where no call can change what the other reads)
        return gast.BinOp(left=right, op=gast.Sub(), right=positive)
    return node


def _unnegated(term):
    """``term`` without the negation of one of its factors (``-b * c``:
    ``b * c``), or None."""
    if _negated(term):
        return term.operand
    if isinstance(term, gast.BinOp) and isinstance(term.op, gast.Mult):
        inner = _unnegated(term.left)
        if inner is not None:
            return gast.BinOp(left=inner, op=gast.Mult(), right=term.right)
        inner = _unnegated(term.right)
        if inner is not None:
            return gast.BinOp(left=term.left, op=gast.Mult(), right=inner)
    return None


def _unguarded(node):
    """``rt.times_tangent(t, p)`` (``t * p``, 0 where ``t`` is 0) is ``t * p``
    when the partial ``p`` is a polynomial (names, numbers, ``+ - *``, whole
    non-negative powers and division by a nonzero number): the guard keeps a
    zero tangent or cotangent from meeting an infinite partial (``x ** 0.5``
    at 0), and a polynomial is finite wherever its inputs are. Tangent and
    adjoint templates write the guard for every exponent and divisor;
    ``x ** 2`` and ``x / 2.0`` no longer pay for it."""
    if not (isinstance(node.func, gast.Attribute) and node.func.attr == "times_tangent"
            and len(node.args) == 2 and not node.keywords):
        return node
    tangent, partial = node.args
    if _polynomial(partial) or (_number(tangent) and tangent.value != 0):
        return gast.BinOp(left=tangent, op=gast.Mult(), right=partial)
    return node


def _polynomial(node):
    if _number(node) or isinstance(node, gast.Name):
        return True
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        return _polynomial(node.operand)
    if isinstance(node, gast.BinOp):
        if isinstance(node.op, (gast.Add, gast.Sub, gast.Mult)):
            return _polynomial(node.left) and _polynomial(node.right)
        if isinstance(node.op, gast.Div):
            return _number(node.right) and node.right.value != 0 and _polynomial(node.left)
        if isinstance(node.op, gast.Pow):
            whole = _number(node.right) and node.right.value >= 0 and float(node.right.value).is_integer()
            return whole and _polynomial(node.left)
    return False


def fold_constants(stmt, unguard=True):
    """``unguard=False`` after ``fuse_scalings``, whose guarded factors are
    often names (``x_factor``) computed from partials that may be infinite."""
    return _Fold(unguard).visit(stmt)


class _ScalarsOutOfReductions(Transformer):
    """``rt.unbroadcast(-g, x)`` is ``-rt.unbroadcast(g, x)``, and so for
    scalings by a literal number (``2.0 * g``, ``g / 3``): ``unbroadcast``
    sums over the broadcast axes, so scaling its result touches fewer
    numbers, never more."""

    def __init__(self, rt_name):
        self.rt_name = rt_name

    def visit_Call(self, node):
        self.generic_visit(node)
        if not (isinstance(node.func, gast.Attribute) and node.func.attr == "unbroadcast"
                and isinstance(node.func.value, gast.Name) and node.func.value.id == self.rt_name
                and len(node.args) == 2 and not node.keywords):
            return node
        inner = node.args[0]
        if isinstance(inner, gast.UnaryOp) and isinstance(inner.op, gast.USub):
            node.args[0] = inner.operand
            return gast.UnaryOp(op=gast.USub(), operand=self.visit_Call(node))
        if isinstance(inner, gast.BinOp) and isinstance(inner.op, (gast.Mult, gast.Div)):
            if _number(inner.right):
                node.args[0] = inner.left
                return gast.BinOp(left=self.visit_Call(node), op=inner.op, right=inner.right)
            if isinstance(inner.op, gast.Mult) and _number(inner.left):
                node.args[0] = inner.right
                return gast.BinOp(left=inner.left, op=inner.op, right=self.visit_Call(node))
        return node


def scalars_out_of_reductions(stmt, rt_name):
    return _ScalarsOutOfReductions(rt_name).visit(stmt)


# ----------------------------------------------------------------- scalings

#: a factor larger than this many nodes is computed once into a name, which
#: also bounds the size of every expression this pass writes.
MAX_FACTOR_NODES = 24


def _size(node):
    return sum(1 for _ in walk(node))


class _Guarded:
    """A factor whose term is written ``rt.times_tangent(adjoint, factor)``:
    exactly 0 where the adjoint is 0 (a rule's guard against an infinite
    partial, kept through the fused chain). The arithmetic below keeps the
    mark: a sum with a guarded part is guarded."""

    def __init__(self, node):
        self.node = node


def _guarded(node, *parts):
    return _Guarded(node) if any(isinstance(p, _Guarded) for p in parts) else node


def _bare(a):
    return a.node if isinstance(a, _Guarded) else a


def _mul(a, b):
    result = _bare(b) if a is None else _bare(a) if b is None else gast.BinOp(
        left=_bare(a), op=gast.Mult(), right=_bare(b))
    return _guarded(result, a, b)


def _negate(a):
    if a is None:
        return gast.Constant(value=-1, kind=None)
    return _guarded(gast.UnaryOp(op=gast.USub(), operand=_bare(a)), a)


def _add(a, b):
    one = gast.Constant(value=1, kind=None)
    return _guarded(gast.BinOp(left=one if a is None else _bare(a), op=gast.Add(),
                               right=one if b is None else _bare(b)), a, b)


#: runtime helpers whose result is always an array.
ARRAY_HELPERS = {"unbroadcast", "unreduce", "extremum_adjoint", "matmul_adjoint_left", "matmul_adjoint_right",
                 "transpose_adjoint", "reshape_adjoint"}


class _Scalings:
    """Rewrites chains of elementwise scalings of adjoints.

    In generated backward code most statements scale an adjoint by primal
    values (``t1_bar = out_bar * t4``, ``x_bar = t1_bar * np.cos(x)``) or add
    such terms. Each costs a pass over a batched array of shape
    ``(B,) + shape``. This pass keeps such values symbolic, as sums of
    ``adjoint * factor`` with factors that only read primal values, and
    writes each adjoint out once, when something else reads it:
    ``x_bar = out_bar * (t4 * np.cos(x) + ...)``. The factors are arrays of
    the primal's shape, so a chain of k scalings costs one batched pass
    instead of k. Multiplication and addition of NumPy arrays are
    associative and distributive under broadcasting, and every term of an
    adjoint already has the adjoint's full shape, so the result is the same
    up to rounding.
    """

    def __init__(self, batched, namer, rt_name):
        self.rt_name = rt_name
        self.batched = batched
        self.namer = namer
        self.pending = {}  # adjoint name -> {adjoint read: factor or None}
        self.arrays = set()  # adjoint names certain to hold arrays now
        self.out = []

    # forms -------------------------------------------------------------

    def form(self, node):
        """``{adjoint: factor}`` if ``node`` is linear in adjoints, else None."""
        if isinstance(node, gast.Name) and node.id in self.batched:
            if node.id in self.pending:
                return dict(self.pending[node.id])
            return {node.id: None}
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
            inner = self.form(node.operand)
            return None if inner is None else {k: _negate(f) for k, f in inner.items()}
        if self.is_add_bar(node):
            # rt.add_bar(a, b) is a + b for arrays. A term scaled by a factor
            # is certainly an array (containers are never multiplied), and so
            # are the names in self.arrays; any other adjoint may be a list's
            # (a list NumPy read as an array has both kinds: keep add_bar).
            left, right = self.form(node.args[0]), self.form(node.args[1])
            if left is None or right is None:
                return None
            factors = list(left.items()) + list(right.items())
            if any(f is None and k not in self.arrays for k, f in factors):
                return None
            return self.merge(left, right)
        if isinstance(node, gast.BinOp):
            if isinstance(node.op, (gast.Add, gast.Sub)):
                left, right = self.form(node.left), self.form(node.right)
                if left is None or right is None:
                    return None
                if isinstance(node.op, gast.Sub):
                    right = {k: _negate(f) for k, f in right.items()}
                return self.merge(left, right)
            if isinstance(node.op, gast.Mult):
                for linear, scale in ((node.left, node.right), (node.right, node.left)):
                    if self.is_primal(scale):
                        inner = self.form(linear)
                        if inner is not None:
                            return {k: _mul(f, scale) for k, f in inner.items()}
                return None
            if isinstance(node.op, gast.Div) and self.is_primal(node.right):
                inner = self.form(node.left)
                if inner is None:
                    return None
                one = gast.Constant(value=1.0, kind=None)
                return {k: _guarded(gast.BinOp(left=one if f is None else _bare(f), op=gast.Div(), right=node.right),
                                    f)
                        for k, f in inner.items()}
        if self.is_times_tangent(node) and self.is_primal(node.args[1]):
            # rt.times_tangent(a * f, p) is rt.times_tangent(a, f * p) where a
            # is 0. Where f (a partial of the rule before: 2 * x of x ** 2) is 0
            # and p infinite, a * f is a cotangent that a zero slope computed, and
            # the chain rule gives 0 * inf = NaN there, as forward mode does: f * p
            # is a plain product. (A rule that means a zero partial to win over an
            # infinite one writes rt.times_tangent(f, p) itself: x ** 0, np.power.)
            inner = self.form(node.args[0])
            if inner is None:
                return None
            return {k: _Guarded(self.guarded_product(_bare(f), node.args[1])) for k, f in inner.items()}
        return None

    def guarded_product(self, factor, partial):
        if factor is None:
            return partial
        if _number(factor) and factor.value == 0:
            return gast.Call(func=self.rt_attribute("times_tangent"), args=[factor, partial], keywords=[])
        return _mul(factor, partial)

    def rt_attribute(self, name):
        return gast.Attribute(value=gast.Name(id=self.rt_name, ctx=gast.Load(), annotation=None, type_comment=None),
                              attr=name, ctx=gast.Load())

    @staticmethod
    def merge(left, right):
        for key, factor in right.items():
            left[key] = _add(left[key], factor) if key in left else factor
        return left

    def is_times_tangent(self, node):
        return (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                and node.func.attr == "times_tangent" and isinstance(node.func.value, gast.Name)
                and node.func.value.id == self.rt_name and len(node.args) == 2 and not node.keywords)

    def is_add_bar(self, node):
        return (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                and node.func.attr == "add_bar" and isinstance(node.func.value, gast.Name)
                and node.func.value.id == self.rt_name and len(node.args) == 2)

    def makes_array(self, node):
        """Whether an adjoint's value ``node`` is certainly an array: NumPy's
        functions and operators give arrays, and so do the helpers that
        reduce or broadcast an adjoint to an array's shape."""
        if isinstance(node, (gast.BinOp, gast.UnaryOp)):
            return True
        return (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                and isinstance(node.func.value, gast.Name)
                and node.func.attr in ARRAY_HELPERS and node.func.value.id == self.rt_name)

    def is_primal(self, node):
        return not any(isinstance(n, gast.Name) and n.id in self.batched for n in walk(node))

    def bounded(self, target, form):
        """Factors over the size limit are computed once, into names."""
        for key, factor in form.items():
            if factor is not None and _size(_bare(factor)) > MAX_FACTOR_NODES:
                base = target[:-4] if target.endswith("_bar") else target
                name = self.namer.fresh(f"{base}_factor")
                self.out.append(gast.Assign(targets=[gast.Name(id=name, ctx=gast.Store(), annotation=None,
                                                               type_comment=None)],
                                            value=_bare(factor), type_comment=None))
                form[key] = _guarded(gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None),
                                     factor)
        return form

    def nested(self):
        """The pass over the body of a branch or loop."""
        return _Scalings(self.batched, self.namer, self.rt_name)

    def before_statement(self, stmt):
        """A hook before a statement that is not a fused adjoint is
        written (the forward-mode pass, backend/fuse_tangents.py, writes out
        the pending values whose factors it may change)."""

    # writing ------------------------------------------------------------

    def expression(self, form):
        terms = []
        for key, factor in form.items():
            name = gast.Name(id=key, ctx=gast.Load(), annotation=None, type_comment=None)
            terms.append(self.term(name, factor))
        result = terms[0]
        for term in terms[1:]:
            result = gast.BinOp(left=result, op=gast.Add(), right=term)
        return result

    def term(self, name, factor):
        """``name * factor``, written as a person would: ``-g``, ``g / d``;
        ``rt.times_tangent(name, factor)`` for a guarded factor."""
        if factor is None:
            return name
        if isinstance(factor, _Guarded):
            return gast.Call(func=self.rt_attribute("times_tangent"), args=[name, factor.node], keywords=[])
        if isinstance(factor, gast.Constant) and factor.value == -1:
            return gast.UnaryOp(op=gast.USub(), operand=name)
        if (isinstance(factor, gast.BinOp) and isinstance(factor.op, gast.Div)
                and isinstance(factor.left, gast.Constant) and factor.left.value == 1):
            return gast.BinOp(left=name, op=gast.Div(), right=factor.right)
        return gast.BinOp(left=name, op=gast.Mult(), right=factor)

    def materialize(self, name):
        form = self.pending.pop(name)
        if form == {name: None}:
            return  # ``x_bar = x_bar``: the value is already there
        self.before_write(name)
        if any(factor is not None or key in self.arrays for key, factor in form.items()):
            self.arrays.add(name)
        else:
            self.arrays.discard(name)
        self.out.append(gast.Assign(targets=[gast.Name(id=name, ctx=gast.Store(), annotation=None,
                                                       type_comment=None)],
                                    value=self.expression(form), type_comment=None))

    def before_write(self, name):
        """Pending values that read the current ``name`` are written out
        before ``name`` changes."""
        for other in [o for o, form in self.pending.items() if name in form and o != name]:
            # (one written out just before may have written this one first:
            # it read the value this one is about to replace)
            if other in self.pending:
                self.materialize(other)

    def flush(self):
        for name in list(self.pending):
            if name in self.pending:
                self.materialize(name)

    def run(self, body, live_out):
        for stmt in body:
            if _is_compound(stmt):
                # Branches and loops are written out as they are, each body
                # fused on its own; nothing pending crosses them.
                self.flush()
                for field in ("body", "orelse"):
                    inner = getattr(stmt, field, None)
                    if inner:
                        nested = self.nested()
                        setattr(stmt, field, nested.run(inner, live_out=set(nested.batched)))
                self.out.append(stmt)
                continue
            target = None
            if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], gast.Name)):
                target = stmt.targets[0].id
            form = self.form(stmt.value) if target in self.batched else None
            if form is not None:
                self.before_write(target)
                self.pending[target] = self.bounded(target, form)
                continue
            self.before_statement(stmt)
            for name in _reads_in_order(stmt):
                if name in self.pending:
                    self.materialize(name)
            if target is not None:
                self.before_write(target)
                self.pending.pop(target, None)
                self.arrays.discard(target)
                if self.makes_array(stmt.value):
                    self.arrays.add(target)
            self.out.append(stmt)
        for name in sorted(live_out):
            if name in self.pending:
                self.materialize(name)
        return self.out


def fuse_scalings(body, batched, live_out, namer, rt_name):
    return _Scalings(set(batched), namer, rt_name).run(body, live_out)


#: runtime helpers that read only the shape of the argument at this position.
SHAPE_ONLY_ARGUMENTS = {"unbroadcast": 1, "unreduce": 1, "reduced_count": 0, "reshape_adjoint": 1,
                        "getitem_adjoint": 1, "scatter_add": 2, "written_adjoint": 1, "refuse_complex": 0,
                        "real_for": 1}


def shape_only_reads(body, rt_name):
    """Names the backward pass reads only for their shapes."""
    shape_reads = set()
    for stmt in body:
        for node in walk(stmt):
            if isinstance(node, gast.Call) and _is_shape_helper(node.func, rt_name):
                argument = node.args[SHAPE_ONLY_ARGUMENTS[node.func.attr]] if len(
                    node.args) > SHAPE_ONLY_ARGUMENTS[node.func.attr] else None
                if isinstance(argument, gast.Name):
                    shape_reads.add(argument.id)
    return shape_reads - _plain_reads(body, rt_name)


def _is_shape_helper(func, rt_name):
    return (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
            and func.value.id == rt_name and func.attr in SHAPE_ONLY_ARGUMENTS)


def _plain_reads(body, rt_name):
    """Names read anywhere except directly as arguments of the shape helpers."""
    found = set()

    def visit(node):
        if isinstance(node, gast.Call) and _is_shape_helper(node.func, rt_name):
            position = SHAPE_ONLY_ARGUMENTS[node.func.attr]
            for i, arg in enumerate(node.args):
                if not (i == position and isinstance(arg, gast.Name)):
                    visit(arg)
            for keyword in node.keywords:
                visit(keyword.value)
            return
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            found.add(node.id)
        for field in node._fields:  # (gast.iter_child_nodes, without its generators)
            value = getattr(node, field, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, gast.AST):
                        visit(item)
            elif isinstance(value, gast.AST):
                visit(value)

    for stmt in body:
        visit(stmt)
    return found
