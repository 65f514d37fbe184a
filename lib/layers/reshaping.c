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
        perm[i + 1] = (int)l->perm[i];
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

/* Reshape: at most one -1 (the field allows -1 once per value it checks). */
static bgm_status reshape_check(const bgm_layer *l, const char *fn)
{
    int i, free_axes = 0;
    for (i = 0; i < l->target_ndim; i++)
        free_axes += l->target[i] == -1;
    if (free_axes > 1)
        return bgm__fail(BGM_E_INVALID, "%s: target shape has %d entries of -1; one may be "
                         "inferred", fn, free_axes);
    return BGM_OK;
}

static bgm_status permute_check(const bgm_layer *l, const char *fn)
{
    int seen[BGM_MAX_DIMS] = {0}, i;
    for (i = 0; i < l->target_ndim; i++)
        if (l->perm[i] > l->target_ndim || seen[l->perm[i] - 1]++)
            return bgm__fail(BGM_E_INVALID, "%s: dims must be a permutation of 1..%d (the "
                             "batch axis is not counted); entry %d is %lld", fn,
                             l->target_ndim, i, (long long)l->perm[i]);
    return BGM_OK;
}

static const bgm__field reshape_fields[] = {
    {.key = "target_shape", .what = "target shape", .label = "target shape",
     .type = BGM__FIELD_INTS, .offset = BGM__OFFSET(target), .lo = 1, .hi = BGM__INT32_MAX,
     .count_offset = BGM__OFFSET(target_ndim), .minus_one = 1}};
static const bgm__field permute_fields[] = {
    {.key = "dims", .what = "dims", .label = "dims", .type = BGM__FIELD_INTS,
     .offset = BGM__OFFSET(perm), .lo = 1, .hi = BGM_MAX_DIMS - 1,
     .count_offset = BGM__OFFSET(target_ndim)}};
static const bgm__field zero_padding_fields[] = {
    {.key = "padding", .what = "padding", .label = "padding", .type = BGM__FIELD_INTS,
     .offset = BGM__OFFSET(pad), .lo = 0, .hi = BGM__INT32_MAX, .count = 4}};

const bgm__layer_ops bgm__reshape_ops = {
    .kind = "Reshape", .prefix = "reshape", .ctor = "bgm_layer_reshape",
    .fields = reshape_fields, .nfields = BGM__NFIELDS(reshape_fields), .check = reshape_check,
    .build = reshape_build, .forward = reshape_forward};
const bgm__layer_ops bgm__permute_ops = {
    .kind = "Permute", .prefix = "permute", .ctor = "bgm_layer_permute",
    .fields = permute_fields, .nfields = BGM__NFIELDS(permute_fields), .check = permute_check,
    .build = permute_build, .forward = permute_forward};
const bgm__layer_ops bgm__zero_padding2d_ops = {
    .kind = "ZeroPadding2D", .prefix = "zero_padding2d", .ctor = "bgm_layer_zero_padding2d",
    .fields = zero_padding_fields, .nfields = BGM__NFIELDS(zero_padding_fields),
    .build = zero_padding_build, .forward = zero_padding_forward};

/* A new layer of a kind whose field is a list of n values, the caller
 * copying them; NULL (error set) for a NULL list or a bad n. */
static bgm_layer *with_list(const bgm__layer_ops *ops, const void *values, int n)
{
    bgm_layer *l;
    if (!values) {
        bgm__fail(BGM_E_INVALID, "%s: argument '%s' is NULL", ops->ctor,
                  strcmp(ops->ctor, "bgm_layer_reshape") == 0 ? "shape" : "dims");
        return NULL;
    }
    if (n < 1 || n >= BGM_MAX_DIMS) {
        bgm__fail(BGM_E_INVALID, "%s: ndim = %d, expected 1 to %d", ops->ctor, n,
                  BGM_MAX_DIMS - 1);
        return NULL;
    }
    l = bgm__layer_new(ops, ops->ctor);
    if (l)
        l->target_ndim = n;
    return l;
}

BGM_API bgm_layer *bgm_layer_reshape(const int64_t *shape, int ndim)
{
    bgm_layer *l = with_list(&bgm__reshape_ops, shape, ndim);
    if (l)
        memcpy(l->target, shape, (size_t)ndim * sizeof *shape);
    return bgm__layer_checked(l);
}

BGM_API bgm_layer *bgm_layer_permute(const int *dims, int ndim)
{
    bgm_layer *l = with_list(&bgm__permute_ops, dims, ndim);
    int i;
    for (i = 0; l && i < ndim; i++)
        l->perm[i] = dims[i];
    return bgm__layer_checked(l);
}

BGM_API bgm_layer *bgm_layer_zero_padding2d(int64_t top, int64_t bottom, int64_t left,
                                            int64_t right)
{
    bgm_layer *l = bgm__layer_new(&bgm__zero_padding2d_ops, "bgm_layer_zero_padding2d");
    if (l) {
        l->pad[0] = top;
        l->pad[1] = bottom;
        l->pad[2] = left;
        l->pad[3] = right;
    }
    return bgm__layer_checked(l);
}
