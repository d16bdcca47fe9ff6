"""Issue 9, section 4: np.insert, np.bincount with weights, reductions with
where= (and initial=), .item() of a size-1 array, and zip's tuples taken
apart (ws, bs = zip(*params), list(zip(*params)), a, b = zip(u, v), a for
loop over zip(*params)), rewritten by the normalizer to forms that have
rules (frontend/normalize_numpy_forms).
One function holds them all, so each transform compiles once: jacrev
against central differences, jacfwd against jacrev, the hessian against
central differences of the checked gradient, vmap of jacrev against each
example's jacrev; NumPy's own values against the function run as written."""
import collections
import dataclasses

import numpy as np
import pytest

import adjoint
from conftest import jacobian_matrix, numerical_jacobian

MASK = np.array([[True, False, True], [True, True, False]])
BINS = np.array([0, 3, 3, 1, 0, 3])


def zipped(params):
    ws, bs = zip(*params)                   # unpacked: list(zip(*params)), the same columns
    first, second = zip(ws[0], bs[1])       # the tuples of a zip of two arrays, unpacked
    total = 0.0
    for w, b in zip(*params):               # looped over
        total = total + np.sum(w * b)
    return np.stack([total, np.sum(bs[0] ** 2) + first[1] * second[0] + ws[1] @ bs[0]])


def many_forms(x):
    m = np.reshape(x, (2, 3))
    ins = np.concatenate([
        np.insert(x, slice(1, 3), np.sin(x[:2])),          # a slice, one value each
        np.ravel(np.insert(m, [0, 2], x[:2], axis=1)),     # a list of indices along an axis
        np.ravel(np.insert(m, 1, 0.5, axis=0)),            # an integer index, a constant broadcast along a row
    ])
    binned = np.bincount(BINS, weights=x * x, minlength=6)
    reduced = np.stack([
        np.sum(m.sum(axis=1, where=MASK, initial=2.0)),        # the method
        np.mean(m ** 3, axis=0, where=MASK)[0],
        np.prod(m, where=MASK),
        np.max(m, where=MASK, initial=-np.inf),
    ])
    one = x[2:3].item()
    return np.concatenate([ins * one, binned, reduced * x[0], [one * float(x[4])],
                           zipped([(x[0:2], x[2:4]), (x[4:6], x[1:3])])])


X = np.array([0.7, -1.3, 0.4, 1.9, -0.6, 1.1])


def test_values_are_numpys():
    # the rewritten code computes the function's own numbers (jvp's primal output)
    value, _ = adjoint.jvp(many_forms, (X,), (np.ones_like(X),))
    np.testing.assert_allclose(value, many_forms(X), rtol=1e-15, atol=0)


def test_jacobians_hessian_and_vmap():
    expected = numerical_jacobian(many_forms, (X,))
    jac = adjoint.jacrev(many_forms)(X)
    np.testing.assert_allclose(jac, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(adjoint.jacfwd(many_forms)(X), jac, rtol=1e-12, atol=1e-12)

    def scalar(x):
        return np.sum(np.sin(many_forms(x)))

    gradient = adjoint.grad(scalar)
    np.testing.assert_allclose(adjoint.hessian(scalar)(X), numerical_jacobian(gradient, (X,)),
                               rtol=1e-5, atol=1e-6)
    batch = np.stack([X, X[::-1] * 0.9])
    batched = adjoint.vmap(adjoint.jacrev(many_forms))(batch)
    for row, x in zip(batched, batch, strict=True):
        np.testing.assert_allclose(row, adjoint.jacrev(many_forms)(x), rtol=1e-12, atol=1e-12)


def test_item_of_a_larger_array_is_numpys_error():
    def bad(x):
        return x.item() * 2.0

    with pytest.raises(ValueError, match="size 1"):
        adjoint.jacrev(bad)(X)


def read_whole(params):
    columns = list(zip(*params))
    return zipped(params) * np.sum(columns[1][0] * columns[0][1])


def test_zip_of_argument_rows():
    # the rows passed in (many_forms builds them): jacrev against central differences
    params = [(X[0:2], X[2:4]), (X[4:6], X[1:3])]
    jac = jacobian_matrix(adjoint.jacrev(read_whole)(params), read_whole(params), params)
    flat = np.concatenate([X[0:2], X[2:4], X[4:6], X[1:3]])

    def of_flat(v):
        return read_whole([(v[0:2], v[2:4]), (v[4:6], v[6:8])])

    np.testing.assert_allclose(jac, numerical_jacobian(of_flat, (flat,)), rtol=1e-7, atol=1e-8)


@dataclasses.dataclass
class Config:
    scale: np.ndarray
    shift: np.ndarray


def configured(config, x):
    changed = dataclasses.replace(config, scale=x * x)
    fields = dataclasses.asdict(changed)
    return fields["scale"] * fields["shift"] + np.sin(x) * dataclasses.asdict(config)["scale"]


def test_dataclass_argument_replaced_and_as_dict():
    # a dataclass passed in (not differentiated): replace / asdict follow it
    config = Config(np.array([2.0, -1.0]), np.array([0.5, 3.0]))
    x = np.array([0.3, -0.8])
    jac = adjoint.jacrev(configured, argnums=1)(config, x)
    np.testing.assert_allclose(jac, np.diag(2 * x * config.shift + np.cos(x) * config.scale), rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(configured, argnums=1)(config, x), jac, rtol=1e-12)

    def total(config, x):
        changed = dataclasses.replace(config, scale=x * x)
        return np.sum(dataclasses.asdict(changed)["scale"] * config.shift + np.sin(x) * config.scale)

    np.testing.assert_allclose(adjoint.hessian(total, argnums=1)(config, x),
                               np.diag(2 * config.shift - np.sin(x) * config.scale), rtol=1e-12)
    batched = adjoint.vmap(adjoint.jacrev(configured, argnums=1), in_dims=(None, 0))(config, np.stack([x, -x]))
    np.testing.assert_allclose(batched[1], np.diag(-2 * x * config.shift + np.cos(x) * config.scale), rtol=1e-12)


Pair = collections.namedtuple("Pair", "a b")


def test_namedtuple_replace_of_fields_known_only_when_it_runs_names_the_fix():
    def doubled(p, name="a"):
        q = p._replace(**{name: p.a * 2.0})
        return q.a * q.b

    with pytest.raises(adjoint.errors.UnsupportedSyntaxError, match=r"test_funcs4.py:\d+: .*P\(a=v, b=p.b\)"):
        adjoint.jacrev(doubled)(Pair(np.ones(2), np.ones(2)))
