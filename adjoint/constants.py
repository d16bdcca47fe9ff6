"""``stop_gradient`` and ``no_grad``: what makes values constants for
differentiation. Their own module, so that the normalizer recognises them
without importing the API."""
from typing import Literal, TypeVar

T = TypeVar("T")


class no_grad:  # noqa: N801 (torch's name)
    """``with adjoint.no_grad():`` inside a differentiated function makes
    everything computed in the block a constant for differentiation (torch's
    ``no_grad`` inside a function). Outside of one it does nothing: transforms
    are pure functions of their inputs.

    Examples:
        >>> import numpy as np, adjoint
        >>> def f(x):
        ...     with adjoint.no_grad():
        ...         scale = np.sum(x)
        ...     return np.sum(x) * scale
        >>> adjoint.grad(f)(np.array([1.0, 2.0]))
        array([3., 3.])
    """

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> Literal[False]:
        return False


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
