"""``jacrev`` of a derivative: the Jacobian computed directly in forward mode.

The reverse transform of a derivative function is forward mode over it
(``derivatives.JacobianVJP``): its forward pass computes the derivative's
value and, by ``jacfwd``, its Jacobian blocks; its backward pass contracts
the cotangents with those blocks. When ``jacrev`` pulls back the whole
identity basis at once (no ``chunk_size``, ``progress`` or ``executor``),
that contraction gives the blocks back, so the wrapper returns them directly:
no value pass, no contraction with the identity.

``jacrev(jacrev(f, a), a)`` with one int ``a`` is ``jacfwd(jacrev(f, a), a)``,
which is ``hessian(f, a)``: it gets the Hessian's compressed passes too (one
pass per colour of a global sparsity pattern, decompressed into the same
dense array; ``sparse._DenseHessian``).
"""
from .. import made

#: what the package's __init__ hands this module (``jacfwd``, ``dense_hessian``):
#: the forward transform imports the reverse one, which reads this module
API = {}


def direct_jacobian(func, argnums, has_aux):
    """The function computing ``jacrev(func, argnums, has_aux=has_aux)`` for
    a derivative ``func`` made by ``jacrev``, ``jacfwd`` or ``grad``, by
    forward mode; None for any other ``func`` (the chunk loop then runs)."""
    inner = made.of(func)
    if inner is None or inner[1] not in ("jacrev", "jacfwd", "grad"):
        return None
    dense = API["jacfwd"](func, argnums, has_aux=has_aux)
    inner_func, kind, inner_argnums, inner_has_aux = inner
    if (kind == "jacrev" and not inner_has_aux and not has_aux and type(argnums) is int
            and type(inner_argnums) is int and argnums == inner_argnums):
        return API["dense_hessian"](inner_func, argnums, dense)
    return dense
