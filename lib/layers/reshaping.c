/* Keras' Reshape, Permute and ZeroPadding2D: same values, another layout. */
#include "layers/layer.h"

#include <string.h>

static bgm_status reshape_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    char a[BGM__SHAPE_STR_SIZE], b[BGM__SHAPE_STR_SIZE];
    int64_t n = 1, known = 1;
    int i, free_axis = -1;
    for (i = 0; i < in->ndim; i++)
        n *= in->d[i];
    for (i = 0; i < l->target_ndim; i++)
        if (l->target[i] == -1)
            free_axis = i;
        else
            known *= l->target[i];
    memcpy(out->d, l->target, (size_t)l->target_ndim * sizeof *out->d);
    out->ndim = l->target_ndim;
    out->dtype = in->dtype;
    if (free_axis >= 0 && known > 0 && n % known == 0)
        out->d[free_axis] = n / known;
    else if (free_axis < 0 && known == n)
        return BGM_OK;
    if (free_axis < 0 || known == 0 || n % known != 0)
        return bgm__layer_fail(l, BGM_E_SHAPE, "cannot reshape input %s (%lld values per "
                               "sample) to %s", bgm__shape_str(a, sizeof a, in->d, in->ndim),
                               (long long)n,
                               bgm__shape_str(b, sizeof b, l->target, l->target_ndim));
    return BGM_OK;
}

static bgm_status reshape_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                  bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                  bgm_tensor **y)
{
    int64_t shape[BGM_MAX_DIMS];
    memcpy(shape + 1, l->out_shape, (size_t)l->out_ndim * sizeof *shape);
    shape[0] = bgm_tensor_dim(x[0], 0);
    return bgm_op_reshape(y, ctx->tape, x[0], shape, l->out_ndim + 1);
}

static bgm_status permute_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    char a[BGM__SHAPE_STR_SIZE];
    int i;
    if (in->ndim != l->target_ndim)
        return bgm__layer_fail(l, BGM_E_SHAPE, "permutes %d axes, but its input %s has %d",
                               l->target_ndim, bgm__shape_str(a, sizeof a, in->d, in->ndim),
                               in->ndim);
    for (i = 0; i < in->ndim; i++)
        out->d[i] = in->d[l->perm[i] - 1];
    out->ndim = in->ndim;
    out->dtype = in->dtype;
    return BGM_OK;
}

static bgm_status permute_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                  bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                  bgm_tensor **y)
{
    int perm[BGM_MAX_DIMS], i;
    perm[0] = 0;
    for (i = 0; i < l->target_ndim; i++)
        perm[i + 1] = l->perm[i];
    return bgm_op_permute(y, ctx->tape, x[0], perm, l->target_ndim + 1);
}

static bgm_status zero_padding_build(bgm_layer *l, const bgm__shape *in, int nin,
                                     bgm__shape *out)
{
    char a[BGM__SHAPE_STR_SIZE];
    if (in->ndim != 3)
        return bgm__layer_fail(l, BGM_E_SHAPE, "expected input of 3 dimensions (height, "
                               "width, channels), got %s",
                               bgm__shape_str(a, sizeof a, in->d, in->ndim));
    bgm__same_shape(in, out);
    out->d[0] += l->pad[0] + l->pad[1];
    out->d[1] += l->pad[2] + l->pad[3];
    return BGM_OK;
}

static bgm_status zero_padding_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                       bgm_tensor *const *w, const bgm_tensor *const *x,
                                       int nx, bgm_tensor **y)
{
    return bgm_op_zero_pad2d(y, ctx->tape, x[0], l->pad[0], l->pad[1], l->pad[2], l->pad[3]);
}

BGM_API bgm_layer *bgm_layer_reshape(const int64_t *shape, int ndim)
{
    static const char *fn = "bgm_layer_reshape";
    bgm_layer *l;
    int i, free_axes = 0;
    if (!shape || ndim < 1 || ndim >= BGM_MAX_DIMS) {
        bgm__fail(BGM_E_INVALID, "%s: %s", fn, !shape ? "argument 'shape' is NULL"
                  : "ndim must be from 1 to 7");
        return NULL;
    }
    for (i = 0; i < ndim; i++) {
        free_axes += shape[i] == -1;
        if ((shape[i] < 1 && shape[i] != -1) || free_axes > 1) {
            bgm__fail(BGM_E_INVALID, "%s: entry %d is %lld; entries are at least 1, and one "
                      "may be -1", fn, i, (long long)shape[i]);
            return NULL;
        }
    }
    l = bgm__layer_new(&bgm__reshape_ops, fn);
    if (l) {
        memcpy(l->target, shape, (size_t)ndim * sizeof *shape);
        l->target_ndim = ndim;
    }
    return l;
}

BGM_API bgm_layer *bgm_layer_permute(const int *dims, int ndim)
{
    static const char *fn = "bgm_layer_permute";
    int seen[BGM_MAX_DIMS] = {0}, i;
    bgm_layer *l;
    if (!dims || ndim < 1 || ndim >= BGM_MAX_DIMS) {
        bgm__fail(BGM_E_INVALID, "%s: %s", fn, !dims ? "argument 'dims' is NULL"
                  : "ndim must be from 1 to 7");
        return NULL;
    }
    for (i = 0; i < ndim; i++) {
        if (dims[i] < 1 || dims[i] > ndim || seen[dims[i] - 1]++) {
            bgm__fail(BGM_E_INVALID, "%s: dims must be a permutation of 1..%d (the batch "
                      "axis is not counted); entry %d is %d", fn, ndim, i, dims[i]);
            return NULL;
        }
    }
    l = bgm__layer_new(&bgm__permute_ops, fn);
    if (l) {
        memcpy(l->perm, dims, (size_t)ndim * sizeof *dims);
        l->target_ndim = ndim;
    }
    return l;
}

BGM_API bgm_layer *bgm_layer_zero_padding2d(int64_t top, int64_t bottom, int64_t left,
                                            int64_t right)
{
    bgm_layer *l;
    if (top < 0 || bottom < 0 || left < 0 || right < 0) {
        bgm__fail(BGM_E_INVALID, "bgm_layer_zero_padding2d: padding (%lld, %lld, %lld, %lld) "
                  "must not be negative", (long long)top, (long long)bottom,
                  (long long)left, (long long)right);
        return NULL;
    }
    l = bgm__layer_new(&bgm__zero_padding2d_ops, "bgm_layer_zero_padding2d");
    if (l) {
        l->pad[0] = top;
        l->pad[1] = bottom;
        l->pad[2] = left;
        l->pad[3] = right;
    }
    return l;
}

const bgm__layer_ops bgm__reshape_ops = {"Reshape", "reshape", reshape_build,
                                         reshape_forward, NULL, NULL, 0, 0, 0};
const bgm__layer_ops bgm__permute_ops = {"Permute", "permute", permute_build,
                                         permute_forward, NULL, NULL, 0, 0, 0};
const bgm__layer_ops bgm__zero_padding2d_ops = {"ZeroPadding2D", "zero_padding2d",
                                                zero_padding_build, zero_padding_forward,
                                                NULL, NULL, 0, 0, 0};
