"""``stop_gradient`` and ``no_grad``: what makes values constants for
differentiation. Their own module, so that the normalizer recognises them
without importing the API."""
from typing import TypeVar

from .runtime.structure import no_grad  # (a runtime helper: generated code writes it as rt.no_grad)

__all__ = ["no_grad", "stop_gradient"]

T = TypeVar("T")


def stop_gradient(x: T) -> T:
    """Return ``x`` unchanged; no derivative flows through the result.

    Args:
        x: Any value.

    Returns:
        ``x`` itself, a constant for differentiation.

    Examples:
        >>> import numpy as np, adjoint
        >>> def f(x):
        ...     return np.sum(x * adjoint.stop_gradient(x))
        >>> adjoint.grad(f)(np.array([1.0, 2.0]))
        array([1., 2.])
    """
    return x
