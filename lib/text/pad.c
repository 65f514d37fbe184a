/* Padding and truncating id sequences to one length, as Keras' pad_sequences. */
#include "text_impl.h"

#include <string.h>

#include "core/error.h"
#include "core/tensor_impl.h"

bgm_status bgm__check_padding(const char *func, int64_t maxlen, bgm_pad_side padding,
                              bgm_pad_side truncating)
{
    if (maxlen < 0)
        return bgm__fail(BGM_E_INVALID, "%s: maxlen %lld is negative (0 means the longest "
                         "sequence)", func, (long long)maxlen);
    if (padding != BGM_PAD_PRE && padding != BGM_PAD_POST)
        return bgm__fail(BGM_E_INVALID, "%s: padding %d is neither BGM_PAD_PRE (0) nor "
                         "BGM_PAD_POST (1)", func, (int)padding);
    if (truncating != BGM_PAD_PRE && truncating != BGM_PAD_POST)
        return bgm__fail(BGM_E_INVALID, "%s: truncating %d is neither BGM_PAD_PRE (0) nor "
                         "BGM_PAD_POST (1)", func, (int)truncating);
    return BGM_OK;
}

void bgm__pad_row(int32_t *row, int64_t maxlen, const int32_t *seq, int64_t len,
                  bgm_pad_side padding, bgm_pad_side truncating, int32_t value)
{
    int64_t i, keep = len < maxlen ? len : maxlen;
    for (i = 0; i < maxlen; i++)
        row[i] = value;
    /* seq may be NULL when len is 0: no arithmetic on it then */
    if (keep > 0)
        memcpy(padding == BGM_PAD_POST ? row : row + (maxlen - keep),
               truncating == BGM_PAD_PRE ? seq + (len - keep) : seq, (size_t)keep * sizeof *row);
}

BGM_API bgm_status bgm_pad_sequences(bgm_tensor **out, const int32_t *const *seqs,
                                     const int64_t *lens, int64_t n, int64_t maxlen,
                                     bgm_pad_side padding, bgm_pad_side truncating,
                                     int32_t value)
{
    static const char *fn = "bgm_pad_sequences";
    int64_t i, longest = 0, shape[2];
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    if (n < 0)
        return bgm__fail(BGM_E_INVALID, "%s: sequence count %lld is negative", fn,
                         (long long)n);
    if (n > 0 && (!seqs || !lens))
        return bgm__fail(BGM_E_INVALID, "%s: argument '%s' is NULL with %lld sequences", fn,
                         seqs ? "lens" : "seqs", (long long)n);
    s = bgm__check_padding(fn, maxlen, padding, truncating);
    if (s != BGM_OK)
        return s;
    for (i = 0; i < n; i++) {
        if (lens[i] < 0)
            return bgm__fail(BGM_E_INVALID, "%s: length %lld of sequence %lld is negative",
                             fn, (long long)lens[i], (long long)i);
        if (lens[i] > 0 && !seqs[i])
            return bgm__fail(BGM_E_INVALID, "%s: sequence %lld is NULL with length %lld", fn,
                             (long long)i, (long long)lens[i]);
        if (lens[i] > longest)
            longest = lens[i];
    }
    shape[0] = n;
    shape[1] = maxlen > 0 ? maxlen : longest;
    s = bgm__tensor_new(out, fn, BGM_INT32, shape, 2);
    for (i = 0; s == BGM_OK && i < n; i++)
        bgm__pad_row((int32_t *)(*out)->data + i * shape[1], shape[1], seqs[i], lens[i],
                     padding, truncating, value);
    return s;
}
