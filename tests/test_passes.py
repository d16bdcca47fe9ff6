"""Each pass tested by the text it produces (source in, source out)."""
import textwrap

import numpy as np

from adjoint import activity, ir, normalize, parse, resolve
from adjoint.naming import Namer, names_in


def normalized(func, has_aux=False):
    parsed = parse.parse_function(func)
    resolver = resolve.Resolver(func, parsed.node)
    namer = Namer(names_in(parsed.node))
    return parsed, normalize.normalize(parsed, resolver, namer, has_aux, "np", "rt")


def text_of(func, has_aux=False):
    return ir.render(normalized(func, has_aux)[1])


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
    assert ir.render(result) == textwrap.dedent("""\
        y = x[1:, None]
        t1 = y[..., 0]
        out = t1.T
        return out""")
    import astor
    import gast

    index = result.ops[0].args[1]
    assert astor.to_source(gast.gast_to_ast(gast.Expr(value=index))).strip() == "np.s_[1:, None]"


def with_aux(x):
    y = np.sin(x)
    return y, {"norm": np.sum(y)}


def test_has_aux_literal_splits_output_and_aux():
    parsed, result = normalized(with_aux, has_aux=True)
    assert ir.render(result).endswith("t2 = {'norm': t1}\nreturn y, t2")
    assert result.output.id == "y"


def mixed(x, n):
    scale = float(n)
    s = np.sign(x)
    y = np.sin(x) * s + scale
    unused = np.cos(x)
    return y


def test_activity_varied_and_useful():
    parsed, result = normalized(mixed)
    info = activity.analyze(result, ["x"], parsed)
    assert "s" not in info.varied  # sign carries no derivative
    assert "unused" in info.varied and "unused" not in info.useful
    assert "scale" not in info.active
    assert {"x", "y"} <= info.active
