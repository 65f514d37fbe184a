/* Geometry of sliding windows, checked once for conv and pooling. */
#include "window.h"

#include <stdio.h>

#include "core/error.h"
#include "core/tensor_impl.h"

bgm_status bgm__window_dims(const char *fn, bgm__window *g, const int64_t *nhwc, int64_t kh,
                            int64_t kw, int sh, int sw, bgm_padding padding,
                            const bgm_tensor *kernel, const bgm_tensor *x)
{
    int same = padding == BGM_PADDING_SAME;
    char what[BGM__SHAPE_STR_SIZE + 16], input[BGM__SHAPE_STR_SIZE + 32];
    char shape[BGM__SHAPE_STR_SIZE];
    if (sh < 1 || sw < 1)
        return bgm__fail(BGM_E_INVALID, "%s: strides must be >= 1, got %d x %d", fn, sh,
                         sw);
    if (padding != BGM_PADDING_VALID && padding != BGM_PADDING_SAME)
        return bgm__fail(BGM_E_INVALID, "%s: unknown padding %d (use BGM_PADDING_VALID or "
                         "BGM_PADDING_SAME; CAUSAL is for 1-D convolutions)", fn,
                         (int)padding);
    g->n = nhwc[0];
    g->h = nhwc[1];
    g->w = nhwc[2];
    g->c = nhwc[3];
    g->kh = kh;
    g->kw = kw;
    g->sh = sh;
    g->sw = sw;
    g->oh = bgm__window_out(g->h, kh, sh, same, &g->pad_top);
    g->ow = bgm__window_out(g->w, kw, sw, same, &g->pad_left);
    if (g->oh >= 0 && g->ow >= 0)
        return BGM_OK;
    if (kernel)
        snprintf(what, sizeof what, "kernel %s",
                 bgm__tensor_shape_str(shape, sizeof shape, kernel));
    else
        snprintf(what, sizeof what, "pool %lldx%lld", (long long)kh, (long long)kw);
    if (x)
        snprintf(input, sizeof input, "the input x %s",
                 bgm__tensor_shape_str(shape, sizeof shape, x));
    else
        snprintf(input, sizeof input, "the convolution's output %lldx%lld",
                 (long long)g->h, (long long)g->w);
    return bgm__fail(BGM_E_SHAPE, "%s: %s is larger than %s with VALID padding (use "
                     "BGM_PADDING_SAME or a smaller window)", fn, what, input);
}

bgm_status bgm__window_plan(const char *fn, bgm__window *g, const bgm_tensor *x,
                            int64_t kh, int64_t kw, int sh, int sw, bgm_padding padding,
                            const bgm_tensor *kernel)
{
    char sx[BGM__SHAPE_STR_SIZE];
    if (x->ndim != 4)
        return bgm__fail(BGM_E_SHAPE, "%s: x must be (N, H, W, C), got shape %s", fn,
                         bgm__tensor_shape_str(sx, sizeof sx, x));
    return bgm__window_dims(fn, g, x->shape, kh, kw, sh, sw, padding, kernel, x);
}
