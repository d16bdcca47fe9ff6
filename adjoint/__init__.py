"""adjoint: differentiate NumPy code by source transformation.

The public names of SPEC.md. Rule writers use ``adjoint.rules``.
"""
from .api import (
    defjvp, defvjp, get_memory_budget, grad, hessian, jacfwd, jacrev, jvp, set_memory_budget, source,
    value_and_grad, vjp,
)
from .constants import no_grad, stop_gradient
from .api.sparse import sparsity
from .api.vmap import vmap
from .errors import (
    AdjointError,
    MemoryBudgetError,
    NoRuleError,
    SourceUnavailableError,
    TransformError,
    UnsupportedSyntaxError,
)

__all__ = [
    "jacrev", "jacfwd", "jvp", "vjp", "grad", "value_and_grad", "hessian", "source", "defvjp", "defjvp",
    "vmap", "sparsity", "stop_gradient", "no_grad",
    "AdjointError", "TransformError", "UnsupportedSyntaxError", "NoRuleError",
    "SourceUnavailableError", "MemoryBudgetError", "set_memory_budget", "get_memory_budget",
]


def __getattr__(name):
    """``adjoint.__version__``, read on first use: finding the installed
    distribution's metadata costs about a third of the package's import."""
    if name == "__version__":
        from ._version import __version__
        return __version__
    raise AttributeError(f"module 'adjoint' has no attribute {name!r}")
