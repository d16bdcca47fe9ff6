"""adjoint: differentiate NumPy code by source transformation.

The public names of SPEC.md. Rule writers use ``adjoint.rules``.
"""
from .api.jacobians import defjvp, defvjp, grad, hessian, jacfwd, jacrev, jvp, no_grad, source, stop_gradient, vjp
from .api.vmap import vmap
from .errors import (
    AdjointError,
    NoRuleError,
    SourceUnavailableError,
    TransformError,
    UnsupportedSyntaxError,
)

__all__ = [
    "jacrev", "jacfwd", "jvp", "vjp", "grad", "hessian", "source", "defvjp", "defjvp",
    "vmap", "stop_gradient", "no_grad",
    "AdjointError", "TransformError", "UnsupportedSyntaxError", "NoRuleError",
    "SourceUnavailableError",
]
from ._version import __version__  # noqa: E402 (setup.cfg's version)
