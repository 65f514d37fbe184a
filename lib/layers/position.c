/*
 * Position encodings added to token embeddings (keras_hub): PositionEmbedding,
 * a learned (sequence_length, d) table, and SinePositionEncoding, fixed
 * sinusoids. Both return the encodings of the input's positions in its
 * shape (N, T, d), pass the mask on, and under incremental decoding start
 * at ctx->decode->pos (their only state is that offset).
 */
#include "layers/layer.h"

/* The first position of x: decode->pos while decoding, else 0. */
static int64_t first_position(const bgm__forward_ctx *ctx)
{
    return ctx->decode ? ctx->decode->pos : 0;
}

/* Both kinds take float32 (T, d) samples (an embedding's output). */
static bgm_status check_sequence(const bgm_layer *l, const bgm__shape *in)
{
    char got[BGM__SHAPE_STR_SIZE];
    if (in->ndim != 2)
        return bgm__layer_fail(l, BGM_E_SHAPE, "expected input of 2 dimensions (steps, "
                               "features), got %s",
                               bgm__shape_str(got, sizeof got, in->d, in->ndim));
    if (in->dtype != BGM_FLOAT32)
        return bgm__layer_fail(l, BGM_E_DTYPE, "takes the float32 output of an Embedding, "
                               "got int32 token ids");
    return BGM_OK;
}

static bgm_status position_embedding_build(bgm_layer *l, const bgm__shape *in, int nin,
                                           bgm__shape *out)
{
    int64_t shape[2];
    bgm_status s = check_sequence(l, in);
    if (s != BGM_OK)
        return s;
    if (in->d[0] > l->units)
        return bgm__layer_fail(l, BGM_E_SHAPE, "input of %lld steps, more than "
                               "sequence_length = %lld", (long long)in->d[0],
                               (long long)l->units);
    shape[0] = l->units;
    shape[1] = in->d[1];
    bgm__layer_add_spec(l, "embeddings", shape, 2, 1, l->kernel_init, shape[0], shape[1], 0);
    bgm__same_shape(in, out);
    return BGM_OK;
}

static bgm_status position_embedding_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                             bgm_tensor *const *w,
                                             const bgm_tensor *const *x, int nx,
                                             bgm_tensor **y)
{
    const int64_t start = first_position(ctx);
    const int64_t t = bgm_tensor_ndim(x[0]) >= 2 ? bgm_tensor_dim(x[0], 1) : 0;
    if (start + t > l->units)
        return bgm__layer_fail(l, BGM_E_RANGE, "positions %lld to %lld, beyond "
                               "sequence_length = %lld", (long long)start,
                               (long long)(start + t - 1), (long long)l->units);
    return bgm_op_position_embedding(y, ctx->tape, x[0], w[0], start);
}

static const bgm__field position_embedding_fields[] = {
    BGM__FIELD_UNITS("sequence_length"), BGM__FIELD_KERNEL_INIT("initializer")};

const bgm__layer_ops bgm__position_embedding_ops = {
    .kind = "PositionEmbedding", .prefix = "position_embedding",
    .ctor = "bgm_layer_position_embedding", .fields = position_embedding_fields,
    .nfields = BGM__NFIELDS(position_embedding_fields), .build = position_embedding_build,
    .forward = position_embedding_forward, .compute_mask = bgm__pass_mask,
    .decode = BGM__DECODE_STATEFUL};

BGM_API bgm_layer *bgm_layer_position_embedding(int64_t sequence_length)
{
    bgm_layer *l = bgm__layer_new(&bgm__position_embedding_ops,
                                  "bgm_layer_position_embedding");
    if (l)
        l->units = sequence_length;
    return bgm__layer_checked(l);
}

static bgm_status sine_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    bgm_status s = check_sequence(l, in);
    if (s == BGM_OK)
        bgm__same_shape(in, out);
    return s;
}

static bgm_status sine_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                               bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                               bgm_tensor **y)
{
    return bgm_op_sine_position_encoding(y, ctx->tape, x[0], l->max_wavelength,
                                         first_position(ctx));
}

static const bgm__field sine_fields[] = {
    {.key = "max_wavelength", .what = "max_wavelength", .label = "max_wavelength",
     .type = BGM__FIELD_FLOAT, .offset = BGM__OFFSET(max_wavelength), .lo = 0,
     .hi = INFINITY, .lo_open = 1, .hi_open = 1}};

const bgm__layer_ops bgm__sine_position_encoding_ops = {
    .kind = "SinePositionEncoding", .prefix = "sine_position_encoding",
    .ctor = "bgm_layer_sine_position_encoding", .fields = sine_fields,
    .nfields = BGM__NFIELDS(sine_fields), .build = sine_build, .forward = sine_forward,
    .compute_mask = bgm__pass_mask, .decode = BGM__DECODE_STATEFUL};

BGM_API bgm_layer *bgm_layer_sine_position_encoding(float max_wavelength)
{
    bgm_layer *l = bgm__layer_new(&bgm__sine_position_encoding_ops,
                                  "bgm_layer_sine_position_encoding");
    if (l)
        l->max_wavelength = max_wavelength;
    return bgm__layer_checked(l);
}
