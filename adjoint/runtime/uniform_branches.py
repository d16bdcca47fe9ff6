"""Branches of generated derivative code under vmap, taken once for the
whole batch when every example takes the same one.

The backward pass of a function with a branch reads which branch the
forward pass took from its residuals (``if t2:``). Under vmap those
residuals form one batched tuple, so the flag counts as batched although
it comes from values that are the same for every example (a recursion's
``n == 0``, a loop's count). Batched generated code tests such a flag with
``uniform_test``: the common truth value when all examples agree, else
``ExamplesDiffer``, upon which the function runs once per example
(``backend/uniform_branches.py``; generated code is pure, so running it
again is safe).
"""
import numpy as np


class ExamplesDiffer(Exception):
    """The examples of a batch took different branches of generated code."""


def uniform_test(value):
    """``bool(value)`` of every example when they all agree (a plain value,
    or a batched one ``(B,)``), else ``ExamplesDiffer``."""
    if not isinstance(value, np.ndarray) or value.ndim == 0:
        return bool(value)
    if value.ndim != 1 or value.shape[0] == 0:
        raise ExamplesDiffer(value)
    first = bool(value[0])
    if value.strides[0] == 0 or all(bool(v) == first for v in value):
        return first
    raise ExamplesDiffer(value)
