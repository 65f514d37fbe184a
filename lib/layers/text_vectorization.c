/*
 * TextVectorization: strings to token ids or bag-of-words vectors with a
 * vocabulary learned by adapt. The vectorization runs outside the tape
 * (strings are not tensors): the layer's graph input is the vectorized
 * text, which it passes on (tf_idf: times its "idf_weights").
 */
#include "layers/layer.h"

#include "bigmodel/graph.h"
#include "bigmodel/preproc_layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/graph.h"
#include "text/strtab.h"

struct bgm__text_lookup {
    bgm__strtab tab;           /* the vocabulary's tokens, id = position */
};

static const bgm__enum_name output_mode_names[] = {
    {BGM_TEXT_OUTPUT_INT, "int"}, {BGM_TEXT_OUTPUT_MULTI_HOT, "multi_hot"},
    {BGM_TEXT_OUTPUT_COUNT, "count"}, {BGM_TEXT_OUTPUT_TF_IDF, "tf_idf"}, {0, NULL}};
static const bgm__enum_name standardize_names[] = {
    {BGM_TEXT_LOWER_AND_STRIP_PUNCTUATION, "lower_and_strip_punctuation"},
    {BGM_TEXT_LOWER, "lower"}, {BGM_TEXT_STRIP_PUNCTUATION, "strip_punctuation"},
    {BGM_TEXT_STANDARDIZE_NONE, "none"}, {0, NULL}};
static const bgm__enum_name split_names[] = {
    {BGM_TEXT_SPLIT_WHITESPACE, "whitespace"}, {BGM_TEXT_SPLIT_CHARACTER, "character"},
    {BGM_TEXT_SPLIT_NONE, "none"}, {0, NULL}};

void bgm__text_lookup_free(struct bgm__text_lookup *t)
{
    bgm__strtab_release(&t->tab);
    free(t);
}

/* Ids in front of the tokens: padding and [UNK] in int mode, [UNK] otherwise. */
static int reserved(const bgm_layer *l)
{
    return l->output_mode == BGM_TEXT_OUTPUT_INT ? 2 : 1;
}

/* ---- standardize and split ---------------------------------------------------- */

/* Keras' DEFAULT_STRIP_REGEX: the ASCII punctuation. */
static int is_punct(unsigned char c)
{
    return c < 0x80 && c > ' ' && c < 0x7f && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c);
}

/* Standardizes s[0..n) into dst (n + 1 bytes); returns the new length. */
static size_t standardize(const bgm_layer *l, char *dst, const char *s, size_t n)
{
    int lower = l->standardize == BGM_TEXT_LOWER_AND_STRIP_PUNCTUATION ||
                l->standardize == BGM_TEXT_LOWER;
    int strip = l->standardize == BGM_TEXT_LOWER_AND_STRIP_PUNCTUATION ||
                l->standardize == BGM_TEXT_STRIP_PUNCTUATION;
    size_t i, k = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (strip && is_punct(c))
            continue;
        if (lower && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        dst[k++] = (char)c;
        /* U+00C0..U+00DE (but U+00D7) are C3 80..C3 9E: small forms are +0x20 */
        if (lower && c == 0xC3 && i + 1 < n) {
            unsigned char d = (unsigned char)s[i + 1];
            if (d >= 0x80 && d <= 0x9E && d != 0x97)
                d = (unsigned char)(d + 0x20);
            dst[k++] = (char)d;
            i++;
        }
    }
    dst[k] = '\0';
    return k;
}

/* Standardizes text into *buf (grown as needed, *cap bytes); *len gets its length. */
static bgm_status standardize_text(const bgm_layer *l, char **buf, size_t *cap,
                                   const char *text, size_t *len, const char *fn)
{
    size_t n = strlen(text);
    if (n + 1 > *cap) {
        char *grown = realloc(*buf, n + 1);
        if (!grown)
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        *buf = grown;
        *cap = n + 1;
    }
    *len = standardize(l, *buf, text, n);
    return BGM_OK;
}

/* Length of the UTF-8 character at s[0..n) (1 for a stray byte). */
static size_t utf8_len(const char *s, size_t n)
{
    unsigned char c = (unsigned char)s[0];
    size_t want = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4, i;
    if (want > n)
        return 1;
    for (i = 1; i < want; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            return 1;
    return want;
}

static int is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Next token of s[0..n) from *pos as l splits: sets *start, *len; 0 when none is left. */
static int next_token(const bgm_layer *l, const char *s, size_t n, size_t *pos,
                      size_t *start, size_t *len)
{
    size_t i = *pos, j;
    if (l->split == BGM_TEXT_SPLIT_NONE) {
        *start = 0;
        *len = n;
        *pos = n + 1;
        return i == 0 && n > 0;
    }
    if (l->split == BGM_TEXT_SPLIT_CHARACTER) {
        if (i >= n)
            return 0;
        *start = i;
        *len = utf8_len(s + i, n - i);
        *pos = i + *len;
        return 1;
    }
    while (i < n && is_space((unsigned char)s[i]))
        i++;
    if (i >= n)
        return 0;
    for (j = i; j < n && !is_space((unsigned char)s[j]); j++)
        ;
    *start = i;
    *len = j - i;
    *pos = j;
    return 1;
}

/* ---- the vocabulary ------------------------------------------------------------- */

/* Checks l's vocabulary lines and, with out, makes their lookup. */
static bgm_status make_lookup(const bgm_layer *l, const char *fn,
                              struct bgm__text_lookup **out)
{
    struct bgm__text_lookup *t = calloc(1, sizeof *t);
    const char *p = l->vocabulary, *end;
    int64_t id, n = 0;
    int added;
    bgm_status s = BGM_OK;
    if (!t)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    bgm__strtab_init(&t->tab);
    while (s == BGM_OK && p && *p != '\0') {
        end = strchr(p, '\n');
        if (!end)
            end = p + strlen(p);
        if (end == p || (end - p == 5 && memcmp(p, "[UNK]", 5) == 0))
            s = bgm__fail(BGM_E_INVALID, "%s: vocabulary entry %lld is '%.*s', a reserved "
                          "token", fn, (long long)n, (int)(end - p), p);
        else if (!bgm__strtab_intern(&t->tab, p, (size_t)(end - p), &id, &added))
            s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        else if (!added)
            s = bgm__fail(BGM_E_INVALID, "%s: vocabulary entry %lld '%.*s' appears twice",
                          fn, (long long)n, (int)(end - p) > 80 ? 80 : (int)(end - p), p);
        n++;
        p = *end ? end + 1 : end;
    }
    if (s == BGM_OK && l->max_tokens && n + reserved(l) > l->max_tokens)
        s = bgm__fail(BGM_E_INVALID, "%s: the vocabulary has %lld tokens, more than "
                      "max_tokens = %lld allows with the %d reserved ids", fn, (long long)n,
                      (long long)l->max_tokens, reserved(l));
    if (s != BGM_OK || !out) {
        bgm__text_lookup_free(t);
        return s;
    }
    *out = t;
    return BGM_OK;
}

/* Number of tokens (no reserved ids) of l's vocabulary. */
static int64_t num_tokens(const bgm_layer *l)
{
    const char *p;
    int64_t n;
    if (l->lookup)
        return l->lookup->tab.count;
    if (!l->vocabulary) /* read from a file, not built yet: count its lines */
        return 0;
    for (p = l->vocabulary, n = 1; *p; p++)
        n += *p == '\n';
    return n;
}

/* Sets l's vocabulary to lines (taken) and idf (taken, may be NULL) and
 * remakes its lookup; on error l is unchanged and both are freed. */
static bgm_status set_vocab(bgm_layer *l, char *lines, float *idf, const char *fn)
{
    struct bgm__text_lookup *t = NULL;
    char *old = l->vocabulary;
    bgm_status s;
    l->vocabulary = lines;
    s = make_lookup(l, fn, &t);
    if (s != BGM_OK) {
        l->vocabulary = old;
        free(lines);
        free(idf);
        return s;
    }
    free(old);
    free(l->idf);
    if (l->lookup)
        bgm__text_lookup_free(l->lookup);
    l->idf = idf;
    l->lookup = t;
    return BGM_OK;
}

static bgm_status check_text_layer(const bgm_layer *layer, const char *fn)
{
    if (!layer)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'layer' is NULL", fn);
    if (layer->ops != &bgm__text_vectorization_ops)
        return bgm__layer_lacks(layer, fn, "vocabulary (not a TextVectorization layer)");
    return BGM_OK;
}

static bgm_status check_texts(const char *const *texts, int64_t n, const char *fn)
{
    int64_t i;
    BGM__CHECK_NULL(texts, fn);
    if (n < 1)
        return bgm__fail(BGM_E_INVALID, "%s: n = %lld texts, expected at least 1", fn,
                         (long long)n);
    for (i = 0; i < n; i++)
        if (!texts[i])
            return bgm__fail(BGM_E_INVALID, "%s: texts[%lld] is NULL", fn, (long long)i);
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_vocabulary(bgm_layer *layer, const char *const *tokens,
                                            int64_t n, const float *idf)
{
    static const char *fn = "bgm_layer_set_vocabulary";
    size_t total = 0, k;
    char *lines;
    float *w = NULL;
    int64_t i;
    int tfidf;
    bgm_status s = check_text_layer(layer, fn);
    if (s == BGM_OK)
        s = bgm__layer_unbuilt(layer, fn);
    if (s == BGM_OK)
        s = check_texts(tokens, n, fn);
    if (s != BGM_OK)
        return s;
    tfidf = layer->output_mode == BGM_TEXT_OUTPUT_TF_IDF;
    if (tfidf != (idf != NULL))
        return bgm__fail(BGM_E_INVALID, "%s: %s", fn, tfidf ? "output_mode 'tf_idf' needs "
                         "idf weights" : "idf weights belong to output_mode 'tf_idf' only");
    for (i = 0; i < n; i++) {
        if (strchr(tokens[i], '\n'))
            return bgm__fail(BGM_E_INVALID, "%s: token %lld holds a newline", fn,
                             (long long)i);
        total += strlen(tokens[i]) + 1;
    }
    lines = malloc(total);
    if (idf)
        w = malloc((size_t)(n + 1) * sizeof *w);
    if (!lines || (idf && !w)) {
        free(lines);
        free(w);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    for (i = 0, k = 0; i < n; i++) {
        size_t len = strlen(tokens[i]);
        memcpy(lines + k, tokens[i], len);
        k += len;
        lines[k++] = i + 1 < n ? '\n' : '\0';
    }
    if (idf)
        memcpy(w, idf, (size_t)(n + 1) * sizeof *w);
    return set_vocab(layer, lines, w, fn);
}

/* Token i of the order adapt sorts by: count descending, then bytes descending. */
typedef struct ranked {
    const char *s;
    size_t n;
    int64_t count, docs;
} ranked;

static int rank_cmp(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    size_t m = a->n < b->n ? a->n : b->n;
    int c;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    c = memcmp(a->s, b->s, m);
    if (c != 0)
        return -c;
    return a->n == b->n ? 0 : a->n > b->n ? -1 : 1;
}

BGM_API bgm_status bgm_layer_text_vectorization_adapt(bgm_layer *layer,
                                                      const char *const *texts, int64_t n)
{
    static const char *fn = "bgm_layer_text_vectorization_adapt";
    bgm__strtab tab;
    ranked *r = NULL;
    int64_t *counts = NULL, *docs = NULL, *last = NULL, cap = 0, i, keep, id;
    char *buf = NULL, *lines = NULL;
    float *idf = NULL;
    size_t bufcap = 0, total = 0, k;
    bgm_status s = check_text_layer(layer, fn);
    if (s == BGM_OK)
        s = bgm__layer_unbuilt(layer, fn);
    if (s == BGM_OK)
        s = check_texts(texts, n, fn);
    if (s != BGM_OK)
        return s;
    bgm__strtab_init(&tab);
    for (i = 0; i < n && s == BGM_OK; i++) {
        size_t len, pos = 0, st, tl;
        int added;
        s = standardize_text(layer, &buf, &bufcap, texts[i], &len, fn);
        if (s != BGM_OK)
            break;
        while (s == BGM_OK && next_token(layer, buf, len, &pos, &st, &tl)) {
            if (memchr(buf + st, '\n', tl)) /* a vocabulary line cannot hold one */
                continue;
            if (!bgm__strtab_intern(&tab, buf + st, tl, &id, &added)) {
                s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
                break;
            }
            if (id >= cap) {
                int64_t nc = cap ? 2 * cap : 256;
                int64_t *c2 = realloc(counts, (size_t)nc * sizeof *c2);
                int64_t *d2 = c2 ? realloc(docs, (size_t)nc * sizeof *d2) : NULL;
                int64_t *l2 = d2 ? realloc(last, (size_t)nc * sizeof *l2) : NULL;
                if (c2)
                    counts = c2;
                if (d2)
                    docs = d2;
                if (!l2) {
                    s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
                    break;
                }
                last = l2;
                cap = nc;
            }
            if (added) {
                counts[id] = docs[id] = 0;
                last[id] = -1;
            }
            counts[id]++;
            if (last[id] != i) {
                last[id] = i;
                docs[id]++;
            }
        }
    }
    if (s == BGM_OK && tab.count == 0)
        s = bgm__fail(BGM_E_INVALID, "%s: the %lld texts hold no token after "
                      "standardizing and splitting: nothing to learn a vocabulary from", fn,
                      (long long)n);
    if (s == BGM_OK && !(r = malloc((size_t)tab.count * sizeof *r)))
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    if (s == BGM_OK) {
        for (i = 0; i < tab.count; i++) {
            r[i].s = bgm__strtab_str(&tab, i);
            r[i].n = bgm__strtab_len(&tab, i);
            r[i].count = counts[i];
            r[i].docs = docs[i];
        }
        qsort(r, (size_t)tab.count, sizeof *r, rank_cmp);
        keep = tab.count;
        if (layer->max_tokens && keep > layer->max_tokens - reserved(layer))
            keep = layer->max_tokens - reserved(layer);
        for (i = 0; i < keep; i++)
            total += r[i].n + 1;
        lines = malloc(total);
        if (layer->output_mode == BGM_TEXT_OUTPUT_TF_IDF)
            idf = malloc((size_t)(keep + 1) * sizeof *idf);
        if (!lines || (layer->output_mode == BGM_TEXT_OUTPUT_TF_IDF && !idf))
            s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    if (s == BGM_OK) {
        double mean = 0.0;
        for (i = 0, k = 0; i < keep; i++) {
            memcpy(lines + k, r[i].s, r[i].n);
            k += r[i].n;
            lines[k++] = i + 1 < keep ? '\n' : '\0';
            if (idf) { /* Keras: log(1 + N / (1 + df)) in double, kept as float32 */
                idf[i + 1] = (float)log(1.0 + (double)n / (1.0 + (double)r[i].docs));
                mean += idf[i + 1];
            }
        }
        if (idf)
            idf[0] = (float)(mean / (double)keep); /* [UNK]: the mean */
        s = set_vocab(layer, lines, idf, fn);
        lines = NULL;
        idf = NULL;
    }
    free(lines);
    free(idf);
    free(r);
    free(counts);
    free(docs);
    free(last);
    free(buf);
    bgm__strtab_release(&tab);
    return s;
}

BGM_API int64_t bgm_layer_vocabulary_size(const bgm_layer *layer)
{
    if (!layer || layer->ops != &bgm__text_vectorization_ops || !layer->lookup)
        return 0;
    return num_tokens(layer) + reserved(layer);
}

BGM_API const char *bgm_layer_vocabulary_token(const bgm_layer *layer, int64_t i,
                                               int64_t *len)
{
    const char *t;
    int res;
    if (i < 0 || i >= bgm_layer_vocabulary_size(layer))
        return NULL;
    res = reserved(layer);
    if (i < res)
        t = res == 2 && i == 0 ? "" : "[UNK]";
    else
        t = bgm__strtab_str(&layer->lookup->tab, i - res);
    if (len)
        *len = i < res ? (int64_t)strlen(t)
                       : (int64_t)bgm__strtab_len(&layer->lookup->tab, i - res);
    return t;
}

/* ---- vectorizing -------------------------------------------------------------- */

/* The vectorized texts as the graph takes them (tf_idf: counts) into a new tensor. */
static bgm_status vectorize(bgm_tensor **out, const bgm_layer *l, const char *const *texts,
                            int64_t n, const char *fn)
{
    int64_t width, i, id;
    char *buf = NULL;
    size_t cap = 0;
    bgm_status s = BGM_OK;
    int res = reserved(l), ints = l->output_mode == BGM_TEXT_OUTPUT_INT;
    if (!l->lookup && !ints)
        return bgm__fail(BGM_E_STATE, "%s: layer '%s' (TextVectorization) has no "
                         "vocabulary: call bgm_layer_text_vectorization_adapt or set one",
                         fn, l->name);
    if (ints && !l->sequence_length)
        return bgm__fail(BGM_E_STATE, "%s: layer '%s' (TextVectorization) in 'int' mode "
                         "needs an output_sequence_length", fn, l->name);
    width = ints ? l->sequence_length : num_tokens(l) + res;
    {
        int64_t shape[2];
        shape[0] = n;
        shape[1] = width;
        s = bgm_tensor_zeros(out, ints ? BGM_INT32 : BGM_FLOAT32, shape, 2);
        if (s != BGM_OK)
            return s;
    }
    for (i = 0; i < n; i++) {
        size_t len, pos = 0, st, tl;
        int64_t t = 0;
        s = standardize_text(l, &buf, &cap, texts[i], &len, fn);
        if (s != BGM_OK)
            break;
        while (next_token(l, buf, len, &pos, &st, &tl)) {
            id = l->lookup ? bgm__strtab_find(&l->lookup->tab, buf + st, tl) : -1;
            id = id < 0 ? res - 1 : id + res; /* [UNK] is the last reserved id */
            if (ints) {
                if (t >= width)
                    break;
                ((int32_t *)bgm_tensor_data(*out))[i * width + t++] = (int32_t)id;
            } else {
                float *row = (float *)bgm_tensor_data(*out) + i * width;
                row[id] = l->output_mode == BGM_TEXT_OUTPUT_MULTI_HOT ? 1.0f : row[id] + 1.0f;
            }
        }
    }
    free(buf);
    if (s != BGM_OK) {
        bgm_tensor_free(*out);
        *out = NULL;
    }
    return s;
}

BGM_API bgm_status bgm_layer_text_vectorize(bgm_tensor **out, const bgm_layer *layer,
                                            const char *const *texts, int64_t n)
{
    static const char *fn = "bgm_layer_text_vectorize";
    const float *idf;
    float *x;
    int64_t i, j, width;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    s = check_text_layer(layer, fn);
    if (s == BGM_OK)
        s = check_texts(texts, n, fn);
    if (s == BGM_OK)
        s = vectorize(out, layer, texts, n, fn);
    if (s != BGM_OK || layer->output_mode != BGM_TEXT_OUTPUT_TF_IDF)
        return s;
    idf = layer->model ? bgm_tensor_data(bgm_model_weight(layer->model, layer->first_weight))
                       : layer->idf;
    x = bgm_tensor_data(*out);
    width = bgm_tensor_dim(*out, 1);
    for (i = 0; i < n; i++)
        for (j = 0; j < width; j++)
            x[i * width + j] *= idf ? idf[j] : 1.0f;
    return BGM_OK;
}

/* ---- the kind ----------------------------------------------------------------- */

/* The vectorized text's sample shape: the model input of a text model. */
static bgm_status text_model_input(const bgm_layer *l, bgm__shape *in)
{
    if (l->output_mode == BGM_TEXT_OUTPUT_INT) {
        if (!l->sequence_length)
            return bgm__layer_fail(l, BGM_E_STATE, "'int' mode needs output_sequence_length "
                                   "in a model: the model's input has a fixed length");
        in->d[0] = l->sequence_length;
        in->dtype = BGM_INT32;
    } else {
        if (!l->vocabulary)
            return bgm__layer_fail(l, BGM_E_STATE, "output_mode '%s' needs the vocabulary "
                                   "before the layer is built: adapt it or set one",
                                   bgm__enum_to_name(output_mode_names, l->output_mode));
        in->d[0] = num_tokens(l) + reserved(l);
        in->dtype = BGM_FLOAT32;
    }
    in->ndim = 1;
    return BGM_OK;
}

/* The lookup of a vocabulary set by a config or a file. */
static bgm_status text_configured(bgm_layer *l, const char *fn)
{
    if (l->lookup || !l->vocabulary)
        return BGM_OK;
    return make_lookup(l, fn, &l->lookup);
}

static bgm_status text_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    char want[BGM__SHAPE_STR_SIZE], got[BGM__SHAPE_STR_SIZE];
    bgm__shape need;
    bgm_status s;
    s = text_configured(l, l->ops->ctor); /* loaded from a file */
    if (s != BGM_OK)
        return s;
    s = text_model_input(l, &need);
    if (s != BGM_OK)
        return s;
    if (in->ndim != 1 || in->d[0] != need.d[0] || in->dtype != need.dtype)
        return bgm__layer_fail(l, BGM_E_SHAPE, "takes the vectorized strings, %s %s (made "
                               "from raw strings by bgm_model_predict_strings and the like); "
                               "its input is %s %s",
                               need.dtype == BGM_INT32 ? "int32" : "float32",
                               bgm__batch_shape_str(want, sizeof want, need.d, 1),
                               in->dtype == BGM_INT32 ? "int32" : "float32",
                               bgm__batch_shape_str(got, sizeof got, in->d, in->ndim));
    if (l->output_mode == BGM_TEXT_OUTPUT_TF_IDF)
        bgm__layer_add_spec(l, "idf_weights", need.d, 1, 0, BGM_INIT_ONES, need.d[0],
                            need.d[0], 0);
    *out = need;
    return BGM_OK;
}

static bgm_status text_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                               bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                               bgm_tensor **y)
{
    if (l->output_mode == BGM_TEXT_OUTPUT_TF_IDF)
        return bgm_op_mul(y, ctx->tape, x[0], w[0]);
    *y = (bgm_tensor *)x[0];
    return BGM_OK;
}

static void text_init(const bgm_layer *l, float *const *w)
{
    if (l->idf)
        memcpy(w[0], l->idf, (size_t)(num_tokens(l) + 1) * sizeof(float));
}

static bgm_status text_check(const bgm_layer *l, const char *fn)
{
    if (l->sequence_length && l->output_mode != BGM_TEXT_OUTPUT_INT)
        return bgm__fail(BGM_E_INVALID, "%s: output_sequence_length = %lld is only valid "
                         "in output_mode 'int', not '%s' (as Keras)", fn,
                         (long long)l->sequence_length,
                         bgm__enum_to_name(output_mode_names, l->output_mode));
    if (l->max_tokens && l->max_tokens <= reserved(l))
        return bgm__fail(BGM_E_INVALID, "%s: max_tokens = %lld leaves no id for a token "
                         "(output_mode '%s' reserves %d)", fn, (long long)l->max_tokens,
                         bgm__enum_to_name(output_mode_names, l->output_mode), reserved(l));
    return l->vocabulary ? make_lookup(l, fn, NULL) : BGM_OK;
}

static const bgm__field text_fields[] = {
    {.key = "max_tokens", .what = "max_tokens", .label = "max_tokens",
     .type = BGM__FIELD_INT, .offset = BGM__OFFSET(max_tokens), .lo = 0,
     .hi = BGM__INT32_MAX, .zero_null = 1},
    {.key = "standardize", .what = "standardize", .label = "standardize",
     .type = BGM__FIELD_ENUM, .offset = BGM__OFFSET(standardize), .names = standardize_names},
    {.key = "split", .what = "split", .label = "split", .type = BGM__FIELD_ENUM,
     .offset = BGM__OFFSET(split), .names = split_names},
    {.key = "output_mode", .what = "output_mode", .label = "output_mode",
     .type = BGM__FIELD_ENUM, .offset = BGM__OFFSET(output_mode), .names = output_mode_names},
    {.key = "output_sequence_length", .what = "output_sequence_length",
     .label = "output_sequence_length", .type = BGM__FIELD_INT,
     .offset = BGM__OFFSET(sequence_length), .lo = 0, .hi = BGM__INT32_MAX, .zero_null = 1},
    {.key = "vocabulary", .what = "vocabulary", .label = "vocabulary",
     .type = BGM__FIELD_LINES, .offset = BGM__OFFSET(vocabulary)}};

const bgm__layer_ops bgm__text_vectorization_ops = {
    .kind = "TextVectorization", .prefix = "text_vectorization",
    .ctor = "bgm_layer_text_vectorization", .fields = text_fields,
    .nfields = BGM__NFIELDS(text_fields), .check = text_check, .build = text_build,
    .forward = text_forward, .init_weights = text_init, .decode = BGM__DECODE_NONE,
    .model_input = text_model_input, .configured = text_configured};

BGM_API bgm_layer *bgm_layer_text_vectorization(int64_t max_tokens,
                                                bgm_text_output_mode output_mode,
                                                int64_t output_sequence_length)
{
    bgm_layer *l = bgm__layer_new(&bgm__text_vectorization_ops,
                                  "bgm_layer_text_vectorization");
    if (l) {
        l->max_tokens = max_tokens;
        l->output_mode = (int)output_mode;
        l->sequence_length = output_sequence_length;
    }
    return bgm__layer_checked(l);
}

BGM_API bgm_status bgm_layer_set_standardize(bgm_layer *layer, bgm_text_standardize standardize)
{
    int v = (int)standardize;
    return bgm__layer_set(layer, "bgm_layer_set_standardize", "standardize",
                          BGM__OFFSET(standardize), &v);
}

BGM_API bgm_status bgm_layer_set_split(bgm_layer *layer, bgm_text_split split)
{
    int v = (int)split;
    return bgm__layer_set(layer, "bgm_layer_set_split", "split", BGM__OFFSET(split), &v);
}

/* ---- models on strings ---------------------------------------------------------- */

/* 1 when a call of l in its graph takes node in. */
static int takes_node(const bgm_layer *l, const bgm_node *in)
{
    int k;
    for (k = 0; k < l->graph->nnodes; k++) {
        const bgm_node *nd = l->graph->nodes[k];
        if (nd->layer == l && nd->nin == 1 && nd->in[0] == in)
            return 1;
    }
    return 0;
}

/* The TextVectorization layer m's only input goes to. */
static bgm_status text_layer_of(const bgm_layer **out, const bgm_model *m, const char *fn)
{
    int i, n = bgm_model_num_layers(m);
    const bgm_node *in;
    if (bgm_model_num_inputs(m) != 1)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: the model has %d inputs; raw strings feed "
                         "a model of one input", fn, bgm_model_num_inputs(m));
    in = bgm_model_input(m, 0);
    for (i = 0; i < n; i++) {
        const bgm_layer *l = bgm_model_layer(m, i);
        if (l->ops == &bgm__text_vectorization_ops &&
            (l->index == 0 || (l->index < 0 && takes_node(l, in)))) {
            *out = l;
            return BGM_OK;
        }
    }
    return bgm__fail(BGM_E_UNSUPPORTED, "%s: the model's input does not go to a "
                     "TextVectorization layer, so it takes tensors, not strings", fn);
}

/* bgm_model_vectorize_strings for the public function fn. */
static bgm_status vectorize_strings(bgm_tensor **out, const bgm_model *m,
                                    const char *const *texts, int64_t n, const char *fn)
{
    const bgm_layer *l = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(m, fn);
    s = check_texts(texts, n, fn);
    if (s == BGM_OK)
        s = text_layer_of(&l, m, fn);
    return s == BGM_OK ? vectorize(out, l, texts, n, fn) : s;
}

BGM_API bgm_status bgm_model_vectorize_strings(bgm_tensor **out, const bgm_model *m,
                                               const char *const *texts, int64_t n)
{
    return vectorize_strings(out, m, texts, n, "bgm_model_vectorize_strings");
}

BGM_API bgm_status bgm_model_predict_strings(bgm_tensor **out, const bgm_model *m,
                                             const char *const *texts, int64_t n,
                                             int64_t batch_size)
{
    bgm_tensor *x = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, "bgm_model_predict_strings");
    *out = NULL;
    s = vectorize_strings(&x, m, texts, n, "bgm_model_predict_strings");
    if (s == BGM_OK)
        s = bgm_model_predict(out, m, x, batch_size);
    bgm_tensor_free(x);
    return s;
}

BGM_API bgm_status bgm_model_evaluate_strings(double *results, int nresults,
                                              const bgm_model *m, const char *const *texts,
                                              int64_t n, const bgm_tensor *y,
                                              int64_t batch_size)
{
    bgm_tensor *x = NULL;
    bgm_status s;
    BGM__CHECK_NULL(results, "bgm_model_evaluate_strings");
    s = vectorize_strings(&x, m, texts, n, "bgm_model_evaluate_strings");
    if (s == BGM_OK)
        s = bgm_model_evaluate(results, nresults, m, x, y, batch_size);
    bgm_tensor_free(x);
    return s;
}

BGM_API bgm_status bgm_model_fit_strings(bgm_history **history, bgm_model *m,
                                         const char *const *texts, int64_t n,
                                         const bgm_tensor *y, const bgm_fit_options *opts)
{
    bgm_tensor *x = NULL;
    bgm_status s;
    if (history)
        *history = NULL;
    s = vectorize_strings(&x, m, texts, n, "bgm_model_fit_strings");
    if (s == BGM_OK)
        s = bgm_model_fit(history, m, x, y, opts);
    bgm_tensor_free(x);
    return s;
}
