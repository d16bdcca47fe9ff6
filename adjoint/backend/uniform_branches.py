"""The batched function of generated code whose branches test batched
flags (``rt.uniform_test``): run once on the whole batch, and when the
examples take different branches (``rt.ExamplesDiffer``), once per example
instead, with a warning naming the branch the first time.

Generated derivative code (a backward pass, a forward pass of recursion)
writes nothing outside itself, so the batched attempt leaves no trace when
it gives up part way.
"""
import warnings

import numpy as np

from .. import runtime


class UniformOrLooped:
    """``vmap(batch, *args)``: ``batched`` when the examples agree on every
    branch, else the function once per example."""

    def __init__(self, batched, func, positions, tests, filename):
        self.batched = batched
        self.func = func
        self.positions = positions
        self.tests = tests
        self.filename = filename
        self.warned = False

    def __call__(self, batch, *args, **kwargs):
        try:
            return self.batched(batch, *args, **kwargs)
        except runtime.ExamplesDiffer:
            pass
        name = getattr(self.func, "__name__", "the function")
        if not self.warned:
            self.warned = True
            lineno, construct = self.tests[0]
            warnings.warn(f"vmap of {name}: {self.filename}:{lineno}: {construct}, and the examples took "
                          "different branches, so the function runs once per example (a Python loop over "
                          "the batch).", RuntimeWarning, stacklevel=2)
        rows = []
        for row in range(batch):
            example_args = [_example(a, row, batch) if i in self.positions else a for i, a in enumerate(args)]
            rows.append(self.func(*example_args, **kwargs))
        return runtime.stack_examples(rows)


def _example(value, row, batch):
    """One example of a batched argument of generated code. A residual tuple
    holds batched arrays and values that are the same for every example (a
    branch flag, a count, a shape): those are passed as they are."""
    if isinstance(value, dict):
        return {k: _example(v, row, batch) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return runtime.rebuild_like(value, [_example(v, row, batch) for v in value])
    if isinstance(value, np.ndarray) and value.ndim and value.shape[0] == batch:
        return value[row]
    return value
