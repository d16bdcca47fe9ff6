"""Randomly built programs (fixed seeds) checked against finite differences.

Each program is written to a module file and imported, as a user's would be:
a few inputs, then statements drawn from a small grammar (elementwise
functions, broadcasting arithmetic, reductions, indexing, branches on data,
loops with loop-carried values, in-place updates, appends), returning a
mixture of the values computed. The derivative of every program is compared
with central differences, with chunk sizes None and 2."""
import importlib.util
import textwrap

import numpy as np
import pytest

import adjoint
from conftest import numerical_jacobian

UNARY = ["np.sin({})", "np.cos({})", "np.tanh({})", "np.exp(0.3 * {})", "({}) ** 2",
         "np.sqrt(1.5 + ({}) ** 2)", "np.log1p(({}) ** 2)", "-({})", "np.abs({}) + 0.1"]
BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / (1.5 + ({}) ** 2)", "np.maximum({}, {})"]
REDUCE = ["np.sum({})", "np.mean({})", "np.max({})", "{}.sum()"]


class Builder:
    def __init__(self, rng):
        self.rng = rng
        self.vectors = ["x", "y"]
        self.lines = []
        self.count = 0

    def pick(self):
        return self.vectors[self.rng.integers(len(self.vectors))]

    def new(self):
        self.count += 1
        name = f"v{self.count}"
        self.vectors.append(name)
        return name

    def expression(self, depth=0):
        kind = self.rng.integers(3) if depth < 2 else 0
        if kind == 0:
            return self.rng.choice(UNARY).format(self.pick())
        if kind == 1:
            return self.rng.choice(BINARY).format(self.expression(depth + 1), self.expression(depth + 1))
        return f"{self.rng.choice(REDUCE).format(self.pick())} * {self.pick()}"

    def statement(self, indent=""):
        kind = self.rng.integers(7)
        if kind <= 2:
            value = self.expression()
            self.lines.append(f"{indent}{self.new()} = {value}")
        elif kind == 3:
            target = self.pick()
            self.lines.append(f"{indent}if np.sum({self.pick()}) > 0.0:")
            self.lines.append(f"{indent}    {target} = {self.expression()}")
            self.lines.append(f"{indent}else:")
            self.lines.append(f"{indent}    {target} = {self.expression()}")
        elif kind == 4:
            target = self.pick()
            self.lines.append(f"{indent}for i in range({int(self.rng.integers(1, 4))}):")
            self.lines.append(f"{indent}    {target} = {self.rng.choice(UNARY).format(target)} * 0.5 + {self.pick()} * 0.1")
        elif kind == 5:
            first, second = self.pick(), self.pick()
            name = self.new()
            self.lines.append(f"{indent}{name} = np.zeros(3)")
            self.lines.append(f"{indent}{name}[{int(self.rng.integers(3))}] = np.sum({first})")
            self.lines.append(f"{indent}{name}[1:] += {second}[:2]")
        else:
            first, second = self.pick(), self.pick()
            name = self.new()
            self.lines.append(f"{indent}parts = []")
            self.lines.append(f"{indent}for item in [{first}, {second}]:")
            self.lines.append(f"{indent}    parts.append(np.sin(item))")
            self.lines.append(f"{indent}{name} = np.stack(parts).sum(axis=0)")

    def program(self, statements):
        for _ in range(statements):
            self.statement()
        result = " + ".join(self.rng.choice(self.vectors, size=3))
        body = "\n".join("    " + line for line in self.lines)
        return f"import numpy as np\n\n\ndef program(x, y):\n{body}\n    return {result}\n"


def load(path, source, name):
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.program


@pytest.mark.parametrize("seed", range(40))
def test_random_program_matches_finite_differences(seed, tmp_path):
    source = Builder(np.random.default_rng(seed)).program(statements=6)
    program = load(tmp_path / f"random_program_{seed}.py", source, f"random_program_{seed}")
    rng = np.random.default_rng(1000 + seed)
    args = (rng.uniform(-1.0, 1.0, 3), rng.uniform(-1.0, 1.0, 3))
    for argnum in (0, 1):
        expected = numerical_jacobian(program, args, argnum)
        for chunk_size in (None, 2):
            jacobian = adjoint.jacrev(program, argnums=argnum, chunk_size=chunk_size)(*args)
            np.testing.assert_allclose(jacobian, expected, rtol=1e-5, atol=1e-6,
                                       err_msg=textwrap.indent(source, "    "))
