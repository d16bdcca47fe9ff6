"""Realistic programs, end to end, against finite differences: a network
with a list of layers in a dict, a Kalman filter (inv, solve, a loop over
observations), and a bouncing ball (a branch inside a time loop)."""
import numpy as np

import adjoint
from conftest import numerical_jacobian

def mlp(params, x):
    h = x
    for i, layer in enumerate(params["layers"]):
        h = h @ layer["W"] + layer["b"]
        if i < len(params["layers"]) - 1:
            h = np.maximum(h, 0.0) + 0.01 * np.minimum(h, 0.0)
    logits = h - h.max(axis=-1, keepdims=True)
    return logits - np.log(np.sum(np.exp(logits), axis=-1, keepdims=True))

def loss(params, x, labels):
    logp = mlp(params, x)
    return -np.mean(np.sum(labels * logp, axis=-1))

def kalman(x0, P0, observations, F, H, Q, R):
    x, P = x0, P0
    total = 0.0
    for z in observations:
        x = F @ x
        P = F @ P @ F.T + Q
        S = H @ P @ H.T + R
        K = P @ H.T @ np.linalg.inv(S)
        innovation = z - H @ x
        x = x + K @ innovation
        P = (np.eye(len(x)) - K @ H) @ P
        total = total + innovation @ np.linalg.solve(S, innovation)
    return total

def bouncing(v0, steps=50, dt=0.05):
    pos, vel = np.array([0.0, 1.0]), v0
    for _ in range(steps):
        vel = vel + dt * np.array([0.0, -9.8])
        pos = pos + dt * vel
        if pos[1] < 0.0:
            vel = vel * np.array([1.0, -0.8])
            pos = pos * np.array([1.0, 0.0])
    return pos



def test_network_with_layer_list_in_a_dict():
    rng = np.random.default_rng(0)
    params = {"layers": [{"W": rng.normal(size=(4, 5)) * 0.5, "b": rng.normal(size=5) * 0.1},
                         {"W": rng.normal(size=(5, 3)) * 0.5, "b": rng.normal(size=3) * 0.1}]}
    x, labels = rng.normal(size=(6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    gradient = adjoint.grad(loss)(params, x, labels)
    expected = numerical_jacobian(loss, (params, x, labels), 0)
    for layer, expected_layer in zip(gradient["layers"], expected["layers"], strict=True):
        for key in ("W", "b"):
            np.testing.assert_allclose(layer[key], expected_layer[key], rtol=1e-6, atol=1e-8)


def test_kalman_filter_with_respect_to_state_and_dynamics():
    rng = np.random.default_rng(1)
    F, H = np.array([[1.0, 0.1], [0.0, 1.0]]), np.array([[1.0, 0.0]])
    args = (np.zeros(2), np.eye(2), rng.normal(size=(8, 1)), F, H, np.eye(2) * 0.01, np.eye(1) * 0.1)
    for argnum in (0, 1, 3):
        np.testing.assert_allclose(adjoint.jacrev(kalman, argnums=argnum)(*args),
                                   numerical_jacobian(kalman, args, argnum), rtol=1e-5, atol=1e-7)


def test_bouncing_ball():
    v0 = np.array([1.0, 2.0])
    for chunk_size in (None, 1):
        np.testing.assert_allclose(adjoint.jacrev(bouncing, chunk_size=chunk_size)(v0),
                                   numerical_jacobian(bouncing, (v0,), 0), rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------- the catalogue
# The programs of tests/realistic_programs.py. Each is checked in jacrev and
# jacfwd (every chunk of rows agreeing), with grad and hessian when its output
# is a scalar, and with vmap over a batch of one argument against a Python
# loop. The reference is autograd running the same source with np bound to
# autograd.numpy; programs that update arrays in place (autograd cannot run
# them) are checked against central differences instead.

import collections
import pathlib

import autograd
import autograd.numpy as anp
import pytest

import realistic_programs as rp
from conftest import (assert_trees_close, autograd_jacobian_matrix, flat_vector, from_flat_vector,
                      jacobian_matrix, tree_leaves)


def twin_namespace():
    """realistic_programs.py run a second time, its np then bound to autograd.numpy."""
    path = pathlib.Path(rp.__file__)
    namespace = {"__name__": "realistic_programs_on_autograd", "__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    namespace["np"] = anp
    return namespace


TWINS = twin_namespace()

#: ``program`` names a callable of realistic_programs; ``batch`` is the
#: argument vmap maps over (None: no batch makes sense); ``oracle`` is
#: "autograd" or "fd" (central differences).
Realistic = collections.namedtuple("Realistic", "name program make_args argnum batch oracle",
                                   defaults=(None, "autograd"))


def _rng(seed):
    return np.random.default_rng(seed)


def _mlp_args():
    rng = _rng(100)
    return rp.init_mlp([3, 8, 5, 2], rng), rng.normal(size=(6, 3)), rng.normal(size=(6, 2))


def _rnn_args():
    rng = _rng(101)
    params = {"Wxh": 0.5 * rng.normal(size=(4, 2)), "Whh": 0.4 * rng.normal(size=(4, 4)), "bh": 0.1 * rng.normal(size=4),
              "Why": 0.5 * rng.normal(size=(1, 4)), "by": np.zeros(1)}
    return params, rng.normal(size=(5, 2)), rng.normal(size=(5, 1))


def _lstm_args():
    rng = _rng(102)
    return {"W": 0.4 * rng.normal(size=(12, 5)), "b": 0.1 * rng.normal(size=12)}, rng.normal(size=(4, 2))


def _attention_args():
    rng = _rng(103)
    return rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))


def _mha_args():
    rng = _rng(104)
    return (rng.normal(size=(3, 4)), 0.5 * rng.normal(size=(4, 4)), 0.5 * rng.normal(size=(4, 4)),
            0.5 * rng.normal(size=(4, 4)), 2)


def _batch_norm_args():
    rng = _rng(105)
    return rng.normal(size=(5, 3)), 1.0 + 0.1 * rng.normal(size=3), 0.1 * rng.normal(size=3)


def _layer_norm_args():
    rng = _rng(106)
    params = {"scale": 1.0 + 0.1 * rng.normal(size=4), "shift": 0.1 * rng.normal(size=4),
              "W1": 0.5 * rng.normal(size=(4, 6)), "W2": 0.5 * rng.normal(size=(6, 4))}
    return params, rng.normal(size=(3, 4))


def _dict_model_args():
    rng = _rng(107)
    params = {"layer1": {"W": 0.5 * rng.normal(size=(3, 4)), "b": 0.1 * rng.normal(size=4)},
              "layer2": {"W": 0.5 * rng.normal(size=(4, 4)), "b": 0.1 * rng.normal(size=4)},
              "head": 0.5 * rng.normal(size=(4, 1))}
    return params, rng.normal(size=(6, 3)), np.sign(rng.normal(size=6))


def _logistic_args():
    rng = _rng(108)
    X = rng.normal(size=(8, 3))
    return rng.normal(size=3), 0.3, X, (rng.random(8) < 0.5).astype(float), 0.1


def _softmax_args():
    rng = _rng(109)
    return rng.normal(size=(3, 4)), rng.normal(size=(6, 3)), rng.integers(0, 4, 6)


def _gmm_args():
    rng = _rng(110)
    return np.array([-1.0, 0.5, 2.0]), 0.2 * rng.normal(size=3), rng.normal(size=3), rng.normal(size=10)


def _kmeans_args():
    rng = _rng(111)
    return rng.normal(size=(3, 2)), rng.normal(size=(7, 2)), 0.7


def _huber_args():
    rng = _rng(112)
    X = rng.normal(size=(9, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + np.array([0.1, -0.2, 3.0, 0.05, -4.0, 0.3, 0.0, 2.5, -0.1])
    return np.array([0.8, -1.5, 0.2]), X, y


def _gp_data():
    rng = _rng(113)
    X = rng.uniform(-2, 2, size=(7, 2))
    return X, np.sin(X[:, 0]) + 0.5 * X[:, 1] + 0.1 * rng.normal(size=7)


def _gp_args():
    X, y = _gp_data()
    return np.log(np.array([0.9, 1.2, 0.05])), X, y


def _gp_mean_args():
    X, y = _gp_data()
    return np.log(np.array([0.9, 1.2, 0.05])), X, y, _rng(114).uniform(-2, 2, size=(3, 2))


def _mvn_args():
    rng = _rng(115)
    return rng.normal(size=3), 0.5 * rng.normal(size=(3, 3)), rng.normal(size=(4, 3))


def _kalman_args():
    rng = _rng(116)
    F = np.array([[1.0, 0.1], [0.0, 0.95]])
    H = np.array([[1.0, 0.0]])
    return np.log(np.array([0.05, 0.2])), rng.normal(size=(6, 1)), F, H


def _portfolio_args():
    rng = _rng(117)
    A = rng.normal(size=(4, 4))
    return 1.0 + 0.2 * rng.random(4), A @ A.T / 4 + 0.1 * np.eye(4)


def _sharpe_args():
    rng = _rng(118)
    return rng.normal(size=3), 0.01 + 0.05 * rng.normal(size=(20, 3))


def _ridge_args():
    rng = _rng(119)
    return rng.normal(size=(6, 2)), rng.normal(size=6), 0.5


def _polyfit_args():
    x = np.linspace(-1.0, 1.0, 7)
    return x, np.cos(2 * x) + 0.1 * _rng(120).normal(size=7)


def _holt_args():
    return np.array([0.3, -0.5]), np.array([1.0, 1.3, 1.2, 1.8, 2.1, 2.0, 2.6])


def _leapfrog_args():
    A = np.array([[2.0, 0.3], [0.3, 1.0]])
    return np.array([0.5, -0.2]), np.array([0.1, 0.4]), 0.1, A


def _heat_args():
    x = np.linspace(0.0, 1.0, 10, endpoint=False)
    return np.sin(2 * np.pi * x) + 0.3 * np.cos(6 * np.pi * x), 0.8


def _heat2d_args():
    return _rng(121).random((5, 6)), 0.9


def _advection_args():
    x = np.linspace(0.0, 1.0, 8, endpoint=False)
    return np.exp(-20 * (x - 0.4) ** 2), 0.9


def _poisson_args():
    rng = _rng(122)
    return rng.normal(size=6), rng.normal(size=6)


def _conv_args():
    rng = _rng(123)
    return rng.normal(size=3), rng.normal(size=9)


def _node_args():
    rng = _rng(124)
    return (0.5 * rng.normal(size=(4, 2)), 0.1 * rng.normal(size=4), 0.5 * rng.normal(size=(2, 4))), rng.normal(size=2)


def _symmetric_args():
    A = _rng(125).normal(size=(4, 4))
    return (A + A.T + 6 * np.eye(4),)


def _bezier_args():
    return (np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 3.0], [4.0, 0.0]]),)


def _spring_args():
    rng = _rng(126)
    positions = np.cumsum(1.0 + 0.2 * rng.normal(size=(4, 2)), axis=0)
    return positions, rng.normal(size=(4, 2)), 1.0 + rng.random(3), 1.0 + rng.random(4)


def _model_args():
    rng = _rng(127)
    X = rng.normal(size=(6, 3))
    return rng.normal(size=3), X, rng.normal(size=6)


def _not_positive_definite():
    return (np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.3], [0.0, 0.3, 2.0]]),)


CATALOGUE = [
    Realistic("mlp_of_different_widths", "mlp_loss", _mlp_args, 0),
    Realistic("mlp_wrt_inputs", "mlp_predict", lambda: _mlp_args()[:2], 1, batch=1),
    Realistic("rnn_over_a_sequence", "rnn_loss", _rnn_args, 0, batch=1),
    Realistic("lstm_over_a_sequence", "lstm_last_state", _lstm_args, 0, batch=1),
    Realistic("attention", "attention", _attention_args, 0, batch=0),
    Realistic("attention_wrt_keys", "attention", _attention_args, 1),
    Realistic("multi_head_attention", "multi_head_attention", _mha_args, 1),
    Realistic("batch_norm", "batch_norm", _batch_norm_args, 0, batch=0),
    Realistic("batch_norm_wrt_scale", "batch_norm", _batch_norm_args, 1),
    Realistic("layer_norm_residual_block", "layer_norm_mlp", _layer_norm_args, 0, batch=1),
    Realistic("dict_of_parameters_model", "dict_model_loss", _dict_model_args, 0),
    Realistic("logistic_regression_l2", "logistic_regression", _logistic_args, 0, batch=0),
    Realistic("logistic_regression_wrt_bias", "logistic_regression", _logistic_args, 1),
    Realistic("softmax_cross_entropy", "softmax_cross_entropy", _softmax_args, 0),
    Realistic("gaussian_mixture_logsumexp", "gmm_log_likelihood", _gmm_args, 0, batch=3),
    Realistic("gaussian_mixture_wrt_scales", "gmm_log_likelihood", _gmm_args, 1),
    Realistic("soft_kmeans", "soft_kmeans_loss", _kmeans_args, 0),
    Realistic("huber_regression", "huber_regression", _huber_args, 0, batch=0),
    Realistic("gp_marginal_likelihood_hyperparameters", "gp_neg_log_marginal_likelihood", _gp_args, 0, batch=0),
    Realistic("gp_marginal_likelihood_wrt_inputs", "gp_neg_log_marginal_likelihood", _gp_args, 1),
    Realistic("gp_posterior_mean", "gp_posterior_mean", _gp_mean_args, 0),
    Realistic("multivariate_normal_density", "mvn_log_density", _mvn_args, 1),
    Realistic("kalman_filter_noise_levels", "kalman_filter_nll", _kalman_args, 0, batch=0),
    Realistic("kalman_filter_wrt_dynamics", "kalman_filter_nll", _kalman_args, 2),
    Realistic("portfolio_variance", "portfolio_variance", _portfolio_args, 0, batch=0),
    Realistic("sharpe_ratio", "sharpe_ratio", _sharpe_args, 0),
    Realistic("monte_carlo_fixed_seed", "monte_carlo_call_price", lambda: (np.array([1.05, 0.25]),), 0, batch=0),
    Realistic("reparameterised_elbo", "reparameterised_elbo",
              lambda: (np.array([0.3, -0.2]), np.array([-0.5, 0.1]), _rng(128).normal(size=(5, 2))), 0),
    Realistic("ridge_closed_form_wrt_penalty", "ridge_closed_form", _ridge_args, 2),
    Realistic("ridge_closed_form_wrt_design", "ridge_closed_form", _ridge_args, 0),
    Realistic("polynomial_least_squares", "polynomial_fit", _polyfit_args, 1, batch=1),
    Realistic("polynomial_least_squares_wrt_x", "polynomial_fit", _polyfit_args, 0),
    Realistic("holt_smoothing", "holt_forecast", _holt_args, 0),
    Realistic("leapfrog_wrt_position", "leapfrog", _leapfrog_args, 0, batch=0),
    Realistic("leapfrog_wrt_momentum", "leapfrog", _leapfrog_args, 1),
    Realistic("leapfrog_wrt_step", "leapfrog", _leapfrog_args, 2),
    Realistic("pendulum_rk4", "pendulum_rk4", lambda: (np.array([0.8, 0.0]), 1.3), 0, batch=0),
    Realistic("pendulum_rk4_wrt_length", "pendulum_rk4", lambda: (np.array([0.8, 0.0]), 1.3), 1),
    Realistic("lotka_volterra_euler", "lotka_volterra_euler",
              lambda: (np.log(np.array([1.0, 0.5, 0.8, 0.3])), np.array([2.0, 1.0])), 0),
    Realistic("spring_chain_energy", "spring_chain_energy", _spring_args, 0),
    Realistic("spring_chain_wrt_masses", "spring_chain_energy", _spring_args, 3),
    Realistic("heat_equation_roll", "heat_equation_periodic", _heat_args, 0, batch=0),
    Realistic("heat_equation_wrt_diffusivity", "heat_equation_periodic", _heat_args, 1),
    Realistic("heat_equation_2d_slicing", "heat_equation_2d", _heat2d_args, 0),
    Realistic("upwind_advection_in_place", "advection_upwind_inplace", _advection_args, 0, oracle="fd"),
    Realistic("upwind_advection_wrt_velocity", "advection_upwind_inplace", _advection_args, 1, oracle="fd"),
    Realistic("poisson_residual", "poisson_residual", _poisson_args, 0, batch=0),
    Realistic("burgers_residual", "burgers_residual", lambda: (_rng(129).normal(size=6),), 0, batch=0),
    Realistic("convolution_manual", "conv1d_manual", _conv_args, 0, batch=1),
    # (autograd has no rule for np.convolve)
    Realistic("convolution_numpy", "conv1d_numpy", _conv_args, 0, oracle="fd"),
    Realistic("neural_ode_euler", "neural_ode_euler", _node_args, 0),
    Realistic("neural_ode_wrt_initial_state", "neural_ode_euler", _node_args, 1, batch=1),
    Realistic("power_iteration", "power_iteration", _symmetric_args, 0),
    Realistic("newton_square_root_while", "newton_sqrt", lambda: (np.array([2.0, 0.5, 9.0]),), 0),
    Realistic("bezier_curve_length", "bezier_length", _bezier_args, 0),
    Realistic("rosenbrock", "rosenbrock", lambda: (np.array([-1.2, 1.0, 0.5, 0.3]),), 0, batch=0),
    Realistic("beale", "beale", lambda: (np.array([1.0, 0.8]),), 0, batch=0),
    Realistic("booth", "booth", lambda: (np.array([0.5, 2.0]),), 0),
    Realistic("himmelblau", "himmelblau", lambda: (np.array([-0.5, 1.5]),), 0),
    Realistic("rastrigin", "rastrigin", lambda: (np.array([0.3, -0.8, 1.1]),), 0),
    Realistic("test_function_table", "all_test_functions", lambda: (np.array([0.7, 1.2]),), 0),
    Realistic("object_with_call", "MODEL", _model_args, 0, batch=0),
    Realistic("try_cholesky", "robust_logdet", _symmetric_args, 0),
    Realistic("try_cholesky_fallback", "robust_logdet", _not_positive_definite, 0),
    Realistic("star_args_helper", "regularised_loss", _model_args, 0, batch=0),
    Realistic("double_star_config", "elastic_net_from_config",
              lambda: _model_args() + ({"alpha": 0.3, "l1_ratio": 0.7},), 0),
]


@pytest.fixture(params=CATALOGUE, ids=[p.name for p in CATALOGUE])
def realistic(request):
    return request.param


def _func(program):
    return getattr(rp, program.program)


def _is_scalar(program):
    return np.ndim(_func(program)(*program.make_args())) == 0 and not isinstance(
        _func(program)(*program.make_args()), (tuple, list, dict))


def _reference_matrix(program, args):
    """The Jacobian as one (output elements, input elements) matrix."""
    func = _func(program)
    if program.oracle == "autograd":
        twin = TWINS[program.program]
        np.testing.assert_allclose(flat_vector(twin(*args)), flat_vector(func(*args)), rtol=1e-12, atol=1e-14)
        return autograd_jacobian_matrix(twin, args, program.argnum)
    return jacobian_matrix(numerical_jacobian(func, args, program.argnum), func(*args), args[program.argnum])


def _tolerances(program):
    return dict(rtol=1e-8, atol=1e-10) if program.oracle == "autograd" else dict(rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_catalogue_jacobian(realistic, transform):
    args = realistic.make_args()
    func = _func(realistic)
    expected = _reference_matrix(realistic, args)
    for chunk_size in (None, 1):
        jacobian = getattr(adjoint, transform)(func, argnums=realistic.argnum, chunk_size=chunk_size)(*args)
        got = jacobian_matrix(jacobian, func(*args), args[realistic.argnum])
        np.testing.assert_allclose(got, expected, **_tolerances(realistic),
                                   err_msg=f"{transform}, chunk_size={chunk_size}")


SCALAR = [p for p in CATALOGUE if _is_scalar(p)]
BATCHED = [p for p in CATALOGUE if p.batch is not None]


@pytest.mark.parametrize("realistic", SCALAR, ids=[p.name for p in SCALAR])
def test_catalogue_grad(realistic):
    args = realistic.make_args()
    gradient = adjoint.grad(_func(realistic), argnums=realistic.argnum)(*args)
    assert_trees_close(gradient, from_flat_vector(args[realistic.argnum], _reference_matrix(realistic, args)[0]),
                       **_tolerances(realistic))


def _reference_gradient(program, args):
    """A flat gradient function of the flat argument: autograd's, or adjoint's
    (itself checked against differences) for the programs autograd cannot run."""
    point = args[program.argnum]
    if program.oracle == "autograd":
        twin = TWINS[program.program]

        def scalar(vector):
            call_args = list(args)
            call_args[program.argnum] = from_flat_vector(point, vector)
            return twin(*call_args)

        return autograd.grad(scalar)
    gradient = adjoint.grad(_func(program), argnums=program.argnum)

    def flat_gradient(vector):
        call_args = list(args)
        call_args[program.argnum] = from_flat_vector(point, vector)
        return flat_vector(gradient(*call_args))

    return flat_gradient


#: programs whose Hessian adjoint refuses (clearly, at the user's line): not supported yet.
#: (double_star_config, g(**mapping), was refused until calls laid out at run time got second order)
HESSIAN_REFUSED = {}


@pytest.mark.parametrize("realistic", SCALAR, ids=[p.name for p in SCALAR])
def test_catalogue_hessian(realistic):
    """adjoint.hessian against central differences of the gradient."""
    args = realistic.make_args()
    point = args[realistic.argnum]
    if realistic.name in HESSIAN_REFUSED:
        with pytest.raises(adjoint.errors.NoRuleError, match=HESSIAN_REFUSED[realistic.name]):
            adjoint.hessian(_func(realistic), argnums=realistic.argnum)(*args)
        return
    hessian = adjoint.hessian(_func(realistic), argnums=realistic.argnum)(*args)
    sizes = [int(np.size(leaf)) for leaf in tree_leaves(point)]
    blocks = iter(tree_leaves(hessian))
    got = np.concatenate([np.concatenate([np.reshape(next(blocks), (rows, columns)) for columns in sizes], axis=1)
                          for rows in sizes], axis=0)
    gradient, base, step = _reference_gradient(realistic, args), flat_vector(point), 1e-5
    columns = []
    for index in range(base.size):
        delta = np.zeros_like(base)
        delta[index] = step
        columns.append((gradient(base + delta) - gradient(base - delta)) / (2 * step))
    expected = np.stack(columns, axis=1)
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * scale)
    np.testing.assert_allclose(got, got.T, rtol=1e-7, atol=1e-9 * scale)


@pytest.mark.parametrize("realistic", BATCHED, ids=[p.name for p in BATCHED])
def test_catalogue_vmap(realistic):
    """vmap over a batch of one argument equals a Python loop, for the
    function and for its Jacobian."""
    args = realistic.make_args()
    func = _func(realistic)
    rng = _rng(7)
    examples = [np.asarray(args[realistic.batch]) + 0.05 * rng.normal(size=np.shape(args[realistic.batch]))
                for _ in range(3)]
    batched_args = list(args)
    batched_args[realistic.batch] = np.stack(examples)
    in_dims = tuple(0 if i == realistic.batch else None for i in range(len(args)))
    per_example = [list(args) for _ in examples]
    for call_args, example in zip(per_example, examples):
        call_args[realistic.batch] = example
    expected = np.stack([func(*call_args) for call_args in per_example])
    np.testing.assert_allclose(adjoint.vmap(func, in_dims=in_dims)(*batched_args), expected, rtol=1e-12, atol=1e-12)
    jacobian = adjoint.jacrev(func, argnums=realistic.argnum)
    got = tree_leaves(adjoint.vmap(jacobian, in_dims=in_dims)(*batched_args))
    loop = [tree_leaves(jacobian(*call_args)) for call_args in per_example]
    for position, leaf in enumerate(got):
        np.testing.assert_allclose(leaf, np.stack([leaves[position] for leaves in loop]), rtol=1e-10, atol=1e-12)


def test_catalogue_size_and_names():
    names = [p.name for p in CATALOGUE]
    assert len(names) == len(set(names))
    assert len({p.program for p in CATALOGUE}) >= 30
    assert len(SCALAR) >= 30 and len(BATCHED) >= 20
