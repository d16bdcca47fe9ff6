"""Transforms composed with each other: vmap of derivatives with container
arguments, derivatives of derivatives through the helpers of generated
forward code (second and third order), Hessians of container arguments,
functions that call a derivative differentiated twice, vmap of dict outputs.
References: autograd, and loops over examples for vmap."""
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from adjoint import grad, hessian, jacfwd, jacrev, vmap
from adjoint import rules
from adjoint import runtime as rt


def _rng(seed):
    return np.random.default_rng(seed)


# ------------------------------------------------------------ 1. vmap(grad) of a tuple argument

def loss(params, x):
    W, b = params
    return np.sum(np.tanh(W @ x + b) ** 2)


def loss_ag(params, x):
    W, b = params
    return anp.sum(anp.tanh(anp.dot(W, x) + b) ** 2)


def dict_loss(params, x):
    return np.sum(np.tanh(params["W"] @ x + params["b"]) ** 2)


@pytest.mark.parametrize("transform", [grad, jacrev, jacfwd])
def test_vmap_of_a_derivative_wrt_a_tuple_argument(transform):
    rng = _rng(0)
    W, b, X = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=(5, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (some helpers run once per example)
        got = vmap(transform(loss), in_dims=(None, 0))((W, b), X)
    expected = [autograd.grad(loss_ag)((W, b), x) for x in X]
    assert isinstance(got, tuple)
    np.testing.assert_allclose(got[0], np.stack([e[0] for e in expected]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1], np.stack([e[1] for e in expected]), rtol=1e-10, atol=1e-12)


def test_vmap_of_grad_wrt_a_dict_argument_mapped_in_part():
    rng = _rng(1)
    W, b, X = rng.normal(size=(5, 3, 4)), rng.normal(size=3), rng.normal(size=(5, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = vmap(grad(dict_loss), in_dims=({"W": 0, "b": None}, 0))({"W": W, "b": b}, X)
    expected = [autograd.grad(loss_ag)((w, b), x) for w, x in zip(W, X, strict=True)]
    np.testing.assert_allclose(got["W"], np.stack([e[0] for e in expected]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got["b"], np.stack([e[1] for e in expected]), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------ 2. vmap(hessian(f, argnums=1))

def scaled_sine(a, x):
    return np.sum(np.sin(a * x) * x)


def scaled_sine_ag(a, x):
    return anp.sum(anp.sin(a * x) * x)


def test_vmap_of_hessian_wrt_the_second_argument():
    rng = _rng(2)
    A, X = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = vmap(hessian(scaled_sine, argnums=1))(A, X)
    expected = np.stack([autograd.hessian(scaled_sine_ag, 1)(a, x) for a, x in zip(A, X, strict=True)])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_example_of_a_batched_container_keeps_its_holes():
    # (the per-example fallback of vmap over tangent code with None holes)
    value = (np.arange(6.0).reshape(2, 3), None)
    assert rt.example(value, 1)[1] is None
    np.testing.assert_array_equal(rt.example(value, 1)[0], [3.0, 4.0, 5.0])
    assert rt.stack_examples([None, None]) is None


# ------------------------------------------------------------ 3, 4. helpers of generated code differentiated again

def matmul_tanh(x):
    W = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]])
    return W @ np.tanh(x) * x[0]


def matmul_tanh_ag(x):
    W = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]])
    return anp.dot(W, anp.tanh(x)) * x[0]


def joined(x):
    return np.concatenate([np.sin(x), x ** 2])


def joined_ag(x):
    return anp.concatenate([anp.sin(x), x ** 2])


def outer_product(x):
    return np.outer(x, np.cos(x))


def outer_product_ag(x):
    return anp.outer(x, anp.cos(x))


def filled(x):
    y = np.zeros(3)
    y[0] = x[1] * x[2]
    y[1:] = np.sin(x[:2]) ** 2
    return y


def filled_ag(x):
    return anp.concatenate([anp.reshape(x[1] * x[2], (1,)), anp.sin(x[:2]) ** 2])


def stacked(x):
    return np.stack([x, np.exp(x)])


def stacked_ag(x):
    return anp.stack([x, anp.exp(x)])


def cumulative(x):
    return np.cumprod(np.sin(x) + 2.0)


def cumulative_ag(x):  # (autograd has no cumprod derivative: the products written out)
    a = anp.sin(x) + 2.0
    return anp.stack([a[0], a[0] * a[1], a[0] * a[1] * a[2]])


SECOND_ORDER = [(matmul_tanh, matmul_tanh_ag), (joined, joined_ag), (outer_product, outer_product_ag),
                (filled, filled_ag), (stacked, stacked_ag), (cumulative, cumulative_ag)]


@pytest.mark.parametrize("f, twin", SECOND_ORDER, ids=[f.__name__ for f, _ in SECOND_ORDER])
@pytest.mark.parametrize("outer", [jacfwd, jacrev])
def test_second_derivative_over_forward_mode(f, twin, outer):
    x = np.array([0.3, -0.7, 1.1])
    got = outer(jacfwd(f))(x)
    expected = autograd.jacobian(autograd.jacobian(twin))(x)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def branchy(x):
    if np.sum(x) > 0:
        y = np.sin(x) * x
    else:
        y = np.cos(x)
    total = 0.0
    for i in range(2):
        total = total + np.sum(y ** (i + 2))
    return total


def branchy_ag(x):
    if anp.sum(x) > 0:
        y = anp.sin(x) * x
    else:
        y = anp.cos(x)
    total = 0.0
    for i in range(2):
        total = total + anp.sum(y ** (i + 2))
    return total


@pytest.mark.parametrize("x", [np.array([0.3, -0.2, 0.5]), np.array([-0.3, -0.2, 0.4])], ids=["then", "else"])
def test_third_order_through_merged(x):
    # forward over forward over the generated reverse code: rt.merged, twice
    got = jacfwd(jacfwd(jacrev(branchy)))(x)
    expected = autograd.jacobian(autograd.jacobian(autograd.jacobian(branchy_ag)))(x)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)


def spread(x):
    return np.sum(np.var(x * x) * x)


def test_third_order_through_merged_wrt_a_primal_argument_of_the_helper():
    # rt.merged(rt.var_adjoint, t, a): its tangent along ``a`` comes from var_adjoint's own rule
    x = np.array([0.3, -0.7, 1.1, 0.2])
    got = jacfwd(jacfwd(jacrev(spread)))(x)
    expected = autograd.jacobian(autograd.jacobian(autograd.jacobian(
        lambda x: anp.sum(anp.var(x * x) * x))))(x)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)


def _helpers_in(template):
    import inspect
    import textwrap

    import gast

    found = set()
    for node in gast.walk(gast.parse(textwrap.dedent(inspect.getsource(template)))):
        if isinstance(node, gast.Attribute) and isinstance(node.value, gast.Name) and node.value.id == "rt":
            found.add(node.attr)
    return found


def test_every_helper_that_generated_code_calls_can_be_differentiated_in_forward_mode():
    """Every runtime helper a rule template writes into generated code
    (reverse, forward or batched) has a tangent rule (a template, or a
    custom one: the per-example rules of vmap's batched_decompositions
    helpers, rules/vmap_loop.py), carries no derivative, is differentiated
    through its own source (rules.helper_by_source), or is one of the
    helpers whose tangent the forward builder writes (merged)."""
    from adjoint.transforms.forward import MERGING

    missing = []
    for table in (rules.ADJOINT_RULES, rules.TANGENT_RULES, rules.BATCH_RULES):
        for primitive, template in table.items():
            for name in _helpers_in(template):
                helper = getattr(rt, name, None)
                assert helper is not None, f"rule of {primitive!r} names rt.{name}, which does not exist"
                if not callable(helper):
                    continue
                if not (helper in rules.TANGENT_RULES or helper in rules.CUSTOM_JVPS
                        or rules.is_nondifferentiable(helper)
                        or rules.helper_by_source(helper) or helper in MERGING):
                    missing.append(name)
    assert not missing, sorted(set(missing))


def test_helper_by_source_is_only_for_runtime_helpers_without_rules():
    assert rules.helper_by_source(rt.matmul_tangent_right)
    assert not rules.helper_by_source(rt.unbroadcast)  # has a tangent rule
    assert not rules.helper_by_source(np.sin)
    assert not rules.helper_by_source(rt.zeros_bar)  # carries no derivative


# ------------------------------------------------------------ 5. Hessians of container arguments

def dict_function(d):
    return np.sum(d["a"] ** 2 * np.sin(d["b"]))


def two_arguments_ag(a, b):
    return anp.sum(a ** 2 * anp.sin(b))


@pytest.mark.parametrize("second", [hessian, lambda f: jacfwd(jacrev(f)), lambda f: jacrev(jacrev(f)),
                                    lambda f: jacfwd(jacfwd(f)), lambda f: jacrev(jacfwd(f))],
                         ids=["hessian", "jacfwd_jacrev", "jacrev_jacrev", "jacfwd_jacfwd", "jacrev_jacfwd"])
def test_hessian_of_a_dict_argument(second):
    x = np.array([0.3, -0.7, 1.1])
    d = {"a": x, "b": x + 1.0}
    got = second(dict_function)(d)
    assert set(got) == {"a", "b"} and all(set(row) == {"a", "b"} for row in got.values())
    for i, k1 in enumerate("ab"):
        for j, k2 in enumerate("ab"):
            expected = autograd.jacobian(autograd.jacobian(two_arguments_ag, i), j)(x, x + 1.0)
            np.testing.assert_allclose(got[k1][k2], expected, rtol=1e-10, atol=1e-12)


def test_hessian_of_a_tuple_argument():
    x = np.array([0.3, -0.7, 1.1])
    got = hessian(lambda p: np.sum(p[0] ** 2 * np.sin(p[1])))((x, x + 1.0))
    assert isinstance(got, tuple) and all(isinstance(row, tuple) for row in got)
    for i in range(2):
        for j in range(2):
            expected = autograd.jacobian(autograd.jacobian(two_arguments_ag, i), j)(x, x + 1.0)
            np.testing.assert_allclose(got[i][j], expected, rtol=1e-10, atol=1e-12)


def test_a_derivative_with_a_container_output_differentiated_again_is_refused_clearly():
    def tree_out(x):
        return {"a": np.sin(x), "b": x ** 2}

    with pytest.raises(TypeError, match="containers are not supported there yet"):
        jacfwd(jacrev(tree_out))(np.array([0.3, -0.7]))


# ------------------------------------------------------------ 6. a function calling a derivative, differentiated twice

def inner(x):
    return np.sum(np.sin(x) * x)


def calls_grad(x):
    return grad(inner)(x) * x


def calls_grad_ag(x):
    return autograd.grad(lambda x: anp.sum(anp.sin(x) * x))(x) * x


@pytest.mark.parametrize("second", [lambda f: jacfwd(jacrev(f)), lambda f: jacrev(jacrev(f)),
                                    lambda f: jacfwd(jacfwd(f)), lambda f: jacrev(jacfwd(f))],
                         ids=["jacfwd_jacrev", "jacrev_jacrev", "jacfwd_jacfwd", "jacrev_jacfwd"])
def test_a_function_calling_grad_differentiated_twice(second):
    x = np.array([0.3, -0.7, 1.1])
    np.testing.assert_allclose(second(calls_grad)(x), autograd.jacobian(autograd.jacobian(calls_grad_ag))(x),
                               rtol=1e-10, atol=1e-12)


def test_hessian_of_a_function_calling_grad():
    x = np.array([0.3, -0.7, 1.1])
    got = hessian(lambda x: np.sum(calls_grad(x)))(x)
    expected = autograd.hessian(lambda x: anp.sum(calls_grad_ag(x)))(x)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def two_argument_inner(a, b):
    return np.sum(np.sin(a) * b ** 2)


def calls_grad_of_two(a, b):
    da, db = grad(two_argument_inner, argnums=(0, 1))(a, b)
    return da * db


def test_a_function_calling_grad_with_tuple_argnums():
    a, b = np.array([0.3, -0.7, 1.1]), np.array([0.5, 0.2, -0.4])

    def twin(a, b):
        f = lambda a, b: anp.sum(anp.sin(a) * b ** 2)  # noqa: E731
        return autograd.grad(f, 0)(a, b) * autograd.grad(f, 1)(a, b)

    np.testing.assert_allclose(jacrev(calls_grad_of_two)(a, b), autograd.jacobian(twin)(a, b), rtol=1e-10)
    np.testing.assert_allclose(jacfwd(jacrev(calls_grad_of_two))(a, b),
                               autograd.jacobian(autograd.jacobian(twin))(a, b), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------ 7. vmap of dict outputs

def with_constant_item(x):
    return {"a": np.sin(x), "c": np.ones(2)}


def test_vmap_broadcasts_an_unbatched_dict_item():
    X = _rng(3).normal(size=(4, 3))
    got = vmap(with_constant_item)(X)
    np.testing.assert_allclose(got["a"], np.stack([np.sin(x) for x in X]))
    np.testing.assert_array_equal(got["c"], np.ones((4, 2)))


def test_vmap_out_dims_as_a_dict():
    X = _rng(4).normal(size=(4, 3))
    got = vmap(with_constant_item, out_dims={"a": 1, "c": None})(X)
    np.testing.assert_allclose(got["a"], np.stack([np.sin(x) for x in X], axis=1))
    np.testing.assert_array_equal(got["c"], np.ones(2))
    with pytest.raises(ValueError, match="does not match the structure"):
        vmap(with_constant_item, out_dims={"a": 0})(X)
    with pytest.raises(ValueError, match="container of the output's structure"):
        vmap(lambda x: np.sin(x), out_dims={"a": 0})(X)


@pytest.mark.parametrize("outer", [jacrev, jacfwd])
def test_jacobian_of_vmap_of_a_dict_output_with_a_constant_item(outer):
    X = _rng(5).normal(size=(2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = outer(vmap(with_constant_item))(X)
    expected_a = autograd.jacobian(lambda X: anp.sin(X))(X)
    np.testing.assert_allclose(got["a"], expected_a, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(got["c"], np.zeros((2, 2) + X.shape))
