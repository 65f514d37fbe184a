/*
 * The features and targets given to fit, evaluate and the *_on_batch
 * functions, checked against the model: one tensor per input and per
 * output, each of the right type and shape, all of one sample count.
 * Messages name each tensor the way the caller passed it.
 */
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void bgm__arrays_free(bgm__arrays *a)
{
    int j;
    bgm_tensor_free(a->w_own);
    a->w_own = NULL;
    a->w = NULL;
    for (j = 0; j < BGM__MAX_IO; j++) {
        bgm_tensor_free(a->view[j]);
        a->view[j] = NULL;
    }
}

/* "x" for a model of one input, else "xs[i]" (base "x"). */
static const char *x_name(char *buf, size_t size, const bgm_model *m, const char *base, int i)
{
    if (m->ninputs == 1)
        snprintf(buf, size, "%s", base);
    else
        snprintf(buf, size, "%ss[%d]", base, i);
    return buf;
}

/* "y" for a model of one output, else "ys[j] (output 'cls')". */
static const char *y_name(char *buf, size_t size, const bgm_model *m, const char *base, int j)
{
    if (m->noutputs == 1)
        snprintf(buf, size, "%s", base);
    else
        snprintf(buf, size, "%ss[%d] (output '%s')", base, j, m->out_specs[j].name);
    return buf;
}

/* Checks the counts; role is "" or "validation ". */
static bgm_status check_counts(const bgm_model *m, const bgm_tensor *const *xs, int nx,
                               const bgm_tensor *const *ys, int ny, const char *role,
                               const char *fn)
{
    if (!xs || !ys)
        return bgm__fail(BGM_E_INVALID, "%s: argument '%s' is NULL", fn, xs ? "ys" : "xs");
    if (nx != m->ninputs || ny != m->noutputs)
        return bgm__fail(BGM_E_INVALID, "%s: the model has %d input%s and %d output%s, got "
                         "%d %sfeatures and %d %stargets tensor%s", fn, m->ninputs,
                         m->ninputs == 1 ? "" : "s", m->noutputs, m->noutputs == 1 ? "" : "s",
                         nx, role, ny, role, ny == 1 ? "" : "s");
    if (nx > BGM__MAX_IO)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: the model has %d inputs; training and "
                         "evaluating take at most %d", fn, nx, BGM__MAX_IO);
    return BGM_OK;
}

/* BGM_E_SHAPE unless t (called what) holds n samples like first (called first_name). */
static bgm_status check_count(const bgm_tensor *t, const char *what, const bgm_tensor *first,
                              const char *first_name, const char *fn)
{
    char a[BGM__SHAPE_STR_SIZE], b[BGM__SHAPE_STR_SIZE];
    if (bgm_tensor_ndim(t) >= 1 && bgm_tensor_dim(t, 0) == bgm_tensor_dim(first, 0))
        return BGM_OK;
    return bgm__fail(BGM_E_SHAPE, "%s: %s %s and %s %s hold different numbers of samples",
                     fn, first_name,
                     bgm__shape_str(a, sizeof a, bgm_tensor_shape(first), bgm_tensor_ndim(first)),
                     what, bgm__shape_str(b, sizeof b, bgm_tensor_shape(t), bgm_tensor_ndim(t)));
}

bgm_status bgm__arrays_check(bgm__arrays *a, const bgm_model *m, const bgm_tensor *const *xs,
                             int nx, const bgm_tensor *const *ys, int ny, const char *xname,
                             const char *yname, const char *fn)
{
    char first[BGM__KEY_SIZE], what[BGM__KEY_SIZE + 32];
    bgm_status s = check_counts(m, xs, nx, ys, ny,
                                strncmp(xname, "validation", 10) == 0 ? "validation " : "",
                                fn);
    int i;
    memset(a, 0, sizeof *a);
    for (i = 0; s == BGM_OK && i < nx; i++) {
        x_name(what, sizeof what, m, xname, i);
        if (!xs[i])
            return bgm__fail(BGM_E_INVALID, "%s: %s is NULL", fn, what);
        s = bgm__check_input(m, i, fn, what, xs[i]);
        if (s == BGM_OK && i > 0)
            s = check_count(xs[i], what, xs[0], x_name(first, sizeof first, m, xname, 0), fn);
        a->x[i] = xs[i];
    }
    if (s != BGM_OK)
        return s;
    a->n = bgm_tensor_dim(xs[0], 0);
    x_name(first, sizeof first, m, xname, 0);
    for (i = 0; s == BGM_OK && i < ny; i++) {
        bgm_tensor *view = NULL;
        y_name(what, sizeof what, m, yname, i);
        if (!ys[i])
            s = bgm__fail(BGM_E_INVALID, "%s: %s is NULL", fn, what);
        if (s == BGM_OK)
            s = check_count(ys[i], what, xs[0], first, fn);
        if (s == BGM_OK)
            s = bgm__check_targets(m, i, fn, what, ys[i], a->n, &view);
        if (s == BGM_OK && view != ys[i])
            a->view[i] = view;
        a->y[i] = view;
    }
    if (s != BGM_OK)
        bgm__arrays_free(a);
    return s;
}

void bgm__dataset_arrays(const bgm_dataset *ds, const bgm_tensor **xs, int *nx,
                         const bgm_tensor **ys, int *ny)
{
    int i;
    *nx = bgm_dataset_num_feature_tensors(ds);
    *ny = bgm_dataset_num_target_tensors(ds);
    for (i = 0; i < *nx && i < BGM__MAX_IO; i++)
        xs[i] = bgm_dataset_feature_tensor(ds, i);
    for (i = 0; i < *ny && i < BGM__MAX_IO; i++)
        ys[i] = bgm_dataset_target_tensor(ds, i);
}

/* ---- sample and class weights ------------------------------------------------ */

/* Checks Keras' sample_weight sw against the n samples and every output. */
static bgm_status check_sample_weight(const bgm__arrays *a, const bgm_model *m,
                                      const bgm_tensor *sw, const char *wname, const char *fn)
{
    char got[BGM__SHAPE_STR_SIZE], out[BGM__SHAPE_STR_SIZE];
    const float *w;
    int64_t i;
    int wd = bgm_tensor_ndim(sw), j, k;
    if (bgm_tensor_dtype(sw) != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "%s: %s must be float32", fn, wname);
    bgm__shape_str(got, sizeof got, bgm_tensor_shape(sw), wd);
    if (wd < 1 || bgm_tensor_dim(sw, 0) != a->n)
        return bgm__fail(BGM_E_SHAPE, "%s: %s has shape %s, expected one weight per sample, "
                         "(%lld)", fn, wname, got, (long long)a->n);
    for (j = 0; j < m->noutputs; j++) {
        int od;
        const int64_t *os = bgm_node_shape(m->outputs[j], &od);
        int fits = wd - 1 <= od - 1;
        for (k = 1; fits && k < wd; k++)
            fits = bgm_tensor_dim(sw, k) == os[k - 1];
        if (!fits)
            return bgm__fail(BGM_E_SHAPE, "%s: %s has shape %s; for %s %s it must be (%lld) "
                             "or per step, the output's shape without its last dimension",
                             fn, wname, got, m->noutputs == 1 ? "the output" : "output",
                             bgm__batch_shape_str(out, sizeof out, os, od), (long long)a->n);
    }
    w = bgm_tensor_data(sw);
    for (i = 0; i < bgm_tensor_numel(sw); i++)
        if (!isfinite(w[i]))
            return bgm__fail(BGM_E_INVALID, "%s: %s holds %g at flat index %lld; weights must "
                             "be finite", fn, wname, (double)w[i], (long long)i);
    return BGM_OK;
}

/* Class id of target row i of y (n) or (n, C): the value (rounded for
 * floats), or the argmax of a row of C > 1 scores. */
static int64_t class_of(const bgm_tensor *y, int64_t i)
{
    int64_t c = bgm_tensor_ndim(y) == 2 ? bgm_tensor_dim(y, 1) : 1, k, best = 0;
    if (bgm_tensor_dtype(y) == BGM_INT32)
        return ((const int32_t *)bgm_tensor_data(y))[i * c];
    const float *row = (const float *)bgm_tensor_data(y) + i * c;
    if (c == 1)
        return (int64_t)llround(row[0]);
    for (k = 1; k < c; k++)
        if (row[k] > row[best])
            best = k;
    return best;
}

/* Keras' class_weight as per-sample weights in a->w_own. */
static bgm_status class_weights(bgm__arrays *a, const bgm_model *m, const float *cw, int ncw,
                                const char *fn)
{
    char got[BGM__SHAPE_STR_SIZE];
    const bgm_tensor *y = a->y[0];
    int64_t classes, i, c;
    float *w;
    int od, yd = bgm_tensor_ndim(y);
    const int64_t *os = bgm_node_shape(m->outputs[0], &od);
    bgm_status s;
    if (m->noutputs != 1)
        return bgm__fail(BGM_E_INVALID, "%s: class_weight is only supported for models of "
                         "one output (as Keras); this one has %d: use sample_weight", fn,
                         m->noutputs);
    if (yd > 2 || (yd == 2 && bgm_tensor_dtype(y) == BGM_INT32 && bgm_tensor_dim(y, 1) != 1))
        return bgm__fail(BGM_E_SHAPE, "%s: class_weight needs targets of one class per "
                         "sample; y has shape %s (sequence targets take sample_weight)", fn,
                         bgm__shape_str(got, sizeof got, bgm_tensor_shape(y), yd));
    classes = os[od - 1] > 1 ? os[od - 1] : 2;
    if (ncw != classes)
        return bgm__fail(BGM_E_INVALID, "%s: num_class_weights = %d, the output has %lld "
                         "classes", fn, ncw, (long long)classes);
    for (c = 0; c < ncw; c++)
        if (!isfinite(cw[c]))
            return bgm__fail(BGM_E_INVALID, "%s: class_weight[%lld] = %g, weights must be "
                             "finite", fn, (long long)c, (double)cw[c]);
    s = bgm_tensor_zeros(&a->w_own, BGM_FLOAT32, &a->n, 1);
    if (s != BGM_OK)
        return s;
    w = bgm_tensor_data(a->w_own);
    for (i = 0; i < a->n; i++) {
        c = class_of(y, i);
        if (c < 0 || c >= ncw)
            return bgm__fail(BGM_E_RANGE, "%s: sample %lld is of class %lld, class_weight "
                             "holds classes 0 to %d", fn, (long long)i, (long long)c, ncw - 1);
        w[i] = cw[c];
    }
    a->w = a->w_own;
    return BGM_OK;
}

bgm_status bgm__weights_check(bgm__arrays *a, const bgm_model *m, const bgm_tensor *sw,
                              const float *cw, int ncw, const char *wname, const char *fn)
{
    bgm_status s;
    a->w = NULL;
    if (sw && (cw || ncw))
        return bgm__fail(BGM_E_INVALID, "%s: give class_weight or %s, not both (as Keras)",
                         fn, wname);
    if (ncw < 0 || (ncw > 0 && !cw) || (cw && ncw == 0))
        return bgm__fail(BGM_E_INVALID, "%s: num_class_weights = %d with class_weight %s", fn,
                         ncw, cw ? "given" : "NULL");
    if (cw)
        return class_weights(a, m, cw, ncw, fn);
    if (!sw)
        return BGM_OK;
    s = check_sample_weight(a, m, sw, wname, fn);
    if (s == BGM_OK)
        a->w = sw;
    return s;
}
