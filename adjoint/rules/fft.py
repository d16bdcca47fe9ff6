"""Rules of NumPy's FFT family (np.fft.fft, ifft, rfft, irfft, their 2-d and
n-d forms, with ``n``/``s``, ``axis``/``axes`` and ``norm``) and of the
elementwise functions that take complex values back to real ones (np.real,
np.imag, np.abs, np.angle; np.conjugate's rule is in ufuncs.py).

Complex values live only inside the differentiated function (SPEC.md: its
arguments and results are real). The cotangent of a complex ``z = u + iv``
is ``dL/du - i dL/dv``: under it the adjoint of a holomorphic function is
``bar * f'(z)``, the rules of real arithmetic unchanged (``z * w`` sends
back ``bar * w``), the adjoint of a complex-linear map is its transpose, and
a real value takes the real part of what flows back to it (``rt.real_for``).
Tangents are ``du + i dv``. See docs/complex.md.

The transforms (with ``P`` the padding or cut to ``n``, ``F`` the DFT matrix,
symmetric, and its scale set by ``norm``):

- ``fft(x) = F P x``: the adjoint is ``P^T F bar``, fft again (same norm),
  then cut or padded back to x's length; ifft likewise.
- ``rfft(x) = T F P x`` keeps the first ``n // 2 + 1`` bins (``T``): the
  adjoint is ``Re(P^T F T^T bar)``, an fft of the cotangent padded to ``n``.
- ``irfft(Y)`` reads ``Re Y[0]``, ``Re Y[n/2]`` (even ``n``) once and every
  bin between twice (itself and its mirror image), so the adjoint is the
  inverse fft of the (real) cotangent times 1, 2, ..., 2, (1), cut or padded
  to Y's length (``rt.hermitian_weights``).
- The n-d forms transform axis by axis; the real ones halve the last axis.

Every adjoint is written with the transforms themselves and linear helpers
that have rules (``rt.fit_to``, ``rt.hermitian_weights``, ``rt.real_for``),
so derivative code can be differentiated again. Under vmap a transform runs
once over the batch (its axes counted from the end)."""
import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, dot, elementwise_helpers, nondifferentiable, tangent_rule, vec

nondifferentiable(rt.neg_axes, rt.fft_axes, rt.vfft_axes, rt.fft_lengths, rt.fft_sizes, rt.irfft_sizes,
                  rt.swapped_norm, rt.refuse_complex, rt.refuse_complex_arguments)  # (checks: derivative code for real values met complex ones)

_ONE_AXIS = ("n", "axis", "norm")
_AXES = ("s", "axes", "norm")


# ------------------------------------------------------------ fft and ifft

@adjoint_rule(np.fft.fft, constant=_ONE_AXIS)
def fft_adjoint(z, a, n=None, axis=-1, norm=None):
    axes = rt.neg_axes(a, axis)
    bar[a] = rt.real_for(rt.fit_to(np.fft.fft(bar[z], axis=axes[0], norm=norm), rt.fft_lengths(a, axes), axes), a)


@tangent_rule(np.fft.fft, constant=_ONE_AXIS)
def fft_tangent(z, a, n=None, axis=-1, norm=None):
    dot[z] = np.fft.fft(dot[a], n=n, axis=rt.batch_axis(axis), norm=norm)


@batch_rule(np.fft.fft)
def fft_batched(z, a, n=None, axis=-1, norm=None):
    vec[z] = np.fft.fft(vec[a], n=n, axis=rt.batch_axis(axis), norm=norm)


@adjoint_rule(np.fft.ifft, constant=_ONE_AXIS)
def ifft_adjoint(z, a, n=None, axis=-1, norm=None):
    axes = rt.neg_axes(a, axis)
    bar[a] = rt.real_for(rt.fit_to(np.fft.ifft(bar[z], axis=axes[0], norm=norm), rt.fft_lengths(a, axes), axes), a)


@tangent_rule(np.fft.ifft, constant=_ONE_AXIS)
def ifft_tangent(z, a, n=None, axis=-1, norm=None):
    dot[z] = np.fft.ifft(dot[a], n=n, axis=rt.batch_axis(axis), norm=norm)


@batch_rule(np.fft.ifft)
def ifft_batched(z, a, n=None, axis=-1, norm=None):
    vec[z] = np.fft.ifft(vec[a], n=n, axis=rt.batch_axis(axis), norm=norm)


# ---------------------------------------------------------- rfft and irfft

@adjoint_rule(np.fft.rfft, constant=_ONE_AXIS)
def rfft_adjoint(z, a, n=None, axis=-1, norm=None):
    axes = rt.neg_axes(a, axis)
    bar[a] = np.real(rt.fit_to(np.fft.fft(bar[z], n=rt.fft_sizes(a, n, axes)[0], axis=axes[0], norm=norm),
                               rt.fft_lengths(a, axes), axes))


@tangent_rule(np.fft.rfft, constant=_ONE_AXIS)
def rfft_tangent(z, a, n=None, axis=-1, norm=None):
    dot[z] = np.fft.rfft(dot[a], n=n, axis=rt.batch_axis(axis), norm=norm)


@batch_rule(np.fft.rfft)
def rfft_batched(z, a, n=None, axis=-1, norm=None):
    vec[z] = np.fft.rfft(vec[a], n=n, axis=rt.batch_axis(axis), norm=norm)


@adjoint_rule(np.fft.irfft, constant=_ONE_AXIS)
def irfft_adjoint(z, a, n=None, axis=-1, norm=None):
    axes = rt.neg_axes(a, axis)
    bar[a] = rt.real_for(rt.fit_to(rt.hermitian_weights(np.fft.ifft(bar[z], axis=axes[0], norm=norm),
                                                        rt.irfft_sizes(a, n, axes)[0], axes[0]),
                                   rt.fft_lengths(a, axes), axes), a)


@tangent_rule(np.fft.irfft, constant=_ONE_AXIS)
def irfft_tangent(z, a, n=None, axis=-1, norm=None):
    dot[z] = np.fft.irfft(dot[a], n=n, axis=rt.batch_axis(axis), norm=norm)


@batch_rule(np.fft.irfft)
def irfft_batched(z, a, n=None, axis=-1, norm=None):
    vec[z] = np.fft.irfft(vec[a], n=n, axis=rt.batch_axis(axis), norm=norm)


# ---------------------------------------------------------- hfft and ihfft

# hfft(a) = irfft(conj(a)) with the other norm: irfft's adjoint, conjugated.
@adjoint_rule(np.fft.hfft, constant=_ONE_AXIS)
def hfft_adjoint(z, a, n=None, axis=-1, norm=None):
    axes = rt.neg_axes(a, axis)
    bar[a] = rt.real_for(np.conjugate(rt.fit_to(rt.hermitian_weights(
        np.fft.ifft(bar[z], axis=axes[0], norm=rt.swapped_norm(norm)), rt.irfft_sizes(a, n, axes)[0], axes[0]),
        rt.fft_lengths(a, axes), axes)), a)


@tangent_rule(np.fft.hfft, constant=_ONE_AXIS)
def hfft_tangent(z, a, n=None, axis=-1, norm=None):
    dot[z] = np.fft.hfft(dot[a], n=n, axis=rt.batch_axis(axis), norm=norm)


@batch_rule(np.fft.hfft)
def hfft_batched(z, a, n=None, axis=-1, norm=None):
    vec[z] = np.fft.hfft(vec[a], n=n, axis=rt.batch_axis(axis), norm=norm)


# ihfft(a) = conj(rfft(a)) with the other norm: rfft's adjoint of the conjugate.
@adjoint_rule(np.fft.ihfft, constant=_ONE_AXIS)
def ihfft_adjoint(z, a, n=None, axis=-1, norm=None):
    axes = rt.neg_axes(a, axis)
    bar[a] = np.real(rt.fit_to(np.fft.fft(np.conjugate(bar[z]), n=rt.fft_sizes(a, n, axes)[0], axis=axes[0],
                                          norm=rt.swapped_norm(norm)), rt.fft_lengths(a, axes), axes))


@tangent_rule(np.fft.ihfft, constant=_ONE_AXIS)
def ihfft_tangent(z, a, n=None, axis=-1, norm=None):
    dot[z] = np.fft.ihfft(dot[a], n=n, axis=rt.batch_axis(axis), norm=norm)


@batch_rule(np.fft.ihfft)
def ihfft_batched(z, a, n=None, axis=-1, norm=None):
    vec[z] = np.fft.ihfft(vec[a], n=n, axis=rt.batch_axis(axis), norm=norm)


# -------------------------------------------------------------- 2-d and n-d

@adjoint_rule(np.fft.fftn, constant=_AXES)
def fftn_adjoint(z, a, s=None, axes=None, norm=None):
    over = rt.fft_axes(a, s, axes)
    bar[a] = rt.real_for(rt.fit_to(np.fft.fftn(bar[z], axes=over, norm=norm), rt.fft_lengths(a, over), over), a)


@tangent_rule(np.fft.fftn, constant=_AXES)
def fftn_tangent(z, a, s=None, axes=None, norm=None):
    dot[z] = np.fft.fftn(dot[a], s=s, axes=rt.fft_axes(a, s, axes), norm=norm)


@batch_rule(np.fft.fftn)
def fftn_batched(z, a, s=None, axes=None, norm=None):
    vec[z] = np.fft.fftn(vec[a], s=s, axes=rt.vfft_axes(vec[a], s, axes), norm=norm)


@adjoint_rule(np.fft.fft2, constant=_AXES)
def fft2_adjoint(z, a, s=None, axes=(-2, -1), norm=None):
    over = rt.fft_axes(a, s, axes)
    bar[a] = rt.real_for(rt.fit_to(np.fft.fftn(bar[z], axes=over, norm=norm), rt.fft_lengths(a, over), over), a)


@tangent_rule(np.fft.fft2, constant=_AXES)
def fft2_tangent(z, a, s=None, axes=(-2, -1), norm=None):
    dot[z] = np.fft.fftn(dot[a], s=s, axes=rt.fft_axes(a, s, axes), norm=norm)


@batch_rule(np.fft.fft2)
def fft2_batched(z, a, s=None, axes=(-2, -1), norm=None):
    vec[z] = np.fft.fftn(vec[a], s=s, axes=rt.vfft_axes(vec[a], s, axes), norm=norm)


@adjoint_rule(np.fft.ifftn, constant=_AXES)
def ifftn_adjoint(z, a, s=None, axes=None, norm=None):
    over = rt.fft_axes(a, s, axes)
    bar[a] = rt.real_for(rt.fit_to(np.fft.ifftn(bar[z], axes=over, norm=norm), rt.fft_lengths(a, over), over), a)


@tangent_rule(np.fft.ifftn, constant=_AXES)
def ifftn_tangent(z, a, s=None, axes=None, norm=None):
    dot[z] = np.fft.ifftn(dot[a], s=s, axes=rt.fft_axes(a, s, axes), norm=norm)


@batch_rule(np.fft.ifftn)
def ifftn_batched(z, a, s=None, axes=None, norm=None):
    vec[z] = np.fft.ifftn(vec[a], s=s, axes=rt.vfft_axes(vec[a], s, axes), norm=norm)


@adjoint_rule(np.fft.ifft2, constant=_AXES)
def ifft2_adjoint(z, a, s=None, axes=(-2, -1), norm=None):
    over = rt.fft_axes(a, s, axes)
    bar[a] = rt.real_for(rt.fit_to(np.fft.ifftn(bar[z], axes=over, norm=norm), rt.fft_lengths(a, over), over), a)


@tangent_rule(np.fft.ifft2, constant=_AXES)
def ifft2_tangent(z, a, s=None, axes=(-2, -1), norm=None):
    dot[z] = np.fft.ifftn(dot[a], s=s, axes=rt.fft_axes(a, s, axes), norm=norm)


@batch_rule(np.fft.ifft2)
def ifft2_batched(z, a, s=None, axes=(-2, -1), norm=None):
    vec[z] = np.fft.ifftn(vec[a], s=s, axes=rt.vfft_axes(vec[a], s, axes), norm=norm)


@adjoint_rule(np.fft.rfftn, constant=_AXES)
def rfftn_adjoint(z, a, s=None, axes=None, norm=None):
    over = rt.fft_axes(a, s, axes)
    bar[a] = np.real(rt.fit_to(np.fft.fftn(bar[z], s=rt.fft_sizes(a, s, over), axes=over, norm=norm),
                               rt.fft_lengths(a, over), over))


@tangent_rule(np.fft.rfftn, constant=_AXES)
def rfftn_tangent(z, a, s=None, axes=None, norm=None):
    dot[z] = np.fft.rfftn(dot[a], s=s, axes=rt.fft_axes(a, s, axes), norm=norm)


@batch_rule(np.fft.rfftn)
def rfftn_batched(z, a, s=None, axes=None, norm=None):
    vec[z] = np.fft.rfftn(vec[a], s=s, axes=rt.vfft_axes(vec[a], s, axes), norm=norm)


@adjoint_rule(np.fft.rfft2, constant=_AXES)
def rfft2_adjoint(z, a, s=None, axes=(-2, -1), norm=None):
    over = rt.fft_axes(a, s, axes)
    bar[a] = np.real(rt.fit_to(np.fft.fftn(bar[z], s=rt.fft_sizes(a, s, over), axes=over, norm=norm),
                               rt.fft_lengths(a, over), over))


@tangent_rule(np.fft.rfft2, constant=_AXES)
def rfft2_tangent(z, a, s=None, axes=(-2, -1), norm=None):
    dot[z] = np.fft.rfftn(dot[a], s=s, axes=rt.fft_axes(a, s, axes), norm=norm)


@batch_rule(np.fft.rfft2)
def rfft2_batched(z, a, s=None, axes=(-2, -1), norm=None):
    vec[z] = np.fft.rfftn(vec[a], s=s, axes=rt.vfft_axes(vec[a], s, axes), norm=norm)


@adjoint_rule(np.fft.irfftn, constant=_AXES)
def irfftn_adjoint(z, a, s=None, axes=None, norm=None):
    over = rt.fft_axes(a, s, axes)
    bar[a] = rt.real_for(rt.fit_to(rt.hermitian_weights(np.fft.ifftn(bar[z], axes=over, norm=norm),
                                                        rt.irfft_sizes(a, s, over)[-1], over[-1]),
                                   rt.fft_lengths(a, over), over), a)


@tangent_rule(np.fft.irfftn, constant=_AXES)
def irfftn_tangent(z, a, s=None, axes=None, norm=None):
    dot[z] = np.fft.irfftn(dot[a], s=s, axes=rt.fft_axes(a, s, axes), norm=norm)


@batch_rule(np.fft.irfftn)
def irfftn_batched(z, a, s=None, axes=None, norm=None):
    vec[z] = np.fft.irfftn(vec[a], s=s, axes=rt.vfft_axes(vec[a], s, axes), norm=norm)


@adjoint_rule(np.fft.irfft2, constant=_AXES)
def irfft2_adjoint(z, a, s=None, axes=(-2, -1), norm=None):
    over = rt.fft_axes(a, s, axes)
    bar[a] = rt.real_for(rt.fit_to(rt.hermitian_weights(np.fft.ifftn(bar[z], axes=over, norm=norm),
                                                        rt.irfft_sizes(a, s, over)[-1], over[-1]),
                                   rt.fft_lengths(a, over), over), a)


@tangent_rule(np.fft.irfft2, constant=_AXES)
def irfft2_tangent(z, a, s=None, axes=(-2, -1), norm=None):
    dot[z] = np.fft.irfftn(dot[a], s=s, axes=rt.fft_axes(a, s, axes), norm=norm)


@batch_rule(np.fft.irfft2)
def irfft2_batched(z, a, s=None, axes=(-2, -1), norm=None):
    vec[z] = np.fft.irfftn(vec[a], s=s, axes=rt.vfft_axes(vec[a], s, axes), norm=norm)


# -------------------------------------------------- the rules' linear helpers

@adjoint_rule(rt.fit_to, constant=("lengths", "axes"))
def fit_to_adjoint(z, g, lengths, axes):
    bar[g] = rt.fit_to(bar[z], rt.fft_lengths(g, axes), axes)


@tangent_rule(rt.fit_to, constant=("lengths", "axes"))
def fit_to_tangent(z, g, lengths, axes):
    dot[z] = rt.fit_to(dot[g], lengths, axes)


@batch_rule(rt.fit_to)
def fit_to_batched(z, g, lengths, axes):
    vec[z] = rt.fit_to(vec[g], lengths, axes)


# Real weights: the helper is its own transpose.
@adjoint_rule(rt.hermitian_weights, constant=("n", "axis"))
def hermitian_weights_adjoint(z, g, n, axis):
    bar[g] = rt.hermitian_weights(bar[z], n, axis)


@tangent_rule(rt.hermitian_weights, constant=("n", "axis"))
def hermitian_weights_tangent(z, g, n, axis):
    dot[z] = rt.hermitian_weights(dot[g], n, axis)


@batch_rule(rt.hermitian_weights)
def hermitian_weights_batched(z, g, n, axis):
    vec[z] = rt.hermitian_weights(vec[g], n, axis)


# The real part (of a complex g meant for a real value): a real cotangent
# flows back to g unchanged, as through np.real.
@adjoint_rule(rt.real_for, constant=("like",))
def real_for_adjoint(z, g, like):
    bar[g] = rt.real_for(bar[z], g)


@tangent_rule(rt.real_for, constant=("like",))
def real_for_tangent(z, g, like):
    dot[z] = rt.real_for(dot[g], like)


@batch_rule(rt.real_for)
def real_for_batched(z, g, like):
    vec[z] = rt.real_for(vec[g], vec[like])


# ------------------------------------------- complex values to real ones

# np.real(z) = u sends back bar (real), np.imag(z) = v sends back -1j * bar.
# (The real results' cotangents are taken real first: a rule that gave a
# real value a complex cotangent, np.concatenate of real and complex
# arrays, leaves an imaginary part that is no derivative of anything.)
@adjoint_rule(np.real)
def real_adjoint(z, val):
    bar[val] = rt.real_for(bar[z], z)


@tangent_rule(np.real, elementwise=True)
def real_tangent(z, val):
    dot[z] = np.real(dot[val])


@adjoint_rule(np.imag)
def imag_adjoint(z, val):
    bar[val] = rt.real_for(-1j * rt.real_for(bar[z], z), val)


@tangent_rule(np.imag, elementwise=True)
def imag_tangent(z, val):
    dot[z] = np.imag(dot[val])


# |z| sends back bar * conj(z) / |z| (bar * sign(x) for a real x; 0 at 0).
@adjoint_rule(np.abs, abs, np.fabs)
def abs_adjoint(z, x):
    bar[x] = rt.real_for(bar[z], z) * rt.abs_slope(x)


@tangent_rule(np.abs, abs, np.fabs, elementwise=True)
def abs_tangent(z, x):
    dot[z] = rt.real_for(dot[x] * rt.abs_slope(x), z)


# The angle sends back -1j * bar / z (0 for a real value: 0 or pi).
@adjoint_rule(np.angle, constant=("deg",))
def angle_adjoint(z, val, deg=False):
    bar[val] = rt.real_for(rt.real_for(bar[z], z) * rt.angle_slope(val, deg), val)


@tangent_rule(np.angle, elementwise=True, constant=("deg",))
def angle_tangent(z, val, deg=False):
    dot[z] = np.real(dot[val] * rt.angle_slope(val, deg))


@batch_rule(rt.abs_slope)
def abs_slope_batched(z, x):
    vec[z] = rt.abs_slope(vec[x])


@batch_rule(rt.angle_slope)
def angle_slope_batched(z, x, deg=False):
    vec[z] = rt.angle_slope(vec[x], deg)


# Their tangents (forward mode over backward code: a Hessian); a third
# derivative differentiates these helpers' source.
@tangent_rule(rt.abs_slope, elementwise=True)
def abs_slope_tangent(z, x):
    dot[z] = rt.abs_slope_tangent(dot[x], x)


@tangent_rule(rt.angle_slope, elementwise=True, constant=("deg",))
def angle_slope_tangent(z, x, deg=False):
    dot[z] = rt.angle_slope_tangent(dot[x], x, deg)


elementwise_helpers(rt.abs_slope_tangent, rt.angle_slope_tangent)
