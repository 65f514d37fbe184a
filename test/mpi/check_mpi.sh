#!/bin/sh
# make check-mpi: test/mpi/fit_mpi.c over 2 Open MPI processes on this
# machine: the equivalence run, then the mismatch run. Skipped, saying why,
# without mpirun. As root Open MPI wants --allow-run-as-root; in containers
# the shared-memory transport's single-copy mechanism (CMA) is often denied
# (no ptrace between the ranks), so it copies through a buffer instead; the
# OMPI_MCA_* below keep the ranks on this machine (docs/distributed.md).
set -eu
prog=$1
mpirun=${2:-}
if [ -z "$mpirun" ]; then
    echo "check-mpi: SKIPPED: no mpirun on PATH (make deps installs openmpi-bin)"
    exit 0
fi
OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
OMPI_MCA_rmaps_base_oversubscribe=1
OMPI_MCA_plm_rsh_agent=${OMPI_MCA_plm_rsh_agent:-false}
export OMPI_MCA_btl OMPI_MCA_btl_vader_single_copy_mechanism OMPI_MCA_rmaps_base_oversubscribe \
    OMPI_MCA_plm_rsh_agent
run() {
    timeout 120 "$mpirun" --allow-run-as-root --oversubscribe -np 2 "$prog" "$@"
}
run
run buckets
BIGMODEL_MPI_TIMEOUT=60 run   # every collective non-blocking, polled
run mismatch
# A rank killed mid-training: Open MPI 4.1 ends the job (no hang: the time is
# bounded), and the checkpoint rank 0 wrote before loads.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
start=$(date +%s)
if timeout 60 "$mpirun" --allow-run-as-root --oversubscribe -np 2 "$prog" kill "$dir" \
        > "$dir/log" 2>&1; then
    cat "$dir/log"; echo "check-mpi: FAIL: the job with a killed rank exited 0"; exit 1
else
    rc=$?
fi
if [ "$rc" -eq 124 ]; then
    cat "$dir/log"; echo "check-mpi: FAIL: the job with a killed rank hung (60 s)"; exit 1
fi
echo "check-mpi: rank 1 killed itself mid-training: mpirun ended the job in" \
    "$(( $(date +%s) - start )) s (exit $rc)"
timeout 60 "$mpirun" --allow-run-as-root -np 1 "$prog" load "$dir/ckpt.bgm"
# The same under --enable-recovery, which keeps the job alive without rank 1:
# rank 0's collectives give up after BIGMODEL_MPI_TIMEOUT and fit fails with
# the library's error (mpirun itself then exits 0, whatever the ranks did).
rm -f "$dir/ckpt.bgm"
start=$(date +%s)
BIGMODEL_MPI_TIMEOUT=2 timeout 60 "$mpirun" --allow-run-as-root --oversubscribe \
    --enable-recovery -np 2 "$prog" kill "$dir" > "$dir/log" 2>&1 || true
took=$(( $(date +%s) - start ))
if ! grep -q "rank 0: rank 1 died; fit failed: .*no answer from the other ranks within 2 s" \
        "$dir/log" || [ "$took" -gt 30 ]; then
    cat "$dir/log"; echo "check-mpi: FAIL: rank 0 did not end with the timeout's error" \
        "within 30 s (took $took s)"; exit 1
fi
grep "rank 0: rank 1 died" "$dir/log"
echo "check-mpi: under --enable-recovery rank 0 survived rank 1's death and its fit" \
    "failed with the communicator's timeout (BIGMODEL_MPI_TIMEOUT=2); it ended in $took s"
timeout 60 "$mpirun" --allow-run-as-root -np 1 "$prog" load "$dir/ckpt.bgm"
echo "check-mpi: 2 ranks x batch 32 trained as 1 x batch 64 (Sequential and functional," \
    "2 accumulated batches of 16, synchronized BatchNormalization; AUC, MSE, MAE and R2" \
    "in the history; train_on_batch, and synchronized BatchNormalization in" \
    "train_on_batch and a custom loop);" \
    "a mismatched rank was refused; a killed rank ended the job and left a checkpoint that loads;" \
    "with one bucket per weight reduced during backward, and with a timeout, the same;" \
    "a survivor of a killed rank failed with the timeout's error"
