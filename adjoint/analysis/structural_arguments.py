"""Arguments of NumPy functions that decide a structure, not a value.

``np.roll(x, k)`` moves every element of ``x`` by ``k`` places: which input
element each output element depends on is decided by ``k``. So is the
shape given to ``np.reshape``, the ``axis`` of a reduction, the ``k`` of
``np.triu``, the number of repeats of ``np.repeat``, and so on. When such an
argument is computed from the inputs' values (or from module state whose
value is not part of a sparsity pattern's cache key), a pattern found at one
point does not hold at another: ``analysis.structure`` reports the call as
value-dependent (``tainted_argument``).

``STRUCTURAL`` maps each function to the positions and keyword names of its
structural parameters (``REST``: every position from the given one on, for
``np.reshape(x, 2, 3)`` and ``x.reshape(k, -1)``). Its data arguments (the
arrays it reads or makes values from: ``np.full``'s fill value, the
``start`` and ``stop`` of ``np.linspace``) are not listed.
"""
import numpy as np

#: a position from which every later one is structural as well
REST = "rest"

_AXIS = ((1,), ("axis",))

_TABLE = {
    "roll": ((1, 2), ("shift", "axis")),
    "reshape": ((1, REST), ("newshape", "shape", "order")),
    "resize": ((1,), ("new_shape",)),
    "tile": ((1,), ("reps",)),
    "repeat": ((1, 2), ("repeats", "axis")),
    "diag": ((1,), ("k",)),
    "diagflat": ((1,), ("k",)),
    "triu": ((1,), ("k",)),
    "tril": ((1,), ("k",)),
    "eye": ((0, 1, 2), ("N", "M", "k")),
    "identity": ((0,), ("n",)),
    "tri": ((0, 1, 2), ("N", "M", "k")),
    "zeros": ((0,), ("shape",)),
    "ones": ((0,), ("shape",)),
    "empty": ((0,), ("shape",)),
    "full": ((0,), ("shape",)),
    "zeros_like": ((), ("shape",)),
    "ones_like": ((), ("shape",)),
    "empty_like": ((), ("shape",)),
    "full_like": ((), ("shape",)),
    "arange": ((0, 1, 2), ("start", "stop", "step")),
    "linspace": ((2,), ("num", "axis")),
    "logspace": ((2,), ("num", "axis")),
    "geomspace": ((2,), ("num", "axis")),
    "broadcast_to": ((1,), ("shape",)),
    "expand_dims": _AXIS,
    "squeeze": _AXIS,
    "flip": _AXIS,
    "swapaxes": ((1, 2), ("axis1", "axis2")),
    "moveaxis": ((1, 2), ("source", "destination")),
    "rollaxis": ((1, 2), ("axis", "start")),
    "transpose": ((1,), ("axes",)),
    "rot90": ((1, 2), ("k", "axes")),
    "concatenate": _AXIS,
    "stack": _AXIS,
    "split": ((1, 2), ("indices_or_sections", "axis")),
    "array_split": ((1, 2), ("indices_or_sections", "axis")),
    "hsplit": ((1,), ("indices_or_sections",)),
    "vsplit": ((1,), ("indices_or_sections",)),
    "dsplit": ((1,), ("indices_or_sections",)),
    "append": ((2,), ("axis",)),
    "pad": ((1, 2), ("pad_width", "mode")),
    "trace": ((1, 2, 3), ("offset", "axis1", "axis2")),
    "diagonal": ((1, 2, 3), ("offset", "axis1", "axis2")),
    "delete": ((1, 2), ("obj", "axis")),
    "insert": ((1, 3), ("obj", "axis")),
    "diff": ((1, 2), ("n", "axis", "prepend", "append")),
    "tensordot": ((2,), ("axes",)),
    "sum": _AXIS, "mean": _AXIS, "prod": _AXIS, "std": ((1,), ("axis", "ddof")),
    "var": ((1,), ("axis", "ddof")), "cumsum": _AXIS, "cumprod": _AXIS, "average": _AXIS,
    "any": _AXIS, "all": _AXIS, "trapz": ((3,), ("axis",)), "trapezoid": ((3,), ("axis",)),
}

#: function -> (structural positions, structural keyword names)
STRUCTURAL = {}
for _name, _entry in _TABLE.items():
    _function = getattr(np, _name, None)
    if _function is not None:
        STRUCTURAL[_function] = _entry
STRUCTURAL[np.linalg.matrix_power] = ((1,), ("n",))


def _structural(prim):
    try:
        return STRUCTURAL.get(prim)
    except TypeError:  # unhashable
        return None


def tainted_argument(op, tainted, names_of):
    """The name of the first structural parameter of ``op``'s primitive
    whose argument reads a tainted name (``names_of(atom)``: the names an
    argument reads), else None."""
    entry = _structural(op.prim)
    if entry is None:
        return None
    positions, keywords = entry
    rest = REST in positions
    first_rest = max((p for p in positions if p != REST), default=0) if rest else None
    for i, arg in enumerate(op.args):
        if i in positions or (rest and i >= first_rest):
            if names_of(arg) & tainted:
                return _position_name(keywords, positions, i)
    for name, value in op.kwargs.items():
        if name in keywords and names_of(value) & tainted:
            return name
    return None


def _position_name(keywords, positions, i):
    numbered = [p for p in positions if p != REST]
    if i in numbered and numbered.index(i) < len(keywords):
        return keywords[numbered.index(i)]
    return f"argument {i + 1}"
