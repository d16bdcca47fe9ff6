"""The transforms users call: argument checks, pytrees, chunk loops.

``jacobians`` (jacrev, jacfwd, vjp, jvp, grad, hessian, defvjp, defjvp,
source), ``vmap``, ``pytree`` (flatten and unflatten containers) and
``derivatives`` (derivatives as Python functions over generated code, so
that a further transform can read them).
"""
