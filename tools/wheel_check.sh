#!/usr/bin/env bash
# What a user gets from the distributions, checked the way a user meets them
# (one job of `make test`):
#
#   wheel: built (from the sdist, as `python -m build` does), installed with
#          its dependencies into a fresh virtual environment, then, from a
#          folder outside the repository: `adjoint --version`, `python -m
#          adjoint --version`, `adjoint show` and `-o` on a small file, and a
#          Jacobian checked against its analytic value.
#   sdist: holds every tracked file of tests/, docs/ and tools/ and the
#          license; installed with its test extras into another fresh
#          environment, its own tests run there against the installed
#          package (the unpacked copy of the package is deleted first).
#
#   tools/wheel_check.sh                 (or make wheel-check)
#   PYTHON=python3.12 tools/wheel_check.sh   the interpreter of the environments (default python3)
#
# Everything happens in a temporary folder, removed at the end; the
# repository is only read (the build runs on a copy of it, since building
# writes build/ and *.egg-info/ into the tree it builds while the suites run
# from this one).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')
work=$(mktemp -d "${TMPDIR:-/tmp}/adjoint-wheel-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The bundled tests to run from the sdist: quick ones that cover the API and
# the files the sdist must carry.
sdist_tests="tests/test_spec.py tests/test_packaging.py tests/test_golden.py"

say() { echo "wheel-check: [${SECONDS}s] $*"; }
fail() { echo "wheel-check: FAILED: $*" >&2; exit 1; }
pip_in() {  # pip_in ENV COMMAND ARGS...: PYTHON's pip working on a virtual environment, its output shown on failure
    local env=$1
    shift
    PIP_ROOT_USER_ACTION=ignore "$python" -m pip --python "$env/bin/python" "$@" \
        --disable-pip-version-check >"$work/pip.log" 2>&1 || { cat "$work/pip.log" >&2; fail "pip $*"; }
}
# The environments get no pip of their own (installing it takes longer than
# the rest): PYTHON's pip works on them (pip --python, pip >= 22.3).
new_env() {
    "$python" -m venv --without-pip "$1"
}
"$python" -m pip --python "$python" --version >/dev/null 2>&1 || fail "$python's pip has no --python option (pip >= 22.3 needed)"
# Packages are downloaded from the package index once, into a wheelhouse,
# and every environment installs from there alone.
offline=(--no-index --find-links "$work/wheelhouse")

version=$("$python" -c 'import configparser, sys; c = configparser.ConfigParser(interpolation=None); c.read(sys.argv[1]); print(c["metadata"]["version"])' setup.cfg)
build_requires=$("$python" -c 'import re, sys; print(*re.findall(r"\"([^\"]+)\"", re.search(r"^requires = \[(.*)\]", open(sys.argv[1]).read(), re.M).group(1)))' pyproject.toml)

# The files of the working tree, tracked or new (not the ignored ones).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' file; do [ -f "$file" ] && printf '%s\0' "$file"; done >"$work/files"
else
    find . \( -name .git -o -name .venv-matrix -o -name build -o -name dist -o -name '*.egg-info' \
        -o -name __pycache__ -o -name .pytest_cache \) -prune -o -type f -print0 >"$work/files"
fi
mkdir "$work/src" "$work/dist" "$work/outside" "$work/wheelhouse"
tar -c --null -T "$work/files" | tar -x -C "$work/src"

say "building the sdist and the wheel of adjoint $version with $("$python" --version)"
# The sdist, then the wheel from it, with the build system pyproject.toml
# asks for (build checks it is there). The sdist's install below builds in
# the isolation pip gives it, from pyproject.toml alone.
new_env "$work/build-env"
# $build_requires unquoted: one word per requirement.
pip_in "$work/build-env" download --dest "$work/wheelhouse" build $build_requires
pip_in "$work/build-env" install "${offline[@]}" build $build_requires
"$work/build-env/bin/python" -m build --no-isolation --outdir "$work/dist" "$work/src" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; fail "python -m build"; }
! grep -i -A8 "deprecat" "$work/build.log" >&2 || fail "the build warns that the configuration uses something deprecated"
sdist=$(ls "$work"/dist/adjoint-"$version".tar.gz)
wheel=$(ls "$work"/dist/adjoint-"$version"-py3-none-any.whl)
pip_in "$work/build-env" download --dest "$work/wheelhouse" "$wheel[test]"
say "built; dependencies downloaded"

# ------------------------------------------------------------------ the wheel
new_env "$work/wheel-env"
pip_in "$work/wheel-env" install "${offline[@]}" "$wheel"
bin=$work/wheel-env/bin
cd "$work/outside"
[ "$("$bin/adjoint" --version)" = "adjoint $version" ] || fail "adjoint --version printed $("$bin/adjoint" --version)"
[ "$("$bin/python" -m adjoint --version)" = "adjoint $version" ] || fail "python -m adjoint --version"
cat >model.py <<'EOF'
import numpy as np


def f(x, W):
    return np.tanh(W @ x) * x[0]
EOF
"$bin/adjoint" show model.py:f --argnums 0,1 >shown.py || fail "adjoint show model.py:f"
grep -q "^def f_backward(residuals, out_bar):" shown.py || fail "adjoint show printed no backward function"
"$bin/adjoint" show model.py:f -o f_grad.py 2>/dev/null || fail "adjoint show model.py:f -o f_grad.py"
cat >jacobian.py <<'EOF'
import importlib.metadata
import sys

import numpy as np

import adjoint
import f_grad
from model import f

# The installed package, not a source tree.
assert adjoint.__file__.startswith(sys.prefix), adjoint.__file__
files = {str(path) for path in importlib.metadata.files("adjoint")}
assert "adjoint/py.typed" in files, "py.typed is not in the wheel"
assert any(name.endswith("LICENSE") for name in files), "the license is not in the wheel"
assert importlib.metadata.metadata("adjoint")["License-Expression"] == "Apache-2.0"

x, W = np.array([0.3, -0.5, 0.8]), np.arange(6.0).reshape(2, 3) / 6.0
hidden = np.tanh(W @ x)
# d/dx of tanh(W x) * x[0], by hand: (1 - tanh^2) W x[0], plus tanh(W x) in column 0.
expected = (1 - hidden ** 2)[:, None] * W * x[0]
expected[:, 0] += hidden
np.testing.assert_allclose(adjoint.jacrev(f)(x, W), expected, rtol=1e-12)
np.testing.assert_allclose(adjoint.jacfwd(f)(x, W), expected, rtol=1e-12)
np.testing.assert_allclose(f_grad.f_jacobian(x, W)[0], expected, rtol=1e-12)
print("jacobian ok")
EOF
"$bin/python" jacobian.py >/dev/null || fail "the Jacobian from the installed wheel"
say "wheel ok: adjoint --version, python -m adjoint --version, adjoint show (and -o), jacrev and jacfwd of a small function against its analytic Jacobian"

# ------------------------------------------------------------------ the sdist
cd "$root"
tar -tzf "$sdist" | sed "s|^adjoint-$version/||" | sort >"$work/sdist-files"
tr '\0' '\n' <"$work/files" | sed 's|^\./||' | grep -E '^(tests|docs|tools)/|^(LICENSE|CHANGELOG\.md|README\.md)$' |
    sort >"$work/needed-files"
missing=$(comm -23 "$work/needed-files" "$work/sdist-files")
[ -z "$missing" ] || fail "the sdist lacks: $(echo $missing)"

new_env "$work/sdist-env"
pip_in "$work/sdist-env" install "${offline[@]}" "$sdist[test]"
mkdir "$work/unpacked"
tar -xzf "$sdist" -C "$work/unpacked"
unpacked=$work/unpacked/adjoint-$version
rm -r "$unpacked/adjoint" || fail "the sdist has no adjoint/"  # the tests import the installed package
cd "$unpacked"
"$work/sdist-env/bin/python" -m pytest -q -o addopts= -p no:cacheprovider $sdist_tests >"$work/pytest.log" 2>&1 ||
    { cat "$work/pytest.log" >&2; fail "the sdist's tests ($sdist_tests)"; }
say "sdist ok: ships tests/, docs/, tools/ and LICENSE; installed, its $(tail -n 1 "$work/pytest.log" | sed 's/ in [0-9.]*s.*//; s/=//g; s/^ *//') ($sdist_tests)"
