"""Errors raised inside a composed transform name what the user wrote: the
memory budget's error names the composition (jacrev(jacrev(f))), not the
inner transform the library runs (jacfwd of f_jacrev); a refusal met while
differentiating generated code again is placed at the user's line."""
import numpy as np
import pytest

import adjoint
from adjoint import errors


def wave(x):
    return np.sin(x) * np.sum(x)


@pytest.fixture
def small_budget():
    before = adjoint.get_memory_budget()
    adjoint.set_memory_budget(6_000)
    yield
    adjoint.set_memory_budget(before)


@pytest.mark.parametrize("name, transform", [
    ("jacrev(jacrev(wave))", lambda f: adjoint.jacrev(adjoint.jacrev(f))),
    ("jacfwd(jacrev(wave))", lambda f: adjoint.jacfwd(adjoint.jacrev(f))),
    ("jacrev(jacfwd(wave))", lambda f: adjoint.jacrev(adjoint.jacfwd(f))),
])
def test_budget_error_names_the_composition(small_budget, name, transform):
    with pytest.raises(errors.MemoryBudgetError) as caught:
        transform(wave)(np.ones(30))
    message = str(caught.value)
    assert message.startswith(f"{name}: the Jacobian has 900 x 30"), message
    assert "f_jacrev" not in message and "f_jacfwd" not in message


def test_budget_error_of_one_transform_unchanged(small_budget):
    with pytest.raises(errors.MemoryBudgetError, match=r"^jacrev of wave: the Jacobian has 30 x 30"):
        adjoint.jacrev(wave)(np.ones(30))


def square_svd(a):
    u, s, vt = np.linalg.svd(a, full_matrices=True)
    return np.sum(s ** 3) + np.sum(u * vt)


def test_fourth_order_refusal_is_at_the_users_line():
    """Fourth order through the SVD's factors is not supported (the third is,
    tests/test_svd_third_order.py): the refusal, met in the code of the third
    derivative, names the user's line (the generated line is kept in a note)."""
    with pytest.raises(errors.NoRuleError) as caught:
        adjoint.jacrev(adjoint.jacrev(adjoint.jacrev(adjoint.jacrev(square_svd))))(
            np.array([[2.0, 0.5], [0.3, 1.0]]))
    message = str(caught.value)
    assert message.startswith(f"{__file__}:"), message
    assert "np.linalg.svd(a, full_matrices=True)" in message
    notes = getattr(caught.value, "__notes__", [str(caught.value)])  # (Python 3.10: in the message)
    assert any("derivative code" in note for note in notes)
