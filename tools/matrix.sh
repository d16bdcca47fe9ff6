#!/usr/bin/env bash
# The version matrix of `make test`: one virtual environment per entry,
# named py<python version>-numpy<major or major.minor>, under .venv-matrix/.
#
#   tools/matrix.sh setup py3.10-numpy1.26   create or update the environment
#   tools/matrix.sh test  py3.10-numpy1.26   run the suite in it
#   tools/matrix.sh run   py3.10-numpy1.26   both: set up (one set-up at a
#                                            time, under a lock), then test
#
# The interpreter comes from pyenv (`pyenv root`, else ~/.pyenv) or PATH
# (python3.10); when the machine has none, both commands print one line
# saying the entry is skipped and succeed.
set -euo pipefail
cd "$(dirname "$0")/.."

command=$1
name=$2
dir=.venv-matrix/$name
version=${name#py}
version=${version%%-*}            # 3.10
numpy=${name#*-numpy}             # 1.26, 2
case $numpy in
    *.*) numpy_spec="numpy==$numpy.*" ;;                # a minor series: 1.26.*
    *) numpy_spec="numpy>=$numpy,<$((numpy + 1))" ;;   # a major: >=2,<3
esac

find_python() {
    local root found
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    found=$(ls -d "$root"/versions/"$version".*/bin/python"$version" 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$found" ]; then
        found=$(command -v python"$version" || true)
    fi
    echo "$found"
}

setup() {
    python=$(find_python)
    if [ -z "$python" ]; then
        echo "matrix: SKIPPED $name: no Python $version on this machine (not in pyenv, not on PATH)"
        rm -rf "$dir"
        exit 0
    fi
    # A new environment when there is none, or it was made by another interpreter.
    if ! grep -qx "home = $(dirname "$python")" "$dir/pyvenv.cfg" 2>/dev/null; then
        rm -rf "$dir"
        "$python" -m venv "$dir"
    fi
    echo "matrix: $name: installing adjoint[test] and $numpy_spec with $python"
    PIP_ROOT_USER_ACTION=ignore "$dir/bin/python" -m pip install --quiet --disable-pip-version-check \
        -e '.[test]' "$numpy_spec"
}

test_suite() {
    if [ ! -x "$dir/bin/python" ]; then
        echo "matrix: SKIPPED $name: no Python $version on this machine (not in pyenv, not on PATH)"
        exit 0
    fi
    echo "matrix: $name: $("$dir/bin/python" -c 'import sys, numpy; print(f"Python {sys.version.split()[0]}, NumPy {numpy.__version__}")')"
    "$dir/bin/python" -m pytest -rs -n "${WORKERS:-2}"
}

case $command in
setup) setup ;;
test) test_suite ;;
run)
    # pip writes the editable install's metadata into the source tree: two
    # set-ups at once would write it together. The suites don't mind it.
    mkdir -p .venv-matrix
    if command -v flock > /dev/null; then
        (flock 9; setup) 9> .venv-matrix/.setup-lock
    else
        setup
    fi
    test_suite
    ;;
*)
    echo "usage: $0 setup|test|run NAME" >&2
    exit 2
    ;;
esac
