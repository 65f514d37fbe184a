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
run mismatch
echo "check-mpi: 2 ranks x batch 32 trained as 1 x batch 64; a mismatched rank was refused"
