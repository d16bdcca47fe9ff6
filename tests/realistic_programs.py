"""Realistic NumPy programs, written the way tutorials and papers write
them: the catalogue of tests/test_realistic.py.

Every function here reads NumPy as the module global ``np`` and nothing else
from NumPy, so the test can run this same source a second time with ``np``
bound to ``autograd.numpy`` (``twin_namespace`` in the test): the autograd
twin of each program is the program itself. Programs that update arrays in
place (which autograd cannot run) are checked against finite differences
instead.
"""
import numpy as np


# ----------------------------------------------------------------- networks

def mlp_predict(params, x):
    """A multilayer perceptron: a list of (W, b) tuples of different widths."""
    h = x
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
    W_out, b_out = params[-1]
    return h @ W_out + b_out


def mlp_loss(params, x, y):
    prediction = mlp_predict(params, x)
    return np.mean(np.sum((prediction - y) ** 2, axis=1))


def init_mlp(widths, rng):
    return [(rng.normal(size=(m, n)) / np.sqrt(m), 0.1 * rng.normal(size=n))
            for m, n in zip(widths[:-1], widths[1:])]


def rnn_loss(params, xs, targets):
    """An Elman RNN over a sequence, squared error of every output."""
    h = np.zeros(params["Whh"].shape[0])
    loss = 0.0
    for x, target in zip(xs, targets):
        h = np.tanh(params["Wxh"] @ x + params["Whh"] @ h + params["bh"])
        y = params["Why"] @ h + params["by"]
        loss = loss + 0.5 * np.sum((y - target) ** 2)
    return loss / len(xs)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_last_state(params, xs):
    """An LSTM cell run over a sequence; the gates come from one matrix."""
    n = params["b"].shape[0] // 4
    h, c = np.zeros(n), np.zeros(n)
    for x in xs:
        gates = params["W"] @ np.concatenate([x, h]) + params["b"]
        i, f, o = sigmoid(gates[:n]), sigmoid(gates[n:2 * n]), sigmoid(gates[2 * n:3 * n])
        g = np.tanh(gates[3 * n:])
        c = f * c + i * g
        h = o * np.tanh(c)
    return h


def attention(Q, K, V):
    """Scaled dot-product attention, softmax over the keys."""
    scores = Q @ K.T / np.sqrt(Q.shape[-1])
    scores = scores - np.max(scores, axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / np.sum(weights, axis=-1, keepdims=True)
    return weights @ V


def multi_head_attention(x, Wq, Wk, Wv, heads):
    """Self-attention with the heads split out by reshape and transpose."""
    n, d = x.shape
    def split(z):
        return np.transpose(np.reshape(z, (n, heads, d // heads)), (1, 0, 2))
    q, k, v = split(x @ Wq), split(x @ Wk), split(x @ Wv)
    scores = q @ np.transpose(k, (0, 2, 1)) / np.sqrt(d // heads)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    out = weights @ v
    return np.reshape(np.transpose(out, (1, 0, 2)), (n, d))


def batch_norm(x, gamma, beta, eps=1e-5):
    mean = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    x_hat = (x - mean) / np.sqrt(var + eps)
    return gamma * x_hat + beta


def layer_norm_mlp(params, x):
    """A residual block with layer normalisation; parameters in a dict."""
    mu = x.mean(axis=-1, keepdims=True)
    sigma = x.std(axis=-1, keepdims=True)
    normed = (x - mu) / (sigma + 1e-6) * params["scale"] + params["shift"]
    hidden = np.maximum(normed @ params["W1"], 0.0)
    return x + hidden @ params["W2"]


def dict_model_loss(params, x, y):
    """A model whose layers are looked up by name in a dict of parameters."""
    h = x
    for name in ("layer1", "layer2"):
        h = np.tanh(h @ params[name]["W"] + params[name]["b"])
    logits = h @ params["head"]
    return np.mean(np.logaddexp(0.0, -y * logits[:, 0]))


# ----------------------------------------------------------------- classification

def logistic_regression(w, b, X, y, lam):
    """Mean log-loss of labels in {0, 1} plus an L2 penalty."""
    z = X @ w + b
    loss = np.mean(np.logaddexp(0.0, z) - y * z)
    return loss + lam * np.sum(w ** 2)


def softmax_cross_entropy(W, X, labels):
    logits = X @ W
    logits = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    one_hot = np.eye(W.shape[1])[labels]
    return -np.sum(one_hot * log_probs) / X.shape[0]


def logsumexp(a, axis=None):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def gmm_log_likelihood(means, log_stds, logits, X):
    """A 1-d Gaussian mixture, components built by a comprehension."""
    log_weights = logits - logsumexp(logits)
    component_logp = np.stack([
        log_weights[k] - 0.5 * ((X - means[k]) / np.exp(log_stds[k])) ** 2 - log_stds[k]
        - 0.5 * np.log(2 * np.pi)
        for k in range(len(means))
    ], axis=1)
    return np.sum(logsumexp(component_logp, axis=1))


def soft_kmeans_loss(centroids, X, temperature):
    """Soft k-means: squared distances, soft assignments by a softmin."""
    d2 = np.sum((X[:, None, :] - centroids[None, :, :]) ** 2, axis=-1)
    a = -d2 / temperature
    a = a - a.max(axis=1, keepdims=True)
    resp = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
    return np.sum(resp * d2) / X.shape[0]


def huber_regression(w, X, y, delta=1.0):
    r = X @ w - y
    quadratic = 0.5 * r ** 2
    linear = delta * (np.abs(r) - 0.5 * delta)
    return np.mean(np.where(np.abs(r) <= delta, quadratic, linear))


# ----------------------------------------------------------------- statistics

def gp_neg_log_marginal_likelihood(log_params, X, y):
    """A Gaussian process with a squared-exponential kernel: the negative
    log marginal likelihood in terms of log lengthscale, log signal
    variance and log noise variance (Rasmussen & Williams, Alg. 2.1)."""
    lengthscale, signal, noise = np.exp(log_params[0]), np.exp(log_params[1]), np.exp(log_params[2])
    sq_dists = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    K = signal * np.exp(-0.5 * sq_dists / lengthscale ** 2) + noise * np.eye(len(X))
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * len(X) * np.log(2 * np.pi)


def gp_posterior_mean(log_params, X, y, X_test):
    lengthscale, signal, noise = np.exp(log_params)

    def kernel(A, B):
        d2 = np.sum(A ** 2, 1)[:, None] + np.sum(B ** 2, 1)[None, :] - 2 * A @ B.T
        return signal * np.exp(-0.5 * d2 / lengthscale ** 2)

    K = kernel(X, X) + noise * np.eye(X.shape[0])
    return kernel(X_test, X) @ np.linalg.solve(K, y)


def mvn_log_density(mean, chol_factor, X):
    """Multivariate normal log-density of rows of X, covariance L L^T + I."""
    cov = chol_factor @ chol_factor.T + np.eye(len(mean))
    diff = X - mean
    sign, logdet = np.linalg.slogdet(cov)
    mahalanobis = np.sum(diff * np.linalg.solve(cov, diff.T).T, axis=1)
    return -0.5 * (mahalanobis + logdet + len(mean) * np.log(2 * np.pi))


def kalman_filter_nll(log_noise, observations, F, H):
    """Negative log-likelihood of a sequence under a linear-Gaussian
    state-space model: predict/update, innovation covariance inverted."""
    q, r = np.exp(log_noise[0]), np.exp(log_noise[1])
    n = F.shape[0]
    Q, R = q * np.eye(n), r * np.eye(H.shape[0])
    x, P = np.zeros(n), np.eye(n)
    nll = 0.0
    for z in observations:
        x = F @ x
        P = F @ P @ F.T + Q
        S = H @ P @ H.T + R
        S_inv = np.linalg.inv(S)
        innovation = z - H @ x
        K = P @ H.T @ S_inv
        x = x + K @ innovation
        P = P - K @ S @ K.T
        nll = nll + 0.5 * (innovation @ S_inv @ innovation + np.log(np.linalg.det(S)))
    return nll


def portfolio_variance(weights, cov):
    w = weights / np.sum(weights)
    return w @ cov @ w


def sharpe_ratio(raw_weights, returns):
    """Softmax-normalised weights, sample mean and covariance of returns."""
    w = np.exp(raw_weights) / np.sum(np.exp(raw_weights))
    mu = np.mean(returns, axis=0)
    centred = returns - mu
    cov = centred.T @ centred / (returns.shape[0] - 1)
    return (w @ mu) / np.sqrt(w @ cov @ w)


def monte_carlo_call_price(params, n_paths=2000, seed=0):
    """A European call by Monte Carlo with a fixed seed (common random
    numbers), a smoothed payoff so the estimate is differentiable."""
    spot, vol = params[0], params[1]
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n_paths)
    maturity, rate, strike = 1.0, 0.02, 1.0
    terminal = spot * np.exp((rate - 0.5 * vol ** 2) * maturity + vol * np.sqrt(maturity) * z)
    payoff = 0.05 * np.logaddexp(0.0, (terminal - strike) / 0.05)
    return np.exp(-rate * maturity) * np.mean(payoff)


def reparameterised_elbo(mu, log_sigma, data):
    """A variational lower bound with fixed noise (reparameterisation)."""
    eps = np.random.default_rng(3).standard_normal((64, mu.shape[0]))
    samples = mu + np.exp(log_sigma) * eps
    log_lik = -0.5 * np.sum((data[None, :, :] - samples[:, None, :]) ** 2, axis=(1, 2))
    kl = 0.5 * np.sum(np.exp(2 * log_sigma) + mu ** 2 - 1.0 - 2 * log_sigma)
    return np.mean(log_lik) - kl


def ridge_closed_form(X, y, lam):
    """Ridge regression by the normal equations."""
    d = X.shape[1]
    return np.linalg.solve(X.T @ X + lam * np.eye(d), X.T @ y)


def polynomial_fit(x, y, degree=3):
    """Least-squares polynomial coefficients from a Vandermonde matrix
    built column by column (normal equations)."""
    V = np.stack([x ** k for k in range(degree + 1)], axis=1)
    return np.linalg.solve(V.T @ V, V.T @ y)


def holt_forecast(params, series):
    """Holt's linear exponential smoothing, smoothing factors by a sigmoid."""
    alpha, beta = 1.0 / (1.0 + np.exp(-params[0])), 1.0 / (1.0 + np.exp(-params[1]))
    level, trend = series[0], series[1] - series[0]
    sse = 0.0
    for value in series[1:]:
        forecast = level + trend
        sse = sse + (value - forecast) ** 2
        new_level = alpha * value + (1 - alpha) * forecast
        trend = beta * (new_level - level) + (1 - beta) * trend
        level = new_level
    return sse


# ----------------------------------------------------------------- physics and numerics

def potential_gradient(q, A):
    return A @ q + 0.4 * q ** 3


def hamiltonian(q, p, A):
    return 0.5 * p @ p + 0.5 * q @ A @ q + 0.1 * np.sum(q ** 4)


def leapfrog(q, p, step, A, n_steps=10):
    """Stormer-Verlet for H = p.p/2 + q.A.q/2 + sum(q^4)/10."""
    p = p - 0.5 * step * potential_gradient(q, A)
    for _ in range(n_steps - 1):
        q = q + step * p
        p = p - step * potential_gradient(q, A)
    q = q + step * p
    p = p - 0.5 * step * potential_gradient(q, A)
    return np.concatenate([q, p])


def pendulum_rhs(state, g, length):
    theta, omega = state[0], state[1]
    return np.array([omega, -g / length * np.sin(theta)])


def pendulum_rk4(state, length, dt=0.05, n_steps=20):
    """A pendulum integrated with classical Runge-Kutta."""
    g = 9.81
    for _ in range(n_steps):
        k1 = pendulum_rhs(state, g, length)
        k2 = pendulum_rhs(state + 0.5 * dt * k1, g, length)
        k3 = pendulum_rhs(state + 0.5 * dt * k2, g, length)
        k4 = pendulum_rhs(state + dt * k3, g, length)
        state = state + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return state


def lotka_volterra_euler(log_rates, y0, dt=0.02, n_steps=25):
    a, b, c, d = np.exp(log_rates)
    prey, predator = y0[0], y0[1]
    trajectory = []
    for _ in range(n_steps):
        prey, predator = (prey + dt * (a * prey - b * prey * predator),
                          predator + dt * (d * prey * predator - c * predator))
        trajectory.append(np.array([prey, predator]))
    return np.stack(trajectory)


def spring_chain_energy(positions, velocities, stiffness, masses, rest_length=1.0):
    """Kinetic plus potential energy of masses joined by springs in a line."""
    kinetic = 0.5 * np.sum(masses * np.sum(velocities ** 2, axis=1))
    bonds = positions[1:] - positions[:-1]
    lengths = np.sqrt(np.sum(bonds ** 2, axis=1))
    potential = 0.5 * np.sum(stiffness * (lengths - rest_length) ** 2)
    return kinetic + potential


def heat_equation_periodic(u, diffusivity, n_steps=15, dx=0.1, dt=0.002):
    """Explicit finite differences on a ring, the stencil by np.roll."""
    r = diffusivity * dt / dx ** 2
    for _ in range(n_steps):
        u = u + r * (np.roll(u, 1) - 2 * u + np.roll(u, -1))
    return u


def heat_equation_2d(u, diffusivity, n_steps=6):
    """Five-point stencil by slicing, Dirichlet boundaries held at zero by
    padding the updated interior."""
    r = 0.2 * diffusivity
    for _ in range(n_steps):
        interior = u[1:-1, 1:-1] + r * (u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2]
                                        - 4 * u[1:-1, 1:-1])
        u = np.pad(interior, 1, "constant")
    return u


def advection_upwind_inplace(u, velocity, n_steps=8, courant=0.4):
    """Upwind advection written with an in-place update of a copy."""
    for _ in range(n_steps):
        new = u.copy()
        new[1:] = u[1:] - courant * velocity * (u[1:] - u[:-1])
        new[0] = u[0] - courant * velocity * (u[0] - u[-1])
        u = new
    return u


def poisson_residual(u, f, h=0.25):
    """Squared residual of -u'' = f on a grid, zero boundary values."""
    padded = np.concatenate([np.zeros(1), u, np.zeros(1)])
    laplacian = (padded[2:] - 2 * padded[1:-1] + padded[:-2]) / h ** 2
    return 0.5 * np.sum((-laplacian - f) ** 2)


def burgers_residual(u, nu=0.1, h=0.2):
    """Residual of the steady viscous Burgers equation on a periodic grid."""
    du = (np.roll(u, -1) - np.roll(u, 1)) / (2 * h)
    d2u = (np.roll(u, -1) - 2 * u + np.roll(u, 1)) / h ** 2
    return u * du - nu * d2u


def conv1d_manual(kernel, signal):
    """'valid' 1-d cross-correlation, one shifted slice per kernel tap."""
    n_out = signal.shape[0] - kernel.shape[0] + 1
    out = np.zeros(n_out)
    for i in range(kernel.shape[0]):
        out = out + kernel[i] * signal[i:i + n_out]
    return np.tanh(out)


def conv1d_numpy(kernel, signal):
    smoothed = np.convolve(signal, kernel, mode="same")
    return np.sum(smoothed ** 2)


def neural_ode_euler(params, y0, n_steps=12, dt=0.1):
    """dy/dt = W2 tanh(W1 y + b1): explicit Euler, a neural ODE's forward pass."""
    W1, b1, W2 = params
    y = y0
    for _ in range(n_steps):
        y = y + dt * W2 @ np.tanh(W1 @ y + b1)
    return y


def power_iteration(A, n_iter=30):
    """Largest eigenvalue of a symmetric matrix by power iteration."""
    v = np.ones(A.shape[0]) / np.sqrt(A.shape[0])
    for _ in range(n_iter):
        w = A @ v
        v = w / np.linalg.norm(w)
    return v @ A @ v


def newton_sqrt(a, tol=1e-12):
    """Square roots by Newton's method until the update is tiny."""
    x = a + 1.0
    while np.max(np.abs(x * x - a)) > tol:
        x = 0.5 * (x + a / x)
    return x


def bezier_length(control, n_samples=16):
    """Length of a Bezier curve by de Casteljau evaluation at sample points."""
    ts = np.linspace(0.0, 1.0, n_samples)
    points = []
    for t in ts:
        layer = [control[i] for i in range(len(control))]
        while len(layer) > 1:
            layer = [(1 - t) * a + t * b for a, b in zip(layer[:-1], layer[1:])]
        points.append(layer[0])
    curve = np.stack(points)
    return np.sum(np.sqrt(np.sum((curve[1:] - curve[:-1]) ** 2, axis=1)))


# ----------------------------------------------------------------- optimisation test functions

def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def beale(x):
    a, b = x[0], x[1]
    return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b ** 2) ** 2 + (2.625 - a + a * b ** 3) ** 2


def booth(x):
    return (x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2


def himmelblau(x):
    return (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2


def rastrigin(x):
    return 10.0 * len(x) + np.sum(x ** 2 - 10.0 * np.cos(2 * np.pi * x))


TEST_FUNCTIONS = {"rosenbrock": rosenbrock, "beale": beale, "booth": booth, "himmelblau": himmelblau}


def all_test_functions(x):
    """Every 2-d test function of the table, evaluated at the same point."""
    return np.array([f(x) for f in TEST_FUNCTIONS.values()])


# ----------------------------------------------------------------- Python idioms

class StandardizedLinearModel:
    """A model object holding constants (feature statistics), called like a
    function with the weights."""

    def __init__(self, mean, scale):
        self.mean = mean
        self.scale = scale

    def features(self, X):
        return (X - self.mean) / self.scale

    def __call__(self, w, X, y):
        residual = self.features(X) @ w - y
        return np.mean(residual ** 2) + 0.01 * np.sum(w ** 2)


MODEL = StandardizedLinearModel(np.array([1.0, -2.0, 0.5]), np.array([2.0, 0.5, 1.5]))


def robust_logdet(A):
    """log det by Cholesky, falling back to slogdet when A is not positive
    definite."""
    try:
        L = np.linalg.cholesky(A)
        return 2.0 * np.sum(np.log(np.diag(L)))
    except np.linalg.LinAlgError:
        return np.linalg.slogdet(A)[1]


def weighted_terms(weights, *terms):
    return sum(w * t for w, t in zip(weights, terms))


def regularised_loss(w, X, y):
    """A loss assembled from terms by a *args helper."""
    data = np.mean((X @ w - y) ** 2)
    l1 = np.sum(np.sqrt(w ** 2 + 1e-3))
    l2 = np.sum(w ** 2)
    return weighted_terms((1.0, 0.1, 0.01), data, l1, l2)


def elastic_net_from_config(w, X, y, config):
    """Keyword settings passed on with ** to a helper."""
    return penalised(w, X, y, **config)


def penalised(w, X, y, alpha=1.0, l1_ratio=0.5):
    fit = 0.5 * np.mean((X @ w - y) ** 2)
    return fit + alpha * (l1_ratio * np.sum(np.abs(w)) + 0.5 * (1 - l1_ratio) * np.sum(w ** 2))
