"""The command line (SPEC.md section 6): show, -o export, errors."""
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

MODEL = textwrap.dedent('''
    import numpy as np

    SCALE = 0.5
    OFFSETS = np.array([1.0, -2.0])


    def mlp(x, W1, b1, W2, b2):
        hidden = np.tanh(W1 @ x + b1)
        return SCALE * (W2 @ hidden + b2) + OFFSETS


    def looped(x, W):
        total = 0.0
        for i in range(3):
            total = total + np.sum(np.tanh(W @ x) ** 2) * i
        return total


    def rate(s, k=1.0):
        return np.sin(s) * SCALE * k


    def damped(x, *, gain=2.0):
        return gain * np.tanh(x)


    def shrink(x):
        if np.sum(x ** 2) < 0.05:
            return x
        return shrink(x * 0.5) + np.sin(x)


    def simulate(x):
        for _ in range(5):
            x = x + 0.1 * rate(x, k=0.5)
        return shrink(x)


    def branchy(x):
        del x
        return np.sin(
            1.0
        )


    class Scaler:
        def __init__(self, k):
            self.k = k

        def apply(self, x):
            return x * self.k


    DOUBLE = Scaler(2.0).apply


    def uses_bound_method(x):
        return DOUBLE(x)


    def weighted(x, w, power=2):
        return (x * w) ** power


    def with_aux(x):
        return np.sin(x), {"steps": 3}


    def returns_a_dict(x):
        return {"a": np.sin(x), "b": np.sum(x)}


    def uses_weighted_twice(x):
        # weighted is differentiated with respect to x here, and to w there.
        return weighted(x, 0.5) + weighted(np.array([1.0, 2.0]), x, power=3)
''')


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "adjoint", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    return path


def test_show_prints_valid_code(model):
    result = run_cli("show", f"{model}:mlp", "--argnums", "0,1")
    assert result.returncode == 0, result.stderr
    assert "def mlp_forward(x, W1, b1, W2, b2):" in result.stdout
    assert "def mlp_backward(residuals, out_bar):" in result.stdout
    assert "return x_bar, W1_bar" in result.stdout
    compile(result.stdout, "<shown>", "exec")


def test_export_runs_with_numpy_alone(model, tmp_path):
    out = tmp_path / "mlp_grad.py"
    result = run_cli("show", f"{model}:mlp", "--argnums", "0,1", "-o", str(out))
    assert result.returncode == 0, result.stderr
    rng = np.random.default_rng(1)
    values = {
        "x": rng.standard_normal(3), "W1": rng.standard_normal((4, 3)),
        "b1": rng.standard_normal(4), "W2": rng.standard_normal((2, 4)),
        "b2": rng.standard_normal(2),
    }
    np.savez(tmp_path / "values.npz", **values)
    # adjoint is installed in this environment, so the script blocks it: any
    # import of adjoint (by the exported module or NumPy) then fails.
    script = textwrap.dedent(f'''
        import sys
        sys.modules["adjoint"] = None
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np
        import mlp_grad
        v = np.load({str(tmp_path / "values.npz")!r})
        jx, jw = mlp_grad.mlp_jacobian(v["x"], v["W1"], v["b1"], v["W2"], v["b2"])
        assert not any(name.startswith("adjoint") for name in sys.modules if sys.modules[name])
        np.save({str(tmp_path / "jx.npy")!r}, jx)
        np.save({str(tmp_path / "jw.npy")!r}, jw)
    ''')
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    jx, jw = np.load(tmp_path / "jx.npy"), np.load(tmp_path / "jw.npy")
    x, W1, b1, W2 = values["x"], values["W1"], values["b1"], values["W2"]
    slope = 1 - np.tanh(W1 @ x + b1) ** 2  # the Jacobian by hand
    np.testing.assert_allclose(jx, 0.5 * W2 @ (slope[:, None] * W1))
    np.testing.assert_allclose(jw, 0.5 * np.einsum("ij,j,k->ijk", W2, slope, x))


@pytest.mark.parametrize("args, message", [
    (["show", "missing_file.py:f"], "no such file: missing_file.py"),
    (["show", "{model}:nothere"], "has no function named 'nothere'"),
    (["show", "{model}:branchy"], "model.py:41: del statement"),
    (["show", "{model}"], "expected FILE.py:FUNC"),
    (["show", "{model}:mlp", "--argnums", "a"], "--argnums expects integers"),
    (["show", "{model}:mlp", "--argnums", "7"], "Got argnum=7"),
    (["show", "{model}:uses_bound_method", "-o", "{model}.out.py"], "a Scaler fixed when the function"),
])
def test_errors_are_one_line_and_nonzero(model, args, message):
    result = run_cli(*[a.format(model=model) for a in args])
    assert result.returncode != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


# Every option `adjoint show --help` lists, with a command line using it and
# what that prints (on stdout, or into the file -o names).
WORKING_OPTIONS = {
    "-h": (["-h"], "usage: adjoint show"),
    "--help": (["--help"], "usage: adjoint show"),
    "--argnums": (["{model}:mlp", "--argnums", "0,1"], "return x_bar, W1_bar"),
    "--mode": (["{model}:mlp", "--mode", "jvp"], "def mlp_jvp(tangents, /, x, W1, b1, W2, b2):"),
    "--has-aux": (["{model}:with_aux", "--has-aux"], "def with_aux_backward(residuals, t1_bar):"),
    "-o": (["{model}:mlp", "-o", "{tmp}/o.py"], "def mlp_jacobian(x, W1, b1, W2, b2):"),
    "--output": (["{model}:mlp", "--output", "{tmp}/output.py"], "def mlp_jacobian(x, W1, b1, W2, b2):"),
}


def test_help_lists_only_options_that_work(model, tmp_path):
    result = run_cli("show", "--help")
    assert result.returncode == 0, result.stderr
    options = result.stdout.split("\noptions:\n")[1].split("\n\n")[0]
    listed = set(re.findall(r"(?:^  |, )(--?[a-z][a-z-]*)", options, re.M))
    assert listed == set(WORKING_OPTIONS)
    for option in sorted(listed):
        args, printed = WORKING_OPTIONS[option]
        done = run_cli("show", *[a.format(model=model, tmp=tmp_path) for a in args])
        assert done.returncode == 0, (option, done.stderr)
        written = args[-1].format(tmp=tmp_path) if args[-2:-1] in (["-o"], ["--output"]) else None
        assert printed in (open(written).read() if written else done.stdout), option
    # Each --mode it names works, and what -o refuses is said there.
    said = " ".join(options.split())  # as wrapped for any terminal width
    assert "--mode {vjp,jvp}" in said and "-o needs vjp" in said and "reverse mode only" in said
    for mode, header in (("vjp", "def mlp_backward(residuals, out_bar):"), ("jvp", "def mlp_jvp(")):
        done = run_cli("show", f"{model}:mlp", "--mode", mode)
        assert done.returncode == 0 and header in done.stdout, done.stderr


def test_output_in_forward_mode_is_refused_before_the_module_runs(tmp_path):
    module = tmp_path / "noisy.py"
    module.write_text("import numpy as np\nprint('the module ran')\n\n\ndef f(x):\n    return np.sin(x)\n")
    done = run_cli("show", f"{module}:f", "--mode", "jvp", "-o", str(tmp_path / "out.py"))
    assert done.returncode == 1 and "-o writes reverse-mode modules" in done.stderr
    assert "the module ran" not in done.stdout and not (tmp_path / "out.py").exists()


def test_console_script_is_declared():
    setup_cfg = open(os.path.join(os.path.dirname(__file__), "..", "setup.cfg")).read()
    assert "adjoint = adjoint.__main__:main" in setup_cfg


def test_export_of_a_loop_runs_with_numpy_alone(model, tmp_path):
    out = tmp_path / "looped_grad.py"
    result = run_cli("show", f"{model}:looped", "-o", str(out))
    assert result.returncode == 0, result.stderr
    x, W = np.array([0.1, -0.3, 0.2]), np.arange(6.0).reshape(2, 3) / 6.0
    np.savez(tmp_path / "values.npz", x=x, W=W)
    script = textwrap.dedent(f'''
        import sys
        sys.modules["adjoint"] = None
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np
        import looped_grad
        v = np.load({str(tmp_path / "values.npz")!r})
        np.save({str(tmp_path / "g.npy")!r}, looped_grad.looped_jacobian(v["x"], v["W"])[0])
    ''')
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    hidden = np.tanh(W @ x)  # d/dx of 3 * sum(tanh(W x)^2), by hand
    np.testing.assert_allclose(np.load(tmp_path / "g.npy"), 3 * W.T @ (2 * hidden * (1 - hidden ** 2)))


def test_export_carries_the_functions_it_calls(model, tmp_path):
    out = tmp_path / "simulate_grad.py"
    result = run_cli("show", f"{model}:simulate", "-o", str(out))
    assert result.returncode == 0, result.stderr
    script = textwrap.dedent(f'''
        import sys
        sys.modules["adjoint"] = None
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np
        import simulate_grad
        np.save({str(tmp_path / "j.npy")!r}, simulate_grad.simulate_jacobian(np.array([0.3, -0.2, 0.5]))[0])
    ''')
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    namespace = {}
    exec(compile(MODEL, str(model), "exec"), namespace)
    simulate, x, eps = namespace["simulate"], np.array([0.3, -0.2, 0.5]), 1e-6
    expected = np.stack([(simulate(x + eps * e) - simulate(x - eps * e)) / (2 * eps) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(np.load(tmp_path / "j.npy"), expected, rtol=1e-6, atol=1e-8)


def test_exported_jacobian_keeps_defaults_and_keyword_only_parameters(model, tmp_path):
    for func in ("rate", "damped"):
        result = run_cli("show", f"{model}:{func}", "-o", str(tmp_path / f"{func}_grad.py"))
        assert result.returncode == 0, result.stderr
    script = textwrap.dedent(f'''
        import sys
        sys.modules["adjoint"] = None
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np
        import damped_grad, rate_grad
        s = np.array([0.3, -0.2])
        np.save({str(tmp_path / "j.npy")!r}, np.stack([
            rate_grad.rate_jacobian(s)[0], rate_grad.rate_jacobian(s, 3.0)[0],
            damped_grad.damped_jacobian(s)[0], damped_grad.damped_jacobian(s, gain=-1.0)[0]]))
    ''')
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    s = np.array([0.3, -0.2])
    expected = [np.diag(np.cos(s) * 0.5), np.diag(np.cos(s) * 0.5 * 3.0),
                np.diag(2.0 * (1 - np.tanh(s) ** 2)), np.diag(-1.0 * (1 - np.tanh(s) ** 2))]
    np.testing.assert_allclose(np.load(tmp_path / "j.npy"), np.stack(expected), rtol=1e-12)


def test_export_of_a_function_differentiated_for_different_arguments(model, tmp_path):
    result = run_cli("show", f"{model}:uses_weighted_twice", "-o", str(tmp_path / "twice_grad.py"))
    assert result.returncode == 0, result.stderr
    script = textwrap.dedent(f'''
        import sys
        sys.modules["adjoint"] = None
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np
        import twice_grad
        np.save({str(tmp_path / "j.npy")!r}, twice_grad.uses_weighted_twice_jacobian(np.array([0.5, 1.0]))[0])
    ''')
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    namespace = {}
    exec(compile(MODEL, str(model), "exec"), namespace)
    func, x, eps = namespace["uses_weighted_twice"], np.array([0.5, 1.0]), 1e-6
    expected = np.stack([(func(x + eps * e) - func(x - eps * e)) / (2 * eps) for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(np.load(tmp_path / "j.npy"), expected, rtol=1e-6, atol=1e-8)


NAMES = textwrap.dedent('''
    import numpy as np
    import settings

    g_forward = 2.0


    def g(x):
        return np.sin(x)


    def clobbers(x):
        return g(x) * g_forward


    def parameters_named_like_locals(residuals, basis):
        return np.cos(residuals * basis) * residuals


    def norm(v):
        return np.sqrt(np.sum(v * v))


    def two_norms(x):
        return np.linalg.norm(x) + norm(x) * x


    def reads_a_user_module(x):
        return settings.K * np.sin(x)
''')


def test_export_keeps_names_apart_or_says_why(tmp_path):
    (tmp_path / "settings.py").write_text("K = 2.0\n")
    (tmp_path / "names.py").write_text(NAMES)
    source = tmp_path / "names.py"
    for func, argnums in (("parameters_named_like_locals", "0,1"), ("two_norms", "0")):
        result = run_cli("show", f"{source}:{func}", "--argnums", argnums, "-o", str(tmp_path / f"{func}_out.py"))
        assert result.returncode == 0, result.stderr
    script = textwrap.dedent(f'''
        import sys
        sys.modules["adjoint"] = None
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np
        import parameters_named_like_locals_out as a, two_norms_out as b
        x, y = np.array([0.5, 1.0, 2.0]), np.array([0.3, 0.2, 0.1])
        ja, jb = a.parameters_named_like_locals_jacobian(x, y), b.two_norms_jacobian(x)
        np.save({str(tmp_path / "j.npy")!r}, np.stack([ja[0], ja[1], jb[0]]))
    ''')
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    x, y = np.array([0.5, 1.0, 2.0]), np.array([0.3, 0.2, 0.1])
    d_residuals = np.diag(-np.sin(x * y) * y * x + np.cos(x * y))
    d_basis = np.diag(-np.sin(x * y) * x * x)
    size = np.linalg.norm(x)
    d_norms = np.outer(np.ones(3) + x, x) / size + size * np.eye(3)
    np.testing.assert_allclose(np.load(tmp_path / "j.npy"), np.stack([d_residuals, d_basis, d_norms]),
                               rtol=1e-12)
    for func, message in (("clobbers", "has the name of a generated function"),
                          ("reads_a_user_module", "reads the module 'settings'")):
        result = run_cli("show", f"{source}:{func}", "-o", str(tmp_path / "refused.py"), cwd=tmp_path)
        assert result.returncode != 0 and message in result.stderr, result.stderr


def test_exported_jacobian_with_aux_and_its_limits(model, tmp_path):
    for func, extra in (("with_aux", ["--has-aux"]), ("returns_a_dict", [])):
        result = run_cli("show", f"{model}:{func}", *extra, "-o", str(tmp_path / f"{func}_grad.py"))
        assert result.returncode == 0, result.stderr
    script = textwrap.dedent(f'''
        import sys
        sys.modules["adjoint"] = None
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np
        import with_aux_grad, returns_a_dict_grad
        (block,), aux = with_aux_grad.with_aux_jacobian(np.array([0.3, 0.7]))
        assert aux == {{"steps": 3}}, aux
        np.save({str(tmp_path / "j.npy")!r}, block)
        try:
            returns_a_dict_grad.returns_a_dict_jacobian(np.array([0.3, 0.7]))
        except TypeError as error:
            assert "returns_a_dict_forward" in str(error)
        else:
            raise AssertionError("a dict output was not refused")
    ''')
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.load(tmp_path / "j.npy"), np.diag(np.cos([0.3, 0.7])), rtol=1e-12)


def test_unwritable_output_and_a_module_that_exits_are_one_line_errors(tmp_path):
    module = tmp_path / "exits.py"
    module.write_text("import sys\nsys.exit(3)\n")
    done = run_cli("show", f"{module}:f")
    assert done.returncode == 1 and "Traceback" not in done.stderr and "SystemExit" in done.stderr
    good = tmp_path / "good.py"
    good.write_text("import numpy as np\n\n\ndef f(x):\n    return np.sin(x)\n")
    done = run_cli("show", f"{good}:f", "-o", str(tmp_path / "missing_dir" / "out.py"))
    assert done.returncode == 1 and "Traceback" not in done.stderr and "cannot write" in done.stderr


def test_export_of_a_bound_method_is_with_respect_to_the_callers_arguments(tmp_path):
    module = tmp_path / "bound.py"
    module.write_text(
        "import numpy as np\n\n\nclass Model:\n    def __init__(self, w):\n        self.w = w\n\n"
        "    def predict(self, x):\n        return np.sin(x) * self.w\n\n\npredict = Model(2.0).predict\n")
    out = tmp_path / "out.py"
    done = run_cli("show", f"{module}:predict", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "with respect to x" in out.read_text()


def test_exported_globals_with_infinities_and_nan_are_valid_python():
    # repr writes inf and nan, names an exported module does not have.
    from adjoint.backend.compile import _global_definition

    values = {"a": float("inf"), "b": -float("inf"), "c": float("nan"), "d": np.float64(-np.inf),
              "e": np.array([1.0, np.inf, -np.inf]), "f": (1.5, float("inf")), "g": complex(0, -np.inf),
              "h": np.array([[np.nan]])}
    for name, value in values.items():
        scope = {"np": np}
        exec(_global_definition(name, value, "np"), scope)
        np.testing.assert_array_equal(scope[name], value)
        assert type(scope[name]) is type(value)
