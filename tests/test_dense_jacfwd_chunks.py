"""Default chunks of a large dense jacfwd are capped at CHUNK_ELEMENTS
elements per tangent array, and the chunks of one input array and one
output array are written straight into the Jacobian (api/forward.py).
The cap is lowered here so that a small function takes several chunks."""
import autograd
import autograd.numpy as anp
import numpy as np

import adjoint
from adjoint.api import forward


def elementwise(x):
    return np.sin(x) * np.exp(-x ** 2) + x ** 3


def mixing(x):
    return np.tanh(np.outer(x, x[:4]).sum(axis=0)) * x[1]


def test_capped_chunks_give_the_whole_jacobian(monkeypatch):
    monkeypatch.setattr(forward, "CHUNK_ELEMENTS", 40)  # 10 inputs: chunks of 4 columns, then of 4 (10 outputs)
    x = np.random.default_rng(3).standard_normal(10)
    expected = autograd.jacobian(lambda v: anp.sin(v) * anp.exp(-v ** 2) + v ** 3)(x)
    np.testing.assert_allclose(adjoint.jacfwd(elementwise)(x), expected, rtol=1e-13)
    expected = autograd.jacobian(lambda v: anp.tanh(anp.sum(anp.outer(v, v[:4]), axis=0)) * v[1])(x)
    result = adjoint.jacfwd(mixing)(x)
    assert result.shape == (4, 10) and result.flags.c_contiguous
    np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-14)
    monkeypatch.setattr(forward, "CHUNK_ELEMENTS", 1)  # one column per chunk
    np.testing.assert_allclose(adjoint.jacfwd(mixing)(x), expected, rtol=1e-12, atol=1e-14)
