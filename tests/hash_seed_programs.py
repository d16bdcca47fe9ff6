"""Functions whose generated code once depended on PYTHONHASHSEED (a set of
names decided the order of independent statements), for
tests/test_hash_seed.py. ``python hash_seed_programs.py`` prints the
generated sources, as ``sources()`` returns them."""
import dataclasses
import sys

import numpy as np

import adjoint


def five_terms(a, b, c, d, e):
    return a * b + c * d - e * a


def spreads_a_list_filled_in_a_loop(x):
    # A call's adjoints (one per item of the list) are all read at once by
    # the list's adjoint: they were written out in the order of a set.
    buffer = [0.0, 0.0, 0.0, 0.0, 0.0]
    total = 0.0
    for _ in range(2):
        total = total + five_terms(*buffer)
        buffer[0] = x[0]
        buffer[1] = x[1] * 2.0
        buffer[2] = x[2] - 1.0
        buffer[3] = np.sin(x[0])
        buffer[4] = x[1] * x[2]
    return total


@dataclasses.dataclass
class Layer:
    w: np.ndarray
    b: np.ndarray
    scale: float = 1.5


def dataclass_of_arrays(x):
    layer = Layer(x * 2.0, np.cos(x))
    y = np.tanh(layer.w * x + layer.b) * layer.scale
    other = Layer(y, layer.w + y, layer.scale * 2.0)
    return np.sum(other.w * other.b) + other.scale * np.sum(layer.b)


def branch_and_loop(x, y):
    s = x * y
    if np.sum(x) > 0.0:
        u, v, w = s * 2.0, np.exp(x), y ** 2
    else:
        u, v, w = s - 1.0, x * y, np.sin(y)
    for _ in range(3):
        u, v, w = u * v, v + w, w * u
    return u + v + w


CASES = (  # (function, argnums, modes)
    (spreads_a_list_filled_in_a_loop, 0, ("vjp", "jvp", "vmap")),
    (dataclass_of_arrays, 0, ("vjp", "jvp", "vmap")),
    (branch_and_loop, (0, 1), ("vjp", "jvp", "vmap")),
)


def sources():
    """The generated text of every case, headed by its name and mode."""
    texts = []
    for function, argnums, modes in CASES:
        for mode in modes:
            texts.append(f"### {function.__name__} {mode}\n{adjoint.source(function, argnums, mode=mode)}")
    return "\n".join(texts)


if __name__ == "__main__":
    sys.stdout.write(sources())
