/*
 * The features and targets given to fit, evaluate and the *_on_batch
 * functions, checked against the model: one tensor per input and per
 * output, each of the right type and shape, all of one sample count.
 * Messages name each tensor the way the caller passed it.
 */
#include "train/train.h"

#include <stdio.h>
#include <string.h>

void bgm__arrays_free(bgm__arrays *a)
{
    int j;
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
