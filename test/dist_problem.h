/* The data-parallel equivalence problem, shared by the in-process suite
 * (test_distributed.c, ranks as threads) and the Open MPI program
 * (test/mpi/fit_mpi.c): a small classifier fitted for 20 steps, whose
 * weights and history after a fit on N ranks with batch 64 / N must equal a
 * single process's with batch 64. Plain status-returning C, no Check. */
#ifndef BGM_TEST_DIST_PROBLEM_H
#define BGM_TEST_DIST_PROBLEM_H

#include <stddef.h>

#include "bigmodel.h"

/* Samples of the problem: 20 steps of 64 in 2 epochs. */
#define BGM_DIST_SAMPLES 640
#define BGM_DIST_GLOBAL_BATCH 64
#define BGM_DIST_EPOCHS 2

/* Training and validation data (the same on every rank); free with
 * bgm_test_dist_data_free. */
typedef struct bgm_test_dist_data {
    bgm_tensor *x, *y, *vx, *vy;
} bgm_test_dist_data;

bgm_status bgm_test_dist_data_make(bgm_test_dist_data *d);
void bgm_test_dist_data_free(bgm_test_dist_data *d);

/* 6 -> hidden relu -> 3 logits, SGD with momentum, sparse cross-entropy,
 * accuracy; no dropout. Ranks pass different seeds on purpose: fit must
 * start every rank from rank 0's weights. */
bgm_status bgm_test_dist_model(bgm_model **out, uint64_t seed, int64_t hidden);

/* The same, or with graph 1 a functional model: the input into a Dense of
 * hidden ReLU units and a Dense of 8 tanh units, concatenated, then 3
 * logits; with graph BGM_DIST_SYNC_BN the Sequential one with a
 * synchronised BatchNormalization (momentum 0.5) after the hidden layer;
 * with BGM_DIST_BN the same, not synchronised. */
#define BGM_DIST_SYNC_BN 2
#define BGM_DIST_BN 3
bgm_status bgm_test_dist_model_of(bgm_model **out, int graph, uint64_t seed, int64_t hidden);

/* allreduce_bucket_bytes of the fits below (0: the default); a test that
 * sets it puts it back to 0. */
extern int64_t bgm_test_dist_bucket_bytes;

/* Fits m on d (shuffled, validation data, silent) with batch batch_size. */
bgm_status bgm_test_dist_fit(bgm_history **h, bgm_model *m, const bgm_test_dist_data *d,
                             int64_t batch_size);

/* The same with k batches per optimizer step (gradient_accumulation_steps)
 * on the first samples samples of d (0: all of them). */
bgm_status bgm_test_dist_fit_k(bgm_history **h, bgm_model *m, const bgm_test_dist_data *d,
                               int64_t batch_size, int k, int64_t samples);

/* The metrics whose state is no sum of counts, on the problem's features:
 * with regression 0 a binary classifier (6 -> hidden ReLU -> 1 sigmoid,
 * binary cross-entropy; AUC, accuracy, precision) fitted on whether
 * x0 + x3 > 0.3, else a regression of 2 outputs (6 -> hidden ReLU -> 2,
 * MSE; MSE, MAE, R²) of x0 - x1 / 2 and 3 + x2 x3. out gets d's features
 * (cloned) with those targets; free it with bgm_test_dist_data_free. */
bgm_status bgm_test_dist_metrics_model(bgm_model **m, int regression, uint64_t seed,
                                       int64_t hidden);
bgm_status bgm_test_dist_metrics_data(bgm_test_dist_data *out, const bgm_test_dist_data *d,
                                      int regression);

/* A custom loop (tape, loss, gradients, optimizer) of 5 steps: step k takes
 * rows [64 k + offset, + rows) of d; with c, rank 0's weights first and the
 * gradients averaged over the ranks (bgm_comm_average). */
bgm_status bgm_test_dist_custom_loop(bgm_model *m, bgm_comm *c, const bgm_test_dist_data *d,
                                     int64_t rows, int64_t offset);

/* 10 train_on_batch calls of m: call k takes rows [64 k + offset, + rows) of
 * d, its loss and accuracy in results[0..2); call bad_call (-1: none) gives
 * the features as targets, which train_on_batch refuses. */
bgm_status bgm_test_dist_batch_loop(bgm_model *m, const bgm_test_dist_data *d, int64_t rows,
                                    int64_t offset, int bad_call, double *results);

/* 0 when a's weights equal b's within rel of the largest of b's weights
 * (|a - b| <= rel * max |b|) and their histories hold the same keys and
 * values within rel (|a - b| <= rel * (|b| + 1e-3)); else 1
 * with what differs in msg. */
int bgm_test_dist_compare(char *msg, size_t size, const bgm_model *a, const bgm_history *ha,
                          const bgm_model *b, const bgm_history *hb, double rel);

#endif
