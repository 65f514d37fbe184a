/*
 * Zero padding of NHWC images (Keras ZeroPadding2D). The node keeps the four
 * paddings (attr[0..3]: top, bottom, left, right); backward crops the output
 * gradient back to x's shape.
 */
#include <stdint.h>

#include "kernels/zero_pad.h"
#include "tape.h"

static bgm__pad2d geometry(const bgm_tensor *x, const int64_t *pads)
{
    bgm__pad2d g = {x->shape[0], x->shape[1], x->shape[2], x->shape[3],
                    pads[0],     pads[1],     pads[2],     pads[3]};
    return g;
}

static void zero_pad2d_backward(const bgm__node *node, const float *gout, float **gin)
{
    bgm__pad2d g;
    if (!gin[0])
        return;
    g = geometry(node->in[0], node->attr);
    bgm__zero_pad2d_backward(&g, gout, gin[0], (int)(node->fresh & 1));
}

static const bgm__op op_zero_pad2d = {"zero_pad2d", zero_pad2d_backward, 0};

/* d + a + b, or -1 when that overflows (all three are >= 0). */
static int64_t padded(int64_t d, int64_t a, int64_t b)
{
    if (a > INT64_MAX - d || b > INT64_MAX - d - a)
        return -1;
    return d + a + b;
}

BGM_API bgm_status bgm_op_zero_pad2d(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                     int64_t top, int64_t bottom, int64_t left,
                                     int64_t right)
{
    static const char *fn = "bgm_op_zero_pad2d";
    const int64_t pads[4] = {top, bottom, left, right};
    char sx[BGM__SHAPE_STR_SIZE];
    int64_t shape[4];
    bgm__op_call c;
    bgm__pad2d g;
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    bgm__tensor_shape_str(sx, sizeof sx, x);
    if (x->ndim != 4)
        return bgm__fail(BGM_E_SHAPE, "%s: x must be (N, H, W, C), got shape %s", fn, sx);
    if (top < 0 || bottom < 0 || left < 0 || right < 0)
        return bgm__fail(BGM_E_INVALID, "%s: paddings must be >= 0, got top %lld, bottom "
                         "%lld, left %lld, right %lld", fn, (long long)top,
                         (long long)bottom, (long long)left, (long long)right);
    shape[0] = x->shape[0];
    shape[1] = padded(x->shape[1], top, bottom);
    shape[2] = padded(x->shape[2], left, right);
    shape[3] = x->shape[3];
    if (shape[1] < 0 || shape[2] < 0)
        return bgm__fail(BGM_E_SHAPE, "%s: padding x %s by top %lld, bottom %lld, left "
                         "%lld, right %lld overflows", fn, sx, (long long)top,
                         (long long)bottom, (long long)left, (long long)right);
    s = bgm__op_begin(&c, fn, out, tape, &op_zero_pad2d, &x, 1, shape, 4, NULL);
    if (s != BGM_OK)
        return s;
    g = geometry(x, pads);
    bgm__zero_pad2d(&g, x->data, c.out->data);
    if (c.node) {
        int k;
        for (k = 0; k < 4; k++)
            c.node->attr[k] = pads[k];
        c.node->fills_fresh = 1;
    }
    return bgm__op_end(&c, out);
}
