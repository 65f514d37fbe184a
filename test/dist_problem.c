/* The data-parallel equivalence problem (dist_problem.h). */
#include "dist_problem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Three Gaussian blobs in 6-D, label i % 3: n samples from seed. */
static bgm_status blobs(bgm_tensor **x, bgm_tensor **y, int64_t n, uint64_t seed)
{
    bgm_rng *rng = NULL;
    bgm_status s = bgm_rng_create(&rng, seed);
    int64_t i;
    *x = *y = NULL;
    if (s == BGM_OK)
        s = bgm_tensor_randn(x, rng, (int64_t[]){n, 6}, 2, 0.0f, 1.0f);
    if (s == BGM_OK)
        s = bgm_tensor_zeros(y, BGM_INT32, (int64_t[]){n}, 1);
    bgm_rng_free(rng);
    if (s != BGM_OK)
        return s;
    for (i = 0; i < n; i++) {
        float *xv = (float *)bgm_tensor_data(*x) + 6 * i;
        int32_t c = (int32_t)(i % 3);
        ((int32_t *)bgm_tensor_data(*y))[i] = c;
        xv[2 * c] += 1.2f;
        xv[2 * c + 1] -= 1.2f;
    }
    return BGM_OK;
}

bgm_status bgm_test_dist_data_make(bgm_test_dist_data *d)
{
    bgm_status s;
    memset(d, 0, sizeof *d);
    s = blobs(&d->x, &d->y, BGM_DIST_SAMPLES, 11);
    if (s == BGM_OK)
        s = blobs(&d->vx, &d->vy, 96, 12);
    if (s != BGM_OK)
        bgm_test_dist_data_free(d);
    return s;
}

void bgm_test_dist_data_free(bgm_test_dist_data *d)
{
    bgm_tensor_free(d->x);
    bgm_tensor_free(d->y);
    bgm_tensor_free(d->vx);
    bgm_tensor_free(d->vy);
    memset(d, 0, sizeof *d);
}

/* The graph: two branches of hidden and 8 units, concatenated, then 3 logits. */
static bgm_status graph_model(bgm_model **m, uint64_t seed, int64_t hidden)
{
    bgm_graph *g = NULL;
    bgm_node *in = NULL, *a = NULL, *b = NULL, *cat = NULL, *out = NULL;
    bgm_status s = bgm_graph_create(&g);
    if (s == BGM_OK)
        s = bgm_graph_input(&in, g, (int64_t[]){6}, 1, BGM_FLOAT32, "features");
    if (s == BGM_OK)
        s = bgm_layer_call(&a, bgm_layer_dense(hidden, BGM_ACT_RELU), &in, 1);
    if (s == BGM_OK)
        s = bgm_layer_call(&b, bgm_layer_dense(8, BGM_ACT_TANH), &in, 1);
    if (s == BGM_OK)
        s = bgm_layer_call(&cat, bgm_layer_concatenate(-1), (bgm_node *[]){a, b}, 2);
    if (s == BGM_OK)
        s = bgm_layer_call(&out, bgm_layer_dense(3, BGM_ACT_LINEAR), &cat, 1);
    if (s == BGM_OK)
        s = bgm_model_create_graph(m, &in, 1, &out, 1, seed);
    bgm_graph_free(g);
    return s;
}

bgm_status bgm_test_dist_model_of(bgm_model **out, int graph, uint64_t seed, int64_t hidden)
{
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    bgm_status s;
    if (graph == 1) {
        s = graph_model(&m, seed, hidden);
    } else {
        bgm_layer *bn = graph >= BGM_DIST_SYNC_BN ? bgm_layer_batch_norm() : NULL;
        s = bgm_model_create(&m, (int64_t[]){6}, 1, seed);
        if (s == BGM_OK)
            s = bgm_model_add(m, bgm_layer_dense(hidden, BGM_ACT_RELU));
        if (bn) { /* moving statistics that move fast enough to compare */
            if (s == BGM_OK)
                s = bgm_layer_set_synchronized(bn, graph == BGM_DIST_SYNC_BN);
            if (s == BGM_OK)
                s = bgm_layer_set_momentum(bn, 0.5f);
            if (s == BGM_OK)
                s = bgm_model_add(m, bn); /* takes bn */
            else
                bgm_layer_free(bn);
        }
        if (s == BGM_OK)
            s = bgm_model_add(m, bgm_layer_dense(3, BGM_ACT_LINEAR));
    }
    if (s == BGM_OK)
        s = bgm_optimizer_sgd(&o, 0.05f, 0.9f, 0);
    if (s == BGM_OK)
        s = bgm_model_compile(m, o, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                              (bgm_metric_kind[]){BGM_METRIC_ACCURACY}, 1);
    if (s != BGM_OK) {
        bgm_model_free(m);
        m = NULL;
    }
    *out = m;
    return s;
}

int64_t bgm_test_dist_bucket_bytes = 0;

bgm_status bgm_test_dist_metrics_model(bgm_model **out, int regression, uint64_t seed,
                                       int64_t hidden)
{
    static const bgm_metric_kind cls[] = {BGM_METRIC_AUC, BGM_METRIC_ACCURACY,
                                          BGM_METRIC_PRECISION};
    static const bgm_metric_kind reg[] = {BGM_METRIC_MSE, BGM_METRIC_MAE, BGM_METRIC_R2};
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    bgm_status s = bgm_model_create(&m, (int64_t[]){6}, 1, seed);
    if (s == BGM_OK)
        s = bgm_model_add(m, bgm_layer_dense(hidden, BGM_ACT_RELU));
    if (s == BGM_OK)
        s = bgm_model_add(m, bgm_layer_dense(regression ? 2 : 1,
                                             regression ? BGM_ACT_LINEAR : BGM_ACT_SIGMOID));
    if (s == BGM_OK)
        s = bgm_optimizer_sgd(&o, 0.05f, 0.9f, 0);
    if (s == BGM_OK)
        s = bgm_model_compile(m, o, regression ? BGM_LOSS_MSE : BGM_LOSS_BINARY_CROSSENTROPY,
                              0, regression ? reg : cls, 3);
    if (s != BGM_OK) {
        bgm_model_free(m);
        m = NULL;
    }
    *out = m;
    return s;
}

/* The targets of bgm_test_dist_metrics_data for the features x. */
static bgm_status metric_targets(bgm_tensor **y, const bgm_tensor *x, int regression)
{
    int64_t n = bgm_tensor_dim(x, 0), cols = regression ? 2 : 1, i;
    const float *xv = bgm_tensor_data(x);
    bgm_status s = bgm_tensor_zeros(y, BGM_FLOAT32, (int64_t[]){n, cols}, 2);
    float *yv = s == BGM_OK ? bgm_tensor_data(*y) : NULL;
    for (i = 0; yv && i < n; i++) {
        const float *r = xv + 6 * i;
        if (regression) {
            yv[2 * i] = r[0] - 0.5f * r[1];
            yv[2 * i + 1] = 3.0f + r[2] * r[3];
        } else {
            yv[i] = r[0] + r[3] > 0.3f ? 1.0f : 0.0f;
        }
    }
    return s;
}

bgm_status bgm_test_dist_metrics_data(bgm_test_dist_data *out, const bgm_test_dist_data *d,
                                      int regression)
{
    bgm_status s;
    memset(out, 0, sizeof *out);
    s = bgm_tensor_clone(&out->x, d->x);
    if (s == BGM_OK)
        s = bgm_tensor_clone(&out->vx, d->vx);
    if (s == BGM_OK)
        s = metric_targets(&out->y, d->x, regression);
    if (s == BGM_OK)
        s = metric_targets(&out->vy, d->vx, regression);
    if (s != BGM_OK)
        bgm_test_dist_data_free(out);
    return s;
}

/* A custom loop (tape, loss, gradients, optimizer) of 5 steps: step k takes
 * rows [64 k + offset, + rows) of the problem's data; with c, rank 0's
 * weights first and the gradients averaged over the ranks. */
bgm_status bgm_test_dist_custom_loop(bgm_model *m, bgm_comm *c, const bgm_test_dist_data *d,
                              int64_t rows, int64_t offset)
{
    bgm_tensor *const *params = NULL;
    bgm_tensor *grads[8], *xb = NULL, *yb = NULL, *pred = NULL, *loss = NULL;
    bgm_tape *tape = NULL;
    int n = 0, k;
    bgm_status s = bgm_tape_create(&tape);
    if (s == BGM_OK)
        s = bgm_model_trainable_params(&params, &n, m);
    if (s == BGM_OK && c)
        s = bgm_comm_broadcast_tensors(c, params, n, 0);
    for (k = 0; s == BGM_OK && k < 5; k++) {
        int64_t at = 64 * k + offset;
        s = bgm_tensor_slice(&xb, d->x, at, at + rows);
        if (s == BGM_OK)
            s = bgm_tensor_slice(&yb, d->y, at, at + rows);
        if (s == BGM_OK)
            s = bgm_tape_reset(tape);
        if (s == BGM_OK)
            s = bgm_model_forward(&pred, m, tape, xb, 1);
        if (s == BGM_OK)
            s = bgm_model_compute_loss(&loss, m, tape, yb, pred);
        if (s == BGM_OK)
            s = bgm_tape_gradient(tape, loss, params, n, grads);
        if (s == BGM_OK && c)
            s = bgm_comm_average(c, grads, n);
        if (s == BGM_OK)
            s = bgm_optimizer_step(bgm_model_optimizer(m), params, grads, n);
        bgm_tensor_free(xb);
        bgm_tensor_free(yb);
        xb = yb = NULL;
    }
    bgm_tape_free(tape);
    return s;
}

bgm_status bgm_test_dist_batch_loop(bgm_model *m, const bgm_test_dist_data *d, int64_t rows,
                                    int64_t offset, int bad_call, double *results)
{
    bgm_tensor *xb = NULL, *yb = NULL;
    bgm_status s = BGM_OK;
    int k;
    for (k = 0; s == BGM_OK && k < BGM_DIST_SAMPLES / BGM_DIST_GLOBAL_BATCH; k++) {
        int64_t at = BGM_DIST_GLOBAL_BATCH * k + offset;
        s = bgm_tensor_slice(&xb, d->x, at, at + rows);
        if (s == BGM_OK)
            s = bgm_tensor_slice(&yb, d->y, at, at + rows);
        if (s == BGM_OK)
            s = bgm_model_train_on_batch(results, 2, m, xb, k == bad_call ? xb : yb);
        bgm_tensor_free(xb);
        bgm_tensor_free(yb);
        xb = yb = NULL;
    }
    return s;
}

bgm_status bgm_test_dist_fit(bgm_history **h, bgm_model *m, const bgm_test_dist_data *d,
                             int64_t batch_size)
{
    return bgm_test_dist_fit_k(h, m, d, batch_size, 1, 0);
}

bgm_status bgm_test_dist_fit_k(bgm_history **h, bgm_model *m, const bgm_test_dist_data *d,
                               int64_t batch_size, int k, int64_t samples)
{
    bgm_tensor *x = NULL, *y = NULL;
    bgm_fit_options o;
    bgm_status s = bgm_fit_options_init(&o, sizeof o);
    if (s != BGM_OK)
        return s;
    o.epochs = BGM_DIST_EPOCHS;
    o.batch_size = batch_size;
    o.verbose = 0;
    o.validation_x = d->vx;
    o.validation_y = d->vy;
    o.gradient_accumulation_steps = k;
    o.allreduce_bucket_bytes = bgm_test_dist_bucket_bytes;
    if (samples <= 0)
        return bgm_model_fit(h, m, d->x, d->y, &o);
    s = bgm_tensor_slice(&x, d->x, 0, samples);
    if (s == BGM_OK)
        s = bgm_tensor_slice(&y, d->y, 0, samples);
    if (s == BGM_OK)
        s = bgm_model_fit(h, m, x, y, &o);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    return s;
}

static int close_enough(double a, double b, double rel)
{
    return fabs(a - b) <= rel * (fabs(b) + 1e-3);
}

static int compare_weights(char *msg, size_t size, const bgm_model *a, const bgm_model *b,
                           double rel)
{
    int64_t n = bgm_model_num_params(a), i;
    float *wa, *wb;
    double scale = 0.0;
    int bad = 0;
    if (n != bgm_model_num_params(b)) {
        snprintf(msg, size, "%lld parameters against %lld", (long long)n,
                 (long long)bgm_model_num_params(b));
        return 1;
    }
    wa = malloc((size_t)n * sizeof *wa);
    wb = malloc((size_t)n * sizeof *wb);
    if (!wa || !wb || bgm_model_get_weights(a, wa, n) != BGM_OK ||
        bgm_model_get_weights(b, wb, n) != BGM_OK) {
        snprintf(msg, size, "could not read the weights: %s", bgm_last_error());
        bad = 1;
    }
    /* Relative to the largest weight: ranks sum their shards' gradients in
     * another order than one process, so a weight near 0 differs by a few
     * ulps of the large ones (seen with the reference BLAS). */
    for (i = 0; !bad && i < n; i++)
        scale = fmax(scale, fabs(wb[i]));
    for (i = 0; !bad && i < n; i++)
        if (fabs((double)wa[i] - wb[i]) > rel * scale) {
            snprintf(msg, size, "weight %lld of %lld: %.9g against %.9g", (long long)i,
                     (long long)n, (double)wa[i], (double)wb[i]);
            bad = 1;
        }
    free(wa);
    free(wb);
    return bad;
}

static int compare_histories(char *msg, size_t size, const bgm_history *a,
                             const bgm_history *b, double rel)
{
    int k, e, n = bgm_history_num_epochs(a);
    if (n != bgm_history_num_epochs(b) || bgm_history_num_keys(a) != bgm_history_num_keys(b)) {
        snprintf(msg, size, "histories of %d epochs / %d keys against %d / %d", n,
                 bgm_history_num_keys(a), bgm_history_num_epochs(b), bgm_history_num_keys(b));
        return 1;
    }
    for (k = 0; k < bgm_history_num_keys(a); k++) {
        const char *key = bgm_history_key(a, k);
        const double *va = bgm_history_values(a, key), *vb = bgm_history_values(b, key);
        if (!vb) {
            snprintf(msg, size, "history key '%s' missing", key);
            return 1;
        }
        for (e = 0; e < n; e++)
            if (!close_enough(va[e], vb[e], rel)) {
                snprintf(msg, size, "history '%s' epoch %d: %.9g against %.9g", key, e + 1,
                         va[e], vb[e]);
                return 1;
            }
    }
    return 0;
}

int bgm_test_dist_compare(char *msg, size_t size, const bgm_model *a, const bgm_history *ha,
                          const bgm_model *b, const bgm_history *hb, double rel)
{
    if (compare_weights(msg, size, a, b, rel))
        return 1;
    return compare_histories(msg, size, ha, hb, rel);
}

bgm_status bgm_test_dist_model(bgm_model **out, uint64_t seed, int64_t hidden)
{
    return bgm_test_dist_model_of(out, 0, seed, hidden);
}
