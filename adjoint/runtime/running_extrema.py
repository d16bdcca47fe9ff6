"""What ``np.maximum.accumulate`` / ``np.minimum.accumulate`` are rewritten
to call (frontend/normalize_numpy_more.py): the running maximum is
``np.take_along_axis(x, rt.running_extremum_index(x, axis, True), axis)``,
the element each running value was read from, so the derivatives are those
of an indexed read at every order. The positions carry no derivative."""
import numpy as np


def running_extremum_index(x, axis, largest):
    """For each position along ``axis``, the index of the element the running
    maximum (``largest``) or minimum of ``x`` holds there: the first element
    reaching that value (a tie keeps the earlier element, as np.maximum's
    rule gives a tie to its first argument), the first NaN once one is met
    (NumPy's running extrema propagate NaN)."""
    x = np.asarray(x)
    ufunc = np.maximum if largest else np.minimum
    running = ufunc.accumulate(x, axis=axis)  # (NumPy's own errors: a number, several axes)
    axis = axis % x.ndim if axis is not None else 0  # (axis=None: a 1-d x, read whole)
    previous = np.take(running, np.arange(-1, x.shape[axis] - 1), axis=axis)
    same = (running == previous) | (np.isnan(running) & np.isnan(previous))
    first = np.zeros(x.shape[axis], dtype=bool)
    first[:1] = True
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    fresh = ~same | first.reshape(shape)
    positions = np.arange(x.shape[axis]).reshape(shape)
    return np.maximum.accumulate(np.where(fresh, positions, 0), axis=axis)


def vrunning_extremum_index(x, axis, largest):
    """``running_extremum_index`` of every example of the batched ``x``
    (examples on axis 0; ``axis`` is one example's)."""
    x = np.asarray(x)
    if axis is None and x.ndim != 2:
        raise ValueError("accumulate does not allow multiple axes")
    axis = axis % (x.ndim - 1) if axis is not None and x.ndim > 1 else 0
    return running_extremum_index(x, axis + 1, largest)
