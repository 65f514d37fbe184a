/* Reading class ids out of y_true / y_pred tensors, with the checks every
 * classification metric shares. */
#include "labels.h"

#include <math.h>

#include "core/error.h"
#include "core/tensor_impl.h"

bgm_status bgm__fail_samples(const char *func, const char *name_a, const bgm_tensor *a,
                             const char *name_b, const bgm_tensor *b)
{
    char sa[BGM__SHAPE_STR_SIZE], sb[BGM__SHAPE_STR_SIZE];
    return bgm__fail(BGM_E_SHAPE, "%s: %s has %lld samples (shape %s) but %s has %lld "
                     "(shape %s)", func, name_a, (long long)(a->ndim ? a->shape[0] : 1),
                     bgm__tensor_shape_str(sa, sizeof sa, a), name_b,
                     (long long)(b->ndim ? b->shape[0] : 1),
                     bgm__tensor_shape_str(sb, sizeof sb, b));
}

static bgm_status fail_range_int(const char *func, const char *name, int64_t i, int32_t v,
                                 int num_classes)
{
    if (num_classes > 0)
        return bgm__fail(BGM_E_RANGE, "%s: %s[%lld] = %d is outside [0, %d)", func, name,
                         (long long)i, (int)v, num_classes);
    return bgm__fail(BGM_E_RANGE, "%s: %s[%lld] = %d is negative", func, name,
                     (long long)i, (int)v);
}

static bgm_status check_int_ids(const char *func, const char *name, const int32_t *v,
                                int64_t n, int num_classes)
{
    int64_t i;
    for (i = 0; i < n; i++)
        if (v[i] < 0 || (num_classes > 0 && v[i] >= num_classes))
            return fail_range_int(func, name, i, v[i], num_classes);
    return BGM_OK;
}

static bgm_status check_float_ids(const char *func, const char *name, const float *v,
                                  int64_t n, int num_classes)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        float x = v[i];
        if (!(x >= 0.0f) || x != floorf(x) || x > (float)INT32_MAX / 2)
            return bgm__fail(BGM_E_RANGE, "%s: %s[%lld] = %g is not a class id (a whole "
                             "number >= 0)", func, name, (long long)i, (double)x);
        if (num_classes > 0 && x >= (float)num_classes)
            return fail_range_int(func, name, i, (int32_t)x, num_classes);
    }
    return BGM_OK;
}

/* Fills l from t; is_pred selects how float32 (N,) is read (scores vs ids). */
static bgm_status decode(bgm__labels *l, const char *func, const char *name,
                         const bgm_tensor *t, int num_classes, float threshold, int is_pred)
{
    char sh[BGM__SHAPE_STR_SIZE];
    int64_t cols = t->ndim == 2 ? t->shape[1] : 1;
    l->data = t->data;
    l->n = t->ndim >= 1 ? t->shape[0] : 0;
    l->width = 1;
    l->threshold = threshold;
    if (t->ndim < 1 || t->ndim > 2 || cols == 0)
        return bgm__fail(BGM_E_SHAPE, "%s: %s must have shape (N,), (N, 1) or (N, C), "
                         "got %s", func, name, bgm__tensor_shape_str(sh, sizeof sh, t));
    if (cols >= 2) {
        if (t->dtype != BGM_FLOAT32)
            return bgm__fail(BGM_E_DTYPE, "%s: %s of shape %s is int32, but rows of scores "
                             "or one-hot values must be float32 (int32 class ids have "
                             "shape (N,))", func, name,
                             bgm__tensor_shape_str(sh, sizeof sh, t));
        if ((num_classes > 0 && cols != num_classes) || cols > INT32_MAX)
            return bgm__fail(BGM_E_SHAPE, "%s: %s of shape %s has %lld columns but "
                             "num_classes is %d", func, name,
                             bgm__tensor_shape_str(sh, sizeof sh, t), (long long)cols,
                             num_classes);
        l->mode = BGM__LABELS_ARGMAX;
        l->width = cols;
        return BGM_OK;
    }
    if (t->dtype == BGM_INT32) {
        l->mode = BGM__LABELS_INT;
        return check_int_ids(func, name, t->data, l->n, num_classes);
    }
    if (is_pred) {
        if (num_classes != 0 && num_classes != 2)
            return bgm__fail(BGM_E_SHAPE, "%s: %s of shape %s holds binary scores, but "
                             "num_classes is %d: pass float32 scores of shape (N, %d) or "
                             "int32 class ids", func, name,
                             bgm__tensor_shape_str(sh, sizeof sh, t), num_classes,
                             num_classes);
        l->mode = BGM__LABELS_THRESHOLD;
        return BGM_OK;
    }
    l->mode = BGM__LABELS_FLOAT;
    return check_float_ids(func, name, t->data, l->n, num_classes);
}

bgm_status bgm__labels_true(bgm__labels *t, const char *func, const bgm_tensor *y_true,
                            int num_classes)
{
    return decode(t, func, "y_true", y_true, num_classes, 0.5f, 0);
}

bgm_status bgm__labels_pair(bgm__labels *t, bgm__labels *p, const char *func,
                            const bgm_tensor *y_true, const bgm_tensor *y_pred,
                            int num_classes, float threshold)
{
    bgm_status s;
    if (y_true->ndim >= 1 && y_pred->ndim >= 1 && y_true->shape[0] != y_pred->shape[0])
        return bgm__fail_samples(func, "y_true", y_true, "y_pred", y_pred);
    s = decode(t, func, "y_true", y_true, num_classes, threshold, 0);
    if (s == BGM_OK)
        s = decode(p, func, "y_pred", y_pred, num_classes, threshold, 1);
    return s;
}
