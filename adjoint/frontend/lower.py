"""Lowering of jumps: early ``return``, ``break`` and ``continue``.

Runs on the gast tree before A-normal form, so the later passes only see
structured control flow: one ``return`` at the end of the function, and
loops whose only exit besides their condition is a single ``break`` as the
last statement of the body.

* ``lower_returns(node, namer)``: a ``return`` that is not the last statement
  becomes ``return_value = ...; returned = True`` (plus ``break`` inside a
  loop); the statements after anything that may return run under
  ``if not returned:``; the function ends with ``return return_value``.
* ``lower_jumps(loop, namer)``: ``break`` and ``continue`` set flags; the
  statements after anything that may jump run under ``if not flag:``; the
  loop body ends with ``if broke: break``. Returns the statements to run
  before the loop (the flag's initial value) and the rewritten loop.

Both keep the meaning of the code and the line numbers of the statements
they touch.
"""
import gast

from .gastutil import constant, load, store


def _located(node, origin):
    return gast.copy_location(node, origin)


def _assign(name, value, origin):
    return _located(gast.Assign(targets=[store(name)], value=value, type_comment=None), origin)


def _if(test, body, origin):
    return _located(gast.If(test=test, body=body, orelse=[]), origin)


def _not(name, origin):
    return _located(gast.UnaryOp(op=gast.Not(), operand=load(name)), origin)


def _walk_same_function(node, loops=True):
    """Nodes under ``node`` in the same function (and, with ``loops=False``,
    the same loop)."""
    stack = list(gast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if isinstance(child, (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda, gast.ClassDef)):
            continue
        if not loops and isinstance(child, (gast.For, gast.While)):
            continue
        yield child
        stack.extend(gast.iter_child_nodes(child))


_SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda, gast.ClassDef)


def contains_return(node):
    if isinstance(node, _SCOPES):
        return False
    return isinstance(node, gast.Return) or any(isinstance(n, gast.Return) for n in _walk_same_function(node))


def contains_jump(node):
    if isinstance(node, (gast.Break, gast.Continue)):
        return True
    if isinstance(node, (gast.For, gast.While) + _SCOPES):
        return False
    return any(isinstance(n, (gast.Break, gast.Continue)) for n in _walk_same_function(node, loops=False))


# ------------------------------------------------------------------ returns

def lower_returns(node, namer):
    body = node.body
    early = any(contains_return(s) for s in body[:-1]) or (
        body and not isinstance(body[-1], gast.Return) and contains_return(body[-1]))
    if not early:
        return node
    flag = namer.fresh("returned")
    value = namer.fresh("return_value")
    first = body[0]
    lowered = _ReturnLowering(flag, value).block(body, in_loop=False)
    last = body[-1]
    node.body = ([_assign(flag, constant(False), first), _assign(value, constant(None), first)]
                 + lowered + [_located(gast.Return(value=load(value)), last)])
    return node


class _ReturnLowering:
    def __init__(self, flag, value):
        self.flag = flag
        self.value = value

    def block(self, stmts, in_loop):
        out = []
        for position, stmt in enumerate(stmts):
            if isinstance(stmt, gast.Return):
                out.append(_assign(self.value, stmt.value or constant(None), stmt))
                out.append(_assign(self.flag, constant(True), stmt))
                if in_loop:
                    out.append(_located(gast.Break(), stmt))
                return out
            returns = contains_return(stmt)
            if isinstance(stmt, gast.If):
                stmt.body = self.block(stmt.body, in_loop)
                stmt.orelse = self.block(stmt.orelse, in_loop)
            elif isinstance(stmt, (gast.For, gast.While)):
                stmt.body = self.block(stmt.body, in_loop=True)
            elif isinstance(stmt, gast.With):
                stmt.body = self.block(stmt.body, in_loop)
            elif isinstance(stmt, gast.Try):
                returned_in_body = any(contains_return(s) for s in stmt.body)
                stmt.body = self.block(stmt.body, in_loop)
                for handler in stmt.handlers:
                    handler.body = self.block(handler.body, in_loop)
                stmt.orelse = self.block(stmt.orelse, in_loop)
                if returned_in_body and stmt.orelse:  # else runs only if the try block did not return
                    stmt.orelse = [_if(_not(self.flag, stmt.orelse[0]), stmt.orelse, stmt.orelse[0])]
                stmt.finalbody = self.block(stmt.finalbody, in_loop)
            out.append(stmt)
            if returns:
                if in_loop and isinstance(stmt, (gast.For, gast.While)):
                    out.append(_if(load(self.flag), [_located(gast.Break(), stmt)], stmt))
                rest = self.block(stmts[position + 1:], in_loop)
                if rest:
                    out.append(_if(_not(self.flag, stmt), rest, stmts[position + 1]))
                return out
        return out


# ------------------------------------------------------------------ break, continue

def lower_jumps(loop, namer):
    """(statements before the loop, loop) with break/continue as flags."""
    jumps = [n for n in _walk_same_function(loop, loops=False) if isinstance(n, (gast.Break, gast.Continue))]
    if not jumps:
        return [], loop
    broke = namer.fresh("broke") if any(isinstance(j, gast.Break) for j in jumps) else None
    skipped = namer.fresh("skipped") if any(isinstance(j, gast.Continue) for j in jumps) else None
    body = _JumpLowering(broke, skipped).block(loop.body)
    first = loop.body[0]
    prefix = [_assign(skipped, constant(False), first)] if skipped else []
    suffix = [_if(load(broke), [_located(gast.Break(), loop)], loop)] if broke else []
    loop.body = prefix + body + suffix
    before = [_assign(broke, constant(False), loop)] if broke else []
    return before, loop


class _JumpLowering:
    def __init__(self, broke, skipped):
        self.broke = broke
        self.skipped = skipped

    def test(self, origin):
        flags = [f for f in (self.broke, self.skipped) if f]
        if len(flags) == 1:
            return _not(flags[0], origin)
        either = _located(gast.BoolOp(op=gast.Or(), values=[load(f) for f in flags]), origin)
        return _located(gast.UnaryOp(op=gast.Not(), operand=either), origin)

    def block(self, stmts):
        out = []
        for position, stmt in enumerate(stmts):
            if isinstance(stmt, gast.Break):
                out.append(_assign(self.broke, constant(True), stmt))
                return out
            if isinstance(stmt, gast.Continue):
                out.append(_assign(self.skipped, constant(True), stmt))
                return out
            jumps = contains_jump(stmt)
            if isinstance(stmt, gast.If):
                stmt.body = self.block(stmt.body)
                stmt.orelse = self.block(stmt.orelse)
            elif isinstance(stmt, gast.With):
                stmt.body = self.block(stmt.body)
            elif isinstance(stmt, gast.Try):
                jumped_in_body = any(contains_jump(s) for s in stmt.body)
                stmt.body = self.block(stmt.body)
                for handler in stmt.handlers:
                    handler.body = self.block(handler.body)
                stmt.orelse = self.block(stmt.orelse)
                if jumped_in_body and stmt.orelse:  # else runs only if the try block did not jump
                    stmt.orelse = [_if(self.test(stmt.orelse[0]), stmt.orelse, stmt.orelse[0])]
                stmt.finalbody = self.block(stmt.finalbody)
            out.append(stmt)
            if jumps:
                rest = self.block(stmts[position + 1:])
                if rest:
                    out.append(_if(self.test(stmt), rest, stmts[position + 1]))
                return out
        return out
