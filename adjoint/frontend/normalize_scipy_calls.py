"""SciPy functions the normalizer writes as functions with rules (a thin
hook in normalize_calls.py), where SciPy computes the same values:

- ``scipy.linalg.det(a)`` is ``np.linalg.det(a)``, ``scipy.linalg.norm(a,
  ord, axis, keepdims)`` is ``np.linalg.norm`` with the same arguments;
- ``scipy.linalg.inv(a)`` is ``np.linalg.inv(a)``; with ``assume_a="sym"``
  SciPy reads one triangle of ``a`` (``lower``), so the call is
  ``np.linalg.inv`` of the symmetric matrix that triangle makes;
- ``scipy.linalg.solve(a, b)`` is ``np.linalg.solve(a, b)`` (of ``a``'s
  transpose with ``transposed=True``); ``assume_a="sym"`` solves with the
  symmetric matrix of the triangle SciPy reads, ``assume_a="pos"`` is
  ``cho_solve(cho_factor(a, lower), b)`` (SciPy's Cholesky solve: it
  refuses a matrix that is not positive definite, as SciPy does), and
  ``assume_a="upper triangular"`` / ``"lower triangular"`` is
  ``solve_triangular``;
- ``scipy.linalg.eigh(a, eigvals_only=True)`` is ``np.linalg.eigvalsh(a,
  UPLO)``; ``eigh(a)`` itself keeps SciPy's call (its eigenvectors' signs
  are SciPy's, not NumPy's) and has rules of its own (rules/scipy_linalg.py);
- ``scipy.signal.convolve2d(in1, in2, mode)`` with ``boundary="fill"`` and
  ``fillvalue=0`` is ``scipy.signal.convolve(in1, in2, mode)``.

``overwrite_a``, ``overwrite_b`` and ``check_finite`` change no value and are
dropped. A call with an option whose values differ (another ``boundary``,
a generalized ``eigh``, a ``subset_by_index``, an ``assume_a`` without a
rule), or with an option the rewrite must read that is not written as a
literal, is left as written: it runs as SciPy's where no derivative goes
through it, and is refused at the user's line, saying what to write
instead, where one does (``RefusedOption``)."""
import inspect
import sys

import gast
import numpy as np

from .gastutil import clone, constant, load, walk as walk_tree

#: keyword arguments that change no value (SciPy's memory and checking options)
_IGNORED = frozenset({"overwrite_a", "overwrite_b", "check_finite"})
#: scipy.linalg's names of the matrix structures (assume_a) and what they are here
_STRUCTURES = {None: "gen", "gen": "gen", "general": "gen", "sym": "sym", "symmetric": "sym",
               "her": "sym", "hermitian": "sym", "pos": "pos", "positive definite": "pos",
               "upper triangular": "upper", "lower triangular": "lower"}
_MISSING = object()


def _scipy(module):
    return sys.modules.get(f"scipy.{module}")


def numpy_names():
    """SciPy function -> the function with rules its calls are written as
    (for the table of docs/supported.md), when SciPy is imported."""
    linalg, signal = _scipy("linalg"), _scipy("signal")
    if linalg is None or signal is None:
        return {}
    return {linalg.det: np.linalg.det, linalg.norm: np.linalg.norm, linalg.inv: np.linalg.inv,
            linalg.solve: np.linalg.solve, signal.convolve2d: signal.convolve}


def _which(callee):
    linalg, signal = _scipy("linalg"), _scipy("signal")
    if callee is None or linalg is None:
        return None
    for name in ("det", "norm", "inv", "solve", "eigh"):
        if callee is getattr(linalg, name, None):
            return f"scipy.linalg.{name}"
    if signal is not None and callee is getattr(signal, "convolve2d", None):
        return "scipy.signal.convolve2d"
    return None


class RefusedOption(str):
    """The construct of a SciPy call left as written because of an option
    whose values differ from the call with rules: refused, with ``refusal``
    (reason, fix), where a derivative goes through it
    (``analysis.activity.check_rule``); a call on values without
    derivative runs as written."""

    def __new__(cls, text, reason, fix):
        made = super().__new__(cls, text)
        made.refusal = (reason, fix)
        return made


class _Refused(Exception):
    def __init__(self, construct):
        super().__init__(construct)
        self.construct = construct


class _Call:
    """A call's arguments bound to the SciPy function's parameters."""

    def __init__(self, normalizer, node, callee, name):
        self.normalizer, self.node, self.name = normalizer, node, name
        try:
            bound = inspect.signature(callee).bind(*node.args, **{k.arg: k.value for k in node.keywords})
        except TypeError:
            self.arguments = None  # called as SciPy would refuse: left to run (and fail) as written
            return
        self.arguments = {k: v for k, v in bound.arguments.items() if k not in _IGNORED}

    def given(self, name):
        return self.arguments.get(name, _MISSING)

    def literal(self, name, default):
        """The value of an option written as a literal (``default`` if not
        given); a value computed in the code is refused."""
        node = self.given(name)
        if node is _MISSING:
            return default
        if isinstance(node, gast.Constant):
            return node.value
        raise self.refuse(f"{name}= computed in the code",
                          f"the derivative of {self.name} depends on which {name} is given, which must be "
                          "known when the function is read.",
                          f"Write {name}= as a literal ({name}={default!r}).")

    def refuse(self, construct, reason, fix):
        return _Refused(RefusedOption(f"{self.name}(..., {construct})", reason, fix))

    def reference(self, value, name):
        """A name holding ``value`` (a function), for the written call."""
        holder = self.normalizer.namer.fresh(name)
        self.normalizer.resolver.constants[holder] = value
        return load(holder)

    def call(self, value, name, args, keywords=()):
        """The call ``value(*args, **keywords)``."""
        return gast.Call(func=self.reference(value, name), args=list(args),
                         keywords=[gast.keyword(arg=k, value=v) for k, v in keywords])

    def written(self, call):
        """The operation of ``call``, at the user's line."""
        for child in walk_tree(call):
            if "lineno" in child._attributes:
                gast.copy_location(child, self.node)
        call.scipy_written = True  # (eigh's call, kept SciPy's, is not rewritten again)
        return self.normalizer.call(call)

    def symmetric(self, a, lower):
        """The symmetric matrix of the triangle of ``a`` SciPy reads (an atom)."""
        a = self.normalizer.atom(a)
        triangle, k = (np.tril, -1) if lower else (np.triu, 1)
        strict = self.call(triangle, "triangle", [clone(a), constant(k)])
        mirrored = self.call(np.swapaxes, "swapaxes", [strict, constant(-1), constant(-2)])
        return gast.BinOp(left=self.call(triangle, "triangle", [clone(a)]), op=gast.Add(), right=mirrored)

    def structure(self, supported):
        """assume_a's structure, one of ``supported``, else refused."""
        assume_a = self.literal("assume_a", None)
        kind = _STRUCTURES.get(assume_a if isinstance(assume_a, str) or assume_a is None else "?")
        if kind not in supported:
            other = {"pos": "scipy.linalg.cho_solve(scipy.linalg.cho_factor(a), np.eye(n))",
                     "upper": "scipy.linalg.solve_triangular(a, np.eye(n))",
                     "lower": "scipy.linalg.solve_triangular(a, np.eye(n), lower=True)"}.get(
                         kind, "assume_a='gen' (or 'sym', 'pos', 'upper triangular', 'lower triangular' "
                               "in scipy.linalg.solve)")
            raise self.refuse(f"assume_a={assume_a!r}",
                              "this structure has no derivative rule here (SciPy reads only part of the "
                              "matrix for it, or refuses the value).", f"Write {other} instead.")
        return kind


def as_rule_call(normalizer, callee, node):
    """The operation of a SciPy call of this module's list, written as the
    call with rules; None for other calls (or a call SciPy refuses)."""
    name = _which(callee)
    if name is None or getattr(node, "scipy_written", False):
        return None
    call = _Call(normalizer, node, callee, name)
    if call.arguments is None:
        return None
    try:
        return _rewritten(call, callee, name)
    except _Refused as refused:  # the call as written, refused if a derivative goes through it
        node.scipy_written = True
        value, prim, args, kwargs, _, keys = normalizer.call(node)
        return value, prim, args, kwargs, refused.construct, keys


def _rewritten(call, callee, name):
    arguments = call.arguments
    if name == "scipy.linalg.det":
        return call.written(call.call(np.linalg.det, "linalg_det", [arguments["a"]]))
    if name == "scipy.linalg.norm":
        keywords = [(k, arguments[k]) for k in ("ord", "axis", "keepdims") if k in arguments]
        return call.written(call.call(np.linalg.norm, "linalg_norm", [arguments["a"]], keywords))
    if name == "scipy.linalg.inv":
        kind = call.structure(("gen", "sym"))
        a = arguments["a"] if kind == "gen" else call.symmetric(arguments["a"], call.literal("lower", False))
        return call.written(call.call(np.linalg.inv, "linalg_inv", [a]))
    if name == "scipy.linalg.solve":
        return _solve(call, arguments)
    if name == "scipy.linalg.eigh":
        return _eigh(call, callee, arguments)
    return _convolve2d(call, arguments)


def _solve(call, arguments):
    linalg = _scipy("linalg")
    kind = call.structure(("gen", "sym", "pos", "upper", "lower"))
    transposed = call.literal("transposed", False)
    a, b = arguments["a"], arguments["b"]
    if kind == "gen":
        if transposed:
            a = call.call(np.swapaxes, "swapaxes", [a, constant(-1), constant(-2)])
        return call.written(call.call(np.linalg.solve, "linalg_solve", [a, b]))
    if kind == "sym":  # symmetric: transposed changes nothing
        a = call.symmetric(a, call.literal("lower", False))
        return call.written(call.call(np.linalg.solve, "linalg_solve", [a, b]))
    if kind == "pos":
        factor = call.call(linalg.cho_factor, "cho_factor", [a], [("lower", constant(call.literal("lower", False)))])
        return call.written(call.call(linalg.cho_solve, "cho_solve", [factor, b]))
    return call.written(call.call(linalg.solve_triangular, "solve_triangular", [a, b], [
        ("trans", constant(1 if transposed else 0)), ("lower", constant(kind == "lower"))]))


def _eigh(call, callee, arguments):
    if call.given("b") is not _MISSING and not (isinstance(call.given("b"), gast.Constant)
                                                 and call.given("b").value is None):
        raise call.refuse("b", "the generalized problem a v = w b v has no derivative rule here.",
                          "Solve it as a standard one: with L = np.linalg.cholesky(b), the eigenvalues of "
                          "inv(L) a inv(L).T are w, and their eigenvectors are L.T v.")
    for option in ("subset_by_index", "subset_by_value"):
        given = call.given(option)
        if given is not _MISSING and not (isinstance(given, gast.Constant) and given.value is None):
            raise call.refuse(option, "a subset of the spectrum has no derivative rule here.",
                              "Compute all of it (w, v = scipy.linalg.eigh(a)) and index the result (w[:k]).")
    lower = call.literal("lower", True)
    if call.literal("eigvals_only", False):
        return call.written(call.call(np.linalg.eigvalsh, "linalg_eigvalsh", [arguments["a"]],
                                      [("UPLO", constant("L" if lower else "U"))]))
    keywords = [("lower", constant(lower))]
    if "driver" in arguments:
        keywords.append(("driver", arguments["driver"]))
    return call.written(call.call(callee, "scipy_eigh", [arguments["a"]], keywords))


def _convolve2d(call, arguments):
    boundary = call.literal("boundary", "fill")
    fillvalue = call.literal("fillvalue", 0)
    if boundary not in ("fill", "pad"):
        raise call.refuse(f"boundary={boundary!r}",
                          "only the zero-padded convolution (boundary='fill') has a derivative rule here.",
                          "Pad the image yourself (np.pad(in1, ..., mode='wrap' or 'symmetric')) and "
                          "convolve with mode='valid'.")
    if isinstance(fillvalue, bool) or not isinstance(fillvalue, (int, float)) or fillvalue != 0:
        raise call.refuse(f"fillvalue={fillvalue!r}",
                          "only the zero-padded convolution (fillvalue=0) has a derivative rule here.",
                          "Pad the image yourself (np.pad(in1, k, constant_values=value)) and convolve "
                          "with mode='valid'.")
    keywords = [("mode", arguments["mode"])] if "mode" in arguments else []
    return call.written(call.call(_scipy("signal").convolve, "signal_convolve",
                                  [arguments["in1"], arguments["in2"]], keywords))
