"""Programs whose generated source is pinned by tests/golden/*.txt."""
import numpy as np


def mlp(x, W1, b1, W2, b2):
    hidden = np.tanh(W1 @ x + b1)
    return W2 @ hidden + b2


def softmax_cross_entropy(W, x, labels):
    logits = x @ W.T
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -np.mean(np.sum(labels * log_probs, axis=1))


def reassigned(x):
    h = np.sin(x)
    h = h * x
    h = h + 1.0
    return h.sum()


def params_tree(params, x):
    W, b = params["W"], params["b"]
    y = np.exp(W @ x + b)
    return {"y": y, "norm": np.sqrt(np.sum(y ** 2))}


def damped_iteration(x, steps):
    total = 0.0
    for _ in range(steps):
        if np.sum(x) > 1.0:
            x = x * 0.5
        else:
            x = np.sin(x) + x
        total = total + np.sum(x ** 2)
    return total
