"""vmap of the functions that move elements (the shape family: reshape,
transpose, joins, splits, flips, rolls, sorts, pads, takes, ...), of SciPy's
logsumexp / softmax / log_softmax and of Python's sum / max / min / list /
tuple: each runs as one NumPy call on the whole batch (a per-example loop
is an error here: warnings are errors and the generated source is read),
and equals a loop over the examples exactly, dtype included. vmap(jacrev(f))
and vmap(jacfwd(f)) equal a loop of jacrev(f) / jacfwd(f), whose generated
code calls the shape family's backward and tangent helpers.

Also: every primitive with an adjoint rule has a batching rule, unless it is
elementwise or listed below with the reason it has none.

Functions are lambdas, one per line: adjoint reads their source.
"""
import builtins
import inspect
import warnings

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.special as sps

import adjoint
from adjoint import rules
from adjoint import runtime as rt
from adjoint.api import derivatives
from adjoint.backend import cache

B = 3
C23 = np.arange(6.0).reshape(2, 3)
IDX = np.array([[1, 0, 2], [0, 0, 1]])


def _examples(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((B,) + shape)


def _sources(compiled, seen=None):
    seen = set() if seen is None else seen
    if id(compiled) in seen:
        return []
    seen.add(id(compiled))
    found = [compiled.source]
    for callee in getattr(compiled, "callee_transforms", ()):
        found.extend(_sources(callee, seen))
    return found


def _assert_no_loop(func, positions=(0,)):
    for source in _sources(cache.get_vmap(func, positions)):
        assert "vmap_loop" not in source and "runs once per example" not in source, source


def _vmap_exact(func, X, in_dims=0, *others):
    """vmap(func)(X, *others) with warnings as errors, against the loop."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = adjoint.vmap(func, in_dims)(X, *others)
    expected = [func(x, *others) for x in X]
    if isinstance(got, (list, tuple)):
        assert isinstance(expected[0], (list, tuple)) and len(got) == len(expected[0])
        pairs = [(g, np.stack([np.asarray(e[i]) for e in expected])) for i, g in enumerate(got)]
    else:
        pairs = [(got, np.stack([np.asarray(e) for e in expected]))]
    for g, e in pairs:
        assert g.shape == e.shape, (g.shape, e.shape)
        assert g.dtype == e.dtype, (g.dtype, e.dtype)
        np.testing.assert_array_equal(g, e)


# (label, function, example shape, differentiate? True: jacrev and jacfwd, "rev": jacrev only)
CASES = [
    ("reshape", lambda x: np.reshape(x, (2, 3)), (6,), True),
    ("reshape-minus1", lambda x: np.reshape(x, (-1, 2)), (2, 3), True),
    ("reshape-keyword", lambda x: np.reshape(x, shape=(3, -1)), (6,), True),
    ("reshape-int", lambda x: np.reshape(x, 6), (2, 3), True),
    ("reshape-F", lambda x: np.reshape(x, (3, 2), order="F"), (2, 3), False),
    ("reshape-method", lambda x: x.reshape(3, 2), (6,), True),
    ("reshape-A", lambda x: np.reshape(x, (3, 2), order="A"), (2, 3), False),
    ("ravel", lambda x: np.ravel(x), (2, 3), True),
    ("atleast_1d", lambda x: np.atleast_1d(x), (), True),
    ("atleast_2d", lambda x: np.atleast_2d(x), (3,), True),
    ("atleast_3d", lambda x: np.atleast_3d(x), (2, 3), True),
    ("atleast_3d-1d", lambda x: np.atleast_3d(x), (3,), True),
    ("float", lambda x: float(x) * 2.0, (), False),
    ("float64", lambda x: np.float64(x), (), True),
    ("squeeze", lambda x: np.squeeze(x), (1, 3, 1), True),
    ("squeeze-axis", lambda x: np.squeeze(x, axis=-1), (1, 3, 1), True),
    ("squeeze-tuple", lambda x: np.squeeze(x, (0, 2)), (1, 3, 1), True),
    ("expand_dims", lambda x: np.expand_dims(x, 0), (2, 3), True),
    ("expand_dims-neg", lambda x: np.expand_dims(x, axis=-1), (2, 3), True),
    ("expand_dims-tuple", lambda x: np.expand_dims(x, (0, 3)), (2, 3), True),
    ("transpose", lambda x: np.transpose(x), (2, 3, 4), True),
    ("transpose-axes", lambda x: np.transpose(x, (1, 0, 2)), (2, 3, 4), True),
    ("transpose-neg", lambda x: np.transpose(x, axes=(-1, 0, 1)), (2, 3, 4), True),
    ("transpose-T", lambda x: x.T, (2, 3), True),
    ("transpose-of-reshape", lambda x: np.transpose(np.reshape(x, (2, 3))), (6,), True),
    ("swapaxes", lambda x: np.swapaxes(x, 0, -1), (2, 3, 4), True),
    ("moveaxis", lambda x: np.moveaxis(x, 0, -1), (2, 3, 4), True),
    ("moveaxis-lists", lambda x: np.moveaxis(x, [0, 1], [1, 2]), (2, 3, 4), True),
    ("rollaxis", lambda x: np.rollaxis(x, 2), (2, 3, 4), True),
    ("rollaxis-start", lambda x: np.rollaxis(x, -1, 1), (2, 3, 4), True),
    ("rollaxis-end", lambda x: np.rollaxis(x, 0, 3), (2, 3, 4), True),
    ("concatenate", lambda x: np.concatenate([x, x * 2.0]), (3,), True),
    ("concatenate-axis1", lambda x: np.concatenate([x, x[:, :1]], axis=1), (2, 3), True),
    ("concatenate-neg", lambda x: np.concatenate((x, C23), axis=-2), (2, 3), True),
    ("concatenate-None", lambda x: np.concatenate([x, C23[0]], axis=None), (2, 3), True),
    ("concatenate-array", lambda x: np.concatenate(x), (2, 3), True),
    ("stack", lambda x: np.stack([x, x * 3.0]), (3,), True),
    ("stack-axis-neg", lambda x: np.stack([x, C23], axis=-1), (2, 3), True),
    ("stack-axis1", lambda x: np.stack((x, x), axis=1), (2, 3), True),
    ("stack-rows", lambda x: np.stack(x), (2, 3), True),
    ("hstack-1d", lambda x: np.hstack([x, np.ones(2)]), (3,), True),
    ("hstack-2d", lambda x: np.hstack([x, C23]), (2, 3), True),
    ("vstack-1d", lambda x: np.vstack([x, x]), (3,), True),
    ("vstack-2d", lambda x: np.vstack([x, C23]), (2, 3), True),
    ("column_stack", lambda x: np.column_stack([x, x * 2.0]), (3,), True),
    ("column_stack-2d", lambda x: np.column_stack([x, C23]), (2, 3), True),
    ("dstack", lambda x: np.dstack([x, C23]), (2, 3), True),
    ("append", lambda x: np.append(x, x), (2, 3), True),
    ("append-axis", lambda x: np.append(x, C23[:1], axis=0), (2, 3), True),
    ("split", lambda x: np.split(x, 2)[1], (4,), True),
    ("split-indices", lambda x: np.split(x, [1, 2], axis=1)[2], (2, 4), True),
    ("split-neg", lambda x: np.split(x, 2, axis=-1)[0] * np.split(x, 2, axis=-1)[1], (2, 4), True),
    ("array_split", lambda x: np.array_split(x, 3)[0], (5,), True),
    ("hsplit", lambda x: np.hsplit(x, 2)[1], (2, 4), True),
    ("hsplit-1d", lambda x: np.hsplit(x, 2)[0], (4,), True),
    ("vsplit", lambda x: np.vsplit(x, 2)[1], (4, 2), True),
    ("dsplit", lambda x: np.dsplit(x, 2)[0], (2, 2, 4), True),
    ("diagonal", lambda x: np.diagonal(x), (3, 3), True),
    ("diagonal-offset", lambda x: np.diagonal(x, 1, -1, 0), (2, 3, 3), True),
    ("tril", lambda x: np.tril(x), (3, 3), True),
    ("tril-k", lambda x: np.tril(x, k=-1), (2, 3, 3), True),
    ("triu-k", lambda x: np.triu(x, 1), (3, 4), True),
    ("triu-1d", lambda x: np.triu(x), (3,), True),
    ("tril-reshape", lambda x: np.tril(np.reshape(x, (2, 3))), (6,), True),
    ("take_along_axis", lambda x: np.take_along_axis(x, np.array([1, 0]), axis=0), (3,), True),
    ("take_along_axis-2d", lambda x: np.take_along_axis(x, IDX, axis=1), (2, 3), True),
    ("take_along_axis-None", lambda x: np.take_along_axis(x, np.array([4, 0, 4]), axis=None), (2, 3), True),
    ("flip", lambda x: np.flip(x), (2, 3), True),
    ("flip-axis", lambda x: np.flip(x, axis=-1), (2, 3), True),
    ("flip-tuple", lambda x: np.flip(x, (0, 1)), (2, 3), True),
    ("fliplr", lambda x: np.fliplr(x), (2, 3), True),
    ("flipud", lambda x: np.flipud(x), (2, 3), True),
    ("rot90", lambda x: np.rot90(x), (2, 3), True),
    ("rot90-k", lambda x: np.rot90(x, 2, axes=(1, 0)), (2, 3), True),
    ("roll", lambda x: np.roll(x, 2), (2, 3), True),
    ("roll-axis", lambda x: np.roll(x, -1, axis=0), (2, 3), True),
    ("roll-neg", lambda x: np.roll(x, 1, axis=-1), (2, 3), True),
    ("roll-tuple", lambda x: np.roll(x, (1, 2), axis=(0, 1)), (2, 3), True),
    ("tile", lambda x: np.tile(x, 2), (3,), True),
    ("tile-2d", lambda x: np.tile(x, (2, 1, 2)), (2, 3), True),
    ("repeat", lambda x: np.repeat(x, 2), (2, 3), True),
    ("repeat-axis", lambda x: np.repeat(x, 2, axis=0), (2, 3), True),
    ("repeat-list", lambda x: np.repeat(x, [1, 0, 2], axis=-1), (2, 3), True),
    ("take", lambda x: np.take(x, [0, 2]), (2, 3), True),
    ("take-axis", lambda x: np.take(x, 1, axis=0), (2, 3), True),
    ("take-neg", lambda x: np.take(x, [[0, 2], [1, 1]], axis=-1), (2, 3), True),
    ("take-wrap", lambda x: np.take(x, [5, -1], mode="wrap"), (3,), True),
    ("broadcast_to", lambda x: np.broadcast_to(x, (2, 3)), (3,), True),
    ("broadcast_to-0d", lambda x: np.broadcast_to(x, 4), (), True),
    ("sort", lambda x: np.sort(x), (2, 3), True),
    ("sort-axis0", lambda x: np.sort(x, axis=0), (2, 3), True),
    ("sort-None", lambda x: np.sort(x, axis=None), (2, 3), True),
    ("sort-kind", lambda x: np.sort(x, kind="stable"), (4,), True),
    ("partition", lambda x: np.partition(x, 2), (5,), True),
    ("partition-axis", lambda x: np.partition(x, 1, axis=0), (3, 2), True),
    ("partition-None", lambda x: np.partition(x, 3, axis=None), (2, 3), True),
    ("fftshift", lambda x: np.fft.fftshift(x), (2, 3), True),
    ("fftshift-axes", lambda x: np.fft.fftshift(x, axes=-1), (2, 3), True),
    ("ifftshift", lambda x: np.fft.ifftshift(x, axes=(0,)), (3, 3), True),
    ("pad", lambda x: np.pad(x, 1), (2, 3), True),
    ("pad-widths", lambda x: np.pad(x, ((1, 2), (0, 1))), (2, 3), True),
    ("pad-constant", lambda x: np.pad(x, (2, 1), constant_values=5.0), (3,), True),
    ("pad-per-axis-constant", lambda x: np.pad(x, 1, constant_values=((1.0, 2.0), (3.0, 4.0))), (2, 3), True),
    ("pad-edge", lambda x: np.pad(x, 2, mode="edge"), (3,), True),
    ("pad-reflect", lambda x: np.pad(x, ((1, 1), (2, 0)), "reflect"), (2, 3), True),
    ("copy", lambda x: np.copy(x) * 2.0, (3,), True),
    ("asarray-list", lambda x: np.asarray([x, x * 2.0]), (3,), True),
    ("array-scalars", lambda x: np.array([x[0], 1.0, x[1]]), (3,), True),
    ("asarray-dtype", lambda x: np.asarray(x, dtype=np.float32), (3,), False),
    ("full", lambda x: np.full((2, 3), x), (), True),
    ("full-row", lambda x: np.full((2, 3), x), (3,), True),
    ("linspace", lambda x: np.linspace(x, 2.0 * x, 4), (), True),
    ("linspace-axis", lambda x: np.linspace(0.0, x, 3, axis=-1), (2,), True),
    ("astype", lambda x: x.astype(np.float32), (3,), False),
    ("logsumexp", lambda x: sps.logsumexp(x), (2, 3), True),
    ("logsumexp-axis", lambda x: sps.logsumexp(x, axis=-1, keepdims=True), (2, 3), True),
    ("softmax", lambda x: sps.softmax(x, axis=0), (2, 3), True),
    ("softmax-None", lambda x: sps.softmax(x), (2, 3), True),
    ("log_softmax", lambda x: sps.log_softmax(x, axis=1), (2, 3), True),
    ("cholesky", lambda x: sla.cholesky(x @ x.T + 3.0 * np.eye(3)), (3, 3), True),
    ("cholesky-lower", lambda x: sla.cholesky(x @ x.T + 3.0 * np.eye(3), lower=True), (3, 3), True),
    ("expm", lambda x: sla.expm(0.3 * x), (3, 3), True),
    ("solve_triangular", lambda x: sla.solve_triangular(np.tril(x) + 4.0 * np.eye(3), x[0], lower=True), (3, 3), True),
    ("solve_triangular-matrix", lambda x: sla.solve_triangular(np.triu(x) + 4.0 * np.eye(3), x, trans=1), (3, 3),
     True),
    ("cho_factor", lambda x: sla.cho_factor(x @ x.T + 3.0 * np.eye(3))[0], (3, 3), True),
    ("cho_solve", lambda x: sla.cho_solve(sla.cho_factor(x @ x.T + 3.0 * np.eye(3)), x[1]), (3, 3), True),
    ("sum-builtin", lambda x: sum([x[0], x[1] * 2.0, x]), (3,), True),
    ("sum-rows", lambda x: sum(x, 1.0), (4,), True),
    ("max-builtin", lambda x: max([x[0], x[1], x[2] * 0.5]), (3,), True),
    ("min-builtin", lambda x: min(x[0], x[2]), (3,), True),
    ("list", lambda x: np.stack(list(x)) * list(x)[1], (3,), True),
    ("tuple", lambda x: tuple(x)[1] * x, (2, 3), True),
]


# np.reshape(x, shape=...) is NumPy 2.1's spelling (newshape= before it)
if np.lib.NumpyVersion(np.__version__) < "2.1.0":
    CASES = [c for c in CASES if c[0] != "reshape-keyword"]


@pytest.mark.parametrize("label, func, shape, differentiable", CASES, ids=[c[0] for c in CASES])
def test_vmap_equals_the_loop(label, func, shape, differentiable):
    X = _examples(shape, len(label))
    _vmap_exact(func, X)
    _assert_no_loop(func)


def _jacobian_loop(transform, func, X):
    return np.stack([transform(func)(x) for x in X])


DERIVATIVE_CASES = [c for c in CASES if c[3]]


@pytest.mark.parametrize("label, func, shape, differentiable", DERIVATIVE_CASES,
                         ids=[c[0] for c in DERIVATIVE_CASES])
def test_vmap_of_jacobians_equals_the_loop(label, func, shape, differentiable):
    X = _examples(shape, len(label) + 1)
    for transform in (adjoint.jacrev,) if differentiable == "rev" else (adjoint.jacrev, adjoint.jacfwd):
        d = transform(func)
        expected = _jacobian_loop(transform, func, X)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = adjoint.vmap(d)(X)
        assert got.shape == expected.shape and got.dtype == expected.dtype, transform.__name__
        np.testing.assert_array_equal(got, expected, err_msg=transform.__name__)
        _assert_no_loop(derivatives.derivative_function(d, 1))


def test_jacobian_of_a_permutation_is_checked_against_its_matrix():
    # an independent reference: the Jacobian of np.sort is the permutation
    # matrix of its order, the one of np.roll the shifted identity
    X = _examples((5,), 7)
    got = adjoint.vmap(adjoint.jacrev(lambda x: np.sort(x)))(X)
    expected = np.stack([np.eye(5)[np.argsort(x, kind="stable")] for x in X])
    np.testing.assert_array_equal(got, expected)
    got = adjoint.vmap(adjoint.jacfwd(lambda x: np.roll(x, 2) * 3.0))(X)
    np.testing.assert_array_equal(got, np.broadcast_to(3.0 * np.roll(np.eye(5), 2, axis=0), (B, 5, 5)))


def test_items_shared_by_every_example_broadcast():
    X = _examples((2, 3), 3)
    shared = np.arange(6.0).reshape(2, 3) - 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for func in (lambda x, c: np.stack([x, c], axis=-1), lambda x, c: np.concatenate([c, x], axis=None),
                     lambda x, c: np.vstack([c, x, c]), lambda x, c: np.append(c, x, axis=1)):
            _vmap_exact(func, X, (0, None), shared)
            spd = shared @ shared.T + 3.0 * np.eye(2)
        _vmap_exact(lambda x, a: sla.cho_solve(sla.cho_factor(a), x), X, (0, None), spd)
        _vmap_exact(lambda x, a: sla.solve_triangular(a, x[:, 0], lower=True), X, (0, None), spd)
        # the batch on another axis of the argument
        func = lambda x: np.sort(np.reshape(x, (3, 2)), axis=0)  # noqa: E731 (adjoint reads the line)
        got = adjoint.vmap(func, -1)(np.moveaxis(X, 0, -1))
    np.testing.assert_array_equal(got, np.stack([func(x) for x in X]))


def test_take_along_axis_with_indices_of_each_example():
    X = _examples((4,), 11)
    func = lambda x: np.take_along_axis(x, np.argsort(x), axis=0) * x  # noqa: E731 (adjoint reads the line)
    _vmap_exact(func, X)
    expected = np.stack([adjoint.jacrev(func)(x) for x in X])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(adjoint.vmap(adjoint.jacrev(func))(X), expected)


def test_interp_and_gradient_under_vmap_of_jacobians():
    X = _examples((5,), 5)
    for func in (lambda x: np.interp(x, [-1.0, 0.0, 2.0], [1.0, 3.0, 2.0]), lambda x: np.gradient(x * x, 0.5)):
        for transform in (adjoint.jacrev, adjoint.jacfwd):
            expected = np.stack([transform(func)(x) for x in X])
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                got = adjoint.vmap(transform(func))(X)
            np.testing.assert_array_equal(got, expected)
    # an independent reference: the slope of each segment on the diagonal
    x = np.array([-0.5, 0.5, 1.0, 3.0])
    got = adjoint.vmap(adjoint.jacrev(lambda x: np.interp(x, [-1.0, 0.0, 2.0], [1.0, 3.0, 2.0])))(x[None])
    np.testing.assert_array_equal(got[0], np.diag([2.0, -0.5, -0.5, 0.0]))


SECOND_ORDER = [
    lambda x: np.sum(np.sort(x) * np.arange(6.0)),
    lambda x: np.sum(np.roll(np.reshape(x, (2, 3)), 1, axis=1) ** 2),
    lambda x: np.sum(np.transpose(np.reshape(x, (-1, 2))) ** 3 * np.arange(6.0).reshape(2, 3)),
    lambda x: sps.logsumexp(np.pad(x, 1) * np.sum(x)),
    lambda x: np.sum(np.take(np.tile(x, 2), [0, 7, 11]) ** 2),
    lambda x: np.sum(np.partition(x, 2)[:3] ** 3),
    lambda x: np.sum(np.flip(np.stack([x, x ** 2], axis=-1), axis=0) ** 2),
]


@pytest.mark.parametrize("index", range(len(SECOND_ORDER)))
def test_vmap_of_hessian_and_jacrev_of_vmap(index):
    func = SECOND_ORDER[index]
    X = _examples((6,), index)
    expected = np.stack([adjoint.hessian(func)(x) for x in X])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(adjoint.vmap(adjoint.hessian(func))(X), expected)
    # the batched code differentiated: its helpers are read as source
    jacobian = adjoint.jacrev(adjoint.vmap(func))(X)
    gradients = np.stack([adjoint.grad(func)(x) for x in X])
    np.testing.assert_allclose(jacobian[np.arange(B), np.arange(B)], gradients, rtol=1e-13, atol=1e-13)
    off_diagonal = jacobian[~np.eye(B, dtype=bool)]
    assert not np.any(off_diagonal)


def test_a_failure_of_one_example_is_numpys_error():
    with pytest.raises(ValueError):
        adjoint.vmap(lambda x: np.reshape(x, (4, 2)))(_examples((6,), 1))


def test_split_returns_every_piece():
    X = _examples((2, 4), 2)
    _vmap_exact(lambda x: np.split(x, 2, axis=1), X)


# ---------------------------------------------------------------- the registry

#: primitives with an adjoint rule and no batching rule, and why.
NO_BATCHING_RULE = {
    rt.identity: "the batching builder copies the value as it is",
    rt.copy: "the batching builder copies the value as it is",
    rt.entry_value: "the batching builder copies the value as it is",
    rt.getitem: "the batching builder indexes every example itself (rt.vmap_getitem)",
    rt.setitem: "the batching builder updates every example itself (rt.vmap_setitem)",
    rt.attribute: "a field of a batched container holds batched items: the builder reads it as it is",
    # runtime helpers that only vmap's own generated code or derivative code calls
    rt.batched_getitem: "a helper of forward code (item tangents), batched by rt.vitem_tangent",
    rt.rows_from_jacobian: "a helper of derivative code (Jacobian rows)",
    rt.columns_adjoint: "a helper of derivative code (Jacobian columns)",
    rt.to_batched: "vmap's own helper: it exists only in batched code",
    rt.vmap_getitem: "vmap's own helper: it exists only in batched code",
}


def test_every_adjoint_rule_has_a_batching_rule():
    exceptions = NO_BATCHING_RULE
    missing = [prim for prim in rules.registered_adjoints()
               if rules.lookup_batch(prim) is None and not rules.is_elementwise(prim)
               and rules.batched_by_flags_helper(prim) is None and prim not in exceptions]
    assert not missing, f"adjoint rules without a batching rule (write one, or list it with its reason): {missing}"
    stale = [prim for prim in exceptions if rules.lookup_batch(prim) is not None]
    assert not stale, f"listed without a batching rule, yet they have one: {stale}"


def _same_default(a, b):
    return type(a) is type(b) and a == b


def test_batching_rule_defaults_are_the_helper_defaults():
    # ``axis=axis`` is left out of the generated call when the user left it
    # out, so the helper's default must be the template's.
    import gast
    from adjoint.transforms.templates import batch_template_for

    problems = []
    for prim, fn in rules.BATCH_RULES.items():
        template = batch_template_for(fn)
        for node in (n for stmt in template.body for n in gast.walk(stmt)):
            if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                    and isinstance(node.func.value, gast.Name) and node.func.value.id == "rt"):
                continue
            helper = inspect.signature(getattr(rt, node.func.attr)).parameters
            for keyword in node.keywords:
                if (isinstance(keyword.value, gast.Name) and keyword.value.id == keyword.arg
                        and keyword.arg in template.defaults and keyword.arg in helper):
                    default = helper[keyword.arg].default
                    if default is inspect.Parameter.empty or not _same_default(default,
                                                                                 template.defaults[keyword.arg]):
                        problems.append(f"{fn.__name__}: rt.{node.func.attr} has {keyword.arg}={default!r}, "
                                        f"the template {template.defaults[keyword.arg]!r}")
    assert not problems, "\n".join(problems)


def test_builtins_are_python_functions():
    # (the registry keys of sum / max / min are Python's own functions)
    assert rules.lookup_batch(builtins.sum) is not None and rules.lookup_batch(builtins.max) is not None


def test_reshape_order_A_follows_the_examples_layout():
    func = lambda x: np.reshape(x, (3, 2), order="A")  # noqa: E731 (adjoint reads the line)
    X = _examples((2, 3), 9)
    fortran = np.asfortranarray(np.moveaxis(X, 0, -1))  # each example Fortran contiguous
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = adjoint.vmap(func, -1)(fortran)
    assert fortran[..., 0].flags.f_contiguous
    np.testing.assert_array_equal(got, np.stack([func(fortran[..., i]) for i in range(B)]))
    assert not np.array_equal(got, np.stack([np.reshape(x, (3, 2)) for x in X]))  # (not C order)
