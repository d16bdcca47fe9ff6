"""Clean-up passes on generated straight-line code.

``eliminate_dead_code`` drops assignments whose names nothing later reads,
then drops comment markers left with no statement under them.
``fold_constants`` evaluates arithmetic on literal numbers (``2 - 1``) and
drops ``x ** 1`` and ``x * 1``. ``forward_copies`` replaces names that merely copy another name
(``x_bar = t_bar``) by the original. Both keep the meaning of the code.
"""
import gast

from .reverse import COMMENT


def reads(node):
    return {n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def _is_comment(stmt):
    return (
        isinstance(stmt, gast.Expr)
        and isinstance(stmt.value, gast.Name)
        and stmt.value.id.startswith(COMMENT.split("{")[0])
    )


def _assigned(stmt):
    if isinstance(stmt, gast.Assign):
        return {n.id for t in stmt.targets for n in gast.walk(t) if isinstance(n, gast.Name)}
    return set()


def eliminate_dead_code(body, live):
    live = set(live)
    kept = []
    for stmt in reversed(body):
        if _is_comment(stmt):
            kept.append(stmt)
            continue
        targets = _assigned(stmt)
        if targets and not targets & live:
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
    """Replace ``a = b`` copies (b a plain name assigned once) by ``b``."""
    aliases = {}
    assigned_count = {}
    for stmt in body:
        for name in _assigned(stmt):
            assigned_count[name] = assigned_count.get(name, 0) + 1
    result = []
    for stmt in body:
        for node in gast.walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and node.id in aliases:
                node.id = aliases[node.id]
        if (
            isinstance(stmt, gast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name)
            and isinstance(stmt.value, gast.Name)
            and stmt.targets[0].id not in protected
            and assigned_count.get(stmt.targets[0].id) == 1
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


class _Fold(gast.NodeTransformer):
    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right = node.left, node.right
        fold = _FOLDABLE.get(type(node.op))
        if fold and _number(left) and _number(right):
            return gast.Constant(value=fold(left.value, right.value), kind=None)
        if _number(right) and right.value == 1 and isinstance(node.op, (gast.Pow, gast.Mult)):
            return left
        return node


def fold_constants(stmt):
    return _Fold().visit(stmt)
