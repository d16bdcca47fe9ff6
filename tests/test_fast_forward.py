"""jacfwd's short path for one float array (api/fast_forward.py) and the
fused tangent code of elementwise bodies (backend/fuse_tangents.py),
checked against analytic derivatives and the general path."""
import numpy as np

import adjoint
from adjoint import runtime


def elementwise(x):
    return np.sin(x) * np.exp(-x ** 2) + x ** 3


def elementwise_slope(x):
    return (np.cos(x) - 2.0 * x * np.sin(x)) * np.exp(-x * x) + 3.0 * x * x


def test_short_path_matches_the_formula_and_the_general_path():
    x = np.random.default_rng(0).standard_normal((3, 4))
    jac = adjoint.jacfwd(elementwise)
    got = jac(x)
    expected = np.diag(elementwise_slope(x).ravel()).reshape(3, 4, 3, 4)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    # the general path (chunks of columns) pushes the same tangent code
    np.testing.assert_array_equal(adjoint.jacfwd(elementwise, chunk_size=5)(x), got)
    assert got.dtype == x.dtype and got.flags.writeable and got.flags.c_contiguous
    # the result is the caller's: writing into it changes neither the
    # shared basis nor the next result
    got[...] = 7.0
    basis = runtime.identity_rows(x.shape, x.dtype)
    assert not basis.flags.writeable
    np.testing.assert_array_equal(basis.reshape(12, 12), np.eye(12))
    np.testing.assert_allclose(jac(x), expected, rtol=1e-12, atol=1e-15)
    # float32 in, float32 out; a 0-d output of a 1-d input
    x32 = x.astype(np.float32).ravel()
    np.testing.assert_allclose(jac(x32), np.diag(elementwise_slope(x32)), rtol=1e-5)
    assert jac(x32).dtype == np.float32
    total = adjoint.jacfwd(lambda v: np.sum(elementwise(v)))(x)
    np.testing.assert_allclose(total, elementwise_slope(x), rtol=1e-12)


def test_elementwise_tangent_code_is_one_batched_product():
    text = adjoint.source(elementwise, mode="jvp")
    # every statement but the output's tangent reads primal values only
    assert text.count("x_dot") == 2, text  # (unpacked, then read once)
    x = np.array([0.5, -1.5, 2.0])
    t = np.array([1.0, -2.0, 0.25])
    out, tangent = adjoint.jvp(elementwise, (x,), (t,))
    np.testing.assert_allclose(tangent, elementwise_slope(x) * t, rtol=1e-13)


def test_a_value_changed_in_place_is_read_before_it_changes():
    def changed(x):
        y = x * 1.0
        z = np.sin(y)  # its tangent reads y, which the next line changes
        y[0] = 0.0
        return z + y

    x = np.array([0.3, 1.2, -0.7])
    expected = np.diag(np.cos(x) + np.array([0.0, 1.0, 1.0]))
    np.testing.assert_allclose(adjoint.jacfwd(changed)(x), expected, rtol=1e-13)


def test_other_calls_take_the_general_path_with_the_pass_already_made():
    def pair(x):
        return {"a": np.sin(x), "b": np.sum(x ** 2)}

    x = np.array([0.1, 0.2, 0.3])
    got = adjoint.jacfwd(pair)(x)
    np.testing.assert_allclose(got["a"], np.diag(np.cos(x)), rtol=1e-14)
    np.testing.assert_allclose(got["b"], 2 * x, rtol=1e-14)
    # an integer output is refused with the general path's message
    messages = []
    for transform in (adjoint.jacfwd(np.argmax), adjoint.jacfwd(np.argmax, chunk_size=1)):
        try:
            transform(x)
        except TypeError as error:
            messages.append(str(error))
    assert len(messages) == 2 and messages[0] == messages[1] and "floating-point" in messages[0]


def test_a_zero_tangent_meeting_an_infinite_slope_is_pushed_again():
    def root(x):
        return np.sqrt(x ** 2)

    x = np.array([0.0, 2.0, -3.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        forward, reverse = adjoint.jacfwd(root)(x), adjoint.jacrev(root)(x)
    # (0 * inf at 0, as reverse mode and the chain rule have it; exact elsewhere)
    assert np.isnan(forward[0, 0]) and np.isnan(reverse[0, 0])
    np.testing.assert_array_equal(forward[1:, 1:], np.diag([1.0, -1.0]))
    np.testing.assert_array_equal(np.nan_to_num(forward), np.nan_to_num(reverse))


def _spy(monkeypatch):
    """The results of diagonal_seed.diagonal (None: the identity pass ran)."""
    from adjoint.api import diagonal_seed

    found, diagonal = [], diagonal_seed.diagonal
    monkeypatch.setattr(diagonal_seed, "diagonal", lambda *a: found.append(diagonal(*a)) or found[-1])
    return found


def test_elementwise_jacobians_of_many_elements_come_from_one_pass_over_ones(monkeypatch):
    # (64 elements and more: api/diagonal_seed.py)
    found = _spy(monkeypatch)
    x = np.random.default_rng(1).standard_normal(100)
    expected = np.diag(elementwise_slope(x))
    reverse, forward = adjoint.jacrev(elementwise), adjoint.jacfwd(elementwise)
    for transform, general in ((reverse, adjoint.jacrev(elementwise, chunk_size=100)),
                               (forward, adjoint.jacfwd(elementwise, chunk_size=100))):
        first, second = transform(x), transform(x)  # (jacfwd: the first call learns the output's shape)
        np.testing.assert_allclose(second, expected, rtol=1e-12, atol=0)
        # the same numbers as the identity pass, exactly
        np.testing.assert_array_equal(second, general(x))
        np.testing.assert_array_equal(first, second)
        second[0, 1] = 5.0  # (the caller's array: the next one is new)
        assert transform(x)[0, 1] == 0.0
    # jacrev: three calls; jacfwd: two (its first call learnt the shape)
    assert len(found) == 5 and all(f is not None for f in found)
    seed = adjoint.api.diagonal_seed.ones_row(x.shape, x.dtype)
    assert not seed.flags.writeable and np.all(seed == 1.0)


def test_an_infinite_slope_on_the_diagonal_takes_the_identity_pass(monkeypatch):
    found = _spy(monkeypatch)
    def reciprocal(x):
        return 1.0 / x + x * 0.5

    x = np.linspace(-1.0, 1.0, 65)  # (x[32] == 0: an infinite slope)
    with np.errstate(divide="ignore", invalid="ignore"):
        for transform in (adjoint.jacrev, adjoint.jacfwd):
            short, general = transform(reciprocal), transform(reciprocal, chunk_size=65)
            short(x)
            np.testing.assert_array_equal(short(x), general(x))
            np.testing.assert_allclose(np.delete(np.diag(short(x)), 32), np.delete(-1 / x ** 2 + 0.5, 32))
    assert found and all(f is None for f in found)


def test_an_output_of_another_shape_is_not_read_as_a_diagonal():
    weights = np.random.default_rng(2).standard_normal((3, 64))

    def spread(x):
        return np.sin(x) * weights

    x = np.random.default_rng(3).standard_normal(64)
    expected = weights[:, :, None] * np.diag(np.cos(x))[None]
    jac = adjoint.jacfwd(spread)
    jac(x)
    np.testing.assert_allclose(jac(x), expected, rtol=1e-13)
    np.testing.assert_allclose(adjoint.jacrev(spread)(x), expected, rtol=1e-13)
