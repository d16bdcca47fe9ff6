"""Progress of a long Jacobian: ``jacrev(f, progress=True)``, ``jacfwd``.

``Progress(enabled, kind, name)`` is a context manager giving a
``report(done, total)`` callable, told after each chunk how many rows (for
jacrev: output elements; for jacfwd: input elements) are done. With
``enabled`` False it does nothing. Otherwise it draws a bar through ``tqdm``
when ``tqdm`` can be imported, and else writes a plain line on stderr: one
line redrawn in place on a terminal, or a line at every tenth of the work
(and the last) when stderr is a file or a pipe.
"""
import sys


class Progress:
    def __init__(self, enabled, kind, name):
        self.enabled = enabled
        self.label = f"adjoint.{kind}({name})"
        self.unit = "columns" if kind == "jacfwd" else "rows"
        self.bar = None
        self.shown = -1  # the last tenth written (plain lines)
        self.done = 0
        self.started = False

    def __enter__(self):
        return self.report if self.enabled else _nothing

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and self.shown >= 0 and _is_terminal():
            sys.stderr.write("\n")
            sys.stderr.flush()
        return False

    def report(self, done, total):
        if not self.started:
            self.started = True
            self.bar = _tqdm_bar(total, self.label, self.unit[:-1])
        if self.bar is not None:
            self.bar.update(done - self.done)
            self.done = done
            return
        self.done = done
        tenth = 10 * done // total if total else 10
        line = f"{self.label}: {done}/{total} {self.unit} ({100 * done // total if total else 100}%)"
        if _is_terminal():
            sys.stderr.write("\r" + line)
        elif tenth > self.shown:
            sys.stderr.write(line + "\n")
        self.shown = max(self.shown, tenth)
        sys.stderr.flush()


def _nothing(done, total):
    pass


def _is_terminal():
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _tqdm_bar(total, label, unit):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=label, unit=unit, file=sys.stderr)
