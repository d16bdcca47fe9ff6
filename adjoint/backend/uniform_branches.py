"""The batched function of generated code whose branches test batched
flags (``rt.uniform_test``): run once on the whole batch, and when the
examples take different branches (``rt.ExamplesDiffer``), once per example
instead, with a warning naming the branch the first time.

Generated derivative code (a backward pass, a forward pass of recursion)
writes nothing outside itself, so the batched attempt leaves no trace when
it gives up part way.
"""
import warnings

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
        flags = tuple(i in self.positions for i in range(len(args)))
        return runtime.vmap_loop_shared(batch, self.func, flags, name, *args, **kwargs)
