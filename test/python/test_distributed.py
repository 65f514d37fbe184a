"""bigmodel.distributed: data-parallel fit over Open MPI from Python, without
mpi4py (docs/distributed.md)."""
import os
import shutil
import subprocess
import sys

import pytest

import bindings_path
import bigmodel as bm

HERE = os.path.dirname(os.path.abspath(__file__))
MPI_LIB = os.path.join(os.path.dirname(bm.library_path()), "libbigmodel-mpi.so")
MPIRUN = shutil.which("mpirun")


@pytest.mark.skipif(not MPIRUN, reason="no mpirun on PATH (make deps installs openmpi-bin)")
@pytest.mark.skipif(not os.path.exists(MPI_LIB),
                    reason="no libbigmodel-mpi next to the library (built when mpicc is "
                           "found; the sanitizer build has none)")
def test_two_ranks_of_batch_32_fit_as_one_process_of_batch_64():
    env = dict(os.environ, OMPI_MCA_btl="self,vader",
               OMPI_MCA_btl_vader_single_copy_mechanism="none",
               OMPI_MCA_plm_rsh_agent="false", PYTHONPATH=bindings_path.BINDINGS)
    env.pop("LD_PRELOAD", None)
    result = subprocess.run([MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", "2",
                             sys.executable, os.path.join(HERE, "mpi_fit.py")],
                            cwd=HERE, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    # mpirun forwards each rank's output as it comes: lines may interleave.
    for rank in (0, 1):
        assert "rank %d of 2: OK" % rank in result.stdout, result.stdout


def test_a_missing_mpi_library_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("BIGMODEL_MPI_LIBRARY", "/nonexistent/libbigmodel-mpi.so")
    monkeypatch.setattr(bm.distributed, "_mpi", None)
    with pytest.raises(bm.UnsupportedError, match="needs libbigmodel-mpi.*nonexistent"):
        bm.distributed.mpi()
