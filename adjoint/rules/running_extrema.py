"""Rules of the positions ``np.maximum.accumulate`` / ``np.minimum.accumulate``
are read from (runtime/running_extrema.py): no derivative, and one call for
a vmap batch (each example's running extremum along its own axis)."""
from .. import runtime as rt
from . import batch_rule, nondifferentiable, vec

nondifferentiable(rt.running_extremum_index, rt.vrunning_extremum_index)


@batch_rule(rt.running_extremum_index)
def running_extremum_index_batched(z, x, axis, largest):
    vec[z] = rt.vrunning_extremum_index(vec[x], axis, largest)
