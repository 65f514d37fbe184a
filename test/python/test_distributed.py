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


def test_two_accumulated_batches_of_32_fit_as_batches_of_64():
    np = pytest.importorskip("numpy")
    mpi_fit = pytest.importorskip("mpi_fit")  # its problem, without mpirun
    x, y = mpi_fit.data()
    x, y = x[:608], y[:608]  # the last step of each epoch: 32 samples
    ref, m = mpi_fit.model(3), mpi_fit.model(3)
    href = ref.fit(x, y, batch_size=64, epochs=2, verbose=0)
    h = m.fit(x, y, batch_size=32, epochs=2, verbose=0, gradient_accumulation_steps=2)
    scale = max(float(np.abs(w).max()) for w in ref.get_weights())
    for a, b in zip(m.get_weights(), ref.get_weights()):
        assert np.abs(a - b).max() <= 1e-5 * scale
    assert np.allclose(h.history["loss"], href.history["loss"], rtol=1e-5)
    assert h.history["loss"][1] < h.history["loss"][0]
    assert m.optimizer.iterations == 20


@pytest.mark.parametrize("option, value", [("gradient_accumulation_steps", 0),
                                           ("allreduce_bucket_bytes", -1)])
def test_a_bad_accumulation_or_bucket_size_is_refused(option, value):
    np = pytest.importorskip("numpy")
    m = pytest.importorskip("mpi_fit").model(3)
    x = np.zeros((8, 6), np.float32)
    y = np.zeros(8, np.int32)
    with pytest.raises(bm.InvalidArgumentError, match="%s = %d" % (option, value)):
        m.fit(x, y, epochs=1, verbose=0, **{option: value})
    assert m.optimizer.iterations == 0


def test_synchronized_batch_norm_is_kept_in_configs_and_files(tmp_path):
    m = bm.Sequential([bm.layers.Dense(4), bm.layers.BatchNormalization(synchronized=True),
                       bm.layers.BatchNormalization()], input_shape=(3,))
    m.compile(optimizer="sgd", loss="mse")
    assert m.layers[1].get_config()["synchronized"] is True
    assert m.layers[2].get_config()["synchronized"] is False
    path = str(tmp_path / "m.bgm")
    m.save(path)
    loaded = bm.load_model(path)
    assert [layer.get_config()["synchronized"] for layer in loaded.layers[1:]] == [True, False]
