"""Random-program fuzzer for the newest features, on top of fuzz_transforms.

The programs of ``fuzz_transforms.Builder`` get statements of their own:

- derivatives called inside the differentiated function (api/inlined.py):
  ``adjoint.grad(h)(v)``, ``adjoint.jacrev(h)(v) @ w``, ``jacfwd``, an
  argument passed through the derivative but not differentiated (a
  derivative of a function returning a pair, inside a differentiated
  function, is refused: containers are not supported there yet);
- functions held in default parameters (``def apply(v, fn=np.tanh)``),
  left to their default and passed explicitly;
- constants on one path of a branch (``np.zeros(4) if s > c else v``);
- infinite slopes at 0 (``np.cbrt(v - v)``, ``np.sqrt(v * 0.0)``) that
  only a zero cotangent reaches (an unused item of a pair, the branch
  ``np.where`` does not pick), where only the guard ``rt.times_tangent``
  keeps the derivative finite (a nonzero cotangent times an infinite slope
  times a zero computed on the way is NaN, as docs/supported.md says);
- user objects (a callable class, an accumulator whose method stores an
  attribute) and try/raise blocks;
- a module global (``SCALE``) that the program reads;
- small rate functions stepped in a loop, which the local-Jacobian path
  serves (backend/local_calls.py): scalar and two-vector states, an int
  argument, a closure over a differentiated value, a callee calling a
  callee, two results unpacked;
- record objects (a dataclass with an array field and ``__post_init__``, a
  class whose ``__init__`` stores values, a property), which vmap follows
  on the whole batch (frontend/normalize_records.py);
- the SciPy rules and choices written as other calls (``logsumexp(b=)``,
  ``xlogy``, ``scipy.signal.convolve``/``correlate``, ``solve_banded``,
  ``multivariate_normal.logpdf`` with an asymmetric covariance,
  ``np.select``, ``functools.reduce``) and the decompositions
  (``eigh``, ``qr``, ``pinv``, ``lstsq``, ``matrix_power``, ``multi_dot``,
  ``cov``, ``corrcoef``, ``kron``), whose derivatives vmap batches to second
  order.

Every check of fuzz_transforms runs on them (against central differences
and loops), plus checks of this module:

- ``vmapdims``: vmap with in_dims/out_dims mixes (the second argument
  mapped along axis 1, the first shared; out_dims 1 and -1), a pytree
  argument (``{"a": x}`` with in_dims ``{"a": 0}``), against a loop;
- ``vmapempty``: vmap over zero examples gives results with a batch axis of
  length 0 and the example's shapes, and leaves the shared argument as the
  plain loop over zero examples does (unchanged);
- ``fresh``: the module global re-bound after a first derivative, and the
  function redefined by exec of its source (a notebook cell run again):
  the next derivative is that of the new code.

Usage: python tools/fuzz_features.py [first_seed] [count]
(NEWER=1 draws half the statements from the kinds of the last four items;
NEWEST=1 half from kind 19: x.tolist(), namedtuple _replace, lists through a
same-module function, in-place writes through a named view in a loop, complex
intermediates of np.fft.)
Failures are written to /tmp/fuzz_fail/features_<seed>.txt.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import fuzz_common  # noqa: E402
import fuzz_transforms as base  # noqa: E402
from fuzz_common import Failure, close, fd_matrix, leaves, runner  # noqa: E402
from fuzz_transforms import N  # noqa: E402

import adjoint  # noqa: E402

HELPERS = '''
import adjoint


def bump(v):
    return np.sum(np.sin(v) * v) + SCALE * np.sum(v ** 2)


def spread(v):
    return np.tanh(v) * np.sum(v) + SCALE * v


def keyed(v, scale=1.0):
    return np.sum(np.cos(v)) * scale


def apply_default(v, fn=np.tanh):
    return fn(v) * 2.0 + v


def apply_user(v, fn=spread):
    return fn(v * 0.5)


class Affine:
    def __init__(self, w):
        self.w = w

    def __call__(self, v):
        return self.w * v + np.sin(v)


class Accumulator:
    def __init__(self):
        self.total = 0.0

    def add(self, v):
        self.total = self.total + np.sum(v ** 2)
        return self.total


import functools
from dataclasses import dataclass, field

import scipy.linalg
import scipy.signal
import scipy.special
import scipy.stats

KERNEL = np.array([0.5, -1.0, 0.25])
COV = np.array([[2.0, 0.3, 0.1], [0.2, 3.0, 0.4], [0.1, 0.5, 4.0]])  # not symmetric: SciPy reads its lower triangle
BAND = np.array([[0.0, 0.5, 0.5, 0.5], [3.0, 3.0, 3.0, 3.0], [0.2, 0.2, 0.2, 0.0]])


def square(u):
    return u * u


def rate_pair(s, c):
    a, b = s[0], s[1]
    return np.array([a * b - c * np.sin(a), b / (1.5 + a * a) + square(c) * 0.1])


def rate_scalar(q, k):
    return np.tanh(q) * k - 0.1 * q ** 2 + np.exp(-q * q)


def rate_two(s):
    return s[0] * s[1], np.cos(s[0]) - s[1]


@dataclass
class Record:
    w: np.ndarray
    b: float = 0.5
    extra: np.ndarray = field(default_factory=lambda: np.ones(4))

    def __post_init__(self):
        self.w2 = self.w * self.b

    def apply(self, v):
        return np.tanh(self.w2 * v + self.extra * self.b)


class Pair:
    def __init__(self, a, b):
        self.a = a
        self.b = np.sin(b)

    @property
    def total(self):
        return self.a @ self.b

    def mix(self, v):
        return self.total * v + self.a * self.b


import collections

State = collections.namedtuple("State", "a b")


def grow(items, v):
    items.append(v * 2.0)
    return items


def ends(items):
    return items[0] * items[-1] + items[1]
'''


#: draw half the statements from the newest kinds (local Jacobians, records, SciPy, decompositions)
NEWER = bool(os.environ.get("NEWER"))
#: NEWEST=1: half the statements of kind 19 (tolist, _replace, lists through helpers, views in loops, np.fft)
NEWEST = bool(os.environ.get("NEWEST"))


class FeatureBuilder(base.Builder):
    """fuzz_transforms' programs with statements of the newest features."""

    def statement(self, ind, in_loop=False):
        if NEWEST and self.r(2):
            self.newer(ind, 19)
            return
        if NEWER and self.r(2):  # (NEWER=1: half the statements of kinds 13 to 18)
            self.newer(ind, self.choice([13, 14, 15, 16, 17, 18]))
            return
        if self.r(3):
            super().statement(ind, in_loop)
            return
        kind = self.choice([0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
        if kind >= 13:
            self.newer(ind, kind)
            return
        v, w = self.vec(), self.vec()
        target = self.new()
        if kind == 0:
            self.emit(ind, f"{target} = adjoint.grad(bump)({v}) * {w}")
        elif kind == 1:
            self.emit(ind, f"{target} = adjoint.jacrev(spread)({v}) @ {w}")
        elif kind == 2:
            self.emit(ind, f"{target} = adjoint.jacfwd(spread)({v}) @ np.sin({w})")
        elif kind == 4:
            self.emit(ind, f"{target} = adjoint.grad(keyed)({v}, {self.sca()}) + {w}")
        elif kind == 5:
            self.emit(ind, f"{target} = apply_default({v}) * {w}")
        elif kind == 6:
            self.emit(ind, f"{target} = apply_default({v}, {self.choice(['np.sin', 'np.cos', 'spread'])}) + {w}")
        elif kind == 7:
            self.emit(ind, f"{target} = apply_user({v}) * {w}")
        elif kind == 8:
            constant = self.choice(["np.zeros(4)", "np.ones(4)", "np.full(4, 0.5)", "np.zeros_like(x)",
                                    "np.linspace(0.0, 1.0, 4)"])
            if self.r(2):
                self.emit(ind, f"{target} = {constant} if {self.sca()} > {self.rng.uniform(-0.5, 0.5):.2f} "
                               f"else {self.expr()}")
            else:
                self.emit(ind, f"if {self.sca()} > {self.rng.uniform(-0.5, 0.5):.2f}:")
                self.emit(ind + 1, f"{target} = {self.expr()}")
                self.emit(ind, "else:")
                self.emit(ind + 1, f"{target} = {constant}")
        elif kind == 9:  # an infinite slope that only a zero cotangent or tangent reaches
            zero = self.choice([f"np.cbrt({v} - {v})", f"np.sqrt({v} * 0.0)", f"np.abs({v} - {v}) ** 0.5",
                                f"np.arcsin({v} * 0.0 + 1.0)"])
            form = self.r(3)
            if form == 0:
                held = f"p{self.count}"
                self.emit(ind, f"{held} = ({zero}, 2.0 * {w})")
                self.emit(ind, f"{target} = {held}[1]")
            elif form == 1:
                self.emit(ind, f"{target} = np.where({v} > 5.0, {zero}, {w})")
            else:
                self.emit(ind, f"{target} = np.where(np.abs({v}) > 5.0, {zero}, 1.0) * {w}")
        elif kind == 10:
            self.emit(ind, f"{target} = Affine({self.sca()})({v}) * {w}")
        elif kind == 11:
            acc = f"a{self.count}"
            self.emit(ind, f"{acc} = Accumulator()")
            self.emit(ind, f"{acc}.add({v})")
            self.emit(ind, f"{target} = {acc}.add({w}) * {v}")
        else:
            self.emit(ind, "try:")
            self.emit(ind + 1, f"if {self.sca()} > {self.rng.uniform(-0.5, 0.5):.2f}:")
            self.emit(ind + 2, "raise ValueError('large')")
            self.emit(ind + 1, f"{target} = {self.expr()}")
            self.emit(ind, "except ValueError:")
            self.emit(ind + 1, f"{target} = SCALE * {self.expr()}")
        self.vectors.append(target)

    def newer(self, ind, kind):
        """Statements of the local-Jacobian path, records, SciPy and decompositions."""
        v, w = self.vec(), self.vec()
        target = self.new()
        if kind == 13:  # rate functions stepped in a loop (the local-Jacobian path)
            state = f"st{self.count}"
            form = self.r(4)
            if form == 0:
                self.emit(ind, f"{state} = np.array([{v}[0], {w}[1]])")
                self.emit(ind, f"for k{self.count} in range({2 + self.r(3)}):")
                self.emit(ind + 1, f"{state} = {state} + 0.1 * rate_pair({state}, {self.sca()})")
                self.emit(ind, f"{target} = {v} * {state}[0] + {w} * {state}[1]")
            elif form == 1:
                self.emit(ind, f"{state} = {v}[{self.r(N)}] * 1.0")
                self.emit(ind, f"for k{self.count} in range(1, {2 + self.r(3)}):")
                self.emit(ind + 1, f"{state} = {state} + 0.1 * rate_scalar({state}, k{self.count})")
                self.emit(ind, f"{target} = {state} * {w}")
            elif form == 2:  # a closure over a differentiated value
                c, rate = f"c{self.count}", f"rate{self.count}"
                self.emit(ind, f"{c} = {self.sca()}")
                self.emit(ind, f"def {rate}(q):")
                self.emit(ind + 1, f"return -{c} * q + np.sin(q)")
                self.emit(ind, f"{state} = {v} * 1.0")
                self.emit(ind, f"for k{self.count} in range(3):")
                self.emit(ind + 1, f"{state} = {state} + 0.1 * {rate}({state})")
                self.emit(ind, f"{target} = {state} * {w}")
            else:  # two results unpacked
                self.emit(ind, f"{state} = np.array([{v}[0], {w}[2]])")
                self.emit(ind, f"for k{self.count} in range(3):")
                self.emit(ind + 1, f"p{self.count}, q{self.count} = rate_two({state})")
                self.emit(ind + 1, f"{state} = {state} + 0.1 * np.array([p{self.count}, q{self.count}])")
                self.emit(ind, f"{target} = {v} * {state}[0] - {state}[1]")
        elif kind == 14:  # record objects
            if self.r(2):
                rec = f"r{self.count}"
                self.emit(ind, f"{rec} = Record({v} * 1.0, {self.choice(['0.5', self.sca()])})")
                self.emit(ind, f"{target} = {rec}.apply({w}) + {rec}.w2")
            else:
                self.emit(ind, f"{target} = Pair({v}, {w}).mix({self.vec()})")
        elif kind == 15:  # SciPy
            self.autograd_ok = False
            self.emit(ind, f"{target} = " + self.choice([
                f"scipy.special.logsumexp({v}, b={w} ** 2 + 0.1) * {w}",
                f"scipy.special.logsumexp(np.outer({v}, {w}), axis={self.r(2)}, b=np.arange(1.0, 5.0))",
                f"scipy.special.xlogy({v} ** 2, {w} ** 2 + 1.0) + {v}",
                f"scipy.signal.convolve({v}, {w}[:3], mode='same')",
                f"scipy.signal.correlate({v}, KERNEL, mode='full')[1:5] * {w}",
                f"scipy.linalg.solve_banded((1, 1), BAND + np.stack([0.0 * {v}, {v} ** 2, 0.0 * {v}]), {w})",
                f"scipy.stats.multivariate_normal.logpdf({v}[:3], mean={w}[:3], cov=COV) * {w}",
                f"scipy.stats.norm.logpdf({v}, loc={w}, scale=1.0 + {w} ** 2)",
            ]))
        elif kind == 16:  # choices written as other calls
            self.autograd_ok = False
            self.emit(ind, f"{target} = " + self.choice([
                f"np.select([{v} > 0.3, {v} < -0.2], [{v} * {w}, np.sin({w})], default={w} * 2.0)",
                f"functools.reduce(lambda a, b: a * 0.5 + np.sin(b), [{v}, {w}, {v} * {w}])",
                f"functools.reduce(np.add, [{v}, {w} ** 2], {v} * 0.5)",
            ]))
        elif kind == 17:  # decompositions of a symmetric or general 4 x 4 matrix
            matrix = f"m{self.count}"
            self.emit(ind, f"{matrix} = np.outer({v}, {v}) + np.diag({w} ** 2 + 2.0)")
            self.emit(ind, f"{target} = " + self.choice([
                f"np.linalg.eigh({matrix})[0]",
                f"np.linalg.qr({matrix} + np.outer({w}, {v}))[1] @ {v}",
                f"np.linalg.pinv({matrix})[0]",
                f"np.linalg.lstsq({matrix}, {w}, rcond=None)[0]",
                f"np.linalg.matrix_power({matrix} * 0.3, 3) @ {w}",
                f"np.linalg.multi_dot([{v}, {matrix}, {matrix}])",
            ]))
        elif kind == 19:
            self.newest(ind, v, w, target)
        else:  # statistics of rows and Kronecker products
            self.emit(ind, f"{target} = " + self.choice([
                f"np.cov(np.stack([{v}, {w}, {v} * {w}, {w} ** 2]))[0] + {v}[:3].sum()",
                f"np.corrcoef(np.stack([{v}, {w} ** 2 + 0.1]))[0, 1] * {v}",
                f"np.kron({v}[:2], {w}[2:])",
            ]))
        self.vectors.append(target)

    def newest(self, ind, v, w, target):
        """tolist, namedtuple _replace, lists through helper functions,
        in-place writes through a named view in a loop, complex values of np.fft."""
        c = self.count
        form = self.r(5)
        if form == 0:
            self.emit(ind, f"t{c} = {v}.tolist()")
            choice = self.r(3)
            if choice == 0:
                self.emit(ind, f"{target} = np.array(t{c}[1:] + t{c}[:1]) * {w}")
            elif choice == 1:
                self.emit(ind, f"s{c} = 0.0")
                self.emit(ind, f"for e{c} in t{c}:")
                self.emit(ind + 1, f"s{c} = s{c} + e{c} * e{c}")
                self.emit(ind, f"{target} = s{c} * {w}")
            else:
                self.emit(ind, f"t{c}.append(sum(t{c}))")
                self.emit(ind, f"{target} = np.array(t{c}[:4]) * t{c}[-1] + {w}")
        elif form == 1:
            self.emit(ind, f"p{c} = State({v}, {w} * 2.0)")
            self.emit(ind, f"p{c} = p{c}._replace(b=np.sin(p{c}.a) + p{c}.b)")
            self.emit(ind, f"{target} = p{c}.a * p{c}.b")
        elif form == 2:
            self.emit(ind, f"l{c} = [{v}, {w}]")
            if self.r(2):
                self.emit(ind, f"l{c} = grow(l{c}, {self.vec()})")
            else:
                self.emit(ind, f"grow(l{c}, {self.vec()})")
            self.emit(ind, f"{target} = ends(l{c}) + len(l{c})")
        elif form == 3:
            base_ = f"u{c}"
            self.emit(ind, f"{base_} = np.zeros(6)")
            self.emit(ind, f"{base_}[1:5] = {v}")
            view = self.choice([f"{base_}[1:-1]", f"{base_}[2:]", f"{base_}[:4]"])
            self.emit(ind, f"in{c} = {view}")
            self.emit(ind, f"for k{c} in range({1 + self.r(3)}):")
            self.emit(ind + 1, self.choice([f"in{c} += 0.1 * ({base_}[:-2] - 2.0 * {base_}[1:-1] + {base_}[2:])",
                                             f"in{c} *= 0.5 + 0.1 * {w}",
                                             f"in{c}[0] = in{c}[0] + {base_}[5] * 0.5"]))
            self.emit(ind, f"{target} = {base_}[1:5] + {w}")
        else:
            self.autograd_ok = False
            self.emit(ind, f"{target} = " + self.choice([
                f"np.real(np.fft.ifft(np.fft.fft({v}) * np.fft.fft({w})))",
                f"np.abs(np.fft.fft({v} + 1j * {w})) + {v}",
                f"np.fft.irfft(np.fft.rfft({v}) * (1.0 + 0.5j), n=4) * {w}",
                f"np.imag(np.fft.fft({v}) * np.exp(1j * {w})) + {w}",
            ]))

    def program(self, statements):
        text = super().program(statements)
        return text.replace("\n\ndef program(x, y):", HELPERS + "\n\ndef program(x, y):", 1)


def _loop(program, xs, y, dims_of_y=None):
    results = []
    for b in range(xs.shape[0]):
        with np.errstate(all="ignore"):
            results.append(program(xs[b].copy(), y.copy()))
    return results


def extra_checks(module, rng, checks, source):
    """The checks of this module: ``[(name, "ok" | "WRONG ..." | ...)]``."""
    program = module.program
    x = rng.uniform(-1.0, 1.0, N)
    y = rng.uniform(-1.0, 1.0, N)
    results = []

    run = runner(checks, results)

    def t_vmap_dims():
        B = 3
        ys = rng.uniform(-1.0, 1.0, (B, N))
        loop = [program(x.copy(), ys[b].copy()) for b in range(B)]
        got = adjoint.vmap(program, in_dims=(None, 1), out_dims=-1)(x.copy(), ys.T.copy())
        for k, leaf in enumerate(leaves(loop[0])):
            want = np.stack([np.asarray(leaves(o)[k]) for o in loop], axis=-1)
            close(leaves(got)[k], want, f"vmap(in_dims=(None, 1), out_dims=-1) leaf {k}", rtol=1e-10, atol=1e-12)
        xs = rng.uniform(-1.0, 1.0, (B, N))
        loop = [program(xs[b].copy(), y.copy()) for b in range(B)]
        tree = adjoint.vmap(lambda d, c: program(d["a"], c), in_dims=({"a": 0}, None))({"a": xs.copy()}, y.copy())
        for k, leaf in enumerate(leaves(loop[0])):
            want = np.stack([np.asarray(leaves(o)[k]) for o in loop])
            close(leaves(tree)[k], want, f"vmap of a dict argument, leaf {k}", rtol=1e-10, atol=1e-12)

    def t_vmap_empty():
        example = program(x.copy(), y.copy())
        shared = y.copy()
        for warm in (False, True):
            batched = adjoint.vmap(program, in_dims=(0, None))
            if warm:
                batched(np.stack([x, x]), y.copy())
            got = batched(np.zeros((0, N)), shared)
            for k, leaf in enumerate(leaves(example)):
                if np.shape(leaves(got)[k]) != (0,) + np.shape(leaf):
                    raise Failure(f"vmap over zero examples, leaf {k}: shape {np.shape(leaves(got)[k])}, "
                                  f"expected {(0,) + np.shape(leaf)}")
            if not np.array_equal(shared, y):
                raise Failure(f"vmap over zero examples changed the shared argument: {shared} != {y}")

    def t_fresh():
        first = adjoint.jacrev(module.scalar)(x.copy(), y.copy())
        close(first, fd_matrix(module.scalar, (x, y), 1e-6)[0][:N], "jacrev before the changes")
        saved = module.SCALE
        try:
            module.SCALE = saved + 0.9
            again = adjoint.jacrev(module.scalar)(x.copy(), y.copy())
            close(again, fd_matrix(module.scalar, (x, y), 1e-6)[0][:N], "jacrev after SCALE is re-bound")
        finally:
            module.SCALE = saved
        # the cell run again with another constant: the derivative is that of the new code
        changed = source.replace("def scalar(x, y):\n    out = program(x * 1.0, y * 1.0)",
                                 "def scalar(x, y):\n    out = program(x * 1.5, y * 1.0)")
        namespace = vars(module)

        def run_cell(text):  # the file edited, then run again in the module's namespace
            with open(module.__file__, "w") as handle:
                handle.write(text)
            exec(compile(text, module.__file__, "exec"), namespace)

        run_cell(changed)
        try:
            third = adjoint.jacrev(module.scalar)(x.copy(), y.copy())
            close(third, fd_matrix(module.scalar, (x, y), 1e-6)[0][:N], "jacrev after scalar is redefined")
        finally:
            run_cell(source)

    for name, fn in (("vmapdims", t_vmap_dims), ("vmapempty", t_vmap_empty), ("fresh", t_fresh)):
        run(name, fn)
    return results


EXTRA = ["vmapdims", "vmapempty", "fresh"]


def _check(module, seed, checks, source):
    """The checks of fuzz_transforms, then this module's."""
    results = base.check(module, np.random.default_rng(10_000 + seed), checks)
    if isinstance(results, str):
        return results
    return results + extra_checks(module, np.random.default_rng(20_000 + seed), checks, source)


def main():
    fuzz_common.main(__doc__, lambda rng, stmts: FeatureBuilder(rng).program(stmts), _check, base.ALL + EXTRA,
                     "ff_", "features_", count=50, stmts=5)


if __name__ == "__main__":
    main()
