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
