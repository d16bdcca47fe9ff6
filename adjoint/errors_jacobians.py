"""The messages about whole Jacobians, which ``adjoint.errors`` re-exports:
the memory budget and its chunks (``MemoryBudgetError``), sparse Jacobians
(``sparse=True``, ``adjoint.sparsity``) and executors (``executor=`` of
jacrev / jacfwd). Built as ``adjoint.errors`` builds the others: what went
wrong, then what to do."""


# ------------------------------------------------------------------ memory

def format_bytes(count):
    """``268435456`` -> ``'256 MiB'``."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            value = count / size
            return f"{value:.0f} {unit}" if value >= 100 or value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"


_RAISE_BUDGET = ("or raise the budget: adjoint.set_memory_budget(bytes), or the ADJOINT_MEMORY_BUDGET "
                 "environment variable")


def _other_mode(mode, n_out, n_in):
    """Advice to use the other mode when it needs fewer passes."""
    if mode == "jacrev" and n_out > n_in:
        return (f"The function has many more outputs ({n_out:,}) than inputs ({n_in:,}): forward mode, "
                f"adjoint.jacfwd, computes the same Jacobian in {n_in:,} columns of {n_out:,} values "
                "instead of reverse mode's rows over every output. ")
    if mode == "jacfwd" and n_in > n_out:
        return (f"The function has many more inputs ({n_in:,}) than outputs ({n_out:,}): reverse mode, "
                f"adjoint.jacrev, computes the same Jacobian in {n_out:,} rows "
                "instead of forward mode's columns over every input. ")
    return ""


def _titled(title, error):
    """``error``, whose message starts with ``title`` (``jacfwd of f``)."""
    error.title = title
    return error


def retitled(error, composition):
    """A budget error raised inside a composed transform, its title replaced
    by the user's composition (``jacrev(jacrev(f))``: the inner transform
    may be one the user never wrote, ``jacfwd of f_jacrev``)."""
    title = getattr(error, "title", None)
    message = str(error)
    if title and message.startswith(title) and composition.count("(") > 1 and title != composition:
        error.args = (composition + message[len(title):],)
        error.title = composition
    return error.with_traceback(None)


def jacobian_too_large_error(mode, name, n_out, n_in, nbytes, budget):
    from .errors import MemoryBudgetError  # (errors re-exports this module's names)
    return _titled(f"{mode} of {name}", MemoryBudgetError(
        f"{mode} of {name}: the Jacobian has {n_out:,} x {n_in:,} = {n_out * n_in:,} elements "
        f"({format_bytes(nbytes)}), more than the memory budget of {format_bytes(budget)}. "
        "Differentiate a smaller output or fewer inputs, use adjoint.vjp or adjoint.jvp for products "
        f"with the Jacobian without forming it, {_RAISE_BUDGET}."
    ))


def chunk_too_large_error(mode, name, n_out, n_in, per_pass, left, budget):
    from .errors import MemoryBudgetError  # (errors re-exports this module's names)
    what = ("one row of the reverse pass (a basis row over every output and the batched adjoints "
            "it flows through)" if mode == "jacrev" else
            "one column of the forward pass (a basis column over every input and the batched "
            "tangents it flows through)")
    return _titled(f"{mode} of {name}", MemoryBudgetError(
        f"{mode} of {name}: {what} needs about {format_bytes(per_pass)}, more than the "
        f"{format_bytes(left)} of the memory budget ({format_bytes(budget)}) that the Jacobian "
        f"({n_out:,} x {n_in:,}) leaves. {_other_mode(mode, n_out, n_in)}Otherwise differentiate a "
        f"smaller output, pass chunk_size=1 to run one pass at a time whatever it costs, {_RAISE_BUDGET}."
    ))


def out_of_memory_error(mode, name, n_out, n_in, chunk, error):
    """``n_out``: None if the output's size is not known yet."""
    from .errors import MemoryBudgetError  # (errors re-exports this module's names)
    outputs = "?" if n_out is None else f"{n_out:,}"
    return _titled(f"{mode} of {name}", MemoryBudgetError(
        f"{mode} of {name}: ran out of memory in a chunk of {chunk:,} "
        f"{'rows' if mode == 'jacrev' else 'columns'} of the {outputs} x {n_in:,} Jacobian ({error}). "
        f"{_other_mode(mode, n_out or 0, n_in)}Pass a smaller chunk_size, or lower the memory budget "
        "(adjoint.set_memory_budget) so that chunks are chosen smaller."
    ))


def tall_reverse_warning(name, n_out, n_in, chunks, budget):
    return (f"jacrev of {name}: the reverse pass runs over {n_out:,} basis rows, in {chunks:,} chunks to "
            f"stay under the memory budget ({format_bytes(budget)}), for only {n_in:,} inputs: forward mode, "
            f"adjoint.jacfwd, computes the same Jacobian in {n_in:,} columns.")


# ------------------------------------------------------------------ sparse Jacobians

def scipy_missing_error(what):
    """SciPy is needed for sparse results and is not installed."""
    return ImportError(
        f"{what} returns scipy.sparse matrices, and SciPy is not installed. Install it "
        "(pip install scipy, or pip install adjoint[scipy]), or call it without sparse=True "
        "for a dense NumPy Jacobian.")


def sparse_structure_error(what, detail):
    """A function whose inputs or outputs a sparse Jacobian cannot lay out."""
    return TypeError(f"{what}: {detail}")


def value_dependent_pattern_warning(place, construct):
    """The sparsity pattern may change with the input values: it is found
    again at every call."""
    where = f"{place}: " if place else ""
    return (f"{where}{construct} decides which outputs depend on which inputs, so the Jacobian's "
            "sparsity pattern may change with the input values. adjoint finds it again at every call "
            "(exact at that point, at the cost of one extra forward pass over all inputs). To reuse one "
            "pattern, compute it once with adjoint.sparsity at a point where it is complete, and pass it "
            "to SciPy yourself.")


# ------------------------------------------------------------------ executors (jacrev/jacfwd executor=)

def executor_type_error(executor):
    return TypeError(
        f"executor must be None or a concurrent.futures.Executor (an object with a submit method), got "
        f"{type(executor).__name__} ({executor!r:.80}). Pass a concurrent.futures.ThreadPoolExecutor, a "
        "ProcessPoolExecutor, or a Dask client's executor (client.get_executor())."
    )


def executor_source_error(mode, name, reason):
    return TypeError(
        f"{mode}(executor=...) of {name}: the derivative code cannot be sent to worker processes as "
        f"source: {reason} Use a concurrent.futures.ThreadPoolExecutor, which runs the compiled code in "
        "this process, or no executor."
    )


def executor_rerun_warning(mode, name, count, chunks, first):
    return (f"{mode} of {name}: {count} of {chunks} chunks failed on the executor and were computed again "
            f"in this process (the first failure: {type(first).__name__}: {first}). The result is complete; "
            "check the executor's workers if this recurs.")
