"""Each pass tested by the text it produces (source in, source out)."""
import textwrap

import numpy as np

from adjoint.analysis import activity, shapes
from adjoint.backend import cache
from adjoint.frontend import ir, normalize, parse, resolve
from adjoint.backend.compile import normalized_source
from adjoint.frontend.naming import Namer, names_in


def normalized(func, has_aux=False):
    parsed = parse.parse_function(func)
    resolver = resolve.Resolver(func, parsed.node)
    namer = Namer(names_in(parsed.node))
    return parsed, normalize.normalize(parsed, resolver, namer, has_aux, "np", "rt", cache.CALLEES)


def text_of(func, has_aux=False):
    return normalized_source(normalized(func, has_aux)[1])


def nested(x, W, b):
    return np.tanh(W @ x + b).sum(axis=0)


def test_anf_one_primitive_per_assignment():
    assert text_of(nested) == textwrap.dedent("""\
        t1 = W @ x
        t2 = t1 + b
        t3 = np.tanh(t2)
        out = t3.sum(axis=0)
        return out""")


def rebinds(x):
    h = x * 2.0
    h = h + x
    h += 1.0
    return h


def test_reassigned_names_get_versions():
    assert text_of(rebinds) == textwrap.dedent("""\
        h = x * 2.0
        h_1 = h + x
        h_2 = h_1 + 1.0
        return h_2""")


def unpacks(x, pair):
    a, (b, c) = pair
    d, e = x, a
    return d * b + e * c


def test_unpacking():
    assert text_of(unpacks) == textwrap.dedent("""\
        a, t1 = pair
        b, c = t1
        d = x
        e = a
        t2 = d * b
        t3 = e * c
        out = t2 + t3
        return out""")


def indexes(x):
    y = x[1:, None]
    return y[..., 0].T


def test_indexing_keeps_slices_and_records_the_index_value():
    parsed, result = normalized(indexes)
    assert normalized_source(result) == textwrap.dedent("""\
        y = x[1:, None]
        t1 = y[..., 0]
        out = t1.T
        return out""")
    import gast

    from adjoint.backend.compile import unparse

    index = result.ops[0].args[1]
    assert unparse(gast.gast_to_ast(gast.Expr(value=index))).strip() == "np.s_[1:, None]"


def with_aux(x):
    y = np.sin(x)
    return y, {"norm": np.sum(y)}


def test_has_aux_literal_splits_output_and_aux():
    parsed, result = normalized(with_aux, has_aux=True)
    assert normalized_source(result).endswith("t2 = {'norm': t1}\nreturn y, t2")
    assert result.output.id == "y"


def mixed(x, n):
    scale = float(n)
    s = np.sign(x)
    y = np.sin(x) * s + scale
    unused = np.cos(x)
    return y


def test_activity_varied_and_useful():
    parsed, result = normalized(mixed)
    info = activity.analyze(result, ["x"], parsed, cache.CALLEES)
    assert "s" not in info.varied  # sign carries no derivative
    assert "unused" in info.varied and "unused" not in info.useful
    assert "scale" not in info.active
    assert {"x", "y"} <= info.active


# ----------------------------------------------------------------- shapes

def accumulates(x, steps):
    total = 0.0
    grows = 0.0
    for _ in range(steps):
        total = total + np.sum(x ** 2) * 0.5
        grows = grows + x
    return total, grows


def test_scalar_names_hold_loop_accumulators_of_scalars_only():
    _, ops = normalized(accumulates)
    scalars = shapes.scalar_names(ir.walk_ops(ops.ops))
    # total = 0.0 then total + sum(...) * 0.5 stays scalar; grows + x takes x's shape.
    assert {"total", "total_1", "total_2"} <= scalars
    assert "grows" in scalars  # the 0.0 before the loop
    assert not {"grows_1", "grows_2"} & scalars  # then grows + x
    assert "x" not in scalars and "steps" not in scalars


def carried(x):
    y = x
    for _ in range(3):
        z = y * x
        y = np.concatenate([y, z])
    return y


def test_loop_carried_names_take_no_shape_from_their_copies():
    _, ops = normalized(carried)
    classes = shapes.same_shape_classes(ir.walk_ops(ops.ops))
    # y_1 is x in the first iteration and longer afterwards; so z is not x's shape.
    assert not classes.same("y_1", "x")
    assert not classes.same("z", "x")


def reductions(x):
    a = np.sum(x)
    b = np.sum(x, axis=0)
    c = x.mean(axis=None)
    d = np.max(x, keepdims=True)
    e = np.sum(x, 0)
    return a + b + c + d + e


def test_only_full_reductions_are_scalars():
    _, ops = normalized(reductions)
    scalars = shapes.scalar_names(ir.walk_ops(ops.ops))
    assert {"a", "c"} <= scalars
    assert not {"b", "d", "e"} & scalars  # axis=0 (equal to False!), keepdims, positional axis
