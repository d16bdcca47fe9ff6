"""The documentation: every code block runs as written, every rule is listed.

How the code blocks are run (docs/index.md, "How these pages are tested"):

- A block tagged ``python`` runs. The blocks of one Markdown file run in
  order in one module (``docs_<name>``), each in a fresh temporary directory
  per file. Each block is written to a file of its own in that directory
  (``<name>_block<N>.py``), compiled with that file name and executed in the
  module's namespace, so that ``inspect.getsource`` (which adjoint reads)
  finds the functions the blocks define.
- Blocks with another tag (``sh``, ``text``, no tag) are commands or output
  and are not run.
- A python block right after the comment ``<!-- not run: reason -->`` is not
  run (code of another library, shown side by side with adjoint's).
- A python block right after ``<!-- requires: scipy -->`` runs only when
  SciPy can be imported.
- A python block followed by a ``pytb`` block must raise the exception its
  last line shows (``...`` matches anything, as in doctest).

Rules registered by a file's blocks are forgotten after it (the registries
are restored), so that no file changes the next one.
"""
import contextlib
import copy
import doctest
import importlib.util
import os
import pathlib
import re
import sys
import types

import pytest

import adjoint
from adjoint import rules
from adjoint.backend import cache

ROOT = pathlib.Path(__file__).parent.parent
INTERNAL = {"getitem", "identity", "transpose_attribute", "attribute", "setitem", "append", "astype"}  # reached through syntax
DOC_FILES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))

# (rules of the runtime helpers generated code calls are for transforming
# that code again; they are not functions a user calls)
DOCUMENTED = [p.__name__ for p in rules.ADJOINT_RULES
              if p.__name__ not in INTERNAL and not getattr(p, "__module__", "").startswith("adjoint.runtime")]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_every_rule_is_documented(name):
    assert name in (ROOT / "docs" / "supported.md").read_text()


def test_readme_shows_the_setup_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


def _table_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("supported_table", ROOT / "tools" / "supported_table.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_the_generated_table_of_rules_is_current():
    # The committed table is generated with NumPy 2 and SciPy: other
    # versions name other functions (np.concat, np.acos are NumPy 2's).
    import numpy as np

    pytest.importorskip("scipy", reason="the table lists SciPy's rules: SciPy is needed to generate it")
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        pytest.skip(f"the table is generated with NumPy 2; this is NumPy {np.__version__}")
    tool = _table_tool()
    text = (ROOT / "docs" / "supported.md").read_text()
    assert tool.updated(text) == text, "docs/supported.md is stale: run python tools/supported_table.py"


def test_the_table_tool_notices_a_stale_table(tmp_path, monkeypatch):
    tool = _table_tool()
    stale = tmp_path / "supported.md"
    stale.write_text(f"before\n{tool.BEGIN}\n| `np.nothing` | yes |\n{tool.END}\nafter\n")
    monkeypatch.setattr(tool, "DOC", stale)
    assert tool.main(["--check"]) == 1
    assert tool.main([]) == 0 and tool.main(["--check"]) == 0
    assert stale.read_text().startswith("before\n") and "`np.sum`" in stale.read_text()


# ------------------------------------------------------------------ code blocks

FENCE = re.compile(r"^```(.*)$")
MARKER = re.compile(r"^<!--\s*(not run|requires):\s*(.*?)\s*-->$")


class Block:
    def __init__(self, language, lineno, code, marker):
        self.language = language
        self.lineno = lineno
        self.code = code
        self.marker = marker  # ("not run", reason), ("requires", module) or None
        self.raises = None  # the pytb block that follows, if any


def code_blocks(path):
    """The fenced blocks of a Markdown file, in order."""
    lines = path.read_text().splitlines()
    blocks = []
    marker = None
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence is None:
            found = MARKER.match(line.strip())
            if found:
                marker = (found.group(1), found.group(2))
            elif line.strip():
                marker = None
            i += 1
            continue
        language = fence.group(1).strip().split()[0] if fence.group(1).strip() else ""
        start = i + 1
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            i += 1
        block = Block(language, start, "\n".join(lines[start:i]) + "\n", marker)
        if language == "pytb" and blocks and blocks[-1].language == "python":
            blocks[-1].raises = block
        blocks.append(block)
        marker = None
        i += 1
    return blocks


def _exception_text(pytb):
    """The last lines of a traceback block: from the line naming the exception."""
    lines = pytb.code.rstrip().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Warning)\b", line):
            # (Python prints the class with its module: adjoint.errors.NoRuleError)
            return re.sub(r"^[\w.]*\.(?=\w+:)", "", "\n".join(lines[index:]))
    raise AssertionError(f"line {pytb.lineno}: a pytb block must end with the exception it shows")


def _matches(shown, raised):
    normalize = lambda text: " ".join(text.split())  # noqa: E731
    return doctest._ellipsis_match(normalize(shown), normalize(raised))


@contextlib.contextmanager
def _registries_restored():
    names = ["ADJOINT_RULES", "TANGENT_RULES", "BATCH_RULES", "CUSTOM_VJPS", "CUSTOM_JVPS",
             "NONDIFFERENTIABLE", "ELEMENTWISE_TANGENTS", "TANGENT_CONSTANTS", "ADJOINT_CONSTANTS",
             "SEQUENCE_RULES", "TUPLE_RESULTS", "FLAG_BATCHED", "ELEMENTWISE_HELPERS"]
    saved = {name: copy.copy(getattr(rules, name)) for name in names if hasattr(rules, name)}
    try:
        yield
    finally:
        for name, value in saved.items():
            registry = getattr(rules, name)
            registry.clear()
            registry.update(value)
        cache.clear()


def run_markdown(path, tmp_path):
    """Run the python blocks of ``path`` as described above; the number run."""
    stem = re.sub(r"\W", "_", path.stem.lower())
    module = types.ModuleType(f"docs_{stem}")
    sys.modules[module.__name__] = module
    ran = 0
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with _registries_restored():
            for number, block in enumerate(code_blocks(path)):
                if block.language != "python":
                    continue
                if block.marker is not None and block.marker[0] == "not run":
                    assert block.marker[1], f"{path.name}:{block.lineno}: say why the block is not run"
                    continue
                if block.marker is not None and block.marker[0] == "requires":
                    if importlib.util.find_spec(block.marker[1]) is None:
                        continue
                filename = tmp_path / f"{stem}_block{number}.py"
                # the block's lines keep their line numbers in the Markdown file
                filename.write_text("\n" * block.lineno + block.code)
                code = compile(filename.read_text(), str(filename), "exec")
                where = f"{path.name}, block at line {block.lineno}"
                if block.raises is None:
                    try:
                        exec(code, module.__dict__)
                    except Exception as exc:
                        raise AssertionError(f"{where} raised {type(exc).__name__}: {exc}") from exc
                else:
                    shown = _exception_text(block.raises)
                    with pytest.raises(Exception) as info:
                        exec(code, module.__dict__)
                    raised = f"{type(info.value).__name__}: {info.value}"
                    assert _matches(shown, raised), f"{where}: shows\n{shown}\nbut raised\n{raised}"
                ran += 1
    finally:
        os.chdir(cwd)
        sys.modules.pop(module.__name__, None)
    return ran


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.name)
def test_code_blocks_run(path, tmp_path):
    run_markdown(path, tmp_path)


def test_the_readme_and_guides_have_blocks_that_run(tmp_path):
    # (a renamed tag must not turn the test into one that runs nothing)
    assert run_markdown(ROOT / "README.md", tmp_path) >= 4


def test_blocks_are_tagged():
    for path in DOC_FILES:
        for block in code_blocks(path):
            assert block.language, f"{path.name}:{block.lineno}: tag the block (python, sh, text, pytb)"


def test_a_failing_block_is_reported(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nx = 1\n```\n\n```python\ny = undefined_name\n```\n")
    (tmp_path / "run").mkdir()
    with pytest.raises(AssertionError, match="page.md, block at line 5 raised NameError"):
        run_markdown(page, tmp_path / "run")


def test_a_block_that_does_not_raise_what_it_shows_is_reported(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nx = 1 / 0\n```\n\n```pytb\nTraceback (most recent call last):\n"
                    "ValueError: wrong\n```\n")
    (tmp_path / "run").mkdir()
    with pytest.raises(AssertionError, match="shows"):
        run_markdown(page, tmp_path / "run")


# ------------------------------------------------------------------ docstrings

PUBLIC = [getattr(adjoint, name) for name in adjoint.__all__ if not isinstance(getattr(adjoint, name), type)
          or name == "no_grad"]


@pytest.mark.parametrize("obj", PUBLIC, ids=lambda obj: obj.__name__)
def test_public_functions_document_their_parameters_results_and_an_example(obj):
    doc = obj.__doc__ or ""
    assert ">>> " in doc, f"{obj.__name__}: no example"
    if obj is not adjoint.no_grad:
        for section in ("Returns:",):
            assert section in doc, f"{obj.__name__}: no {section}"
        assert "Args:" in doc or not list(__import__("inspect").signature(obj).parameters)


@pytest.mark.parametrize("obj", PUBLIC, ids=lambda obj: obj.__name__)
def test_docstring_examples_run(obj):
    """The examples of the API reference, run by doctest (the docstrings'
    functions are read by adjoint through doctest's own linecache entries)."""
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with _registries_restored():
        tests = finder.find(obj, obj.__name__, globs={})
        assert tests and any(test.examples for test in tests)
        for test in tests:
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0 and result.attempted > 0, f"{obj.__name__}: {result}"
