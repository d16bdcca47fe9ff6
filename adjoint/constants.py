"""``stop_gradient`` and ``no_grad``: what makes values constants for
differentiation. Their own module, so that the normalizer recognises them
without importing the API."""
from typing import Literal, TypeVar

T = TypeVar("T")


class no_grad:  # noqa: N801 (torch's name)
    """``with adjoint.no_grad():`` inside a differentiated function makes
    everything computed in the block a constant for differentiation. Outside
    of one it does nothing: transforms are pure functions of their inputs."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> Literal[False]:
        return False


def stop_gradient(x: T) -> T:
    """Return ``x`` unchanged; no derivative flows through the result."""
    return x
