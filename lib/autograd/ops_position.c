/*
 * Position encodings of a (..., T, d) input: rows start .. start + T - 1 of a
 * learned table (keras_hub's PositionEmbedding), or the fixed sinusoids of
 * "Attention is all you need" (keras_hub's SinePositionEncoding), repeated
 * over the leading dimensions. Only x's shape is read; the learned table
 * gets the output gradient summed over those dimensions.
 */
#include <math.h>
#include <string.h>

#include "bigmodel/nn_ops.h"
#include "tape.h"

/* Leading repeats and steps of x (..., T, d); BGM_E_SHAPE below rank 2. */
static bgm_status position_geometry(const char *fn, const bgm_tensor *x, int64_t start,
                                    int64_t *outer, int64_t *t)
{
    char sx[BGM__SHAPE_STR_SIZE];
    int i;
    if (x->ndim < 2)
        return bgm__fail(BGM_E_SHAPE, "%s: x must be (..., T, d), got shape %s", fn,
                         bgm__tensor_shape_str(sx, sizeof sx, x));
    if (start < 0)
        return bgm__fail(BGM_E_RANGE, "%s: start = %lld, expected >= 0", fn,
                         (long long)start);
    *t = x->shape[x->ndim - 2];
    *outer = 1;
    for (i = 0; i < x->ndim - 2; i++)
        *outer *= x->shape[i];
    return BGM_OK;
}

/* gtable[start + t] += sum over the leading dimensions of gout[..., t, :]. */
static void position_backward(const bgm__node *node, const float *gout, float **gin)
{
    const bgm_tensor *y = node->out;
    const int64_t start = node->attr[0], t = y->shape[y->ndim - 2], d = y->shape[y->ndim - 1];
    const int64_t outer = t * d != 0 ? y->numel / (t * d) : 0;
    float *g = gin[0] + start * d;
    int64_t o, i;
    for (o = 0; o < outer; o++)
        for (i = 0; i < t * d; i++)
            g[i] += gout[o * t * d + i];
}

static const bgm__op op_position = {"position_embedding", position_backward, 1};

BGM_API bgm_status bgm_op_position_embedding(bgm_tensor **out, bgm_tape *tape,
                                             const bgm_tensor *x, const bgm_tensor *table,
                                             int64_t start)
{
    static const char *fn = "bgm_op_position_embedding";
    const bgm_tensor *in[1] = {table};
    char sx[BGM__SHAPE_STR_SIZE], st[BGM__SHAPE_STR_SIZE];
    int64_t outer, t, d, o;
    bgm__op_call c;
    bgm_status s = bgm__op_check(fn, out, in, 1);
    if (s != BGM_OK)
        return s;
    BGM__CHECK_NULL(x, fn);
    s = position_geometry(fn, x, start, &outer, &t);
    if (s != BGM_OK)
        return s;
    bgm__tensor_shape_str(sx, sizeof sx, x);
    bgm__tensor_shape_str(st, sizeof st, table);
    if (table->ndim != 2 || table->shape[1] != x->shape[x->ndim - 1])
        return bgm__fail(BGM_E_SHAPE, "%s: table must be (sequence_length, %lld) for x %s, "
                         "got shape %s", fn, (long long)x->shape[x->ndim - 1], sx, st);
    if (t > table->shape[0] - start)
        return bgm__fail(BGM_E_RANGE, "%s: positions %lld to %lld of x %s (start %lld) lie "
                         "beyond the table's %lld rows", fn, (long long)start,
                         (long long)(start + t - 1), sx, (long long)start,
                         (long long)table->shape[0]);
    s = bgm__op_begin(&c, fn, out, tape, &op_position, in, 1, x->shape, x->ndim, NULL);
    if (s != BGM_OK)
        return s;
    if (c.node)
        c.node->attr[0] = start;
    d = table->shape[1];
    for (o = 0; o < outer; o++)
        memcpy((float *)c.out->data + o * t * d, (const float *)table->data + start * d,
               (size_t)(t * d) * sizeof(float));
    return bgm__op_end(&c, out);
}

BGM_API bgm_status bgm_op_sine_position_encoding(bgm_tensor **out, bgm_tape *tape,
                                                 const bgm_tensor *x, float max_wavelength,
                                                 int64_t start)
{
    static const char *fn = "bgm_op_sine_position_encoding";
    int64_t outer, t, d, o, i, j;
    bgm__op_call c;
    float *y;
    bgm_status s = bgm__op_check(fn, out, NULL, 0);
    if (s != BGM_OK)
        return s;
    BGM__CHECK_NULL(x, fn);
    if (!(max_wavelength > 0.0f) || isinf(max_wavelength))
        return bgm__fail(BGM_E_INVALID, "%s: max_wavelength = %g, expected a finite value "
                         "> 0", fn, (double)max_wavelength);
    s = position_geometry(fn, x, start, &outer, &t);
    if (s != BGM_OK)
        return s;
    s = bgm__op_begin(&c, fn, out, tape, &op_position, NULL, 0, x->shape, x->ndim, NULL);
    if (s != BGM_OK)
        return s;
    d = x->shape[x->ndim - 1];
    y = c.out->data;
    /* Feature j turns at (1 / max_wavelength)^(2 * (j / 2) / d) radians per
     * step: sine on even features, cosine on odd ones. */
    for (i = 0; i < t; i++)
        for (j = 0; j < d; j++) {
            double rate = pow((double)max_wavelength, -2.0 * (double)(j / 2) / (double)d);
            double angle = (double)(start + i) * rate;
            y[i * d + j] = (float)(j % 2 ? cos(angle) : sin(angle));
        }
    for (o = 1; o < outer; o++)
        memcpy(y + o * t * d, y, (size_t)(t * d) * sizeof *y);
    return bgm__op_end(&c, out);
}
