"""vmap and its compositions of NumPy calls given a Python list of batched
values (``np.maximum([x, y], 0.5)``): the list is stacked after the batch
axis (transforms/batching_lists.py). Before, vmap gave every example's
results transposed and vmap(jacrev(f)) raised inside the library. Checked
against autograd, example by example."""
import autograd
import autograd.numpy as anp
import numpy as np

import adjoint

X = np.array([0.1, 0.7, 0.3, 0.9])
Y = np.array([0.6, 0.2, 0.8, 0.4])


def per_example(function, *batches):
    return np.stack([function(*args) for args in zip(*batches)])


def maximum_of_list(x, y):
    return np.maximum([x, y], 0.5)


def maximum_reference(x, y):
    return anp.maximum(anp.array([x, y]), 0.5)


def test_maximum_of_a_list_under_vmap_and_its_jacobians():
    jacobian = per_example(autograd.jacobian(lambda v: maximum_reference(v[0], v[1])), np.stack([X, Y], 1))
    np.testing.assert_allclose(adjoint.vmap(maximum_of_list)(X, Y), per_example(maximum_reference, X, Y))
    rev = adjoint.vmap(adjoint.jacrev(maximum_of_list, argnums=(0, 1)))(X, Y)
    np.testing.assert_allclose(np.stack(rev, -1), jacobian)
    fwd = adjoint.vmap(adjoint.jacfwd(maximum_of_list, argnums=(0, 1)))(X, Y)
    np.testing.assert_allclose(np.stack(fwd, -1), jacobian)
    # the Jacobian of the batched function: example i's rows in its own column
    whole = adjoint.jacrev(adjoint.vmap(maximum_of_list))(X, Y)
    assert whole.shape == (4, 2, 4)
    np.testing.assert_allclose(whole[np.arange(4), :, np.arange(4)], jacobian[:, :, 0])
    np.testing.assert_allclose(whole.sum(axis=2), jacobian[:, :, 0])  # (zeros elsewhere)


def sine_of_maximum(x, y):
    return np.sum(np.sin(np.maximum([x, y], 0.5)))


def test_hessian_of_a_list_under_vmap():
    def reference(x, y):
        return anp.sum(anp.sin(anp.maximum(anp.array([x, y]), 0.5)))

    np.testing.assert_allclose(adjoint.vmap(adjoint.hessian(sine_of_maximum))(X, Y),
                               per_example(autograd.hessian(reference), X, Y))


def nested(x, y):  # a nested list with a constant, through helpers of the backward code (dot's)
    pairs = np.clip([[x, y], [x * y, 0.3]], 0.25, 0.66)
    return np.dot(pairs[0], [y, x * x]) + np.sum(np.concatenate([[x], [y * y]]) * pairs[1])


def nested_reference(x, y):
    pairs = anp.clip(anp.array([[x, y], [x * y, 0.3]]), 0.25, 0.66)
    return anp.dot(pairs[0], anp.array([y, x * x])) + anp.sum(anp.array([x, y * y]) * pairs[1])


def test_nested_lists_under_vmap_jacrev():
    reference = per_example(autograd.grad(nested_reference), X, Y)
    np.testing.assert_allclose(adjoint.vmap(adjoint.jacrev(nested))(X, Y), reference)


def test_lists_of_batched_arrays():
    xs = np.array([[0.1, 0.7, 0.3], [0.9, 0.2, 0.5]])
    ys = xs[::-1] * 1.3 - 0.18

    def reference(x, y):
        return anp.sin(anp.minimum(anp.array([x, y]), 0.5))

    expected = per_example(autograd.jacobian(reference), xs, ys)
    np.testing.assert_allclose(adjoint.vmap(adjoint.jacfwd(minimum_of_arrays))(xs, ys), expected)


def minimum_of_arrays(x, y):
    return np.sin(np.minimum([x, y], 0.5))


def appended(x, y):  # a list built by append in a loop (its loop copies may hold a list too)
    items = []
    for k in range(3):
        items.append(x * k + y)
    return np.sum(np.sin(np.tanh(items)))


def test_list_built_in_a_loop_second_derivative():
    def reference(x, y):
        return anp.sum(anp.sin(anp.tanh(anp.array([x * k + y for k in range(3)]))))

    # the tangent of the list (a loop's copy of it) was read unstacked: a crash
    # unbatched, zeros under vmap(hessian)
    assert np.isclose(adjoint.jacfwd(adjoint.grad(appended))(X[0], Y[0]), autograd.hessian(reference)(X[0], Y[0]))


def matrix_of_list(x, y):
    return np.matmul([[x, y], [y, 1.0]], [x, 2.0])


def test_forward_mode_through_a_nested_list_with_a_constant_row():
    expected = autograd.jacobian(lambda a: anp.stack([anp.dot(anp.array([[a[i], Y[i]], [Y[i], 1.0]]),
                                                              anp.array([a[i], 2.0])) for i in range(4)]))(X)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.vmap(matrix_of_list))(X, Y), expected)


def blocks(x):
    return np.block([[x, x * 2.0], [x, x]])


def choices(x):  # choices that broadcast against each other (an array and a number)
    return np.choose([0, 1, 0], [x * 2.0, 3.0])


def test_functions_reading_a_list_item_by_item_get_it_as_it_is():
    xs = np.array([[0.1, -0.7, 0.3], [0.9, 0.2, -0.5]])
    np.testing.assert_allclose(adjoint.vmap(blocks)(xs), per_example(blocks, xs))
    np.testing.assert_allclose(adjoint.vmap(choices)(xs), per_example(choices, xs))
