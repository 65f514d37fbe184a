"""Data-parallel training over Open MPI, without mpi4py (docs/distributed.md).

    import bigmodel as bm
    comm = bm.distributed.mpi()        # initializes MPI when nothing else did
    bm.set_num_threads(1)              # threads per rank x ranks <= cores
    model = ...                        # the same model on every rank
    bm.distributed.attach(model, comm) # fit is now data-parallel
    model.fit(x, y, batch_size=32)     # batch per rank; progress on rank 0 only
    if comm.rank == 0:
        model.save("model.bgm")

and run it with ``mpirun -np 2 python3 train.py``. The communicator comes from
libbigmodel-mpi (built next to libbigmodel.so when mpicc is found): the
folder of the loaded libbigmodel, else the system loader, or
$BIGMODEL_MPI_LIBRARY. MPI is finalized when the communicator is closed, at the
latest when the interpreter exits.
"""
import atexit
import ctypes
import os

from . import _lib
from ._handle import Handle
from ._lib import lib, c_int, PH, raise_for_status
from .errors import UnsupportedError

__all__ = ["Communicator", "mpi", "attach", "detach"]

ABORT_ON_ERROR = 1  # BGM_MPI_ABORT_ON_ERROR

_mpi = None        # the loaded libbigmodel-mpi
_open = []         # communicators to close at exit (they finalize MPI)


def _mpi_library():
    """libbigmodel-mpi, loaded once with its symbols global (Open MPI's plugins
    need libmpi's), or UnsupportedError saying where it was looked for."""
    global _mpi
    if _mpi is not None:
        return _mpi
    override = os.environ.get("BIGMODEL_MPI_LIBRARY")
    paths = [override] if override else [
        os.path.join(os.path.dirname(lib.path), "libbigmodel-mpi.so"),
        "libbigmodel-mpi.so.%d" % _lib.ABI_MAJOR]
    tried = []
    for path in paths:
        try:
            cdll = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError as exc:
            tried.append("%s: %s" % (path, exc))
            continue
        fn = cdll.bgm_mpi_comm_create_world
        fn.argtypes, fn.restype, fn.errcheck = [PH, c_int], c_int, raise_for_status
        _mpi = cdll
        return cdll
    raise UnsupportedError("bigmodel.distributed needs libbigmodel-mpi (built by `make` "
                           "when mpicc is found; `make deps` installs Open MPI). Tried: "
                           + "; ".join(tried))


class Communicator(Handle):
    """The ranks of one data-parallel job (a bgm_comm handle)."""

    _free_fn, _counter, _what = "bgm_comm_free", "comm", "communicator"

    @property
    def rank(self):
        return lib.bgm_comm_rank(self._h)

    @property
    def size(self):
        return lib.bgm_comm_num_ranks(self._h)

    def barrier(self):
        """Returns once every rank has called it."""
        lib.bgm_comm_barrier(self._h)

    def average(self, tensors):
        """Replaces each float32 Tensor of the list by its mean over the ranks, with
        one all-reduce (a custom loop's gradients, after GradientTape.gradient)."""
        lib.bgm_comm_average(self._h, _lib.tensor_array(tensors), len(tensors))

    def broadcast(self, tensors, root=0):
        """Copies root's Tensors of the list into every other rank's (e.g. rank 0's
        trainable weights before a custom loop)."""
        lib.bgm_comm_broadcast_tensors(self._h, _lib.tensor_array(tensors), len(tensors),
                                       int(root))


def mpi(abort_on_error=False):
    """A Communicator over MPI_COMM_WORLD, initializing MPI when nothing else did.
    abort_on_error: a rank that fails alone in fit ends the job (MPI_Abort)
    instead of leaving the others waiting for it. With the environment variable
    BIGMODEL_MPI_TIMEOUT (seconds) set when it is made, a collective the other
    ranks do not answer within that time fails (fit raises FileIOError, "no answer
    from the other ranks"): under `mpirun --enable-recovery` the survivors of a
    dead rank end with that error (docs/distributed.md)."""
    comm = Communicator()
    comm._make(_mpi_library().bgm_mpi_comm_create_world,
               ABORT_ON_ERROR if abort_on_error else 0)
    _open.append(comm)
    return comm


def attach(model, comm):
    """Makes every fit of model data-parallel over comm (which the model keeps
    alive); every rank must attach the same model."""
    lib.bgm_model_set_comm(model._h, comm._h)
    model._comm = comm


def detach(model):
    """Makes model's fits single-process again."""
    lib.bgm_model_set_comm(model._h, None)
    model._comm = None


@atexit.register
def _close_at_exit():
    # Registered after the package's own exit hook, so it runs before it: the
    # communicators are still freed (and MPI finalized) as the process ends.
    while _open:
        _open.pop().close()

