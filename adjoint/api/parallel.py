"""Chunks of a Jacobian on a ``concurrent.futures.Executor``:
``jacrev(f, chunk_size=k, executor=ex)`` and ``jacfwd(..., executor=ex)``.

The chunks of the identity basis are independent: each is one call of the
generated backward function (reverse mode, over the residuals of the one
forward pass that ran in the caller) or of the generated tangent function
(forward mode, which runs the function again for its columns).

Where a chunk runs:

- ``ThreadPoolExecutor``: in this process; the task calls the compiled
  function itself (NumPy releases the GIL in its kernels).
- Any other executor (``ProcessPoolExecutor``, a Dask client's executor,
  your own): the generated code travels as source text, the standalone
  module ``adjoint.backend.compile.export_module`` writes, with the numeric
  arrays its globals hold beside it as data (so the text stays small and
  the same while their values change), and each worker process compiles it
  once (a small cache keyed by the text's SHA-256). The data a chunk needs
  (the residuals, or the arguments, and those arrays) travels once per
  worker for a Dask executor (``client.scatter(..., broadcast=True)``, the
  tasks then name it) and for a ``ProcessPoolExecutor`` (its workers run on
  this machine: the data is written once to a temporary file, which each
  task names and each worker reads once), and with each task for any other
  executor. The workers need NumPy and adjoint (the task functions are
  adjoint's).

Results are assembled in chunk order, so the Jacobian equals the serial one
with the same ``chunk_size``. A chunk whose future fails for any reason (an
exception in the task, a worker lost, a broken pool) is computed again in the
caller, in order: an error in the user's code is then raised by that re-run,
once, with the user's line, exactly as the serial path raises it, and the
futures not yet used are cancelled. A chunk that fails on the executor but
not here is reported by one ``RuntimeWarning`` per call.
"""
import collections
import concurrent.futures
import copy
import hashlib
import linecache
import os
import pickle
import tempfile
import threading
import types
import uuid
import warnings
import weakref

import numpy as np

from .. import errors
from ..backend.compile import ExportError, export_module, transforms_reached
from . import bases, budget, calling

# ------------------------------------------------------------------ kinds of executor

def _in_process(executor):
    """Whether the executor's tasks run in this process (they get the
    compiled functions themselves)."""
    return isinstance(executor, concurrent.futures.ThreadPoolExecutor)


def _dask_client(executor):
    """The ``distributed.Client`` behind a Dask client's executor, or None."""
    client = getattr(executor, "_client", None)
    if client is not None and type(executor).__module__.split(".")[0] == "distributed":
        return client
    return None


# ------------------------------------------------------------------ source on workers

class Shipment:
    """What a worker process needs for the chunks of one Jacobian: the
    generated code as source (``name``: the function to call in it), the
    arrays its globals hold (``arrays``, read by the text's
    ``_load_constant(filename)``) and the data every chunk reads (``data``).
    The function is built once per unpickled shipment (once per Dask worker,
    which keeps the scattered shipment; once per task for a plain executor)."""

    def __init__(self, source, name, arrays, data):
        self.source = source
        self.digest = hashlib.sha256(source.encode()).hexdigest()
        self.name = name
        self.arrays = arrays
        self.data = data
        self._function = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_function"] = None
        return state

    def function(self):
        if self._function is None:
            namespace = {"__name__": f"adjoint_shipped_{self.digest[:12]}", "_load_constant": self.arrays.__getitem__}
            exec(code_of(self.source, self.digest), namespace)
            self._function = namespace[self.name]
        return self._function


#: per process: SHA-256 of shipped source -> its code object (most recent last)
_CODE = collections.OrderedDict()
_CODE_MAX = 16
_CODE_LOCK = threading.Lock()


def code_of(source, digest):
    """The shipped ``source`` compiled, once per process (registered with
    linecache, so a worker's traceback shows its lines)."""
    with _CODE_LOCK:
        code = _CODE.get(digest)
        if code is not None:
            _CODE.move_to_end(digest)
            return code
    filename = f"<adjoint shipped code {digest[:12]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    code = compile(source, filename, "exec")
    with _CODE_LOCK:
        _CODE[digest] = code
        while len(_CODE) > _CODE_MAX:
            _CODE.popitem(last=False)
    return code


def _transform_of(compiled, mode, name):
    """The compiled transform (a CompiledVJP) behind ``compiled``, and the
    arguments a ``_FixedArguments`` wrapper puts in front (or None)."""
    fixed = None
    if hasattr(compiled, "compiled") and hasattr(compiled, "leading"):  # _FixedArguments
        fixed = (compiled.leading, compiled.keywords, compiled.skipped)
        compiled = compiled.compiled
    wanted = "jvp" if mode == "jacfwd" else "backward"
    if getattr(compiled, wanted, None) is None or not hasattr(compiled, "namespace"):
        raise errors.executor_source_error(
            mode, name, f"it is not one generated function ({type(compiled).__name__}), as for a derivative "
            "of a derivative.")
    return compiled, fixed


#: transform -> (what its namespaces held, source, function name, arrays): the
#: text of the last export, reused while every transform reached holds the
#: same objects (kept here, so that their ids cannot be reused meanwhile)
_EXPORTS = weakref.WeakKeyDictionary()


def _held(transform):
    # (the transforms by weak reference: the entry must not keep its key alive)
    return [(weakref.ref(t), list(t.namespace.items())) for t in transforms_reached(transform)]


def _same(held, before):
    return len(held) == len(before) and all(
        t() is u() and len(items) == len(others)
        and all(k == j and v is w for (k, v), (j, w) in zip(items, others))
        for (t, items), (u, others) in zip(held, before))


def _source_of(transform, mode, name):
    """``(source, function name, arrays)``: the transform as a standalone
    module whose numeric arrays are read from ``arrays`` (shipped beside
    it as data, so that the text stays small and the same while their
    values change)."""
    held = _held(transform)
    cached = _EXPORTS.get(transform)
    if cached is not None and _same(held, cached[0]):
        return cached[1:]
    arrays = {}
    try:
        source = export_module(transform, arrays=arrays, prefix="shipped", large=-1, define_loader=False)
    except ExportError as error:
        raise errors.executor_source_error(mode, name, str(error)) from None
    function = transform.jvp if mode == "jacfwd" else transform.backward
    # export_module renames a function defined twice (name_v1, ...); find its name there
    needle = f"def {function.__name__}"
    names = [line[4:].split("(", 1)[0] for line in source.splitlines()
             if line.startswith(needle + "(") or line.startswith(needle + "_v")]
    if len(names) != 1:
        raise errors.executor_source_error(mode, name, f"{function.__name__} is defined {len(names)} times.")
    _EXPORTS[transform] = (held, source, names[0], arrays)
    return source, names[0], arrays


# ------------------------------------------------------------------ one chunk

def pull_back_rows(backward, residuals, out_leaves, out_treedef, treedefs, start, stop):
    """Rows ``start:stop`` of the Jacobian by reverse mode: per argument, per
    input leaf, a ``(rows, leaf.size)`` array (None: no adjoint)."""
    seed = bases._basis_chunk(out_leaves, out_treedef, start, stop)
    adjoints = tuple(bases.pull_back(backward, residuals, seed))
    if len(adjoints) < len(treedefs):  # arguments the function does not take (see _FixedArguments)
        adjoints = (None,) * (len(treedefs) - len(adjoints)) + adjoints
    return [
        [None if bar is None else np.reshape(bases._real(bar), (stop - start, -1))
         for bar in calling._leaf_adjoints(param_bar, treedef)]
        for param_bar, treedef in zip(adjoints, treedefs, strict=True)
    ]


def push_forward_columns(jvp, args, kwargs, inputs, has_aux, start, stop, keep_result):
    """Columns ``start:stop`` of the Jacobian by forward mode: ``(result,
    blocks)``, ``result`` the function's (None unless ``keep_result``) and
    per output leaf a ``(columns, leaf.size)`` array."""
    result, out_dot = bases.push_basis(jvp, inputs, start, stop, args, kwargs)
    output = result[0] if has_aux else result
    out_leaves, out_treedef = calling._output_leaves(output)
    blocks = [np.zeros((stop - start, leaf.size), dtype=leaf.dtype) if dot is None
              else np.reshape(bases._real(dot), (stop - start, leaf.size))
              for dot, leaf in zip(calling._leaf_adjoints(out_dot, out_treedef), out_leaves, strict=True)]
    return (result if keep_result else None), blocks


def _fixed_jvp(jvp, fixed):
    """``jvp`` with a ``_FixedArguments`` wrapper's arguments put back."""
    if fixed is None:
        return jvp
    leading, keywords, skipped = fixed

    def call(tangents, *args, **kwargs):
        tangents = tuple(tangents)
        return jvp(tangents[:1] + tangents[1 + skipped:], *leading, *args, **{**keywords, **kwargs})
    return call


class ShipmentFile:
    """A shipment written once to a temporary file, for the workers of a
    ``ProcessPoolExecutor`` (on this machine): a task pickles only this
    small handle, and each worker reads the file once (``load``). The
    caller removes the file when the Jacobian is done (``release``)."""

    def __init__(self, shipment):
        self.token = uuid.uuid4().hex
        descriptor, self.path = tempfile.mkstemp(prefix="adjoint-chunks-", suffix=".pickle")
        try:
            with os.fdopen(descriptor, "wb") as file:
                pickle.dump(shipment, file, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            os.unlink(self.path)
            raise

    def load(self):
        with _LOADED_LOCK:
            shipment = _LOADED.get(self.token)
        if shipment is None:
            with open(self.path, "rb") as file:
                shipment = pickle.load(file)
            with _LOADED_LOCK:
                _LOADED[self.token] = shipment
                while len(_LOADED) > _LOADED_MAX:
                    _LOADED.popitem(last=False)
        return shipment

    def release(self):
        try:
            os.unlink(self.path)
        except OSError:
            pass


#: per worker process: token -> the shipment read from its file (most recent last)
_LOADED = collections.OrderedDict()
_LOADED_MAX = 4
_LOADED_LOCK = threading.Lock()


def _unpacked(shipment):
    return shipment.load() if isinstance(shipment, ShipmentFile) else shipment


def shipped_backward_task(shipment, start, stop):
    """A reverse-mode chunk on a worker process (module level: picklable)."""
    shipment = _unpacked(shipment)
    backward = shipment.function()
    residuals, out_leaves, out_treedef, treedefs = shipment.data
    return pull_back_rows(backward, residuals, out_leaves, out_treedef, treedefs, start, stop)


def shipped_forward_task(shipment, start, stop):
    """A forward-mode chunk on a worker process (module level: picklable)."""
    shipment = _unpacked(shipment)
    jvp = shipment.function()
    args, kwargs, inputs, has_aux, fixed = shipment.data
    return push_forward_columns(_fixed_jvp(jvp, fixed), args, kwargs, inputs, has_aux, start, stop, start == 0)


# ------------------------------------------------------------------ running chunks

class _Chunks:
    """Submits chunk tasks to an executor and hands their results back in
    order, computing a failed chunk again here (see the module's docstring)."""

    def __init__(self, executor, mode, name, local):
        self.executor = executor
        self.mode = mode
        self.name = name
        self.local = local  # local(start, stop): the chunk computed in this process
        self.failures = []
        self.submitted = 0
        self.pending = []

    def submit(self, task, *args):
        try:
            future = self.executor.submit(task, *args)
        except Exception as error:  # a shut-down or broken executor: this chunk runs here
            future = concurrent.futures.Future()
            future.set_exception(error)
        self.submitted += 1
        self.pending.append(future)
        return future

    def result(self, future, start, stop):
        try:
            return future.result()
        except Exception as error:  # (a cancelled future's CancelledError too)
            self.failures.append(error)
        return self.local(start, stop)  # raises the serial path's error, if it is the user's

    def close(self):
        for future in self.pending:
            future.cancel()
        self.pending = []

    def warn_reruns(self):
        # Only chunks whose run here succeeded are counted (an error here propagates).
        if self.failures:
            warnings.warn(errors.executor_rerun_warning(self.mode, self.name, len(self.failures), self.submitted,
                                                        self.failures[0]), RuntimeWarning, stacklevel=6)


def _scattered(executor, shipment):
    """``(what each task gets, what to release when done)``: for a Dask
    executor, ``shipment`` sent to every worker once (a Dask future); for a
    ``ProcessPoolExecutor``, a ShipmentFile; for another executor the
    shipment itself (pickled with each task), and None."""
    if isinstance(executor, concurrent.futures.ProcessPoolExecutor):
        written = ShipmentFile(shipment)
        return written, written
    client = _dask_client(executor)
    if client is None:
        return shipment, None
    future = client.scatter(shipment, broadcast=True, hash=False)
    return future, future


def jacrev_chunks(executor, compiled, residuals, out_leaves, out_treedef, inputs, chunk, name, report):
    """The Jacobian matrices of ``jacrev`` (per argument, per input leaf,
    ``(N, leaf.size)``), the chunks of ``chunk`` rows run on ``executor``."""
    total = sum(leaf.size for leaf in out_leaves)
    matrices = [[np.zeros((total, np.size(leaf)), dtype=np.result_type(leaf)) for leaf in leaves]
                for leaves in inputs.leaves]
    if total == 0:
        return matrices
    treedefs = list(inputs.treedefs)
    backward = compiled.backward

    def local(start, stop):
        return pull_back_rows(backward, residuals, out_leaves, out_treedef, treedefs, start, stop)

    bounds = [(start, min(start + chunk, total)) for start in range(0, total, chunk)]
    chunks = _Chunks(executor, "jacrev", name, local)
    held = None
    try:
        if _in_process(executor):
            futures = [chunks.submit(local, start, stop) for start, stop in bounds]
        else:
            transform, _ = _transform_of(compiled, "jacrev", name)
            source, function, arrays = _source_of(transform, "jacrev", name)
            shipment = Shipment(source, function, arrays, (residuals, out_leaves, out_treedef, treedefs))
            sent, held = _scattered(executor, shipment)
            futures = [chunks.submit(shipped_backward_task, sent, start, stop) for start, stop in bounds]
        for (start, stop), future in zip(bounds, futures, strict=True):
            rows = chunks.result(future, start, stop)
            for param_rows, param_matrices in zip(rows, matrices, strict=True):
                for block, matrix in zip(param_rows, param_matrices, strict=True):
                    if block is not None:
                        matrix[start:stop] = block
            report(stop, total)
    finally:
        chunks.close()
        if held is not None:
            held.release()
    chunks.warn_reruns()
    return matrices


def jacfwd_chunks(executor, compiled, inputs, kwargs, has_aux, chunk, name, report):
    """``(output, aux, out_leaves, out_treedef, columns)`` of ``jacfwd``: the
    function's output and aux (from the first chunk), its output leaves and
    their structure, and per chunk
    of ``chunk`` columns the list of ``(columns, out.size)`` blocks, the
    chunks run on ``executor``. A function that changes its arguments in
    place changes the caller's arrays once: its last chunk runs here on
    them, the others on copies. The Jacobian's size is checked against the
    memory budget when the first chunk's output is known."""
    total = sum(np.size(leaf) for leaves in inputs.leaves for leaf in leaves)
    bounds = [(start, min(start + chunk, total)) for start in range(0, total, chunk)] or [(0, 0)]
    jvp = compiled.jvp
    changes_arguments = bool(getattr(compiled, "augmented_params", None))
    last = len(bounds) - 1

    def local(start, stop, own=False):
        args, keywords = ((inputs.args, kwargs) if own or not changes_arguments
                          else copy.deepcopy((inputs.args, kwargs)))
        return push_forward_columns(jvp, args, keywords, inputs, has_aux, start, stop, start == 0)

    chunks = _Chunks(executor, "jacfwd", name, local)
    held = None
    results = []
    lite = types.SimpleNamespace(treedefs=list(inputs.treedefs), leaves=inputs.leaves)
    output = aux = out_leaves = out_treedef = None

    def collect(result, stop):
        nonlocal output, aux, out_leaves, out_treedef
        if not results:
            output, aux = result[0] if has_aux else (result[0], None)
            out_leaves, out_treedef = calling._output_leaves(output)
            n_out = sum(leaf.size for leaf in out_leaves)
            jacobian_bytes = budget._jacobian_bytes(n_out, inputs)
            if jacobian_bytes > budget.get_memory_budget():
                raise errors.jacobian_too_large_error("jacfwd", name, n_out, total, jacobian_bytes,
                                                      budget.get_memory_budget())
        results.append(result[1])
        report(stop, total)

    try:
        remote = bounds[:last] if changes_arguments else bounds
        if _in_process(executor):
            futures = [chunks.submit(local, start, stop) for start, stop in remote]
        else:
            transform, fixed = _transform_of(compiled, "jacfwd", name)
            source, function, arrays = _source_of(transform, "jacfwd", name)
            shipment = Shipment(source, function, arrays, (inputs.args, kwargs, lite, has_aux, fixed))
            sent, held = _scattered(executor, shipment)
            futures = [chunks.submit(shipped_forward_task, sent, start, stop) for start, stop in remote]
        for (start, stop), future in zip(remote, futures, strict=True):
            collect(chunks.result(future, start, stop), stop)
        if changes_arguments:
            start, stop = bounds[last]
            collect(local(start, stop, own=True), stop)
    except MemoryError as error:
        if isinstance(error, errors.MemoryBudgetError):
            raise
        n_out = None if out_leaves is None else sum(leaf.size for leaf in out_leaves)
        raise errors.out_of_memory_error("jacfwd", name, n_out, total, chunk, error) from None
    finally:
        chunks.close()
        if held is not None:
            held.release()
    chunks.warn_reruns()
    return output, aux, out_leaves, out_treedef, results
