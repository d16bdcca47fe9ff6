"""Rules of scipy.signal's convolve and correlate (n-d, modes full, same and
valid, any method), registered when SciPy is imported
(``adjoint.rules.load_optional_rules``).

Both are bilinear. With ``G`` the cotangent of the ``"full"`` result,
``convolve(a, v)``'s adjoints are ``correlate(G, v, "valid")`` and
``correlate(G, a, "valid")``; a ``"same"`` or ``"valid"`` result is a
window of the full one (``rt.convolution_window`` says where), so its
cotangent ``g`` is ``G`` with zeros around it, and ``correlate(G, v,
"valid")`` is the window of ``correlate(g, v, "full")`` starting at
``len(v) - 1 - start`` (axis by axis). ``correlate(a, v)`` of real arrays
is ``convolve(a, flip(v))``. The batch axis of a cotangent rides along as
one more axis of the n-d correlation, against an axis of length 1.

The derivatives are written with convolve, correlate, np.flip and the
window helpers (``rt.window_of`` and its transpose ``rt.window_into``,
rules below), so the generated code can be differentiated again. Under
vmap the examples are convolved at once (rt.vsignal_convolve)."""
import numpy as np
from scipy import signal

from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, dot, nondifferentiable, tangent_rule, vec

nondifferentiable(rt.convolution_window, rt.window_after)

# Real arrays only (complex values are refused by the spec).


@adjoint_rule(signal.convolve, constant=("mode", "method"))
def convolve_adjoint(z, in1, in2, mode="full", method="auto"):
    start = rt.convolution_window(mode, in1, in2)
    bar[in1] = rt.window_of(signal.correlate(bar[z], np.expand_dims(in2, 0), mode="full", method=method),
                            rt.window_after(start, in2), in1)
    bar[in2] = rt.window_of(signal.correlate(bar[z], np.expand_dims(in1, 0), mode="full", method=method),
                            rt.window_after(start, in1), in2)


@tangent_rule(signal.convolve, constant=("mode", "method"))
def convolve_tangent(z, in1, in2, mode="full", method="auto"):
    start = rt.convolution_window(mode, in1, in2)
    dot[z] = rt.window_of(signal.convolve(dot[in1], np.expand_dims(in2, 0), mode="full", method=method), start, z)
    dot[z] = rt.window_of(signal.convolve(np.expand_dims(in1, 0), dot[in2], mode="full", method=method), start, z)


@adjoint_rule(signal.correlate, constant=("mode", "method"))
def correlate_adjoint(z, in1, in2, mode="full", method="auto"):
    start = rt.convolution_window(mode, in1, in2)
    bar[in1] = rt.window_of(signal.convolve(bar[z], np.expand_dims(in2, 0), mode="full", method=method),
                            rt.window_after(start, in2), in1)
    bar[in2] = np.flip(rt.window_of(signal.correlate(bar[z], np.expand_dims(in1, 0), mode="full", method=method),
                                    rt.window_after(start, in1), in2), axis=rt.batch_axes(None, in2))


@tangent_rule(signal.correlate, constant=("mode", "method"))
def correlate_tangent(z, in1, in2, mode="full", method="auto"):
    start = rt.convolution_window(mode, in1, in2)
    dot[z] = rt.window_of(signal.convolve(dot[in1], np.expand_dims(np.flip(in2), 0), mode="full", method=method),
                          start, z)
    dot[z] = rt.window_of(signal.convolve(np.expand_dims(in1, 0), np.flip(dot[in2], axis=rt.batch_axes(None, in2)),
                                          mode="full", method=method), start, z)


# The examples' convolutions at once: windows or FFTs over the axes after the batch's.
@batch_rule(signal.convolve)
def convolve_batched(z, in1, in2, mode="full", method="auto"):
    vec[z] = rt.vsignal_convolve(vec[in1], vec[in2], mode=mode, method=method, function=signal.convolve)


@batch_rule(signal.correlate)
def correlate_batched(z, in1, in2, mode="full", method="auto"):
    vec[z] = rt.vsignal_convolve(vec[in1], vec[in2], mode=mode, method=method, correlate=True,
                                 function=signal.correlate)


# ----------------------------------------------------------------- the windows

@adjoint_rule(rt.window_of, constant=("starts", "like"))
def window_of_adjoint(z, c, starts, like):
    bar[c] = rt.window_into(bar[z], starts, c)


@tangent_rule(rt.window_of, constant=("starts", "like"))
def window_of_tangent(z, c, starts, like):
    dot[z] = rt.window_of(dot[c], starts, like)


# (``like`` is read for its trailing shape: batched, it is the same there;
# the starts, read from shapes, are the same in every example)
@batch_rule(rt.window_of)
def window_of_batched(z, c, starts, like):
    vec[z] = rt.window_of(vec[c], starts, vec[like])


@adjoint_rule(rt.window_into, constant=("starts", "like"))
def window_into_adjoint(z, g, starts, like):
    bar[g] = rt.window_of(bar[z], starts, g)


@tangent_rule(rt.window_into, constant=("starts", "like"))
def window_into_tangent(z, g, starts, like):
    dot[z] = rt.window_into(dot[g], starts, like)


@batch_rule(rt.window_into)
def window_into_batched(z, g, starts, like):
    vec[z] = rt.window_into(vec[g], starts, vec[like])
