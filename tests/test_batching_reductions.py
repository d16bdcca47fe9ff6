"""vmap of the reductions family: each primitive runs as one NumPy call on
the whole batch (no per-example loop anywhere in the generated code), and
matches a loop over the examples. Also vmap of grad / jacrev of functions
built on reductions, whose generated backward code calls the runtime
helpers (unbroadcast, unreduce, extremum_adjoint, var_adjoint, ...).

Functions are lambdas, one per line: adjoint reads their source.
"""
import warnings
import zlib

import numpy as np
import pytest

import adjoint
from adjoint.backend import cache

B = 5


class Case:
    def __init__(self, label, func, shapes, nan=False, positive=False):
        self.label = label
        self.func = func
        self.shapes = shapes
        self.nan = nan
        self.positive = positive

    def examples(self):
        """One list of arguments per example."""
        rng = np.random.default_rng(zlib.crc32(self.label.encode()))
        out = []
        for _ in range(B):
            args = []
            for shape in self.shapes:
                value = rng.uniform(0.5, 2.0, shape) if self.positive else rng.standard_normal(shape)
                if self.nan and value.size > 1:
                    value.flat[rng.integers(0, value.size)] = np.nan
                args.append(value)
            out.append(args)
        return out


CASES = [
    Case("sum", lambda a: np.sum(a), [(3, 4)]),
    Case("sum-axis0", lambda a: np.sum(a, axis=0), [(3, 4)]),
    Case("sum-axis-1-keep", lambda a: np.sum(a, axis=-1, keepdims=True), [(3, 4)]),
    Case("sum-tuple", lambda a: np.sum(a, axis=(0, 2)), [(2, 3, 4)]),
    Case("sum-0d", lambda a: np.sum(a), [()]),
    Case("sum-0d-axis0", lambda a: np.sum(a, axis=0), [()]),
    Case("sum-list", lambda a, b: np.sum([a, b], axis=0), [(3,), (3,)]),
    Case("sum-dtype", lambda a: np.sum(a, axis=1, dtype=np.float32), [(3, 4)]),
    Case("mean", lambda a: np.mean(a), [(3, 4)]),
    Case("mean-axis", lambda a: np.mean(a, axis=1, keepdims=True), [(3, 4)]),
    Case("prod", lambda a: np.prod(a), [(3, 4)]),
    Case("prod-axis", lambda a: np.prod(a, axis=-2), [(3, 4)]),
    Case("max", lambda a: np.max(a), [(3, 4)]),
    Case("max-axis", lambda a: np.max(a, axis=0, keepdims=True), [(3, 4)]),
    Case("amax", lambda a: np.amax(a, axis=1), [(3, 4)]),
    Case("min", lambda a: np.min(a, axis=(0, 1)), [(3, 4)]),
    Case("amin", lambda a: np.amin(a), [(3, 4)]),
    Case("var", lambda a: np.var(a), [(3, 4)]),
    Case("var-ddof", lambda a: np.var(a, axis=0, ddof=1), [(3, 4)]),
    Case("std", lambda a: np.std(a, axis=-1, keepdims=True), [(3, 4)]),
    Case("std-ddof", lambda a: np.std(a, ddof=1), [(3, 4)]),
    Case("average", lambda a: np.average(a), [(3, 4)]),
    Case("average-axis", lambda a: np.average(a, axis=1), [(3, 4)]),
    Case("average-weights", lambda a, w: np.average(a, weights=w), [(3, 4), (3, 4)], positive=True),
    Case("average-weights-1d", lambda a, w: np.average(a, axis=0, weights=w), [(3, 4), (3,)], positive=True),
    Case("average-weights-keep", lambda a, w: np.average(a, axis=1, weights=w, keepdims=True), [(3, 4), (4,)],
         positive=True),
    *([  # NumPy >= 2.0
        Case("trapezoid", lambda y: np.trapezoid(y), [(3, 4)]),
        Case("trapezoid-axis0", lambda y: np.trapezoid(y, axis=0), [(3, 4)]),
        Case("trapezoid-x", lambda y, x: np.trapezoid(y, x), [(3, 4), (4,)]),
        Case("trapezoid-x-nd", lambda y, x: np.trapezoid(y, x, axis=0), [(3, 4), (3, 4)]),
        Case("trapezoid-dx", lambda y, dx: np.trapezoid(y, dx=dx), [(3, 4), ()]),
    ] if hasattr(np, "trapezoid") else []),
    Case("interp", lambda x: np.interp(x, np.array([-1.0, 0.0, 2.0]), np.array([1.0, 3.0, -1.0])), [(6,)]),
    Case("interp-left", lambda x: np.interp(x, np.array([-1.0, 0.0, 1.0]), np.array([1.0, 3.0, -1.0]), left=0.0,
                                            right=5.0), [(6,)]),
    Case("trace", lambda a: np.trace(a), [(4, 4)]),
    Case("trace-offset", lambda a: np.trace(a, offset=1, axis1=1, axis2=2), [(2, 3, 4)]),
    Case("trace-neg", lambda a: np.trace(a, axis1=-1, axis2=-2), [(3, 3)]),
    Case("norm", lambda x: np.linalg.norm(x), [(3, 4)]),
    Case("norm-vector", lambda x: np.linalg.norm(x), [(5,)]),
    Case("norm-keep", lambda x: np.linalg.norm(x, keepdims=True), [(3, 4)]),
    Case("norm-ord1", lambda x: np.linalg.norm(x, ord=1), [(5,)]),
    Case("norm-ord-inf", lambda x: np.linalg.norm(x, ord=np.inf), [(5,)]),
    Case("norm-fro", lambda x: np.linalg.norm(x, ord="fro"), [(3, 4)]),
    Case("norm-matrix-ord1", lambda x: np.linalg.norm(x, ord=1), [(3, 4)]),
    Case("norm-axis", lambda x: np.linalg.norm(x, axis=1), [(3, 4)]),
    Case("norm-axis-pair", lambda x: np.linalg.norm(x, axis=(0, 2)), [(2, 3, 4)]),
    Case("cumsum", lambda a: np.cumsum(a), [(3, 4)]),
    Case("cumsum-axis", lambda a: np.cumsum(a, axis=1), [(3, 4)]),
    Case("cumsum-neg", lambda a: np.cumsum(a, axis=-2), [(3, 4)]),
    Case("cumprod", lambda a: np.cumprod(a), [(3, 4)]),
    Case("cumprod-axis", lambda a: np.cumprod(a, axis=0), [(3, 4)]),
    Case("diff", lambda a: np.diff(a), [(3, 4)]),
    Case("diff-n2-axis0", lambda a: np.diff(a, n=2, axis=0), [(4, 3)]),
    Case("median", lambda a: np.median(a), [(3, 4)]),
    Case("median-axis", lambda a: np.median(a, axis=0, keepdims=True), [(3, 4)]),
    Case("quantile", lambda a: np.quantile(a, 0.3), [(3, 4)]),
    Case("quantile-q", lambda a: np.quantile(a, [0.1, 0.5, 0.9], axis=1), [(3, 4)]),
    Case("quantile-q-keep", lambda a: np.quantile(a, [0.25, 0.75], axis=0, keepdims=True), [(3, 4)]),
    Case("percentile", lambda a: np.percentile(a, 40.0, axis=-1), [(3, 4)]),
    Case("percentile-q", lambda a: np.percentile(a, [10.0, 90.0], method="nearest"), [(3, 4)]),
    Case("nansum", lambda a: np.nansum(a), [(3, 4)], nan=True),
    Case("nansum-axis", lambda a: np.nansum(a, axis=1), [(3, 4)], nan=True),
    Case("nanmean", lambda a: np.nanmean(a, axis=0), [(3, 4)], nan=True),
    Case("nanprod", lambda a: np.nanprod(a), [(3, 4)], nan=True),
    Case("nanmax", lambda a: np.nanmax(a, axis=1), [(3, 4)], nan=True),
    Case("nanmin", lambda a: np.nanmin(a), [(3, 4)], nan=True),
    Case("nanvar", lambda a: np.nanvar(a, ddof=1), [(3, 4)], nan=True),
    Case("nanstd", lambda a: np.nanstd(a, axis=0, keepdims=True), [(3, 4)], nan=True),
    Case("ptp", lambda a: np.ptp(a), [(3, 4)]),
    Case("ptp-axis", lambda a: np.ptp(a, axis=1, keepdims=True), [(3, 4)]),
    Case("ediff1d", lambda a: np.ediff1d(a), [(3, 4)]),
    Case("ediff1d-ends", lambda a: np.ediff1d(a, to_end=np.array([7.0, 8.0]), to_begin=-1.0), [(5,)]),
    Case("argmax", lambda a: np.argmax(a), [(3, 4)]),
    Case("argmax-axis", lambda a: np.argmax(a, axis=0), [(3, 4)]),
    Case("argmax-keep", lambda a: np.argmax(a, axis=-1, keepdims=True), [(3, 4)]),
    Case("argmin", lambda a: np.argmin(a, axis=1), [(3, 4)]),
    Case("argmin-none-keep", lambda a: np.argmin(a, keepdims=True), [(3, 4)]),
    Case("argsort", lambda a: np.argsort(a), [(3, 4)]),
    Case("argsort-axis0", lambda a: np.argsort(a, axis=0, kind="stable"), [(3, 4)]),
    Case("argsort-none", lambda a: np.argsort(a, axis=None), [(3, 4)]),
    Case("count_nonzero", lambda a: np.count_nonzero(np.greater(a, 0.0)), [(3, 4)]),
    Case("count_nonzero-axis", lambda a: np.count_nonzero(np.greater(a, 0.0), axis=1), [(3, 4)]),
    Case("any", lambda a: np.any(np.greater(a, 1.0)), [(3, 4)]),
    Case("all-axis", lambda a: np.all(np.greater(a, -1.0), axis=0, keepdims=True), [(3, 4)]),
]


def _sources(compiled, seen=None):
    seen = set() if seen is None else seen
    if id(compiled) in seen:
        return []
    seen.add(id(compiled))
    found = [compiled.source]
    for callee in getattr(compiled, "callee_transforms", ()):
        found.extend(_sources(callee, seen))
    return found


def _assert_no_loop(func, positions):
    for source in _sources(cache.get_vmap(func, positions)):
        assert "vmap_loop" not in source and "runs once per example" not in source, source


def _dims_variants(case):
    """(label, in_dims) to check: batch axis first, batch axis last, and
    (with several arguments) each argument unbatched in turn."""
    variants = [("dim0", (0,) * len(case.shapes)),
                ("dimlast", tuple(len(shape) for shape in case.shapes))]
    if len(case.shapes) > 1:
        for i in range(len(case.shapes)):
            variants.append((f"none{i}", tuple(None if j == i else 0 for j in range(len(case.shapes)))))
    return variants


def _run(func, examples, in_dims):
    """vmap(func, in_dims) on the stacked examples, and the loop it must match."""
    args = []
    for position, dim in enumerate(in_dims):
        if dim is None:
            args.append(examples[0][position])
        else:
            args.append(np.moveaxis(np.stack([e[position] for e in examples]), 0, dim))
    expected = np.stack([
        np.asarray(func(*[examples[0][p] if d is None else e[p] for p, d in enumerate(in_dims)]))
        for e in examples])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = adjoint.vmap(func, in_dims)(*args)
    return got, expected


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_vmap_reduction(case):
    examples = case.examples()
    for label, in_dims in _dims_variants(case):
        got, expected = _run(case.func, examples, in_dims)
        assert got.shape == expected.shape, (label, got.shape, expected.shape)
        assert got.dtype == expected.dtype, (label, got.dtype, expected.dtype)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14, err_msg=label)
        positions = tuple(i for i, d in enumerate(in_dims) if d is not None)
        _assert_no_loop(case.func, positions)


# ---------------------------------------------------------------- vmap of derivatives

def softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def weighted_softmax(x):
    return np.sum(softmax(x) * np.arange(x.shape[0]))


def log_sum_exp(x):
    m = np.max(x, axis=-1, keepdims=True)
    return np.sum(m) + np.sum(np.log(np.sum(np.exp(x - m), axis=-1)))


def standardize(x):
    return (x - np.mean(x, axis=0)) / np.std(x, axis=0)


DERIVATIVE_CASES = [
    # (case for jacrev, the same summed to a scalar for grad)
    (Case("sin2", lambda x: np.sin(x) ** 2, [(4,)]),
     lambda x: np.sum(np.sin(x) ** 2)),
    (Case("sin2-matrix", lambda x: np.sum(np.sin(x) ** 2, axis=0), [(3, 4)]),
     lambda x: np.sum(np.sin(x) ** 2)),
    (Case("softmax", softmax, [(5,)]),
     lambda x: np.sum(softmax(x) ** 2)),
    (Case("weighted-softmax", weighted_softmax, [(5,)]), weighted_softmax),
    (Case("logsumexp", log_sum_exp, [(3, 4)]), log_sum_exp),
    (Case("standardize", standardize, [(4, 3)]),
     lambda x: np.sum(standardize(x) * np.arange(3.0))),
    (Case("mean", lambda x: np.mean(x ** 2, axis=1), [(3, 4)]),
     lambda x: np.mean(x ** 3)),
    (Case("prod", lambda x: np.prod(x, axis=0), [(3, 4)]),
     lambda x: np.prod(x)),
    (Case("max", lambda x: np.max(x * x, axis=1) + np.min(x), [(3, 4)]),
     lambda x: np.max(x * x) - np.min(x)),
    (Case("var", lambda x: np.var(x, axis=0, ddof=1), [(3, 4)]),
     lambda x: np.var(x)),
    (Case("std", lambda x: np.std(x, axis=1, keepdims=True), [(3, 4)]),
     lambda x: np.std(x, ddof=1)),
    (Case("cumsum", lambda x: np.cumsum(x ** 2, axis=1), [(3, 4)]),
     lambda x: np.sum(np.cumsum(x, axis=0) ** 2)),
    (Case("cumsum-flat", lambda x: np.cumsum(x), [(3, 4)]),
     lambda x: np.sum(np.cumsum(x) ** 2)),
    (Case("diff", lambda x: np.diff(np.sin(x), n=2), [(3, 5)]),
     lambda x: np.sum(np.diff(x, axis=0) ** 2)),
    (Case("trace", lambda x: np.trace(np.sin(x)) * x, [(3, 3)]),
     lambda x: np.trace(x * x)),
    (Case("norm", lambda x: np.linalg.norm(x, axis=1), [(3, 4)]),
     lambda x: np.linalg.norm(x)),
    (Case("norm-ord1", lambda x: np.linalg.norm(x, ord=1, axis=0, keepdims=True), [(3, 4)]),
     lambda x: np.sum(np.linalg.norm(x, ord=3, axis=1))),
    (Case("norm-inf", lambda x: np.linalg.norm(x, ord=np.inf, axis=1), [(3, 4)]),
     lambda x: np.sum(np.linalg.norm(x, ord=np.inf, axis=0))),
    (Case("cumprod", lambda x: np.cumprod(x, axis=1), [(3, 4)]),
     lambda x: np.sum(np.cumprod(x))),
    (Case("ediff1d", lambda x: np.ediff1d(x, to_begin=0.0), [(3, 4)]),
     lambda x: np.sum(np.ediff1d(x) ** 2)),
    (Case("ptp", lambda x: np.ptp(x, axis=0), [(3, 4)]),
     lambda x: np.ptp(x)),
    (Case("nansum", lambda x: np.nansum(x, axis=0), [(3, 4)], nan=True),
     lambda x: np.nansum(x ** 2)),
    (Case("nanmean", lambda x: np.nanmean(x, axis=1), [(3, 4)], nan=True),
     lambda x: np.nanmean(x ** 2)),
    (Case("nanmax", lambda x: np.nanmax(x, axis=1), [(3, 4)], nan=True),
     lambda x: np.nanmin(x)),
    (Case("broadcast", lambda x, y: np.sum(x * y, axis=0), [(3, 4), (4,)]),
     lambda x, y: np.sum(x * y)),
    (Case("broadcast-none", lambda x, y: np.sum((x + y) ** 2, axis=1), [(3, 1), (4,)]),
     lambda x, y: np.sum((x + y) ** 2)),
]


@pytest.mark.parametrize("transform", ["grad", "jacrev"])
@pytest.mark.parametrize("case, scalar", DERIVATIVE_CASES, ids=[c.label for c, _ in DERIVATIVE_CASES])
def test_vmap_of_derivative(case, scalar, transform):
    from adjoint.api import derivatives

    d = adjoint.grad(scalar) if transform == "grad" else adjoint.jacrev(case.func)
    examples = case.examples()
    for label, in_dims in _dims_variants(case):
        got, expected = _run(d, examples, in_dims)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14, err_msg=label)
        positions = tuple(i for i, dim in enumerate(in_dims) if dim is not None)
        _assert_no_loop(derivatives.derivative_function(d, len(case.shapes)), positions)
