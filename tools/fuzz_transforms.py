"""Random-program fuzzer for every transform.

Generates small NumPy functions ``program(x, y)`` mixing loops, branches,
early returns, nested functions, comprehensions, containers, in-place
updates (of arguments too), views, reductions, broadcasting, *args calls,
try blocks, factory closures and shape-changing loops, and checks

- the value of every transform equals the plain call exactly, and the
  caller's arrays after the call equal those after the plain call;
- jacrev / jacfwd / jvp / vjp against central differences (two step sizes);
- grad of a scalar version against autograd (when autograd runs the code);
- hessian / jacrev(jacrev) / jacfwd(jacrev) against differences of the gradient;
- vmap, vmap(jacrev) against a Python loop;
- vmap with negative in_dims / out_dims against a loop; jacrev(vmap(f)) and
  vmap(hessian(f)) against differences of each example;
- jacrev / jacfwd with sparse=True, and with chunk_size and a thread pool
  executor, against central differences.

Usage: python tools/fuzz_transforms.py [first_seed] [count] [--quiet]
Failures are written to /tmp/fuzz_fail/<seed>.txt with the failing check.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
import adjoint  # noqa: E402
import fuzz_common  # noqa: E402
from fuzz_common import (  # noqa: E402,F401 (load: tests/test_fuzz_transforms.py reads it here)
    Failure, _example, _map_tree, call_copy, close, fd_matrix, flat, jac_to_matrix, leaves, load, runner, same_tree)
import warnings  # noqa: E402
warnings.simplefilter("ignore")

N = 4
UNARY = ["np.sin({})", "np.cos({})", "np.tanh({})", "np.exp(0.3 * {})", "({}) ** 2",
         "np.sqrt(1.5 + ({}) ** 2)", "np.log1p(({}) ** 2)", "-({})", "(0.5 * {})"]
BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / (1.5 + ({}) ** 2)"]

HELPERS = '''
def combine(*vs, scale=1.0):
    total = vs[0]
    for v in vs[1:]:
        total = total + v
    return scale * total


def weighted(a, b, *, w=0.5, **extra):
    out = w * a + (1.0 - w) * b
    for key in extra:
        out = out + extra[key]
    return out


def make_scale(c):
    return lambda t: t * c + np.sin(t)


def make_poly(c):
    def poly(t):
        return c * t ** 2 + t
    return poly


SCALE = 0.7


def piecewise(v, s):
    if s > 0.5:
        return v * s
    for i in range(2):
        v = np.sin(v) + s
        if np.sum(v) > 2.0:
            return v
    return v * 2.0


def chain(*vs):
    out = vs[0]
    for v in vs[1:]:
        out = np.tanh(out) * v
    return out


def helper_update(v, k):
    w = v * 1.0
    w[k] = w[k] * 2.0 + 0.1
    return w
'''


class Builder:
    def __init__(self, rng, allow_inplace_args=True):
        self.rng = rng
        self.vectors = ["x", "y"]
        self.scalars = []
        self.lines = []
        self.count = 0
        self.autograd_ok = True
        self.allow_inplace_args = allow_inplace_args
        self.loopvars = 0

    def r(self, n):
        return int(self.rng.integers(n))

    def choice(self, items):
        return items[self.r(len(items))]

    def vec(self):
        return self.choice(self.vectors)

    def sca(self):
        if self.scalars and self.r(2):
            return self.choice(self.scalars)
        return self.choice([f"np.sum({self.vec()})", f"np.mean({self.vec()})",
                            f"{self.vec()}[{self.r(N)}]", f"np.max({self.vec()})",
                            f"{self.vec()}.sum()"])

    def new(self, scalar=False):
        self.count += 1
        name = f"{'s' if scalar else 'v'}{self.count}"
        return name

    def expr(self, depth=0):
        kind = self.r(6) if depth < 2 else self.r(2)
        if kind <= 1:
            return self.choice(UNARY).format(self.vec())
        if kind == 2:
            return self.choice(BINARY).format(self.expr(depth + 1), self.expr(depth + 1))
        if kind == 3:
            return f"{self.sca()} * {self.vec()}"
        if kind == 4:
            return self.choice([
                f"({self.vec()}[:, None] * {self.vec()}[None, :]).sum(axis=1)",
                f"np.max({self.vec()}[:, None] + 0.5 * {self.vec()}[None, :], axis=0)",
                f"np.cumsum({self.vec()}) * 0.3",
                f"np.concatenate([{self.vec()}[2:], {self.vec()}[:2]])",
                f"{self.vec()}[::-1] * 1.5",
                f"np.outer({self.vec()}, {self.vec()}).mean(axis=0)",
                f"{self.vec()}.reshape(2, 2).T.ravel()",
                f"np.where({self.vec()} > 0.0, {self.vec()}, 0.2 * {self.vec()})",
            ])
        return f"{self.expr(depth + 1)} * 0.5 + {self.vec()}"

    def emit(self, ind, text):
        self.lines.append("    " * ind + text)

    def assign_vec(self, ind, value):
        name = self.new()
        self.emit(ind, f"{name} = {value}")
        return name

    # --- statements -----------------------------------------------------
    def statement(self, ind, in_loop=False):
        kind = self.r(38)
        if kind >= 22:
            self.statement_more(ind, kind)
            return
        defined = []
        if kind <= 3:
            defined.append(self.assign_vec(ind, self.expr()))
        elif kind == 4:
            name = self.new(scalar=True)
            self.emit(ind, f"{name} = {self.sca()} * 0.5 + {self.choice(['1.0', self.sca()])}")
            self.scalars.append(name)
            return
        elif kind == 5:  # if / elif / else on data
            target = self.new()
            self.emit(ind, f"if {self.sca()} > {self.rng.uniform(-0.5, 0.5):.2f}:")
            self.emit(ind + 1, f"{target} = {self.expr()}")
            if self.r(2):
                self.emit(ind, f"elif {self.sca()} < 0.0:")
                self.emit(ind + 1, f"{target} = {self.expr()}")
            self.emit(ind, "else:")
            self.emit(ind + 1, f"{target} = {self.expr()}")
            defined.append(target)
        elif kind == 6:  # for loop with carried value, break / continue
            target = self.new()
            self.emit(ind, f"{target} = {self.vec()} * 1.0")
            i = f"i{self.count}"
            self.emit(ind, f"for {i} in range({1 + self.r(3)}):")
            extra = self.r(4)
            if extra == 1:
                self.emit(ind + 1, f"if np.sum({target}) > {self.rng.uniform(0, 2):.2f}:")
                self.emit(ind + 2, "break")
            elif extra == 2:
                self.emit(ind + 1, f"if {i} == 1:")
                self.emit(ind + 2, "continue")
            self.emit(ind + 1, f"{target} = {self.choice(UNARY).format(target)} * 0.5 + {self.vec()} * 0.1")
            defined.append(target)
        elif kind == 7:  # loop over rows / elements
            target = self.new()
            src = self.vec()
            self.emit(ind, f"{target} = np.zeros({N})")
            self.emit(ind, f"for t{self.count} in {src}:")
            self.emit(ind + 1, f"{target} = {target} + np.sin(t{self.count}) * {self.vec()}")
            defined.append(target)
        elif kind == 8:  # nested function with closure
            fname = f"g{self.count}"
            cap = self.vec()
            self.emit(ind, f"def {fname}(u, k=0.5):")
            self.emit(ind + 1, f"return np.sin(u) * k + {cap}")
            call = self.choice([f"{fname}({self.vec()})", f"{fname}({self.vec()}, k={self.sca()})",
                                f"{fname}(u={self.vec()})"])
            defined.append(self.assign_vec(ind, call))
        elif kind == 9:  # comprehensions
            which = self.r(6)
            a, b, c = self.vec(), self.vec(), self.vec()
            if which == 0:
                value = f"np.stack([np.sin(t) * {c} for t in ({a}, {b})]).sum(axis=0)"
            elif which == 1:
                value = f"sum(t * w for t, w in zip([{a}, {b}], [{c}, {a}]))"
            elif which == 2:
                value = f"np.array([t ** 2 + 0.1 * t for t in {a}])"
            elif which == 3:
                value = f"sum([np.tanh(t) for k, t in enumerate([{a}, {b}, {c}]) if k != 1])"
            elif which == 4:
                d = f"d{self.count}"
                self.emit(ind, f"{d} = {{k: v * 2.0 for k, v in {{'p': {a}, 'q': {b}}}.items()}}")
                value = f"{d}['p'] + {d}['q'] * 0.5"
                self.autograd_ok = self.autograd_ok
            else:
                value = f"np.array([np.sum(t * {b}) for t in [{a}, {c}, {a}, {b}]])"
            defined.append(self.assign_vec(ind, value))
        elif kind == 10:  # containers
            which = self.r(4)
            lst = f"lst{self.count}"
            if which == 0:
                self.emit(ind, f"{lst} = [{self.vec()}, {self.vec()}]")
                self.emit(ind, f"{lst}[0] = {lst}[0] * 2.0")
                self.emit(ind, f"{lst}.append({self.expr()})")
                defined.append(self.assign_vec(ind, f"{lst}[0] + {lst}[-1] - {lst}[1]"))
            elif which == 1:
                self.emit(ind, f"{lst} = dict(zip(['p', 'q'], [{self.vec()}, {self.vec()}]))")
                self.emit(ind, f"{lst}['p'] = {lst}['p'] + {self.vec()}")
                defined.append(self.assign_vec(ind, f"{lst}['p'] * {lst}['q']"))
            elif which == 2:
                p, q = self.new(), self.new()
                self.emit(ind, f"{p}, {q} = {self.vec()} * 2.0, {self.vec()} + 1.0")
                defined += [p, q]
            else:
                self.emit(ind, f"{lst} = dict(a={self.vec()}, b={self.sca()})")
                defined.append(self.assign_vec(ind, f"{lst}['a'] * {lst}['b']"))
        elif kind == 11:  # in-place updates of a made array
            self.autograd_ok = False
            name = self.new()
            which = self.r(4)
            if which == 0:
                self.emit(ind, f"{name} = np.zeros({N})")
                self.emit(ind, f"{name}[{self.r(N)}] = {self.sca()}")
                self.emit(ind, f"{name}[1:] += {self.vec()}[:{N - 1}]")
            elif which == 1:
                self.emit(ind, f"{name} = {self.vec()}.copy()")
                self.emit(ind, f"{name}[::2] *= 2.0")
                self.emit(ind, f"{name}[{self.vec()} > 0.0] = 0.5")
            elif which == 2:
                self.emit(ind, f"{name} = {self.vec()} * 1.0")
                self.emit(ind, f"{name} += {self.vec()}")
                self.emit(ind, f"{name} *= {self.sca()}")
            else:
                self.emit(ind, f"{name} = np.ones({N})")
                k = f"k{self.count}"
                self.emit(ind, f"for {k} in range({N}):")
                self.emit(ind + 1, f"{name}[{k}] = {name}[{k} - 1] * np.sin({self.vec()}[{k}]) + 0.1")
            defined.append(name)
        elif kind == 12:  # views (read)
            name = self.new()
            self.emit(ind, f"w{self.count} = {self.vec()}[1:3]")
            self.emit(ind, f"{name} = np.concatenate([w{self.count}, w{self.count} * 2.0])")
            defined.append(name)
        elif kind == 13:  # *args / **kwargs
            which = self.r(5)
            if which == 0:
                value = f"combine({self.vec()}, {self.vec()}, scale={self.sca()})"
            elif which == 1:
                value = f"combine(*[{self.vec()}, {self.vec()}, {self.vec()}])"
            elif which == 2:
                args = f"args{self.count}"
                self.emit(ind, f"{args} = ({self.vec()}, {self.vec()})")
                value = f"combine(*{args}, scale=0.5)"
            elif which == 3:
                kw = f"kw{self.count}"
                self.emit(ind, f"{kw} = {{'w': 0.3, 'e': {self.vec()}}}")
                value = f"weighted({self.vec()}, {self.vec()}, **{kw})"
            else:
                value = f"weighted({self.vec()}, b={self.vec()}, w={self.sca()})"
            defined.append(self.assign_vec(ind, value))
        elif kind == 14:  # try blocks
            name = self.new()
            which = self.r(3)
            self.emit(ind, "try:")
            if which == 0:
                self.emit(ind + 1, f"if {self.sca()} > 0.0:")
                self.emit(ind + 2, "raise ValueError('neg')")
                self.emit(ind + 1, f"{name} = {self.expr()}")
                self.emit(ind, "except ValueError:")
                self.emit(ind + 1, f"{name} = {self.expr()}")
            elif which == 1:
                self.emit(ind + 1, f"{name} = [{self.vec()}][{self.r(2)}] * 2.0")
                self.emit(ind, "except IndexError:")
                self.emit(ind + 1, f"{name} = {self.expr()}")
            else:
                self.emit(ind + 1, f"{name} = {self.expr()}")
                self.emit(ind, "finally:")
                self.emit(ind + 1, "pass")
            defined.append(name)
        elif kind == 15:  # with
            name = self.new()
            self.emit(ind, "with np.errstate(all='ignore'):")
            self.emit(ind + 1, f"{name} = {self.expr()}")
            defined.append(name)
        elif kind == 16:  # factory closures
            g = f"f{self.count}"
            self.emit(ind, f"{g} = {self.choice(['make_scale', 'make_poly'])}({self.sca()})")
            defined.append(self.assign_vec(ind, f"{g}({self.vec()})"))
        elif kind == 17:  # shape-changing while loop
            w = f"w{self.count}"
            self.emit(ind, f"{w} = {self.vec()}")
            self.emit(ind, f"while {w}.shape[0] < {N + 1 + self.r(3)}:")
            self.emit(ind + 1, f"{w} = np.concatenate([{w}, np.sin({w}[:1]) + {w}[-1:]])")
            defined.append(self.assign_vec(ind, f"{w}[:{N}] + {w}[-{N}:]"))
        elif kind == 18:  # in-place update of an argument (torch.func meaning)
            if not self.allow_inplace_args or in_loop or ind > 1:
                defined.append(self.assign_vec(ind, self.expr()))
            else:
                self.autograd_ok = False
                arg = self.choice(["x", "y"])
                which = self.r(4)
                if which == 0:
                    self.emit(ind, f"{arg}[{self.r(N)}] = {self.sca()}")
                elif which == 1:
                    self.emit(ind, f"{arg} += {self.vec()}")
                elif which == 2:
                    self.emit(ind, f"{arg}[1:3] *= {self.sca()}")
                else:
                    self.emit(ind, f"{arg}[:] = np.sin({self.vec()})")
                return
        elif kind == 19:  # max / sorted with key
            a, b = self.vec(), self.vec()
            which = self.r(3)
            if which == 0:
                value = f"max([{a}, {b}], key=np.sum)"
            elif which == 1:
                value = f"sorted([{a}, {b}, {self.vec()}], key=lambda r: r[0])[1]"
            else:
                value = f"min({a}[0], {b}[1]) * {self.vec()}"
            defined.append(self.assign_vec(ind, value))
        elif kind == 20:  # user helper that updates its own copy
            self.autograd_ok = False
            defined.append(self.assign_vec(ind, f"helper_update({self.vec()}, {self.r(N)})"))
        else:  # map / filter / and-or
            which = self.r(3)
            if which == 0:
                value = f"sum(map(lambda v: v * v, [{self.vec()}, {self.vec()}]))"
            elif which == 1:
                value = f"sum(filter(lambda v: np.sum(v) > -100.0, [{self.vec()}, {self.vec()}]))"
            else:
                value = f"({self.vec()} if {self.sca()} > 0.0 else {self.vec()}) * 1.0"
            defined.append(self.assign_vec(ind, value))
        self.vectors.extend(defined)

    def statement_more(self, ind, kind):
        defined = []
        a, b = self.vec(), self.vec()
        if kind == 22:  # a 2-d array made here, rows and slices set
            self.autograd_ok = False
            z = f"z{self.count}"
            self.emit(ind, f"{z} = np.zeros((2, {N}))")
            self.emit(ind, f"{z}[0] = {a}")
            self.emit(ind, f"{z}[1, 1:] = {b}[:-1] * 2.0")
            self.emit(ind, f"{z}[:, 0] += {self.sca()}")
            defined.append(self.assign_vec(ind, f"{z}.sum(axis=0) + {z}[1]"))
        elif kind == 23:  # items of a list made here, updated in place
            self.autograd_ok = False
            lst = f"lst{self.count}"
            self.emit(ind, f"{lst} = [{a} * 1.0, {b} + 0.0]")
            self.emit(ind, f"{lst}[0][1] = {self.sca()}")
            self.emit(ind, f"{lst}[1] += {lst}[0]")
            defined.append(self.assign_vec(ind, f"{lst}[0] * {lst}[1]"))
        elif kind == 24:  # module helper with branches and early returns
            defined.append(self.assign_vec(ind, f"piecewise({a}, {self.sca()})"))
        elif kind == 25:  # more NumPy
            value = self.choice([f"np.clip({a}, -0.5, 0.5) + {b}", f"np.sort({a}) * {b}",
                                 f"np.roll({a}, 1) * {b}", f"np.linalg.norm({a}) * {b}",
                                 f"np.dot({a}, {b}) * {a}", f"np.prod(1.0 + 0.1 * {a}) * {b}",
                                 f"np.abs({a}) * {b}", f"np.maximum({a}, {b})",
                                 f"np.flip({a}) + np.diff(np.concatenate([{b}, {a}[:1]]))",
                                 f"np.tile({a}[:2], 2) * {b}", f"np.repeat({a}[::2], 2) + {b}"])
            defined.append(self.assign_vec(ind, value))
        elif kind == 26:  # data-dependent while
            w = self.new()
            self.emit(ind, f"{w} = {a} * 1.0")
            k = f"k{self.count}"
            self.emit(ind, f"{k} = 0")
            self.emit(ind, f"while np.sum({w} ** 2) < 4.0 and {k} < 4:")
            self.emit(ind + 1, f"{w} = {w} * 1.5 + 0.1 * {b}")
            self.emit(ind + 1, f"{k} += 1")
            defined.append(w)
        elif kind == 27:  # dict filled in a loop
            d = f"d{self.count}"
            self.emit(ind, f"{d} = {{}}")
            self.emit(ind, f"for k{self.count} in range(3):")
            self.emit(ind + 1, f"{d}[k{self.count}] = {a} * (k{self.count} + 1.0) + {b}")
            defined.append(self.assign_vec(ind, f"sum({d}.values()) + {d}[2]"))
        elif kind == 28:  # array from scalars
            defined.append(self.assign_vec(ind, f"np.array([{a}[0], {b}[1] * {a}[2], {self.sca()}, 1.0])"))
        elif kind == 29:  # nested function called in a loop, closing over the carried value
            acc = self.new()
            self.emit(ind, f"{acc} = {a} * 1.0")
            self.emit(ind, f"for k{self.count} in range(2):")
            self.emit(ind + 1, f"def step{self.count}(u):")
            self.emit(ind + 2, f"return np.tanh(u * {acc}) + {b}")
            self.emit(ind + 1, f"{acc} = step{self.count}({acc}) * 0.5")
            defined.append(acc)
        elif kind == 30:  # module constant and a helper with *args and a loop
            defined.append(self.assign_vec(ind, f"chain({a}, {b}, {self.vec()}) * SCALE"))
        elif kind == 32:  # list slices, negative steps
            lst = f"lst{self.count}"
            self.emit(ind, f"{lst} = [{a}, {b}, {a} * {b}, {self.vec()}]")
            value = self.choice([f"sum({lst}[::-1][1:])", f"{lst}[-1::-2][1] * 2.0 + {lst}[2::-1][0]",
                                 f"sum({lst}[1:3]) - {lst}[-2]"])
            defined.append(self.assign_vec(ind, value))
        elif kind == 33:  # zip with a string, enumerate with start
            acc = self.new()
            self.emit(ind, f"{acc} = {a} * 0.0")
            self.emit(ind, f"for name{self.count}, (k{self.count}, v{self.count}) in zip('abc', enumerate([{a}, {b}, {self.vec()}], start=1)):")
            self.emit(ind + 1, f"{acc} = {acc} + v{self.count} * k{self.count} * 0.3")
            defined.append(acc)
        elif kind == 34:  # a loop that may run no iteration, inside a branch
            acc = self.new()
            self.emit(ind, f"{acc} = {a} * 1.0")
            self.emit(ind, f"if {self.sca()} > -0.5:")
            self.emit(ind + 1, f"for i{self.count} in range(int({self.sca()} > 0.0) * 2):")
            self.emit(ind + 2, f"t{self.count} = np.sin({acc}) * i{self.count}")
            self.emit(ind + 2, f"{acc} = {acc} + t{self.count} * 0.5")
            defined.append(acc)
        elif kind == 35:  # default values of nested functions and lambdas
            h = f"h{self.count}"
            self.emit(ind, f"{h} = lambda t, k={a}: t * k + {b}")
            defined.append(self.assign_vec(ind, f"{h}({self.vec()}) + {h}({self.vec()}, {self.sca()})"))
        elif kind == 36:  # list methods
            lst = f"lst{self.count}"
            self.emit(ind, f"{lst} = [{a}, {b}]")
            self.emit(ind, f"{lst} = {lst} + [{self.vec()} * 2.0]")
            self.emit(ind, f"{lst} += [{self.vec()}]")
            defined.append(self.assign_vec(ind, f"{lst}[0] + {lst}[-1] * {lst}[2]"))
        elif kind == 37:  # math functions of numbers
            defined.append(self.assign_vec(ind, f"math.exp({a}[0] * 0.5) * {b} + math.sin({self.sca()}) * {self.vec()}"))
        else:  # augmented assignment on a name it owns, in a branch
            w = self.new()
            self.emit(ind, f"{w} = {a} * 2.0")
            self.emit(ind, f"if {self.sca()} > 0.0:")
            self.emit(ind + 1, f"{w} += {b}")
            self.emit(ind, "else:")
            self.emit(ind + 1, f"{w} *= {b}")
            defined.append(w)
        self.vectors.extend(defined)

    def output(self, kind):
        a, b, c = self.vec(), self.vec(), self.vec()
        if kind == 0:
            return f"{a} + {b} * {c}"
        if kind == 1:
            return f"({a} * 1.0, np.sum({b} * {c}))"
        if kind == 2:
            return f"{{'u': {a} * {b}, 'v': np.tanh({c})}}"
        return f"np.sum({a} * {b}) + np.mean({c})"

    def program(self, statements):
        out_kind = self.r(4)
        for _ in range(statements):
            if self.r(8) == 0:
                # an early return inside a branch
                self.emit(1, f"if {self.sca()} > {self.rng.uniform(0.5, 2.0):.2f}:")
                self.emit(2, f"return {self.output(out_kind)}")
            elif self.r(8) == 0:
                # a statement inside a loop with an early return
                self.emit(1, f"for j{self.count} in range(2):")
                saved = len(self.vectors)
                self.statement(2, in_loop=True)
                self.emit(2, f"if {self.sca()} > {self.rng.uniform(1.0, 3.0):.2f}:")
                self.emit(3, f"return {self.output(out_kind)}")
                del self.vectors[saved:]  # names maybe unbound after zero iterations? range(2) runs
            else:
                self.statement(1)
        self.emit(1, f"return {self.output(out_kind)}")
        body = "\n".join(self.lines)
        scalar_of = {0: "np.sum(out * np.cos(out))", 1: "np.sum(out[0] ** 2) + out[1] * 0.5",
                     2: "np.sum(out['u'] * out['v']) + np.sum(out['u'])", 3: "out * out"}[out_kind]
        return (f"import math\n\nimport numpy as np\n{HELPERS}\n\ndef program(x, y):\n{body}\n\n\n"
                f"def scalar(x, y):\n    out = program(x * 1.0, y * 1.0)\n    return {scalar_of}\n")


def check(module, rng, checks):
    program, scalar = module.program, module.scalar
    x = rng.uniform(-1.0, 1.0, N)
    y = rng.uniform(-1.0, 1.0, N)
    try:
        with np.errstate(all="ignore"):
            out, after = call_copy(program, x, y)
    except Exception:
        return "plain-error"
    if not all(np.all(np.isfinite(leaf)) for leaf in leaves(out)):
        return "nonfinite"
    if max(float(np.max(np.abs(leaf), initial=0.0)) for leaf in leaves(out)) > 1e3:
        # scalar = sum(out * cos(out)) turns too fast for central differences
        return "large"
    fd1 = fd_matrix(program, (x, y), 1e-5)
    fd2 = fd_matrix(program, (x, y), 1e-7)
    if not np.allclose(fd1, fd2, rtol=1e-4, atol=1e-5):
        return "kink"
    results = []

    run = runner(checks, results)

    def t_jacrev():
        xc, yc = x.copy(), y.copy()
        jac = adjoint.jacrev(program, argnums=(0, 1))(xc, yc)
        if not (np.array_equal(xc, after[0]) and np.array_equal(yc, after[1])):
            raise Failure(f"jacrev: caller arrays {xc, yc} != plain {after}")
        close(jac_to_matrix(jac, out, 2), fd1, "jacrev")

    def t_jacrev_chunk():
        xc, yc = x.copy(), y.copy()
        jac = adjoint.jacrev(program, argnums=(0, 1), chunk_size=1)(xc, yc)
        close(jac_to_matrix(jac, out, 2), fd1, "jacrev chunk 1")

    def t_jacfwd():
        xc, yc = x.copy(), y.copy()
        jac = adjoint.jacfwd(program, argnums=(0, 1))(xc, yc)
        if not (np.array_equal(xc, after[0]) and np.array_equal(yc, after[1])):
            raise Failure(f"jacfwd: caller arrays {xc, yc} != plain {after}")
        close(jac_to_matrix(jac, out, 2), fd1, "jacfwd")

    def t_jvp():
        xc, yc = x.copy(), y.copy()
        tx, ty = rng.normal(size=N), rng.normal(size=N)
        value, tangent = adjoint.jvp(program, (xc, yc), (tx, ty))
        if not same_tree(value, out):
            raise Failure(f"jvp value {value} != plain {out}")
        if not (np.array_equal(xc, after[0]) and np.array_equal(yc, after[1])):
            raise Failure(f"jvp: caller arrays {xc, yc} != plain {after}")
        close(flat(tangent), fd1 @ np.concatenate([tx, ty]), "jvp tangent")

    def t_vjp():
        xc, yc = x.copy(), y.copy()
        value, fn = adjoint.vjp(program, xc, yc)
        if not same_tree(value, out):
            raise Failure(f"vjp value {value} != plain {out}")
        if not (np.array_equal(xc, after[0]) and np.array_equal(yc, after[1])):
            raise Failure(f"vjp: caller arrays {xc, yc} != plain {after}")
        ct_leaves = [rng.normal(size=np.shape(leaf)) for leaf in leaves(out)]
        it = iter(ct_leaves)

        def build(node):
            if isinstance(node, dict):
                return {k: build(v) for k, v in node.items()}
            if isinstance(node, tuple):
                return tuple(build(v) for v in node)
            if isinstance(node, list):
                return [build(v) for v in node]
            leaf = next(it)
            return np.float64(leaf) if np.ndim(node) == 0 else leaf
        ct = build(out)
        gx, gy = fn(ct)
        close(np.concatenate([gx, gy]), flat(ct_leaves) @ fd1, "vjp")

    s_fd = None

    def grad_ref():
        # the gradient of scalar, by autograd when it runs the code, else FD
        return fd_matrix(scalar, (x, y), 1e-6)[0]

    def t_grad():
        xc, yc = x.copy(), y.copy()
        g = adjoint.grad(scalar, argnums=(0, 1))(xc, yc)
        close(np.concatenate(g), grad_ref(), "grad")

    def hess_ref():
        gfun = adjoint.grad(scalar, argnums=(0, 1))

        def g(a, b):
            return np.concatenate(gfun(a, b))
        return fd_matrix(g, (x, y), 1e-5)

    def t_hessian():
        g = adjoint.grad(scalar, argnums=(0, 1))(x.copy(), y.copy())
        close(np.concatenate(g), grad_ref(), "grad (for hessian)")
        h = adjoint.hessian(scalar, argnums=(0, 1))(x.copy(), y.copy())
        hm = np.block([[h[0][0], h[0][1]], [h[1][0], h[1][1]]])
        close(hm, hess_ref(), "hessian", rtol=1e-4, atol=1e-5)

    def t_revrev():
        h = adjoint.jacrev(adjoint.jacrev(scalar, argnums=0), argnums=0)(x.copy(), y.copy())
        close(h, hess_ref()[:N, :N], "jacrev(jacrev)", rtol=1e-4, atol=1e-5)

    def t_fwdfwd():
        h = adjoint.jacfwd(adjoint.jacfwd(scalar, argnums=1), argnums=0)(x.copy(), y.copy())
        close(h, hess_ref()[N:, :N], "jacfwd(jacfwd)", rtol=1e-4, atol=1e-5)

    def t_vmap():
        B = 3
        X = rng.uniform(-1.0, 1.0, (B, N))
        X[0] = x
        loop = []
        for b in range(B):
            with np.errstate(all="ignore"):
                o, _ = call_copy(program, X[b], y)
            loop.append(o)
        Xc, yc = X.copy(), y.copy()
        got = adjoint.vmap(program, in_dims=(0, None))(Xc, yc)
        gl = leaves(got)
        for k, leaf in enumerate(leaves(out)):
            close(gl[k], np.stack([np.asarray(leaves(o)[k]) for o in loop]), f"vmap leaf {k}",
                  rtol=1e-10, atol=1e-12)

    def t_vmap_jac():
        B = 2
        X = rng.uniform(-1.0, 1.0, (B, N))
        X[0] = x
        got = adjoint.vmap(adjoint.jacrev(scalar, argnums=0), in_dims=(0, None))(X.copy(), y.copy())
        want = np.stack([fd_matrix(scalar, (X[b], y), 1e-6)[0][:N] for b in range(B)])
        close(got, want, "vmap(jacrev)")

    def t_vmap2():
        # both batched, the first along axis 1, in chunks; outputs along axis 0
        B = 3
        X = rng.uniform(-1.0, 1.0, (B, N))
        Y = rng.uniform(-1.0, 1.0, (B, N))
        X[0], Y[0] = x, y
        loop, after_x, after_y = [], X.copy(), Y.copy()
        for b in range(B):
            with np.errstate(all="ignore"):
                o = program(after_x[b], after_y[b])
            loop.append(o)
        Xt, Yc = X.T.copy(), Y.copy()
        got = adjoint.vmap(program, in_dims=(1, 0), chunk_size=2)(Xt, Yc)
        gl = leaves(got)
        for k, leaf in enumerate(leaves(out)):
            close(gl[k], np.stack([np.asarray(leaves(o)[k]) for o in loop]), f"vmap2 leaf {k}",
                  rtol=1e-10, atol=1e-12)
        close(Xt.T, after_x, "vmap2 caller x", rtol=0, atol=0)
        close(Yc, after_y, "vmap2 caller y", rtol=0, atol=0)

    def t_vmap_fwd():
        B = 2
        X = rng.uniform(-1.0, 1.0, (B, N))
        X[0] = x
        got = adjoint.vmap(adjoint.jacfwd(program, argnums=(0, 1)), in_dims=(0, None))(X.copy(), y.copy())
        for b in range(B):
            with np.errstate(all="ignore"):
                ob, _ = call_copy(program, X[b], y)
            one = jac_to_matrix(got if not isinstance(got, dict) else got, out, 2) if False else None
            want = fd_matrix(program, (X[b], y), 1e-6)
            gb = _example(got, b)
            close(jac_to_matrix(gb, ob, 2), want, f"vmap(jacfwd) example {b}")

    def t_third():
        # d/dx of hessian's xx block, against differences of the hessian
        t3 = adjoint.jacfwd(adjoint.hessian(scalar, argnums=0), argnums=0)(x.copy(), y.copy())
        hfun = adjoint.hessian(scalar, argnums=0)
        ref = fd_matrix(lambda a, b: hfun(a, b), (x, y), 1e-5)[:, :N].reshape(N, N, N)
        close(t3, ref, "third order", rtol=1e-4, atol=1e-4)

    def t_sparse():
        # sparse=True (compressed passes over a detected pattern) equals the dense Jacobian
        for transform in (adjoint.jacrev, adjoint.jacfwd):
            jac = transform(program, argnums=(0, 1), sparse=True)(x.copy(), y.copy())
            dense = _map_tree(lambda m: m.toarray(), jac)
            close(jac_to_matrix(dense, out, 2), fd1, f"{transform.__name__}(sparse=True)")

    def t_executor():
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(2) as pool:
            jac = adjoint.jacrev(program, argnums=(0, 1), chunk_size=3, executor=pool)(x.copy(), y.copy())
            close(jac_to_matrix(jac, out, 2), fd1, "jacrev(executor, chunk_size=3)")
            jac = adjoint.jacfwd(program, argnums=(0, 1), chunk_size=3, executor=pool)(x.copy(), y.copy())
            close(jac_to_matrix(jac, out, 2), fd1, "jacfwd(executor, chunk_size=3)")

    def t_vmap_neg():
        # negative in_dims / out_dims, the batch axis last
        B = 3
        X = rng.uniform(-1.0, 1.0, (B, N))
        X[0] = x
        loop = []
        for b in range(B):
            with np.errstate(all="ignore"):
                o, _ = call_copy(program, X[b], y)
            loop.append(o)
        got = adjoint.vmap(program, in_dims=(-1, None), out_dims=-1)(X.T.copy(), y.copy())
        gl = leaves(got)
        for k, leaf in enumerate(leaves(out)):
            want = np.stack([np.asarray(leaves(o)[k]) for o in loop], axis=-1)
            close(gl[k], want, f"vmap(in_dims=-1, out_dims=-1) leaf {k}", rtol=1e-10, atol=1e-12)

    def t_jac_vmap():
        # jacrev(vmap(f)): block diagonal in the batch, each block the example's Jacobian
        B = 2
        X = rng.uniform(-1.0, 1.0, (B, N))
        X[0] = x
        batched = adjoint.vmap(program, in_dims=(0, None))
        jac = adjoint.jacrev(batched, argnums=0)(X.copy(), y.copy())
        for b in range(B):
            want = fd_matrix(lambda a, c: program(a, c), (X[b], y), 1e-6)[:, :N]
            got = np.concatenate([np.reshape(np.asarray(leaf)[b][..., b, :], (-1, N)) for leaf in leaves(jac)])
            close(got, want, f"jacrev(vmap) example {b}")
            for other in range(B):
                if other != b:
                    stray = np.concatenate([np.ravel(np.asarray(leaf)[b][..., other, :]) for leaf in leaves(jac)])
                    close(stray, np.zeros_like(stray), f"jacrev(vmap) example {b} wrt {other}")

    def t_vmap_hess():
        B = 2
        X = rng.uniform(-1.0, 1.0, (B, N))
        X[0] = x
        got = adjoint.vmap(adjoint.hessian(scalar, argnums=0), in_dims=(0, None))(X.copy(), y.copy())
        gfun = adjoint.grad(scalar, argnums=0)
        for b in range(B):
            close(gfun(X[b].copy(), y.copy()), fd_matrix(scalar, (X[b], y), 1e-6)[0][:N], f"grad example {b}")
            want = fd_matrix(lambda a, c: gfun(a, c), (X[b], y), 1e-5)[:, :N]
            close(got[b], want, f"vmap(hessian) example {b}", rtol=1e-4, atol=1e-5)

    for name, fn in [("sparse", t_sparse), ("executor", t_executor), ("vmapneg", t_vmap_neg),
                     ("jacvmap", t_jac_vmap), ("vmaphess", t_vmap_hess),
                     ("jacrev", t_jacrev), ("jacrev1", t_jacrev_chunk), ("jacfwd", t_jacfwd),
                     ("jvp", t_jvp), ("vjp", t_vjp), ("grad", t_grad), ("hessian", t_hessian),
                     ("revrev", t_revrev), ("fwdfwd", t_fwdfwd), ("vmap", t_vmap),
                     ("vmapjac", t_vmap_jac), ("third", t_third), ("vmap2", t_vmap2),
                     ("vmapfwd", t_vmap_fwd)]:
        run(name, fn)
    return results


ALL = ["sparse", "executor", "vmapneg", "jacvmap", "vmaphess", "vmap2", "vmapfwd", "jacrev", "jacrev1", "jacfwd", "jvp", "vjp", "grad", "hessian", "revrev", "fwdfwd",
       "vmap", "vmapjac", "third"]


def main():
    fuzz_common.main(__doc__, lambda rng, stmts: Builder(rng).program(stmts),
                     lambda module, seed, checks, source: check(module, np.random.default_rng(10_000 + seed), checks),
                     ALL, "fz_", "", count=50, stmts=6)


if __name__ == "__main__":
    main()
