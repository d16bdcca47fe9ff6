"""Derivatives as code: what the functions ``adjoint.api.derivatives``
writes call to turn generated code's rows into Jacobians (identity bases,
rows -> Jacobian, outputs of a derivative).
"""
import numpy as np


# ------------------------------------------------------------ derivatives as code
# What the functions of ``derivatives.py`` call to turn the generated code's
# adjoints and tangents into Jacobians (each has an adjoint and a tangent rule).

def size_of(x):
    """The number of elements of ``x``."""
    return int(np.size(x))


def batch_count(tangents):
    """The batch size a forward-mode function is called with (its first entry)."""
    return tangents[0]


def _float_dtype(value):
    """The floating dtype of a derivative of ``value``: its own if it is
    floating, else float64 (by dtype: NumPy 1 would cast a float64 scalar's
    value down to float32)."""
    dtype = np.asarray(value).dtype
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _derivative_value(value, what):
    if not isinstance(value, (np.ndarray, np.generic, float, int)) or isinstance(value, bool):
        raise TypeError(
            f"transforming a derivative again (a further derivative, or vmap of it): the function's {what} is a "
            f"{type(value).__name__}; a derivative is transformed again only for array arguments and an array "
            "output (containers are not supported there yet).")


def output_basis(out):
    """Every row of the identity over ``out``'s elements: ``(N,) + out.shape``."""
    _derivative_value(out, "output")
    key = (np.shape(out), _float_dtype(out))
    basis = _BASES.get(key)
    if basis is None:
        size = int(np.size(out))
        basis = np.eye(size, dtype=key[1]).reshape((size,) + key[0])
        basis.flags.writeable = False  # shared by every call: nothing may write into it
        if len(_BASES) < 64 and size * size <= 1 << 16:  # small ones only: memory stays bounded
            _BASES[key] = basis
    return basis


#: identity bases already built, by shape and dtype (small ones are asked for again and again)
_BASES = {}


def scalar_seed(out):
    """The cotangent 1 of a 0-d output, batched: ``(1,)``."""
    _derivative_value(out, "output")
    if np.ndim(out) != 0:
        raise ValueError(f"grad of a function whose output has shape {np.shape(out)}: the output "
                         "must be a single 0-d value. Use jacrev, or sum the output.")
    return np.ones((1,), dtype=_float_dtype(out))


def input_basis(x, offset, total):
    """Columns ``offset:offset + x.size`` of the identity over ``total``
    input elements, as tangents of ``x``: ``(total,) + x.shape``."""
    _derivative_value(x, "argument")
    size = int(np.size(x))
    seed = np.zeros((total, size), dtype=_float_dtype(x))
    seed[offset + np.arange(size), np.arange(size)] = 1
    return seed.reshape((total,) + np.shape(x))


def jacobian_from_rows(bar, out, x):
    """Adjoints ``(N,) + x.shape`` of the output basis -> ``out.shape + x.shape``."""
    _derivative_value(x, "argument")
    if bar is None:
        return np.zeros(np.shape(out) + np.shape(x), dtype=_float_dtype(x))
    return np.reshape(bar, np.shape(out) + np.shape(x))


def rows_from_jacobian(g, out, x):
    """Adjoint of ``jacobian_from_rows``: ``(B,) + out.shape + x.shape`` -> ``(B, N) + x.shape``."""
    return np.reshape(g, (g.shape[0], int(np.size(out))) + np.shape(x))


def gradient_from_row(bar, out, x):
    """The adjoint ``(1,) + x.shape`` of a 0-d output's seed -> ``x.shape``."""
    _derivative_value(x, "argument")
    if bar is None:
        return np.zeros(np.shape(x), dtype=_float_dtype(x))
    return np.reshape(bar, np.shape(x))


def jacobian_from_columns(out_dot, out, x, offset):
    """Tangents ``(total,) + out.shape``; the columns of ``x`` (from
    ``offset``) -> ``out.shape + x.shape``."""
    _derivative_value(out, "output")
    size = int(np.size(x))
    part = out_dot[offset:offset + size]
    return np.moveaxis(part, 0, -1).reshape(np.shape(out) + np.shape(x))


def jacobian_from_columns_tangent(t, out, x, offset):
    """``jacobian_from_columns`` on every row of a batch ``(B, total) + out.shape``."""
    size = int(np.size(x))
    part = t[:, offset:offset + size]
    return np.moveaxis(part, 1, -1).reshape((t.shape[0],) + np.shape(out) + np.shape(x))


def columns_adjoint(g, out_dot, out, x, offset):
    """Adjoint of ``jacobian_from_columns``: ``(B,) + out.shape + x.shape``
    -> ``(B,) + out_dot.shape``, zero outside ``x``'s columns."""
    size = int(np.size(x))
    batch = g.shape[0]
    result = np.zeros((batch,) + np.shape(out_dot), dtype=g.dtype)
    part = np.reshape(g, (batch,) + np.shape(out) + (size,))
    result[:, offset:offset + size] = np.moveaxis(part, -1, 1)
    return result


def batched_reshape(t, z):
    """A tangent or adjoint ``(B, ...)`` reshaped to ``(B,) + z.shape``."""
    return np.reshape(t, (t.shape[0],) + np.shape(z))
