"""Randomly built programs (fixed seeds) with the constructs that hid wrong
numbers and crashes: branches and early returns (also from inside loops
and nested functions), loops that may run zero times, ``break`` and
``continue``, nested functions and lambdas that change the enclosing
function's lists and dicts (called in loops too), tuples, lists and dicts
whose items are replaced, appended, iterated and unpacked, in-place updates
of local arrays, and calls of module-level functions. Each program is
written to a module file and imported; jacrev and jacfwd are compared with
central finite differences (two step sizes must agree, else the point is
skipped as a kink). A refusal must name the program's file and line."""
import importlib.util
import sys
import warnings

import numpy as np

import adjoint
from conftest import assert_trees_close, numerical_jacobian

UNARY = ["np.sin({})", "np.cos({})", "np.tanh({})", "np.exp(0.3 * {})", "({}) ** 2",
         "np.sqrt(1.5 + ({}) ** 2)", "np.log1p(({}) ** 2)", "-({})"]
BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / (1.5 + ({}) ** 2)"]


class Gen:
    def __init__(self, rng):
        self.rng = rng
        self.count = 0
        self.lines = []
        self.vectors = ["x"]
        self.containers = []  # (name, kind, keys)
        self.arrays = []      # local arrays that may be updated in place
        self.funcs = []

    def r(self, n):
        return int(self.rng.integers(n))

    def pick(self, vs=None):
        vs = vs or self.vectors
        return vs[self.r(len(vs))]

    def new(self, prefix="v"):
        self.count += 1
        return f"{prefix}{self.count}"

    def expr(self, depth=0, vs=None):
        k = self.r(3) if depth < 2 else 0
        if k == 0:
            return self.rng.choice(UNARY).format(self.pick(vs))
        if k == 1:
            return self.rng.choice(BINARY).format(self.expr(depth + 1, vs), self.expr(depth + 1, vs))
        return f"np.sum({self.pick(vs)}) * {self.pick(vs)}"

    def emit(self, ind, text):
        self.lines.append("    " * ind + text)

    def block(self, ind, n, allow_return, depth=0):
        for _ in range(n):
            self.stmt(ind, allow_return, depth)

    def stmt(self, ind, allow_return, depth):
        k = self.r(15)
        k = 10 if k in (12, 13) else (7 if k == 14 else k)
        if k <= 1:
            name = self.new()
            self.emit(ind, f"{name} = {self.expr()}")
            self.vectors.append(name)
        elif k == 2 and depth < 2:
            # branch (both arms assign the same target)
            target = self.new()
            self.emit(ind, f"if np.sum({self.pick()}) > {self.rng.normal():.2f}:")
            if allow_return and self.r(3) == 0:
                self.emit(ind + 1, f"return {self.ret_expr()}")
            else:
                self.emit(ind + 1, f"{target} = {self.expr()}")
                self.emit(ind, "else:")
                self.emit(ind + 1, f"{target} = {self.expr()}")
                self.vectors.append(target)
        elif k == 3 and depth < 2:
            target = self.pick()
            if target == "x":
                target = self.new(); self.emit(ind, f"{target} = x * 1.0"); self.vectors.append(target)
            n = self.r(4)
            if self.r(2):
                self.emit(ind, f"for i in range({n}):")
            else:
                c = self.new("i"); self.emit(ind, f"{c} = 0"); self.emit(ind, f"while {c} < {n}:")
                self.emit(ind + 1, f"{c} = {c} + 1")
            self.emit(ind + 1, f"{target} = {self.rng.choice(UNARY).format(target)} * 0.5 + {self.pick()} * 0.1")
            if self.r(3) == 0:
                tmp = self.new("w")
                self.emit(ind + 1, f"{tmp} = {target} * 2.0")  # first bound in the loop
            if allow_return and self.r(4) == 0:
                self.emit(ind + 1, f"if np.sum({target}) > 2.0:")
                self.emit(ind + 2, f"return {self.ret_expr()}")
        elif k == 4:
            # container literal, then reads
            name = self.new("c")
            kind = self.r(3)
            items = [self.expr(1) for _ in range(self.r(3) + 1)]
            if self.r(2):
                items.insert(self.r(len(items) + 1), "np.cbrt(x)")
            if kind == 0:
                self.emit(ind, f"{name} = ({', '.join(items)},)")
                keys = list(range(len(items)))
            elif kind == 1:
                self.emit(ind, f"{name} = [{', '.join(items)}]")
                keys = list(range(len(items)))
            else:
                keys = [f"'k{i}'" for i in range(len(items))]
                self.emit(ind, f"{name} = {{{', '.join(f'{k}: {v}' for k, v in zip(keys, items))}}}")
            self.containers.append((name, kind, keys))
            if self.r(2):
                v = self.new(); self.emit(ind, f"{v} = {name}[{self.rng.choice(keys)}]"); self.vectors.append(v)
        elif k == 5 and self.containers:
            name, kind, keys = self.containers[self.r(len(self.containers))]
            if kind == 0:
                v = self.new(); self.emit(ind, f"{v} = {name}[{self.rng.choice(keys)}] * 1.0"); self.vectors.append(v)
            elif kind == 1:
                if self.r(2):
                    self.emit(ind, f"{name}[{self.rng.choice(keys)}] = {self.expr(1)}")
                else:
                    self.emit(ind, f"{name}.append({self.expr(1)})")
                    keys.append(len(keys))
                v = self.new(); self.emit(ind, f"{v} = {name}[-1] + {name}[0]"); self.vectors.append(v)
            else:
                key = self.rng.choice(keys) if self.r(2) else f"'k{len(keys)}'"
                if key not in keys:
                    keys.append(key)
                self.emit(ind, f"{name}[{key}] = {self.expr(1)}")
                v = self.new(); self.emit(ind, f"{v} = {name}[{key}] * {name}[{keys[0]}]"); self.vectors.append(v)
        elif k == 6:
            a = self.new("a")
            self.emit(ind, f"{a} = np.zeros(3)")
            self.emit(ind, f"{a}[{self.r(3)}] = np.sum({self.pick()})")
            if self.r(2):
                self.emit(ind, f"{a}[1:] += {self.pick()}[:2]")
            self.vectors.append(a)
        elif k == 7 and depth < 1:
            self.nested(ind)
        elif k == 8:
            # unpack
            a, b = self.new(), self.new()
            if self.r(2):
                self.emit(ind, f"{a}, {b} = np.cbrt(x), {self.expr(1)}")
                self.vectors.append(b)
            else:
                self.emit(ind, f"{a}, {b} = {self.expr(1)}, {self.expr(1)}")
                self.vectors.append(self.rng.choice([a, b]))
        elif k == 9 and self.containers:
            name, kind, keys = self.containers[self.r(len(self.containers))]
            v = self.new()
            if kind == 2:
                self.emit(ind, f"{v} = {name}[{keys[-1]}] * 2.0")
            else:
                self.emit(ind, f"{v} = np.stack({name}).sum(axis=0)" if kind == 1 else f"{v} = {name}[-1] * 2.0")
            self.vectors.append(v)
        elif k == 10 and depth < 2:
            kind = self.r(6)
            if kind == 0 and [c for c in self.containers if c[1] in (0, 1)]:
                name, _, keys = [c for c in self.containers if c[1] in (0, 1)][0]
                acc = self.new("s")
                self.emit(ind, f"{acc} = x * 0.0")
                self.emit(ind, f"for item in {name}:")
                self.emit(ind + 1, f"{acc} = {acc} + np.sin(item) * 0.5")
                self.vectors.append(acc)
            elif kind == 1 and [c for c in self.containers if c[1] in (1, 2)]:
                name, ck, keys = [c for c in self.containers if c[1] in (1, 2)][-1]
                self.emit(ind, f"{name}[{self.rng.choice(keys)}] += {self.expr(1)}")
            elif kind == 2:
                target = self.new()
                self.emit(ind, f"{target} = x * 1.0")
                self.emit(ind, f"for j in range({self.r(5)}):")
                self.emit(ind + 1, f"if np.sum({target}) > {self.rng.normal() + 1:.2f}:")
                self.emit(ind + 2, self.rng.choice(["break", "continue"]))
                self.emit(ind + 1, f"{target} = np.tanh({target}) + {self.pick()} * 0.3")
                self.vectors.append(target)
            elif kind == 3:
                target = self.new()
                self.emit(ind, f"{target} = {self.expr(1)} if np.sum({self.pick()}) > {self.rng.normal():.2f} else {self.expr(1)}")
                self.vectors.append(target)
            elif kind == 4 and [c for c in self.containers if c[1] in (1, 2)]:
                # nested function writing the closure, called in a loop
                name, ck, keys = [c for c in self.containers if c[1] in (1, 2)][-1]
                g = self.new("g")
                key = self.rng.choice(keys)
                self.emit(ind, f"def {g}(t):")
                self.emit(ind + 1, f"{name}[{key}] = {name}[{key}] * 0.5 + np.sin(t)")
                if self.r(2):
                    self.emit(ind + 1, f"if np.sum(t) > {self.rng.normal():.2f}:")
                    self.emit(ind + 2, f"return t")
                    self.emit(ind + 1, f"return t * 2.0")
                self.emit(ind, f"for j in range({self.r(3)}):")
                self.emit(ind + 1, f"{g}({self.pick()})")
                v = self.new(); self.emit(ind, f"{v} = {name}[{key}] * 1.0"); self.vectors.append(v)
            elif kind == 5 and self.r(2):
                v = self.new()
                kind2 = self.r(5)
                if kind2 == 0:
                    self.emit(ind, f"{v} = {self.pick()} * 1.0")
                    self.emit(ind, f"{v} += {self.expr(1)}")
                    self.emit(ind, f"{v} *= 0.5")
                elif kind2 == 1:
                    a, b = self.new(), self.new()
                    self.emit(ind, f"{a}, {b} = pair({self.pick()}, {self.pick()})")
                    v = self.rng.choice([a, b])
                elif kind2 == 2:
                    self.emit(ind, f"{v} = np.where({self.pick()} > 0, {self.expr(1)}, {self.expr(1)})")
                elif kind2 == 3:
                    g = self.new("g")
                    self.emit(ind, f"def {g}(t, k=2):")
                    self.emit(ind + 1, f"acc = t")
                    self.emit(ind + 1, f"for j in range(k):")
                    self.emit(ind + 2, f"if np.sum(acc) > {self.rng.normal() + 1:.2f}:")
                    self.emit(ind + 3, f"return acc")
                    self.emit(ind + 2, f"acc = np.sin(acc) + {self.pick()} * 0.2")
                    self.emit(ind + 1, f"return acc * 2.0")
                    self.emit(ind, f"{v} = {g}({self.pick()}) + {g}({self.pick()}, k={self.r(3)})")
                else:
                    j = self.new("j")
                    self.emit(ind, f"{v} = x * 1.0")
                    self.emit(ind, f"{j} = 0")
                    self.emit(ind, f"while True:")
                    self.emit(ind + 1, f"{v} = np.tanh({v}) + {self.pick()} * 0.1")
                    self.emit(ind + 1, f"{j} = {j} + 1")
                    self.emit(ind + 1, f"if {j} >= {self.r(3) + 1} or np.sum({v}) > 3.0:")
                    self.emit(ind + 2, "break")
                self.vectors.append(v)
            else:
                # a helper at module level called with a value it does not change
                v = self.new(); self.emit(ind, f"{v} = helper({self.pick()}, {self.pick()})"); self.vectors.append(v)
        else:
            name = self.new(); self.emit(ind, f"{name} = {self.expr()}")
            self.vectors.append(name)

    def nested(self, ind):
        g = self.new("g")
        vs = list(self.vectors)
        self.emit(ind, f"def {g}(t):")
        body_kind = self.r(5)
        closure = [c for c in self.containers if c[1] in (1, 2)]
        if body_kind == 0 and closure:
            name, kind, keys = closure[self.r(len(closure))]
            if kind == 1:
                self.emit(ind + 1, f"{name}[{self.rng.choice(keys)}] = np.sin(t) + {self.pick(vs)}")
            else:
                key = f"'k{len(keys)}'"; keys.append(key)
                self.emit(ind + 1, f"{name}[{key}] = np.cos(t) * {self.pick(vs)}")
        elif body_kind == 1 and [c for c in closure if c[1] == 1]:
            name, kind, keys = [c for c in closure if c[1] == 1][0]
            self.emit(ind + 1, f"{name}.append(t * {self.pick(vs)})")
            keys.append(len(keys))
        elif body_kind == 2:
            self.emit(ind + 1, f"if np.sum(t) > 0.0:")
            self.emit(ind + 2, f"return np.tanh(t) * {self.pick(vs)}")
            self.emit(ind + 1, f"return t * 2.0")
        elif body_kind == 3:
            a = self.new("a")
            self.emit(ind + 1, f"s = t")
            self.emit(ind + 1, f"for j in range({self.r(3)}):")
            self.emit(ind + 2, f"s = np.sin(s) + {self.pick(vs)} * 0.1")
            self.emit(ind + 1, "return s")
        else:
            self.emit(ind + 1, f"return t * {self.pick(vs)}")
        returns = body_kind >= 2 or self.lines[-1].strip().startswith("return")
        if returns and self.r(3):
            v = self.new(); self.emit(ind, f"{v} = {g}({self.pick()})"); self.vectors.append(v)
        else:
            self.emit(ind, f"{g}({self.pick()})")

    def ret_expr(self):
        parts = [self.pick() for _ in range(2)]
        return " + ".join(parts)

    def program(self, name, n):
        self.lines = [f"def {name}(x):"]
        self.block(1, n, allow_return=True)
        # reads of containers at the end
        extra = []
        for cname, kind, keys in self.containers:
            if self.r(2):
                extra.append(f"{cname}[{self.rng.choice(keys)}]")
        result = " + ".join([self.pick(), self.pick()] + extra)
        if self.r(4) == 0 and self.containers:
            cname, kind, keys = self.containers[-1]
            self.emit(1, f"return {cname}")
        else:
            self.emit(1, f"return {result}")
        return "\n".join(self.lines) + "\n"



PRELUDE = """import numpy as np


def helper(a, b):
    out = [a, b]
    if np.sum(a) > 0:
        return out[0] * np.cos(b)
    return out[1] * 2.0


def pair(a, b):
    if np.sum(b) > 0:
        return a * b, np.cos(a)
    return b, a


"""


def build(seed, directory):
    rng = np.random.default_rng(seed)
    source = Gen(rng).program("f", int(rng.integers(4, 13)))
    path = directory / f"random_closures_{seed}.py"
    path.write_text(PRELUDE + source)
    spec = importlib.util.spec_from_file_location(f"random_closures_{seed}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x = rng.normal(size=3)
    x[np.abs(x) < 0.05] = 0.3  # away from the kinks of np.where(x > 0, ...) and np.cbrt
    return module.f, x, source


SEEDS = range(60)


def test_random_programs_with_closures_loops_and_containers(tmp_path):
    sys.dont_write_bytecode, old = True, sys.dont_write_bytecode
    checked = 0
    try:
        for seed in SEEDS:
            func, x, source = build(seed, tmp_path)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                expected = numerical_jacobian(func, (x.copy(),), 0)
                coarse = numerical_jacobian(func, (x.copy(),), 0, eps=1e-5)
                try:
                    assert_trees_close(expected, coarse, rtol=1e-3, atol=1e-4)
                except AssertionError:
                    continue  # a branch or a kink between the steps: no reference
                for transform in (adjoint.jacrev, adjoint.jacfwd):
                    try:
                        jacobian = transform(func)(x.copy())
                    except adjoint.UnsupportedSyntaxError as error:
                        assert f"random_closures_{seed}.py:" in str(error), (seed, source, error)
                        continue
                    try:
                        assert_trees_close(jacobian, expected, rtol=1e-4, atol=1e-5)
                    except AssertionError as error:
                        raise AssertionError(f"seed {seed}, {transform.__name__}:\n{source}") from error
                    checked += 1
    finally:
        sys.dont_write_bytecode = old
    assert checked >= 80  # most programs are differentiated, not refused or skipped
