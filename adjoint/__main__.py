"""The command line: ``python -m adjoint show FILE.py:FUNC`` (or ``adjoint show``).

Prints the generated derivative code of a function, or writes it with
``-o OUT.py`` as a standalone module that needs NumPy alone; the numeric
arrays of more than 1,000 elements it reads are written beside it as
``OUT_NAME.npy`` and loaded from there. Every failure is one line on stderr
and a non-zero exit status.
"""
import argparse
import importlib.util
import os
import sys

import numpy as np

from .api import source_text as api
from . import errors
from ._version import __version__
from .backend.compile import ExportError, export_module

USAGE_EXAMPLES = """examples:
  adjoint show model.py:loss                  print the reverse-mode code of loss
  adjoint show model.py:mlp --argnums 0,1     with respect to arguments 0 and 1
  adjoint show model.py:mlp -o mlp_grad.py    write a standalone module (NumPy only)
"""


class CommandError(Exception):
    pass


def parser():
    top = argparse.ArgumentParser(
        prog="adjoint",
        description="Differentiate NumPy code by source transformation and show the generated code.",
        epilog=USAGE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"adjoint {__version__}",
                     help="print the version of adjoint and exit")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    show = commands.add_parser(
        "show", help="print (or write) the derivative code of a function",
        description="Print the generated derivative code of FILE.py:FUNC.",
        epilog=USAGE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("target", metavar="FILE.py:FUNC",
                      help="the Python file and the name of a function defined at its top level")
    show.add_argument("--argnums", default="0", metavar="I[,J...]",
                      help="comma-separated positions of the arguments to differentiate (default: 0)")
    show.add_argument("--mode", choices=["vjp", "jvp"], default="vjp",
                      help="vjp: reverse mode (default); jvp: forward mode (printed only: -o needs vjp)")
    show.add_argument("--has-aux", action="store_true",
                      help="FUNC returns (output, aux); only output is differentiated")
    show.add_argument("-o", "--output", metavar="OUT.py",
                      help="write a standalone module (imports NumPy only) with FUNC_jacobian "
                           "instead of printing; reverse mode only; arrays of more than 1,000 elements "
                           "it reads go beside it as OUT_NAME.npy")
    return top


def load_function(target):
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise CommandError(f"expected FILE.py:FUNC, got {target!r}")
    if not os.path.isfile(path):
        raise CommandError(f"no such file: {path}")
    module_name = "_adjoint_cli_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None:
        raise CommandError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # the user's module failed (or exited) while importing
        raise CommandError(f"importing {path} failed: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.pop(0)
    func = getattr(module, name, None)
    if func is None:
        raise CommandError(f"{path} has no function named {name!r}")
    if not callable(func):
        raise CommandError(f"{path}: {name!r} is a {type(func).__name__}, not a function")
    return func


def parse_argnums(text):
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise CommandError(f"--argnums expects integers separated by commas, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def show(args):
    if args.output is not None and args.mode != "vjp":  # before the user's module runs
        raise CommandError("-o writes reverse-mode modules (with a jacobian function); "
                           "print forward-mode code without -o.")
    func = load_function(args.target)
    argnums = parse_argnums(args.argnums)
    source = api.source(func, argnums, mode=args.mode, has_aux=args.has_aux)
    if args.output is None:
        sys.stdout.write(source)
        return
    compiled = api.compiled_for_source(func, argnums, args.has_aux)
    # Large arrays go beside the module as .npy files (a literal of a
    # million floats is 20 MB of text that takes seconds to import).
    arrays = {}
    prefix = os.path.splitext(os.path.basename(args.output))[0]
    text = export_module(compiled, has_aux=args.has_aux, arrays=arrays, prefix=prefix)
    directory = os.path.dirname(os.path.abspath(args.output))
    try:
        for filename, array in arrays.items():
            np.save(os.path.join(directory, filename), array, allow_pickle=False)
        with open(args.output, "w") as handle:
            handle.write(text)
    except OSError as exc:
        raise CommandError(f"cannot write {exc.filename or args.output}: {exc.strerror or exc}") from None
    beside = f" and {len(arrays)} .npy file{'s' if len(arrays) != 1 else ''} of constants beside it" if arrays else ""
    print(f"wrote {args.output}{beside}", file=sys.stderr)


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        show(args)
    except (CommandError, ExportError, errors.AdjointError, TypeError, ValueError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"adjoint: error: {first_line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
