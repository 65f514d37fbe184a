/*
 * bigmodel/mpi.h — a communicator over MPI, from libbigmodel-mpi.
 *
 * Not part of <bigmodel.h>, nor of libbigmodel.so, which links no MPI: a
 * program that trains over MPI includes this header and links
 * libbigmodel-mpi (`pkg-config --cflags --libs bigmodel-mpi`), built when
 * the build machine has mpicc (Open MPI 4.1 on Debian: openmpi-bin,
 * libopenmpi-dev). docs/distributed.md shows a whole program.
 */
#ifndef BIGMODEL_MPI_H
#define BIGMODEL_MPI_H

#include <mpi.h>

#include "distributed.h"

#ifdef __cplusplus
extern "C" {
#endif

/** bgm_mpi_comm_create flag: a rank that fails alone in fit ends the job
 *  (MPI_Abort) rather than leave the other ranks waiting for it. */
#define BGM_MPI_ABORT_ON_ERROR 1

/**
 * New communicator over the ranks of comm (MPI_COMM_WORLD, or a caller's
 * communicator). It works on a duplicate of comm (MPI_Comm_dup, a collective
 * call: every rank of comm calls this together), so its messages never mix
 * with the caller's, and sets MPI_ERRORS_RETURN on that duplicate: an MPI
 * error in its calls comes back as BGM_E_IO with MPI's text, never as an
 * abort of the process (with flags 0 nothing here calls MPI_Abort; with
 * BGM_MPI_ABORT_ON_ERROR see above). MPI must be initialized (MPI_Init or
 * MPI_Init_thread; MPI_THREAD_FUNNELED is enough: only the thread calling fit
 * calls MPI) and finalized only after bgm_comm_free. Free with bgm_comm_free.
 * Errors: BGM_E_INVALID (NULL out, MPI_COMM_NULL, unknown flags), BGM_E_STATE
 * (MPI not initialized, or already finalized), BGM_E_IO (an MPI call
 * failed), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_mpi_comm_create(bgm_comm **out, MPI_Comm comm, int flags);

/*
 * bgm_mpi_comm_create and bgm_mpi_comm_create_world take the timeout of
 * their collectives from the environment variable BIGMODEL_MPI_TIMEOUT
 * (seconds; unset, empty or 0: none, MPI's own blocking calls). With a
 * timeout every collective is started non-blocking and polled with
 * MPI_Test: when the other ranks have not answered within it (a rank died
 * under `mpirun --enable-recovery`, or hangs), the call fails, and fit with
 * it, with BGM_E_IO and "no answer from the other ranks within N s"; the
 * communicator then refuses every later collective (the unfinished one
 * cannot be cancelled) and bgm_comm_free leaves its MPI communicator
 * alone. Pick it well above the longest pause between two collectives of
 * a healthy run (an epoch's validation, a slow checkpoint): ranks that
 * wait for a slow one count as waiting. A value that is not a number >= 0
 * fails the create with BGM_E_INVALID.
 */

/**
 * bgm_mpi_comm_create with a timeout of timeout_s seconds (0: none) instead
 * of BIGMODEL_MPI_TIMEOUT's. Errors: as bgm_mpi_comm_create; BGM_E_INVALID
 * for a negative or non-finite timeout_s.
 */
BGM_API bgm_status bgm_mpi_comm_create_timeout(bgm_comm **out, MPI_Comm comm, int flags,
                                               double timeout_s);

/**
 * bgm_mpi_comm_create over MPI_COMM_WORLD for programs and bindings that use
 * MPI only through this library (Python's bigmodel.distributed): initializes
 * MPI first when it is not (MPI_Init_thread, MPI_THREAD_FUNNELED, no
 * arguments), and then bgm_comm_free of this communicator finalizes it, so
 * free it last (MPI cannot be initialized twice in one process). Errors: as
 * bgm_mpi_comm_create; BGM_E_IO when MPI fails to initialize.
 */
BGM_API bgm_status bgm_mpi_comm_create_world(bgm_comm **out, int flags);

#ifdef __cplusplus
}
#endif

#endif
