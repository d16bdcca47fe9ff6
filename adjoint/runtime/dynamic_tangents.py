"""Forward mode through calls whose callee is known only when the code runs.

First-order code reaches such a call (``fn(x)`` with ``fn`` passed in,
``ACTS[k](x)``, ``obj.method(x)``, ``f(*args)``, ``g(**params)``) through the
helpers of ``calls``: ``function_forward``, ``method_forward``,
``call_backward``, ``starred_forward``, ``starred_backward`` (reverse mode)
and ``starred_jvp`` (forward mode). A derivative of a derivative runs forward
mode over that code, and meets those helpers with differentiated arguments.
Forward mode writes each such call as

    z, z_dot = rt.dynamic_tangent(rt.<helper>, batch, (a_dot, None, ...), *args)

and ``dynamic_tangent`` works out, when it runs, the Python function the
helper's call amounts to: a few lines of generated source (``dynamic_callee``)
that call the actual callee's transform (its forward or backward pass, its
JVP) with the arguments laid out as the helper lays them out. That function
is transformed in forward mode like any other (cached per callee and layout,
as first order caches the callee's own transform) and run with the tangents.

``dynamic_tangent`` is itself such a helper: forward mode over code that
calls it (a third derivative) writes ``rt.dynamic_tangent(rt.dynamic_tangent,
...)``, whose function calls the JVP of the function one order down. So every
order goes through the same few lines.
"""
import itertools
import linecache
import sys

import numpy as np

from .calls import (
    DYNAMIC,
    _layout,
    call_backward,
    function_forward,
    method_call,
    method_forward,
    starred_backward,
    starred_forward,
    starred_jvp,
)
from .indexing import zeros_bar

#: raw callee (a generated function) -> {source of the function written over it: that function}
#: (kept as long as the process, like the transforms of the cache: each written function holds its callee)
_WRITTEN = {}
_COUNTER = itertools.count()


def dynamic_tangent(helper, batch, tangents, *args, **kwargs):
    """``(helper(*args, **kwargs), its tangent)`` for one of the helpers of
    calls known only at run time (``DYNAMIC_HELPERS``), forward mode along
    ``tangents`` (one per positional argument, None for one without; keyword
    arguments carry none): the function ``dynamic_callee`` writes for the
    call, transformed in forward mode and run."""
    made = dynamic_callee(helper, args, kwargs, tangents)
    if made is None:  # (no argument reaches a differentiated callee)
        value = helper(*args, **kwargs)
        return value, zeros_bar(value, batch)
    function, sources = made
    call_args = [value if kind == "value" else args[value] for kind, value in sources]
    call_tangents = [None if kind == "value" else tangents[value] for kind, value in sources]
    wanted = [k for k, t in enumerate(call_tangents) if t is not None]
    if not wanted:
        value = function(*call_args, **kwargs)
        return value, zeros_bar(value, batch)
    # (the written function is a plain function of this module's making: its transform for a
    # call form is kept on it, and found again without transform_call's checks of the call)
    key = (tuple(wanted), len(call_args), tuple(kwargs))
    made = function.__dict__.setdefault("_adjoint_jvps", {})
    compiled = made.get(key)
    if compiled is None or not compiled.is_current():
        compiled, run_args, _, order = DYNAMIC["transform_call"](function, call_args, kwargs, wanted, "jvp")
        if list(order) != sorted(order) or len(run_args) != len(call_args):  # (never: no leading arguments)
            raise AssertionError("dynamic_tangent: a written function's transform took other arguments")
        made[key] = compiled
    ordered = tuple(call_tangents[k] for k in wanted)
    return compiled.jvp((batch,) + ordered, *call_args, **kwargs)


#: the helpers forward mode sends through ``dynamic_tangent``
DYNAMIC_HELPERS = (function_forward, method_forward, call_backward, starred_forward, starred_backward,
                   starred_jvp, dynamic_tangent)


class _Written:
    """The parameters of a function being written: each is a value known
    now (``("value", v)``) or one of the helper's positional arguments
    (``("arg", j)``)."""

    def __init__(self):
        self.names, self.sources, self._args = [], [], {}

    def value(self, value):
        name = f"_v{len(self.names)}"
        self.names.append(name)
        self.sources.append(("value", value))
        return name

    def arg(self, position):
        if position not in self._args:
            name = f"_a{position}"
            self._args[position] = name
            self.names.append(name)
            self.sources.append(("arg", position))
        return self._args[position]

    def function(self, kind, raw, body, keywords):
        """The function ``body`` (lines, ``_F`` the raw callee) with these
        parameters and the keyword-only ``keywords``: ``(function, sources)``."""
        for key in keywords:
            if not key.isidentifier() or key in self.names or key in ("_F", "_r", "_s", "_b", "_n"):
                raise TypeError(f"cannot differentiate a second time through a call passing the keyword "
                                f"{key!r} to a function known only at run time: pass it by position.")
        params = ", ".join(self.names + (["*"] + list(keywords) if keywords else []))
        name = f"{kind}_dynamic"
        text = f"def {name}({params}):\n" + "".join(f"    {line}\n" for line in body)
        written = _WRITTEN.setdefault(raw, {})
        function = written.get(text)
        if function is None:
            filename = f"<adjoint {kind} of {getattr(raw, '__name__', 'a callee')} #{next(_COUNTER)}>"
            linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
            namespace = {"_F": raw, "rt": sys.modules[__package__], "np": np, "__name__": "adjoint_generated"}
            exec(compile(text, filename, "exec"), namespace)
            function = written[text] = namespace[name]
        return function, self.sources


def _keyword_pass(keywords):
    return [f"{k}={k}" for k in keywords]


def _unwrap(function):
    """``(raw function, leading arguments, fixed keywords)`` of a partial."""
    import functools

    leading, fixed = (), {}
    while isinstance(function, functools.partial):
        leading, fixed = tuple(function.args) + leading, {**function.keywords, **fixed}
        function = function.func
    return function, leading, fixed


def _forward_of(compiled, written, call_exprs, keywords, fixed_keywords=None):
    """The function computing ``(result, (compiled, residuals))``, what
    ``function_forward`` and ``method_forward`` return."""
    raw, leading, fixed = _unwrap(compiled.forward)
    saved = written.value(compiled)
    exprs = [written.value(v) for v in leading] + list(call_exprs)
    named = [f"{k}={written.value(v)}" for k, v in {**fixed, **(fixed_keywords or {})}.items()
             if k not in keywords]
    body = [f"_r, _s = _F({', '.join(exprs + named + _keyword_pass(keywords))})",
            f"return _r, ({saved}, _s)"]
    return written.function("forward", raw, body, keywords)


def _layout_exprs(written, spec, active, callee, pieces, offset):
    """``_layout`` of a starred call, with the expression of each argument
    in the written function (piece ``i`` is the helper's argument ``offset + i``)."""
    sources = {}
    function, args, kwargs, wanted = _layout(spec, active, callee, pieces, sources)

    def expr(ref):
        where = sources[ref]
        if where[0] == "value":
            return written.value(where[1])
        i, key = where
        name = written.arg(offset + i)
        return name if key is None else f"{name}[{key!r}]"

    for i in range(len(pieces)):
        written.arg(offset + i)  # (every piece is a parameter, in order)
    return function, args, kwargs, wanted, expr


def dynamic_callee(helper, args, kwargs, tangents):
    """``(function, sources)``: a Python function whose call
    ``function(*[v or args[j] for each source], **kwargs)`` computes
    ``helper(*args, **kwargs)`` with the callee the helper finds now, written
    so that forward mode can transform it; None when no differentiated
    argument reaches the callee."""
    written = _Written()
    keywords = tuple(kwargs)
    if helper is function_forward:
        positions, function, rest = args[0], args[1], args[2:]
        compiled = DYNAMIC["compiled_call"](function, len(rest), positions, for_caller=True, keywords=keywords)
        return _forward_of(compiled, written, [written.arg(2 + j) for j in range(len(rest))], keywords)
    if helper is method_forward:
        name, positions, receiver, rest = args[0], args[1], args[2], args[3:]
        compiled, call_args, call_kwargs = method_call(name, positions, receiver, rest, kwargs)
        # (the object first for a method bound to it; a frozen distribution's own arguments last)
        exprs = [written.arg(2)] if len(call_args) == len(rest) + 1 and call_args[0] is receiver else []
        exprs += [written.arg(3 + j) for j in range(len(rest))]
        extra = list(call_args[len(exprs):])
        exprs += [written.value(v) for v in extra]
        fixed_keywords = {k: v for k, v in call_kwargs.items() if k not in kwargs}
        return _forward_of(compiled, written, exprs, keywords, fixed_keywords)
    if helper is call_backward:
        saved, _g = args
        compiled = saved[0]
        skipped = getattr(compiled, "skipped", 0)
        raw = compiled.compiled.backward if skipped else compiled.backward
        s, g = written.arg(0), written.arg(1)
        body = [f"_b = _F({s}[1], {g})",
                f"return (None,) * {skipped} + tuple(_b)" if skipped else "return _b"]
        return written.function("backward", raw, body, ())
    if helper is starred_forward:
        spec, active, callee, pieces = args[0], args[1], args[2], args[3:]
        function, call_args, call_kwargs, wanted, expr = _layout_exprs(written, spec, active, callee, pieces, 3)
        if not wanted:
            return None
        compiled, run_args, run_kwargs, order = DYNAMIC["transform_call"](
            function, call_args, call_kwargs, [w[2] for w in wanted])
        raw, leading, fixed = _unwrap(compiled.forward)
        lead = len(run_args) - len(call_args)
        exprs = [written.value(v) for v in leading] + [written.value(v) for v in run_args[:lead]]
        exprs += [expr(k) for k in range(len(call_args))]
        exprs += [f"{k}={expr(k)}" if k in call_kwargs else f"{k}={written.value(v)}"
                  for k, v in {**fixed, **run_kwargs}.items()]
        pieces_tuple = "(" + "".join(f"{written.arg(3 + i)}, " for i in range(len(pieces))) + ")"
        body = [f"_r, _s = _F({', '.join(exprs)})",
                f"return _r, (({written.value(compiled)}, _s), {written.value(spec)}, {pieces_tuple}, "
                f"{written.value(wanted)}, {written.value(order)})"]
        return written.function("forward", raw, body, keywords)
    if helper is starred_backward:
        saved, active, g = args
        call, spec, pieces, wanted, order = saved
        if call is None:
            return None
        compiled = call[0]
        s, gname = written.arg(0), written.arg(2)
        found = {}
        for k, index in enumerate(order):
            i, key, _ = wanted[index]
            found[(i, key)] = f"_b[{k}]"
        out = []
        for i, (kind, flag, piece) in enumerate(zip(spec, active, pieces, strict=True)):
            if not flag:
                out.append("None")
            elif kind in ("*", "**"):
                keys = list(piece) if kind == "**" else range(len(piece))
                items = [(k, found.get((i, k), f"rt.zeros_bar({s}[2][{i}][{k!r}], _n)")) for k in keys]
                if isinstance(piece, np.ndarray) and items:
                    out.append(f"np.stack([{', '.join(e for _, e in items)}], axis=1)")
                elif kind == "**":
                    out.append("{" + ", ".join(f"{k!r}: {e}" for k, e in items) + "}")
                elif type(piece) is tuple:
                    out.append("(" + "".join(f"{e}, " for _, e in items) + ")")
                elif type(piece) is list:
                    out.append("[" + ", ".join(e for _, e in items) + "]")
                else:
                    out.append(f"rt.rebuild_like({s}[2][{i}], [{', '.join(e for _, e in items)}])")
            else:
                out.append(found.get((i, None), f"rt.zeros_bar({s}[2][{i}], _n)"))
        body = [f"_b = _F({s}[0][1], {gname})", f"_n = rt.batch_size({gname})",
                "return (" + "".join(f"{e}, " for e in out) + ")"]
        return written.function("backward", compiled.backward, body, ())
    if helper is starred_jvp:
        spec, active, callee, batch, inner, pieces = args[0], args[1], args[2], args[3], args[4], args[5:]
        function, call_args, call_kwargs, wanted, expr = _layout_exprs(written, spec, active, callee, pieces, 5)
        if not wanted:
            return None
        compiled, run_args, run_kwargs, order = DYNAMIC["transform_call"](
            function, call_args, call_kwargs, [w[2] for w in wanted], "jvp")
        b, t = written.arg(3), written.arg(4)
        item_tangents = []
        for i, key, ref in wanted:
            item = expr(ref)
            if inner[i] is None:
                item_tangents.append(f"rt.zeros_bar({item}, {b})")
            elif key is None:
                item_tangents.append(f"{t}[{i}]")
            elif isinstance(inner[i], np.ndarray):
                item_tangents.append(f"{t}[{i}][:, {key!r}]")
            else:
                item_tangents.append(f"{t}[{i}][{key!r}]")
        raw, leading, fixed = _unwrap(compiled.jvp)
        lead = len(run_args) - len(call_args)
        exprs = [written.value(v) for v in leading]
        exprs.append("(" + b + ", " + "".join(f"{item_tangents[index]}, " for index in order) + ")")
        exprs += [written.value(v) for v in run_args[:lead]] + [expr(k) for k in range(len(call_args))]
        exprs += [f"{k}={expr(k)}" if k in call_kwargs else f"{k}={written.value(v)}"
                  for k, v in {**fixed, **run_kwargs}.items()]
        return written.function("jvp", raw, [f"return _F({', '.join(exprs)})"], keywords)
    if helper is dynamic_tangent:
        inner_helper, inner_tangents, rest = args[0], args[2], args[3:]
        made = dynamic_callee(inner_helper, rest, kwargs, inner_tangents)
        if made is None:
            return None
        function, sources = made
        call_args = [v if kind == "value" else rest[v] for kind, v in sources]
        wanted = [k for k, (kind, v) in enumerate(sources) if kind == "arg" and inner_tangents[v] is not None]
        if not wanted:
            return None
        compiled, run_args, run_kwargs, order = DYNAMIC["transform_call"](function, call_args, kwargs, wanted,
                                                                          "jvp")
        raw, leading, fixed = _unwrap(compiled.jvp)
        b, t = written.arg(1), written.arg(2)
        exprs = [written.value(v) for v in leading]
        exprs.append("(" + b + ", " + "".join(f"{t}[{sources[wanted[k]][1]}], " for k in order) + ")")
        exprs += [written.value(v) for v in run_args[:len(run_args) - len(call_args)]]
        exprs += [written.value(v) if kind == "value" else written.arg(3 + v) for kind, v in sources]
        exprs += [f"{k}={written.value(v)}" for k, v in {**fixed, **run_kwargs}.items() if k not in kwargs]
        return written.function("jvp", raw, [f"return _F({', '.join(exprs + _keyword_pass(keywords))})"],
                                keywords)
    raise TypeError(f"dynamic_tangent: {getattr(helper, '__name__', helper)} is not a helper of calls known "
                    "only at run time.")
