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


# ---------------------------------------------------------------- forward mode: sum/max of list items without a tangent


def _sum_of_slice(np):
    def f(x, y):
        items = [x, x * 2.0, x * x, y]
        total = sum(items[::-1][1:])  # only y carries a tangent in jacfwd(f, argnums=1), and it is sliced off
        return total * y + np.sin(y)
    return f


def _max_of_slice(np):
    def f(x, y):
        items = [x[0] * 1.0, x[1] * 2.0, y[0]]
        return max(items[:2]) * y
    return f


X3 = np.array([0.1, 0.2, 0.3])
Y3 = np.array([0.5, -0.4, 0.7])


@pytest.mark.parametrize("program", [_sum_of_slice, _max_of_slice])
def test_jacfwd_of_sum_or_max_over_items_none_of_which_has_a_tangent(program):
    # sum(items[1:]) where no remaining item depends on the differentiated
    # argument: the forward helper raised 'forward mode cannot size its zero
    # tangent' though the generated code knows the number of tangents.
    f, fa = program(np), program(anp)
    for argnum in (0, 1):
        np.testing.assert_allclose(adjoint.jacfwd(f, argnums=argnum)(X3, Y3),
                                   autograd.jacobian(fa, argnum)(X3, Y3), rtol=1e-12, atol=1e-12)
    want = autograd.jacobian(autograd.jacobian(fa, 1), 0)(X3, Y3)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(f, argnums=1), argnums=0)(X3, Y3), want,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(adjoint.jacrev(adjoint.jacfwd(f, argnums=1), argnums=0)(X3, Y3), want,
                               rtol=1e-12, atol=1e-12)
    batch = np.stack([X3, 2.0 * X3, -X3])
    got = adjoint.vmap(adjoint.jacfwd(f, argnums=1), in_dims=(0, None))(batch, Y3)
    np.testing.assert_allclose(got, np.stack([autograd.jacobian(fa, 1)(row, Y3) for row in batch]),
                               rtol=1e-12, atol=1e-12)


def test_batched_sum_of_items_tangent_without_item_tangents_is_zero():
    # The vmap rule of the helper (vmap of forward code): zeros (V, rows) + shape.
    from adjoint import runtime as rt
    z = np.arange(6.0).reshape(2, 3)
    got = rt.vsum_of_items_tangent(2, [None, None], [z, z], z, 4)
    assert got.shape == (2, 4, 3) and not got.any()


def _max_of_sliced_products(np):
    def f(x):
        items = [x[0] * 1.0, x[1] * 2.0, x[3] * x[4]]
        return max(items[:2]) * x[4] ** 2 + x[3] ** 3
    return f


def test_second_and_third_forward_derivatives_of_max_over_a_sliced_list():
    # The items left by the slice are linear in x, so their second tangents
    # are holes; the tangent of rt.extremum_of_items_tangent was then None
    # and the next line of jacfwd(jacfwd(f)) crashed inside generated code
    # ('NoneType' object has no attribute 'shape').
    f, fa = _max_of_sliced_products(np), _max_of_sliced_products(anp)
    x = np.array([0.3, -0.6, 0.2, 0.5, -0.8])
    hess = autograd.hessian(fa)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(f))(x), hess(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(adjoint.jacrev(adjoint.jacfwd(adjoint.jacfwd(f)))(x), autograd.jacobian(hess)(x),
                               rtol=1e-12, atol=1e-12)
    batch = np.stack([x, -x])
    np.testing.assert_allclose(adjoint.vmap(adjoint.jacfwd(adjoint.jacfwd(f)))(batch),
                               np.stack([hess(row) for row in batch]), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- second derivatives through objects and namedtuples


class _Accumulator:
    def __init__(self):
        self.total = 0.0

    def add(self, v):
        self.total = self.total + np.sum(v ** 2)


def _accumulate(x):
    acc = _Accumulator()
    for i in range(3):
        acc.add(x[i:i + 2] * x[4])
    return acc.total


def _accumulate_hessian(x):
    """Analytic Hessian of x[4]**2 * sum_i sum(x[i:i+2]**2) (i = 0, 1, 2)."""
    counts = np.array([1.0, 2.0, 2.0, 1.0, 0.0])  # how often each x[j] enters
    s = np.sum(counts * x ** 2)
    hess = np.diag(2.0 * counts * x[4] ** 2)
    hess[4, :] += 4.0 * counts * x * x[4]
    hess[:, 4] += 4.0 * counts * x * x[4]
    hess[4, 4] += 2.0 * s
    return hess


X5 = np.array([0.3, -0.6, 0.2, 0.5, -0.8])


@pytest.mark.parametrize("outer", ["jacfwd", "jacrev"])
def test_forward_over_forward_reads_attributes_of_an_object_the_function_made(outer):
    # jacfwd(jacfwd(f)) and jacrev(jacfwd(f)) followed the source of
    # rt.attribute_tangent (no rule) and refused its getattr, naming the
    # library's runtime/tangents.py as the user's line.
    got = getattr(adjoint, outer)(adjoint.jacfwd(_accumulate))(X5)
    np.testing.assert_allclose(got, _accumulate_hessian(X5), rtol=1e-12, atol=1e-12)


_Pair = __import__("collections").namedtuple("_Pair", "a b")


def _pair_program(np):
    def f(x):
        p = _Pair(b=np.sin(x[3:]), a=x[:2] * x[2])  # keywords: the tangent fills slots
        q = _Pair(p.a * 2.0, p.b)
        a, b = q
        return np.sum(a ** 2 * b[0]) + np.sum(q.b ** 3)
    return f


@pytest.mark.parametrize("order", ["ff", "rf", "fff", "rrf"])
def test_forward_code_building_a_namedtuple_differentiated_again(order):
    # Forward code makes a namedtuple's tangent with rt.tuple_tangent, which
    # had no rule: differentiating it again followed its source and refused
    # its for loop, naming the library's runtime/second_order_math.py.
    transforms = {"f": adjoint.jacfwd, "r": adjoint.jacrev}
    f = _pair_program(np)
    for letter in reversed(order):  # the last letter is the innermost transform
        f = transforms[letter](f)
    want = autograd.hessian(_pair_program(anp))
    if len(order) == 3:
        want = autograd.jacobian(want)
    np.testing.assert_allclose(f(X5), want(X5), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- derivatives of vmap(f) when f's output ignores the batch


def _ignores_batch(x, y):
    return x * 2.0


def test_jacfwd_of_vmap_whose_output_does_not_depend_on_the_mapped_argument():
    # vmap broadcasts such an output with rt.to_batched(value, batch); its
    # tangent rule merged the two leading axes of the tangent as if it were
    # the tangent of an adjoint ((T, B) + shape), but it is (T,) + shape. When
    # the sizes happened to fit (here T = x.size = 2, batch = 4) the result
    # was silently wrong: rows of 2's in place of 2 * identity per example;
    # otherwise a reshape error inside the library.
    x = np.array([0.3, -0.6])
    ys = np.ones((4, 3))
    want = np.broadcast_to(2.0 * np.eye(2), (4, 2, 2))
    for transform in (adjoint.jacfwd, adjoint.jacrev):
        got = transform(adjoint.vmap(_ignores_batch, in_dims=(None, 0)))(x, ys)
        np.testing.assert_array_equal(got, want)


def _sum_of_squares_times_first(x, y):
    return np.sum(np.sin(x) ** 2) * x[0]


def _sum_of_squares_times_first_batched(x, ys):
    return anp.stack([anp.sum(anp.sin(x) ** 2) * x[0] for _ in range(ys.shape[0])])


@pytest.mark.parametrize("order", ["f", "r", "ff", "rf", "fr", "rff"])
def test_derivatives_of_vmap_whose_scalar_output_ignores_the_mapped_argument(order):
    transforms = {"f": adjoint.jacfwd, "r": adjoint.jacrev}
    f = adjoint.vmap(_sum_of_squares_times_first, in_dims=(None, 0))
    want = _sum_of_squares_times_first_batched
    for letter in reversed(order):
        f = transforms[letter](f)
        want = autograd.jacobian(want)
    x = np.array([0.3, -0.6, 0.2])
    ys = np.ones((2, 4))
    np.testing.assert_allclose(f(x, ys), want(x, ys), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- vmap of a function returning a string


def _with_label(x):
    return np.sin(x), "label"


def test_vmap_of_a_function_returning_a_string_names_the_string():
    # The message used to say the function returned None, pointing at
    # in-place functions, when it had returned a string.
    with pytest.raises(TypeError, match=r"vmap: the function returned 'label' \(a str\) where an array"):
        adjoint.vmap(_with_label)(np.ones((2, 3)))


# ---------------------------------------------------------------- vmap over zero examples


def _cubes(x):
    return np.sum(x ** 3)


@pytest.mark.parametrize("make, shape", [
    (lambda: adjoint.vmap(adjoint.jacrev(np.sin)), (0, 3, 3)),
    (lambda: adjoint.vmap(adjoint.jacfwd(np.sin)), (0, 3, 3)),
    (lambda: adjoint.vmap(adjoint.hessian(_cubes)), (0, 3, 3)),
    (lambda: adjoint.vmap(adjoint.jacrev(np.sin), chunk_size=2), (0, 3, 3)),
])
def test_vmap_of_a_derivative_over_zero_examples(make, shape):
    # The batched code of a derivative reads one example (its output basis):
    # over an empty batch that was an IndexError inside generated code.
    got = make()(np.ones((0, 3)))
    assert got.shape == shape and got.dtype == np.float64


def test_vmap_of_a_derivative_over_zero_examples_after_a_batch():
    # The fast path of a vmapped function already called on a batch ran the
    # batched code straight on zero examples (the IndexError again).
    vmapped = adjoint.vmap(adjoint.jacrev(np.sin))
    x = np.linspace(-1.0, 1.0, 12).reshape(4, 3)
    np.testing.assert_allclose(vmapped(x), np.stack([np.diag(np.cos(row)) for row in x]), rtol=1e-15)
    assert vmapped(np.ones((0, 3))).shape == (0, 3, 3)


def test_vmap_of_a_derivative_over_zero_examples_along_another_axis():
    got = adjoint.vmap(adjoint.grad(_cubes), in_dims=1)(np.ones((3, 0)))
    assert got.shape == (0, 3)


# ---------------------------------------------------------------- derivatives of vmap(f) with Python's sum / min / max


def _builtin_reductions(np):
    def f(x, y):
        return min(y[0], x[1]) * y + max([x[0], y[1], x[1] * 0.5]) * x[0] + sum([x * x, y]) * x[1]
    return f


def test_derivatives_of_vmap_through_builtin_sum_min_max():
    # vmap code calls rt.vsum_items / rt.vextremum_items for Python's sum,
    # max and min of mixed batched and shared items; differentiating it
    # (jacrev(vmap(f))) followed their source and refused a comprehension,
    # naming adjoint/runtime/batched_shape.py as the user's line (found by the
    # extended fuzzer, seed 950002).
    f, fa = _builtin_reductions(np), _builtin_reductions(anp)
    xs = np.array([[0.1, 0.2], [0.5, -0.6], [0.35, 0.05]])
    y = np.array([0.3, 0.4])

    def want(xs, y):
        return anp.stack([fa(xs[b], y) for b in range(xs.shape[0])])

    batched = adjoint.vmap(f, in_dims=(0, None))
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        for argnum in (0, 1):
            np.testing.assert_allclose(transform(batched, argnums=argnum)(xs, y),
                                       autograd.jacobian(want, argnum)(xs, y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacrev(batched))(xs, y),
                               autograd.jacobian(autograd.jacobian(want))(xs, y), rtol=1e-12, atol=1e-12)


def test_vmap_of_forward_over_forward_code_reading_namedtuple_fields():
    # vmap batches rt.attribute_tangent with its own rule (rt.vattribute_tangent).
    f = adjoint.vmap(adjoint.jacfwd(adjoint.jacfwd(_pair_program(np))))
    xs = np.stack([X5, -0.5 * X5])
    want = np.stack([autograd.hessian(_pair_program(anp))(row) for row in xs])
    np.testing.assert_allclose(f(xs), want, rtol=1e-12, atol=1e-12)
