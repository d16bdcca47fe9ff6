"""Defects found by an outside-tester hunt over the newest features (vmap
with in_dims/out_dims, sparse=True, executors, derivatives called again on
other shapes and dtypes, compositions), each checked against an independent
reference: an analytic derivative written here, autograd, or central
differences."""
import numpy as np
import pytest

import adjoint

sparse = pytest.importorskip("scipy.sparse")


# ---------------------------------------------------------------- sparse=True with float16 inputs


def _sin_times_first(x):
    return np.sin(x) * x[0]


def _sin_times_first_jacobian(x):
    """Analytic Jacobian of sin(x) * x[0]."""
    x = np.asarray(x, dtype=np.float64)
    jac = np.diag(np.cos(x) * x[0])
    jac[:, 0] += np.sin(x)
    return jac


@pytest.mark.parametrize("mode", ["jacrev", "jacfwd"])
def test_sparse_jacobian_of_float16_input_is_a_usable_float32_matrix(mode):
    # SciPy's sparse matrices have no float16: the result used to be a
    # csr_matrix whose every use (toarray, @, printing) raised.
    x = np.array([0.1, 0.5, 0.9], dtype=np.float16)
    jac = getattr(adjoint, mode)(_sin_times_first, sparse=True)(x)
    assert jac.dtype == np.float32
    np.testing.assert_allclose(jac.toarray(), _sin_times_first_jacobian(x), rtol=1e-2, atol=1e-3)


def test_sparse_hessian_of_float16_input_is_a_usable_float32_matrix():
    x = np.array([0.1, 0.5, 0.9], dtype=np.float16)
    hess = adjoint.hessian(lambda v: np.sum(np.sin(v) * v[0]), sparse=True)(x)
    assert hess.dtype == np.float32
    xd = x.astype(np.float64)
    want = np.diag(-np.sin(xd) * xd[0])   # d2/dx_i dx_j of sum(sin(x)) * x[0]
    want[0, :] += np.cos(xd)
    want[:, 0] += np.cos(xd)
    np.testing.assert_allclose(hess.toarray(), want, rtol=1e-2, atol=1e-2)


# ---------------------------------------------------------------- vmap of second derivatives of dict-building code

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")


def _dict_program(np):
    def f(x):
        d = {"a": x[:2], "b": [x[2], x[3:]]}
        d["a"] = d["a"] * d["b"][0]
        return np.sum(d["a"] * np.exp(0.3 * x[:2])) + np.sum(d["b"][1] ** 3) * d["a"][1]
    return f


def _nested_dict_program(np):
    def f(x):
        d = {"p": x[:3] ** 2, "q": {"r": np.sin(x[3:]), "s": (x[0], x[1] * x[4])}}
        return np.sum(d["p"] * d["q"]["r"][0]) + d["q"]["s"][0] * d["q"]["s"][1] ** 2
    return f


BATCH = np.random.default_rng(0).uniform(-1.0, 1.0, (3, 5))


def test_vmap_hessian_of_a_function_building_a_dict():
    # The batched tangent of a dict's cotangent reached rt.vmerged_g, which
    # merged the leading axes of lists and tuples only: IndexError inside
    # the library.
    got = adjoint.vmap(adjoint.hessian(_dict_program(np)))(BATCH)
    want = np.stack([autograd.hessian(_dict_program(anp))(row) for row in BATCH])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_vmap_jacfwd_jacfwd_of_a_function_building_nested_dicts():
    # Forward over forward code makes dicts by rt.make_dict(keys, *values);
    # vmap broadcast the keys tuple as if it were a batched item
    # (TypeError: unhashable type), after the normaliser had crashed on the
    # call form having no literal keys.
    for program in (_dict_program, _nested_dict_program):
        got = adjoint.vmap(adjoint.jacfwd(adjoint.jacfwd(program(np))))(BATCH)
        want = np.stack([autograd.hessian(program(anp))(row) for row in BATCH])
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
