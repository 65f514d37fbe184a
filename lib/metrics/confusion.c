/* The confusion matrix: counts of (true class, predicted class) pairs. */
#include "confusion.h"

#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/tensor_impl.h"

void bgm__confusion_add(int64_t *cm, int num_classes, const bgm__labels *t,
                        const bgm__labels *p)
{
    int64_t i;
    for (i = 0; i < t->n; i++)
        cm[(int64_t)bgm__label_at(t, i) * num_classes + bgm__label_at(p, i)]++;
}

bgm_status bgm__confusion_from_tensors(int64_t **out, const char *func,
                                       const bgm_tensor *y_true, const bgm_tensor *y_pred,
                                       int num_classes)
{
    bgm__labels t, p;
    size_t cells;
    int64_t *cm;
    bgm_status s;
    *out = NULL;
    if (num_classes < 1)
        return bgm__fail(BGM_E_INVALID, "%s: num_classes must be >= 1, got %d", func,
                         num_classes);
    s = bgm__labels_pair(&t, &p, func, y_true, y_pred, num_classes, 0.5f);
    if (s != BGM_OK)
        return s;
    if (!bgm__mul_size((size_t)num_classes, (size_t)num_classes, &cells) ||
        (cm = calloc(cells ? cells : 1, sizeof *cm)) == NULL)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for a %d x %d confusion matrix",
                         func, num_classes, num_classes);
    bgm__confusion_add(cm, num_classes, &t, &p);
    *out = cm;
    return BGM_OK;
}

BGM_API bgm_status bgm_confusion_matrix(bgm_tensor **out, const bgm_tensor *y_true,
                                        const bgm_tensor *y_pred, int num_classes)
{
    static const char func[] = "bgm_confusion_matrix";
    int64_t *cm = NULL, shape[2], i, n;
    int32_t *dst;
    bgm_status s;
    BGM__CHECK_NULL(out, func);
    *out = NULL;
    BGM__CHECK_NULL(y_true, func);
    BGM__CHECK_NULL(y_pred, func);
    n = y_true->ndim ? y_true->shape[0] : 0;
    if (n > INT32_MAX)
        return bgm__fail(BGM_E_RANGE, "%s: %lld samples do not fit int32 counts", func,
                         (long long)n);
    s = bgm__confusion_from_tensors(&cm, func, y_true, y_pred, num_classes);
    if (s != BGM_OK)
        return s;
    shape[0] = shape[1] = num_classes;
    s = bgm__tensor_new(out, func, BGM_INT32, shape, 2);
    if (s == BGM_OK) {
        dst = (*out)->data;
        for (i = 0; i < shape[0] * shape[1]; i++)
            dst[i] = (int32_t)cm[i];
    }
    free(cm);
    return s;
}
