"""adjoint: differentiate NumPy code by source transformation.

The public names of SPEC.md. Rule writers use ``adjoint.rules``.
"""
from .api import defvjp, grad, jacrev, no_grad, source, stop_gradient, vjp
from .errors import (
    AdjointError,
    NoRuleError,
    SourceUnavailableError,
    TransformError,
    UnsupportedSyntaxError,
)

__all__ = [
    "jacrev", "vjp", "grad", "source", "defvjp", "stop_gradient", "no_grad",
    "AdjointError", "TransformError", "UnsupportedSyntaxError", "NoRuleError",
    "SourceUnavailableError",
]
__version__ = "0.1.0"
