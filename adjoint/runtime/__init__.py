"""The helpers that generated derivative code calls, as ``rt.<name>``.

Conventions (DESIGN.md): a cotangent ``g`` carries one leading batch axis, so
for a primal ``x`` of shape ``s`` its adjoint has shape ``(B,) + s``. Every
helper here takes and returns adjoints in that form, never mutates its
arguments, and imports nothing but NumPy, so an exported derivative module can
carry these helpers along and run with NumPy alone.

``None`` stands for a zero adjoint inside containers (a tuple adjoint whose
second element never received a contribution); leaf adjoints handed to rules
are always arrays.

The helpers live in one module per family (the families of ``adjoint.rules``)
and per transform: reverse-mode helpers (``broadcasting`` .. ``structure``),
forward mode (``tangents``, ``tangent_*``), forward mode over backward code
(``second_order_*``), derivatives as code (``jacobians``) and vmap
(``batched*``). Generated code sees them all in this one namespace, ``rt``.
"""
from . import (  # noqa: F401 (each family's helpers are re-exported below)
    broadcasting,
    reductions,
    elementwise,
    linalg,
    shape,
    indexing,
    in_place,
    calls,
    structure,
    tangents,
    jacobians,
    tangent_reductions,
    tangent_shape,
    tangent_linalg,
    second_order_arrays,
    second_order_math,
    tangent_elementwise,
    batched,
    batched_reductions,
    batched_linalg,
    batched_basis,
    batched_tangents,
    batched_derivatives,
    batched_shape,
    batched_linalg_derivatives,
    batched_second_order,
    batched_index_tricks,
    batched_decompositions,
    batched_scatter,
    batched_scipy,
    batched_scipy_linalg,
    differences,
    cholesky_solve,
    masked_bars,
    objects,
    einsums,
    scipy_slopes,
    scipy_stats_helpers,
    eig,
    tree_axes,
    batched_products,
    uniform_branches,
    batched_adjoints,
    batched_lifted,
    batched_convolve,
    batched_eig,
    batched_mvn,
    batched_sylvester,
    nested_vmap,
    svd_higher,
    polynomials,
    dynamic_tangents,
    spectral,
    numpy_forms,
    running_extrema,
    interp_knots,
    nested_lists,
    argument_checks,
)

FAMILIES = (
    broadcasting, reductions, elementwise, linalg, shape, indexing, in_place, calls, structure,
    tangents, jacobians, tangent_reductions, tangent_shape, tangent_linalg,
    second_order_arrays, second_order_math, tangent_elementwise, batched,
    batched_reductions, batched_linalg, batched_basis, batched_tangents, batched_derivatives, batched_shape,
    batched_linalg_derivatives, batched_second_order, batched_index_tricks, batched_decompositions,
    batched_scatter, batched_scipy, batched_scipy_linalg,
    differences, cholesky_solve, masked_bars, objects, einsums, scipy_slopes, scipy_stats_helpers, eig, tree_axes,
    batched_products,
    uniform_branches, batched_adjoints, batched_lifted, batched_convolve, batched_eig, batched_mvn, batched_sylvester,
    nested_vmap,
    svd_higher, polynomials, dynamic_tangents, spectral, numpy_forms, running_extrema, interp_knots,
    nested_lists, argument_checks,
)
for _family in FAMILIES:
    for _name, _value in vars(_family).items():
        if _name.startswith("__") or _name in ("np", "math"):
            continue
        if globals().get(_name, _value) is not _value:  # two families may not define one name
            raise ImportError(f"adjoint.runtime: {_name!r} is defined in {_family.__name__} and elsewhere.")
        globals()[_name] = _value
del _family, _name, _value


def is_helper(obj):
    """Whether ``obj`` is one of the helpers of this package."""
    return (getattr(obj, "__module__", None) or "").startswith(__name__ + ".")
