"""The transforms users call (SPEC.md): argument checks, pytrees, chunk loops.

``reverse`` (jacrev, vjp, grad, value_and_grad), ``forward`` (jacfwd, jvp,
hessian), ``vmap``, ``sparse`` (sparsity and sparse results by coloured
passes, over ``coloring``), ``parallel`` (chunks on an executor),
``source_text`` (source), ``custom_rules`` (defvjp, defjvp). What they
share: ``calling`` (argument checks, the inputs as pytree leaves, the
compiled transform a call runs, user-facing errors), ``bases`` (the identity
bases the chunk passes run over), ``budget`` (the memory
budget), ``pytree``, ``progress``, and ``derivatives`` (derivatives as
Python functions over generated code, so that a further transform can read
them).

Importing the package also hands the layers below what they ask the API
for, so that none of them imports it.
"""
from .. import runtime
from ..backend import cache
from ..rules import vmap_loop
from ..frontend.ir import arity_of
from . import derivatives, repeated
from .budget import get_memory_budget, set_memory_budget
from .calling import _check_argnums, _differentiable, compiled_call, transform_call
from .custom_rules import defjvp, defvjp
from .forward import hessian, jacfwd, jvp
from .reverse import grad, jacrev, value_and_grad, vjp
from .source_text import compiled_for_source, source
from .sparse import dense_hessian


# The transformer for callees known only when generated code runs, and what a
# derivative made by a transform computes.
runtime.DYNAMIC.update(get_vjp=cache.get_vjp, compiled_call=compiled_call, arity_of=arity_of,
                       transform_call=transform_call)
cache.CALLEES.derivative_function = derivatives.derivative_function
cache.CALLEES.makers = (jacrev, jacfwd, grad, hessian, value_and_grad)
repeated.API.update(jacfwd=jacfwd, dense_hessian=dense_hessian)
vmap_loop.API.update(jacrev=jacrev, jacfwd=jacfwd)
derivatives.API.update(check_argnums=_check_argnums, compiled_call=compiled_call, differentiable=_differentiable,
                       jacfwd=jacfwd, get_vmap=cache.get_vmap)

__all__ = [
    "jacrev", "jacfwd", "jvp", "vjp", "grad", "value_and_grad", "hessian", "source", "compiled_for_source",
    "defvjp", "defjvp", "set_memory_budget", "get_memory_budget",
]
