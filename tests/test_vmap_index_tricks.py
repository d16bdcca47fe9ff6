"""vmap of functions that join values with np.r_ / np.c_ or add them with
np.add.at, and of their first and second derivatives, runs one NumPy call
per helper on the whole batch (no per-example loop, which would warn: the
warnings are errors here), and vmap(jacfwd(jacfwd(f))) assembles its
Jacobian columns on the whole batch too.

References: autograd on a twin written with np.concatenate / np.stack /
explicit sums (autograd has no np.r_ or np.add.at), example by example, and
the loop over the examples.
"""
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
import adjoint.runtime.batched_derivatives as batched_derivatives

V = 5


def r_with_slice(x):
    return np.sum(np.sin(np.r_[x[:2], 0:3, x[3], 2.0]) ** 2 * np.arange(7.0))


def r_with_slice_ag(x):
    joined = anp.concatenate([x[:2], anp.arange(3.0), x[3:4], anp.array([2.0])])
    return anp.sum(anp.sin(joined) ** 2 * anp.arange(7.0))


def r_with_directive(x):
    m = np.reshape(x[:4], (2, 2))
    return np.sum(np.cos(np.r_["0,2", m, x[2:4] * 3.0]) * np.arange(6.0).reshape(3, 2))


def r_with_directive_ag(x):
    m = anp.reshape(x[:4], (2, 2))
    joined = anp.concatenate([m, anp.reshape(x[2:4] * 3.0, (1, 2))], axis=0)
    return anp.sum(anp.cos(joined) * anp.arange(6.0).reshape(3, 2))


def c_columns(x):
    m = np.reshape(x[:4], (2, 2))
    return np.sum(np.sin(np.c_[m, x[1:3], np.ones(2)]) ** 2 * np.arange(8.0).reshape(2, 4))


def c_columns_ag(x):
    m = anp.reshape(x[:4], (2, 2))
    joined = anp.concatenate([m, anp.reshape(x[1:3], (2, 1)), anp.ones((2, 1))], axis=1)
    return anp.sum(anp.sin(joined) ** 2 * anp.arange(8.0).reshape(2, 4))


def add_at(x):
    y = np.zeros((3, 2))
    np.add.at(y, ([0, 2, 0], [1, 1, 1]), x[:3] ** 2)
    np.add.at(y, 1, x[2:4])
    return np.sum(np.sin(y) * np.arange(6.0).reshape(3, 2))


def add_at_ag(x):
    # y[0, 1] = x0^2 + x2^2, y[2, 1] = x1^2, y[1] = x[2:4]
    y = anp.stack([anp.stack([0.0, x[0] ** 2 + x[2] ** 2]), x[2:4], anp.stack([0.0, x[1] ** 2])])
    return anp.sum(anp.sin(y) * anp.arange(6.0).reshape(3, 2))


CASES = [
    ("r_-slice", r_with_slice, r_with_slice_ag),
    ("r_-directive", r_with_directive, r_with_directive_ag),
    ("c_", c_columns, c_columns_ag),
    ("add.at", add_at, add_at_ag),
]


def _no_loop(function, X, monkeypatch):
    """``vmap(function)(X)``, failing on a per-example loop: a helper without
    a batching rule warns; ``rt.merged`` of a helper once per example is counted."""
    looped = []
    merged_call = batched_derivatives.vmerged_call

    def counted(batch, flags, keyword_flags, merge, helper, t, *args, **kwargs):
        shape_only = batched_derivatives.SHAPE_ONLY.get(helper, ())
        if helper not in batched_derivatives.MERGE_BATCHED and any(
                f and i not in shape_only and not batched_derivatives._shared(a)
                for i, (a, f) in enumerate(zip(args, flags[2:]))):
            looped.append(helper.__name__)
        return merged_call(batch, flags, keyword_flags, merge, helper, t, *args, **kwargs)

    monkeypatch.setattr(batched_derivatives, "vmerged_call", counted)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = adjoint.vmap(function)(X)
    assert looped == []
    return result


@pytest.mark.parametrize("label, f, f_ag", CASES, ids=[c[0] for c in CASES])
def test_vmap_of_function_gradient_and_hessian(label, f, f_ag, monkeypatch):
    X = np.random.default_rng(len(label)).normal(size=(V, 4))
    np.testing.assert_allclose(_no_loop(f, X, monkeypatch), [f_ag(x) for x in X], rtol=1e-13)
    for transform, reference in ((adjoint.grad, autograd.grad), (adjoint.jacfwd, autograd.grad),
                                 (adjoint.hessian, autograd.hessian)):
        got = _no_loop(transform(f), X, monkeypatch)
        expected = np.stack([reference(f_ag)(x) for x in X])
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13, err_msg=transform.__name__)
        np.testing.assert_array_equal(got, np.stack([transform(f)(x) for x in X]), err_msg=transform.__name__)


def test_vmap_of_jacfwd_of_jacfwd_assembles_columns_on_the_batch(monkeypatch):
    # rt.jacobian_from_columns_tangent reads out and x for their shapes only
    def f(x):
        return np.sin(x) * x[::-1] ** 2

    def f_ag(x):
        return anp.sin(x) * x[::-1] ** 2

    X = np.random.default_rng(2).normal(size=(V, 3))
    got = _no_loop(adjoint.jacfwd(adjoint.jacfwd(f)), X, monkeypatch)
    expected = np.stack([autograd.jacobian(autograd.jacobian(f_ag))(x) for x in X])
    assert got.shape == (V, 3, 3, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)
    got = _no_loop(adjoint.jacfwd(adjoint.jacfwd(add_at)), np.random.default_rng(3).normal(size=(V, 4)),
                   monkeypatch)
    assert got.shape == (V, 4, 4)


def test_np_r_directive_is_not_split_into_characters_per_example():
    # a directive string inside a batched tuple of items is the same in every
    # example: the per-example path gave np.r_ its first character ('0')
    from adjoint import runtime as rt
    items = ("0,2", np.arange(8.0).reshape(2, 2, 2), np.ones((2, 2)))
    assert rt.example(items, 1)[0] == "0,2"
    np.testing.assert_array_equal(rt.vindex_trick(2, np.r_, items),
                                  np.stack([np.r_["0,2", items[1][v], items[2][v]] for v in range(2)]))
