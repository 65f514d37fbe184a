/* Gradient clipping by global norm, per-tensor norm and value. */
#include "clip.h"

#include <math.h>

#include "core/error.h"
#include "kernels/optim_kernels.h"

/* torch.nn.utils.clip_grad_norm_ adds this to the norm before dividing. */
#define BGM__CLIP_NORM_EPS 1e-6

double bgm__grad_global_norm(bgm_tensor *const *grads, int n)
{
    double sum = 0.0;
    int i;
    for (i = 0; i < n; i++)
        sum += bgm__sum_squares(bgm_tensor_data(grads[i]), bgm_tensor_numel(grads[i]));
    return sqrt(sum);
}

double bgm__clip_global_norm(bgm_tensor *const *grads, int n, float max_norm)
{
    double norm = bgm__grad_global_norm(grads, n);
    double coef = (double)max_norm / (norm + BGM__CLIP_NORM_EPS);
    int i;
    if (coef < 1.0)
        for (i = 0; i < n; i++)
            bgm__scale_inplace(bgm_tensor_data(grads[i]), bgm_tensor_numel(grads[i]),
                               (float)coef);
    return norm;
}

void bgm__clip_each_norm(bgm_tensor *const *grads, int n, float max_norm)
{
    int i;
    for (i = 0; i < n; i++) {
        float *g = bgm_tensor_data(grads[i]);
        int64_t count = bgm_tensor_numel(grads[i]);
        double norm = sqrt(bgm__sum_squares(g, count));
        if (norm > max_norm)
            bgm__scale_inplace(g, count, (float)(max_norm / norm));
    }
}

void bgm__clip_each_value(bgm_tensor *const *grads, int n, float clip)
{
    int i;
    for (i = 0; i < n; i++)
        bgm__clip_values(bgm_tensor_data(grads[i]), bgm_tensor_numel(grads[i]), clip);
}

static bgm_status check_grads(const char *func, bgm_tensor *const *grads, int n,
                              const char *limit_name, float limit)
{
    int i;
    BGM__CHECK_NULL(grads, func);
    if (n < 0)
        return bgm__fail(BGM_E_INVALID, "%s: n = %d must be >= 0", func, n);
    if (!(limit > 0.0f) || !isfinite(limit))
        return bgm__fail(BGM_E_INVALID, "%s: %s %g must be finite and > 0", func,
                         limit_name, limit);
    for (i = 0; i < n; i++) {
        if (!grads[i])
            return bgm__fail(BGM_E_INVALID, "%s: grads[%d] is NULL", func, i);
        if (bgm_tensor_dtype(grads[i]) != BGM_FLOAT32)
            return bgm__fail(BGM_E_DTYPE, "%s: grads[%d] is not float32", func, i);
    }
    return BGM_OK;
}

BGM_API bgm_status bgm_clip_grad_norm(double *total_norm_out, bgm_tensor *const *grads,
                                      int n, float max_norm)
{
    static const char *fn = "bgm_clip_grad_norm";
    bgm_status st;
    double norm;
    if (total_norm_out)
        *total_norm_out = 0.0;
    if ((st = check_grads(fn, grads, n, "max_norm", max_norm)) != BGM_OK)
        return st;
    norm = bgm__clip_global_norm(grads, n, max_norm);
    if (total_norm_out)
        *total_norm_out = norm;
    return BGM_OK;
}

BGM_API bgm_status bgm_clip_grad_value(bgm_tensor *const *grads, int n, float clip)
{
    static const char *fn = "bgm_clip_grad_value";
    bgm_status st;
    if ((st = check_grads(fn, grads, n, "clip", clip)) != BGM_OK)
        return st;
    bgm__clip_each_value(grads, n, clip);
    return BGM_OK;
}
