"""What the distribution says about itself: the license, the version (one
place, setup.cfg), the type hints it ships, the build configuration and what
the source distribution carries. Building and installing the wheel and the
sdist is tools/wheel_check.sh's job (run by `make test`), not pytest's.

These tests also run from an unpacked sdist against the installed package
(tools/wheel_check.sh), so they read files relative to the tests' folder and
the package through its import, never through a source path.
"""
import configparser
import importlib.resources
import inspect
import pathlib
import re
import subprocess
import sys

import pytest

import adjoint
from adjoint import __main__ as cli

ROOT = pathlib.Path(__file__).resolve().parents[1]

# The public names whose signatures carry type hints (adjoint/__init__.py).
PUBLIC_FUNCTIONS = ["jacrev", "jacfwd", "jvp", "vjp", "grad", "hessian", "vmap", "source",
                    "defvjp", "defjvp", "stop_gradient"]


def setup_cfg():
    config = configparser.ConfigParser(interpolation=None)
    assert config.read(ROOT / "setup.cfg"), "no setup.cfg next to the tests"
    return config


def listed(config, section, key):
    """A setup.cfg value written one entry per line."""
    return [line.strip() for line in config.get(section, key).splitlines() if line.strip()]


def test_license_file_is_the_apache_2_license_setup_cfg_names():
    config = setup_cfg()
    assert config.get("metadata", "license_expression") == "Apache-2.0"  # SPDX (PEP 639)
    assert "LICENSE" in config.get("metadata", "license_files")
    # License classifiers are deprecated in favour of the expression, and
    # setuptools refuses the two together.
    assert not [c for c in listed(config, "metadata", "classifiers") if c.startswith("License ::")]
    text = (ROOT / "LICENSE").read_text()
    words = " ".join(text.split())
    assert words.startswith("Apache License Version 2.0, January 2004 http://www.apache.org/licenses/")
    for part in ("TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION", "1. Definitions.",
                 "9. Accepting Warranty or Additional Liability.", "END OF TERMS AND CONDITIONS"):
        assert part in words


def test_classifiers_name_the_python_versions_that_are_tested():
    config = setup_cfg()
    classifiers = listed(config, "metadata", "classifiers")
    versions = {c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    assert versions == {"3.10", "3.11", "3.12", "3.13"}
    assert config.get("options", "python_requires") == ">=3.10"
    # `make test` runs the suite on the matrix's versions besides the current
    # interpreter's: every one is a classifier.
    makefile = (ROOT / "Makefile").read_text()
    matrix = re.search(r"^MATRIX = (.*)$", makefile, re.M).group(1).split()
    assert {entry.split("-")[0][2:] for entry in matrix} <= versions
    for needed in ("Operating System :: OS Independent", "Topic :: Scientific/Engineering :: Mathematics",
                   "Typing :: Typed"):
        assert needed in classifiers


def test_version_is_setup_cfgs_everywhere():
    version = setup_cfg().get("metadata", "version")
    assert adjoint.__version__ == version
    done = subprocess.run([sys.executable, "-m", "adjoint", "--version"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"adjoint {version}\n"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[?{re.escape(version)}\]?", changelog, re.M), "CHANGELOG.md has no entry for it"


def test_import_reads_the_version_only_when_asked():
    # Finding the installed distribution's metadata cost about a third of the
    # package's import; `adjoint.__version__` reads it on first use.
    code = ("import sys, adjoint; loaded = 'adjoint._version' in sys.modules; "
            "v = adjoint.__version__; print(loaded, 'adjoint._version' in sys.modules, v)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", setup_cfg().get("metadata", "version")]
    with pytest.raises(AttributeError, match="no attribute 'versoin'"):
        adjoint.versoin


def test_version_option_of_main(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"adjoint {adjoint.__version__}\n"


@pytest.mark.parametrize("beside, expected", [
    ("[metadata]\nname = adjoint\nversion = 9.8.7\n", "9.8.7"),  # a source checkout
    ("[metadata]\nname = something-else\nversion = 1.2.3\n", "0+unknown"),  # another project's
    (None, "0+unknown"),  # a copy nobody installed, in no checkout
])
def test_version_of_a_copy_no_distribution_installed(tmp_path, beside, expected):
    # The package's version module, alone in a folder (the metadata of any
    # installed adjoint describes another copy): it reads the setup.cfg beside it.
    package = tmp_path / "adjoint"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_version.py").write_text(importlib.resources.files("adjoint").joinpath("_version.py").read_text())
    if beside is not None:
        (tmp_path / "setup.cfg").write_text(beside)
    script = "import adjoint._version as v; print(v.__version__, v.__file__)"
    done = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {script}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [expected, str(package / "_version.py")]


def test_version_of_the_distribution_that_installed_this_copy(tmp_path):
    # An unpacked sdist's adjoint.egg-info in the current folder comes first on
    # sys.path (python -m pytest run there): its package is elsewhere, so the
    # installed copy keeps the version of the distribution that installed it.
    unpacked, site = tmp_path / "unpacked", tmp_path / "site"
    (unpacked / "adjoint.egg-info").mkdir(parents=True)
    (unpacked / "adjoint.egg-info" / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: adjoint\nVersion: 1.0\n")
    (site / "adjoint").mkdir(parents=True)
    (site / "adjoint" / "__init__.py").write_text("")
    (site / "adjoint" / "_version.py").write_text(
        importlib.resources.files("adjoint").joinpath("_version.py").read_text())
    (site / "adjoint-2.0.dist-info").mkdir()
    (site / "adjoint-2.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: adjoint\nVersion: 2.0\n")
    script = (f"import sys; sys.path[:0] = [{str(unpacked)!r}, {str(site)!r}]; "
              "import adjoint._version as v; print(v.__version__)")
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2.0"]


def test_py_typed_ships_as_package_data():
    assert importlib.resources.files("adjoint").joinpath("py.typed").is_file()
    assert "py.typed" in setup_cfg().get("options.package_data", "adjoint").split()


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_public_functions_have_type_hints(name):
    signature = inspect.signature(getattr(adjoint, name))
    assert signature.return_annotation is not inspect.Signature.empty
    for parameter in signature.parameters.values():
        assert parameter.annotation is not inspect.Parameter.empty, parameter


def test_no_grad_has_type_hints():
    for method in (adjoint.no_grad.__enter__, adjoint.no_grad.__exit__):
        assert "return" in method.__annotations__


def test_pyproject_holds_the_build_system_and_tool_configuration_only():
    text = (ROOT / "pyproject.toml").read_text()
    tables = re.findall(r"^\[([^\]]+)\]", text, re.M)
    assert tables[0] == "build-system" and all(t == "build-system" or t.startswith("tool.") for t in tables)
    assert re.search(r'^build-backend = "setuptools.build_meta"$', text, re.M)
    assert re.search(r'^requires = \["setuptools>=\d+', text, re.M)


def test_sdist_manifest_carries_the_tests_docs_and_license():
    manifest = (ROOT / "MANIFEST.in").read_text()
    for line in ("recursive-include tests *", "recursive-include docs *", "recursive-include tools *"):
        assert line in manifest.splitlines()
    included = re.search(r"^include (.*)$", manifest, re.M).group(1).split()
    assert {"LICENSE", "CHANGELOG.md", "README.md"} <= set(included)
    for name in included:
        assert (ROOT / name).is_file(), name

