"""Calls of small functions through their local Jacobian.

Generated code calls a user's function through that function's own
transform (``g_forward`` and ``g_backward`` in reverse mode, ``g_jvp`` in
forward mode). For a function called on a few scalars (an ODE's rate
function stepped in a Python loop), each of those calls is a dozen NumPy
calls on batches of three numbers, and the Python overhead is the whole
cost. The stand-ins here take the place of those functions in the caller's
namespace: on the first call with given argument shapes they write the
function's Jacobian out entry by entry (transforms/local_jacobian.py),
check it once against the general transform at that point, and from then
on compute ``(out, J)`` with it: the backward pass is one product
``out_bar @ J`` on the batch of cotangents, the forward-mode call one
product ``dot @ J.T`` on the batch of tangents. The decision is made per
shape of the differentiated arguments and kept.

Anything else (other shapes, dtypes other than float64, keyword arguments,
a function that is not straight-line scalar code) runs the general
transform's functions, which the stand-ins hold. A transform of generated
code (a second derivative, vmap) reads through a stand-in to the general
function (``resolve``, as for a recursive call's stand-in in cache.py), so
code generated from code never sees the local form.
"""
import itertools

import gast

import numpy as np

from .compile import load_module, to_source, unique_filename

_MISSING = object()
_FLOAT = np.dtype(float)

#: the most argument shapes a stand-in writes code for (or decides against);
#: other shapes take the general functions (a function called with ever new shapes)
MAX_PLANS = 8


class _Plan:
    """The local-Jacobian function for one tuple of argument shapes."""

    __slots__ = ("local", "out_shape", "rows", "shapes", "jacobian_shape", "splits", "vectors", "singular")

    def __init__(self, local, out_shape, shapes, singular=True):
        self.local = local
        #: an entry may be infinite where the values are finite: checked per call (_finite)
        self.singular = singular
        self.out_shape = out_shape
        self.rows = out_shape[0] if out_shape else 1
        self.shapes = shapes
        sizes = [shape[0] if shape else 1 for shape in shapes]
        self.jacobian_shape = (self.rows, sum(sizes))
        bounds = list(itertools.accumulate([0] + sizes))
        self.splits = [(start, stop, shape) for start, stop, shape in zip(bounds[:-1], bounds[1:], shapes, strict=True)]
        #: one 1-d argument and a 1-d result: the batches are matrices already
        self.vectors = len(shapes) == 1 and len(shapes[0]) == 1 and len(out_shape) == 1

    def pull(self, jacobian, out_bar):
        """The differentiated arguments' adjoints from ``out_bar`` (batch first)."""
        if self.vectors:
            return out_bar @ jacobian,
        batch = out_bar.shape[0]
        bar = out_bar.reshape(batch, self.rows) @ jacobian
        if len(self.splits) == 1:
            return bar.reshape((batch,) + self.shapes[0]),
        return tuple(bar[:, start:stop].reshape((batch,) + shape) for start, stop, shape in self.splits)

    def push(self, jacobian, dots):
        """The output's tangent from the arguments' tangents (batch first)."""
        if self.vectors:
            return dots[0] @ jacobian.T
        batch = dots[0].shape[0]
        if len(dots) == 1:
            flat = dots[0].reshape(batch, self.jacobian_shape[1])
        else:
            flat = np.concatenate([d.reshape(batch, -1) for d in dots], axis=1)
        return (flat @ jacobian.T).reshape((batch,) + self.out_shape)


#: marks the residuals of a local forward call: (_LOCAL, plan, J, args), the
#: arguments kept to run the general functions on an adjoint of another form
_LOCAL = object()


class _Plans:
    """The local-Jacobian functions of one callee transform, per shapes of
    its differentiated arguments (None: the general functions serve them)."""

    def __init__(self, function, compiled, positions, mode, callees):
        self.function = function
        #: the cache's registry of callee transforms (backend/cache.py), which holds the build lock
        self.callees = callees
        self.compiled = compiled
        self.positions = positions
        self.mode = mode
        self.plans = {}
        self.front = None
        #: the last (shape, plan) of a callee with one differentiated array
        self.last = None
        self.single = positions[0] if len(positions) == 1 else None

    def find(self, args):
        """The plan for ``args`` (positional only), or None."""
        last, single = self.last, self.single
        if last is not None and single < len(args):  # the common case, first
            value = args[single]
            if type(value) is np.ndarray and value.dtype is _FLOAT and value.shape == last[0]:
                return last[1]
        shapes = []
        for position in self.positions:
            if position >= len(args):
                return None
            value = args[position]
            kind = type(value)
            if kind is np.ndarray:
                if value.dtype != _FLOAT or value.ndim > 1:
                    return None
                shapes.append(value.shape)
            elif kind is np.float64 or kind is float:
                shapes.append(())
            else:
                return None
        key = tuple(shapes)
        plan = self.plans.get(key, _MISSING)
        if plan is _MISSING:
            with self.callees.lock:  # (code running on an executor's threads may get here at once)
                plan = self.plans.get(key, _MISSING)
                if plan is _MISSING:
                    plan = self.make(key, args) if len(self.plans) < MAX_PLANS else None
                    self.plans[key] = plan
        if self.single is not None and type(args[self.single]) is np.ndarray:
            self.last = (key[0], plan)
        return plan

    def make(self, shapes, args):
        from ..transforms import local_jacobian
        from .pipeline import FrontEnd

        if self.front is None:
            self.front = FrontEnd(self.function, self.positions, False, self.callees, mode=self.mode)
        front = self.front
        namespace = self.compiled.namespace  # refreshed with the transform's: globals stay current
        name = f"_local_jacobian_{front.node.name}"
        while name in namespace:  # (bound only while it is compiled)
            name += "_"
        built = local_jacobian.build(front.normalized, front.node.args, front.wrt, shapes,
                                     front.module_names["np"], name,
                                     set(namespace) | front.namer.taken)
        if built is None:
            return None
        definition, out_shape, singular = built
        source = to_source(gast.Module(body=[definition], type_ignores=[]), {})
        filename = unique_filename(f"<adjoint local Jacobian of {front.node.name} at "
                                   f"{front.parsed.filename}:{front.node.lineno}>", source)
        load_module(source, filename, namespace)
        local = namespace.pop(name)
        local.__defaults__ = getattr(self.function, "__defaults__", None)
        local.__kwdefaults__ = getattr(self.function, "__kwdefaults__", None)
        plan = _Plan(local, out_shape, shapes, singular)
        return plan if self.agrees(plan, args) else None

    def agrees(self, plan, args):
        """Whether the plan's output and Jacobian at ``args`` are those of the
        general transform (once per shape: the local code assumes that the
        values it does not differentiate are numbers)."""
        try:
            out, jacobian = plan.local(*args)
        except Exception:
            return False
        jacobian = np.asarray(jacobian)
        if jacobian.shape != plan.jacobian_shape or jacobian.dtype != _FLOAT or np.shape(out) != plan.out_shape:
            return False
        rows, columns = plan.jacobian_shape
        compiled = self.compiled
        if self.mode == "jvp":
            basis = np.eye(columns)
            dots = [basis[:, start:stop].reshape((columns,) + shape) for start, stop, shape in plan.splits]
            reference, out_dot = compiled.jvp((columns,) + tuple(dots), *args)
            expected = np.asarray(out_dot, dtype=float).reshape(columns, rows).T
        else:
            reference, residuals = compiled.forward(*args)
            bars = compiled.backward(residuals, np.eye(rows).reshape((rows,) + plan.out_shape))
            expected = np.concatenate([np.asarray(b, dtype=float).reshape(rows, -1) for b in bars], axis=1)
        if not np.array_equal(out, reference):
            return False
        scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
        return expected.shape == jacobian.shape and np.allclose(jacobian, expected, rtol=1e-9, atol=1e-12 * scale)


class _StandIn:
    """The protocol of a stand-in in generated code's namespace (cache.py's
    LazyCallee): ``compiled_transform()`` for listings and export, and
    ``resolve()``, the general function a transform of the code follows."""

    def __init__(self, plans, general):
        self.plans = plans
        self.general = general

    def compiled_transform(self):
        return self.plans.compiled

    def resolve(self):
        return self.general


class LocalForward(_StandIn):
    """``g_forward``: ``(out, residuals)``, through the local Jacobian when it
    serves (its residuals then: ``(_LOCAL, plan, J, args)``). This runs once
    per call of the callee: the common case (one float64 array of the shape
    seen last) is looked at first."""

    def __call__(self, *args, **kwargs):
        if not kwargs:
            plans = self.plans
            last, single = plans.last, plans.single
            plan = None
            if last is not None and single < len(args):
                value = args[single]
                if type(value) is np.ndarray and value.dtype is _FLOAT and value.shape == last[0]:
                    plan = last[1]
                else:
                    plan = plans.find(args)
            else:
                plan = plans.find(args)
            if plan is not None:
                try:
                    out, jacobian = plan.local(*args)
                except Exception:  # the general functions raise it as the user's error
                    return self.general(*args)
                if (jacobian.shape == plan.jacobian_shape and getattr(out, "shape", ()) == plan.out_shape
                        and (not plan.singular or _finite(jacobian))):
                    return out, (_LOCAL, plan, jacobian, args)
        return self.general(*args, **kwargs)


class LocalBackward(_StandIn):
    """``g_backward``: the adjoints, as one product when the forward call was local."""

    def __init__(self, plans, general, forward):
        super().__init__(plans, general)
        self.forward = forward

    def __call__(self, residuals, out_bar):
        if len(residuals) == 4 and residuals[0] is _LOCAL:
            _, plan, jacobian, args = residuals
            if type(out_bar) is np.ndarray and out_bar.ndim and out_bar.shape[1:] == plan.out_shape:
                if plan.vectors:
                    return out_bar @ jacobian,
                return plan.pull(jacobian, out_bar)
            residuals = self.forward(*args)[1]
        return self.general(residuals, out_bar)


class LocalJVP(_StandIn):
    """``g_jvp``: ``(out, out_dot)``, the tangents through the local Jacobian when it serves."""

    def __call__(self, tangents, *args, **kwargs):
        if not kwargs:
            plan = self.plans.find(args)
            if plan is not None and _tangents_fit(tangents, plan):
                try:
                    out, jacobian = plan.local(*args)
                except Exception:  # the general function raises it as the user's error
                    return self.general(tangents, *args)
                if (jacobian.shape == plan.jacobian_shape and getattr(out, "shape", ()) == plan.out_shape
                        and (not plan.singular or _finite(jacobian))):
                    return out, plan.push(jacobian, tangents[1:])
        return self.general(tangents, *args, **kwargs)


def _finite(jacobian):
    """Whether every entry is finite (one reduction: an infinite or NaN entry
    makes the sum's difference with itself NaN). Where a partial is infinite
    or undefined (np.sqrt at 0) the general functions keep the rules'
    convention that a zero tangent or cotangent contributes 0
    (rt.times_tangent), which a matrix product does not: they take those
    calls. (A sum that overflows sends finite entries there too, which is
    only slower.) Written-out code of products and sums (and sin, cos, exp,
    tanh) has finite entries wherever its values are finite, where the
    general rules are plain products as well: it is not checked."""
    total = jacobian.sum()
    return total - total == 0.0


def _tangents_fit(tangents, plan):
    dots = tangents[1:]
    if len(dots) != len(plan.shapes):
        return False
    batch = None
    for dot, shape in zip(dots, plan.shapes, strict=True):
        if type(dot) is not np.ndarray or dot.shape[1:] != shape or dot.ndim == 0:
            return False
        if batch is None:
            batch = dot.shape[0]
        elif dot.shape[0] != batch:
            return False
    return True


def reverse_pair(function, compiled, positions, callees):
    """The forward and backward functions a caller's generated code calls."""
    plans = _Plans(function, compiled, positions, "vjp", callees)
    return LocalForward(plans, compiled.forward), LocalBackward(plans, compiled.backward, compiled.forward)


def forward_function(function, compiled, positions, callees):
    """The forward-mode function a caller's generated code calls."""
    return LocalJVP(_Plans(function, compiled, positions, "jvp", callees), compiled.jvp)


#: the stand-in types, which a transform of generated code reads through
STAND_INS = (LocalForward, LocalBackward, LocalJVP)
