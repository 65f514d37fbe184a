/*
 * Word2vec training: skip-gram and CBOW with negative sampling, following
 * Mikolov et al.'s word2vec.c (random window shrinking, sub-sampling of
 * frequent words, unigram^0.75 noise, linear learning-rate decay).
 *
 * The corpus is trained in slices of about a million words; each slice is
 * cut into one piece per thread, and the pieces update the shared vectors
 * without locks (Hogwild), as the original tool does. Every piece has its
 * own generator seeded from (seed, slice, piece) and its learning rate
 * follows the position of its words in the corpus, so one thread gives the
 * same bits on every run.
 */
#include "word2vec_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/options.h"
#include "core/rng.h"
#include "core/threads.h"
#include "wordcount.h"

#define LANES 8                 /* floats per block in the vector loops */
#define ROW_ALIGN LANES         /* rows padded to whole blocks */
#define MAX_SENTENCE 1000       /* words trained as one run, as word2vec.c */
#define MAX_PIECES 256
#define SLICE_WORDS ((int64_t)1 << 20)
#define SIG_MAX 6.0f            /* sigmoid taken as 0 or 1 beyond +-SIG_MAX */
#define SIG_SIZE 1024

/*
 * The hot loops. Rows are padded to a multiple of LANES with zeros that stay
 * zero, so every loop runs whole blocks; the fixed inner loop of LANES
 * independent sums is what lets gcc -O2 (no -ffast-math) emit vector code.
 */
static inline float dot(const float *restrict a, const float *restrict b, int64_t n)
{
    float acc[LANES] = {0};
    int64_t i;
    int k;
    for (i = 0; i < n; i += LANES)
        for (k = 0; k < LANES; k++)
            acc[k] += a[i + k] * b[i + k];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static inline void axpy(float *restrict y, float alpha, const float *restrict x, int64_t n)
{
    int64_t i;
    int k;
    for (i = 0; i < n; i += LANES)
        for (k = 0; k < LANES; k++)
            y[i + k] += alpha * x[i + k];
}

static inline void scale(float *y, float alpha, int64_t n)
{
    int64_t i;
    int k;
    for (i = 0; i < n; i += LANES)
        for (k = 0; k < LANES; k++)
            y[i + k] *= alpha;
}

typedef struct piece {
    bgm_rng rng;
    float *neu1, *neu1e;        /* stride floats each */
    double loss;
    int64_t pairs;
    int32_t sentence[MAX_SENTENCE];
} piece;

typedef struct trainer {
    const bgm_word2vec_options *o;
    int64_t vocab, dim, stride;
    float *syn0, *syn1;         /* input and output vectors, vocab rows of stride */
    const int32_t *corpus;
    int64_t nwords;
    const int64_t *doc_starts;
    int64_t ndocs;
    float *keep;                /* probability of keeping each word; NULL: keep all */
    float *alias_prob;          /* alias table of the noise distribution */
    int32_t *alias;
    float sigmoid[SIG_SIZE];
    float loss_pos[SIG_SIZE];   /* -log sigmoid(x) */
    float loss_neg[SIG_SIZE];   /* -log (1 - sigmoid(x)) */
    int epoch;                  /* the slice being trained */
    int64_t begin, end;
    uint64_t slice;
    int npieces;                /* pieces of this slice */
    int nalloc;                 /* pieces allocated */
    piece *pieces;
} trainer;

static void fill_tables(trainer *t)
{
    int i;
    for (i = 0; i < SIG_SIZE; i++) {
        double x = ((double)i / SIG_SIZE * 2 - 1) * SIG_MAX;
        t->sigmoid[i] = (float)(1 / (1 + exp(-x)));
        t->loss_pos[i] = (float)log1p(exp(-x));
        t->loss_neg[i] = (float)log1p(exp(x));
    }
}

/* g = (label - sigmoid(f)) * alpha; adds the pair's loss to *loss. */
static inline float gradient(const trainer *t, float f, int label, float alpha, double *loss)
{
    int i;
    if (f >= SIG_MAX) {
        *loss += label ? 0.0 : f;
        return (float)(label - 1) * alpha;
    }
    if (f <= -SIG_MAX) {
        *loss += label ? -f : 0.0;
        return (float)label * alpha;
    }
    i = (int)((f + SIG_MAX) * (SIG_SIZE / SIG_MAX / 2));
    *loss += label ? t->loss_pos[i] : t->loss_neg[i];
    return ((float)label - t->sigmoid[i]) * alpha;
}

/* Uniform integer in [0, n) from the top 32 bits (n < 2^31). */
static inline int64_t below(bgm_rng *rng, int64_t n)
{
    return (int64_t)(((bgm_rng_next_u64(rng) >> 32) * (uint64_t)n) >> 32);
}

/* A word drawn from the unigram^0.75 distribution (Walker's alias method). */
static inline int32_t noise_word(const trainer *t, bgm_rng *rng)
{
    uint64_t r = bgm_rng_next_u64(rng);
    int64_t i = (int64_t)(((r >> 32) * (uint64_t)t->vocab) >> 32);
    float u = (float)(r & 0xFFFFFFFFu) * (1.0f / 4294967296.0f);
    return u < t->alias_prob[i] ? (int32_t)i : t->alias[i];
}

/* Trains pairs of input vector l1 with word (label 1) and negative samples. */
static void train_target(const trainer *t, piece *p, const float *l1, int32_t word,
                         float alpha)
{
    int64_t st = t->stride;
    int d;
    memset(p->neu1e, 0, (size_t)st * sizeof(float));
    for (d = 0; d <= t->o->negative; d++) {
        int32_t target = word;
        float *l2, g;
        if (d > 0) {
            target = noise_word(t, &p->rng);
            if (target == word)
                continue;
        }
        l2 = t->syn1 + target * st;
        g = gradient(t, dot(l1, l2, st), d == 0, alpha, &p->loss);
        axpy(p->neu1e, g, l2, st);
        axpy(l2, g, l1, st);
    }
    p->pairs++;
}

static void train_skipgram(const trainer *t, piece *p, int n, float alpha)
{
    int c, a, lo, hi, w;
    for (c = 0; c < n; c++) {
        w = t->o->window - (int)below(&p->rng, t->o->window);
        lo = c - w > 0 ? c - w : 0;
        hi = c + w < n - 1 ? c + w : n - 1;
        for (a = lo; a <= hi; a++) {
            float *l1;
            if (a == c)
                continue;
            /* as word2vec.c: the context word's vector predicts the center word */
            l1 = t->syn0 + p->sentence[a] * t->stride;
            train_target(t, p, l1, p->sentence[c], alpha);
            axpy(l1, 1.0f, p->neu1e, t->stride);
        }
    }
}

static void train_cbow(const trainer *t, piece *p, int n, float alpha)
{
    int64_t st = t->stride;
    int c, a, lo, hi, w, cw;
    for (c = 0; c < n; c++) {
        w = t->o->window - (int)below(&p->rng, t->o->window);
        lo = c - w > 0 ? c - w : 0;
        hi = c + w < n - 1 ? c + w : n - 1;
        cw = hi - lo;
        if (cw == 0)
            continue;
        memset(p->neu1, 0, (size_t)st * sizeof(float));
        for (a = lo; a <= hi; a++)
            if (a != c)
                axpy(p->neu1, 1.0f, t->syn0 + p->sentence[a] * st, st);
        scale(p->neu1, 1.0f / (float)cw, st);
        train_target(t, p, p->neu1, p->sentence[c], alpha);
        for (a = lo; a <= hi; a++)
            if (a != c)
                axpy(t->syn0 + p->sentence[a] * st, 1.0f, p->neu1e, st);
    }
}

/* Index of the document holding corpus position pos. */
static int64_t doc_of(const trainer *t, int64_t pos)
{
    int64_t lo = 0, hi = t->ndocs - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (t->doc_starts[mid] <= pos)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static void train_piece(trainer *t, int k)
{
    const bgm_word2vec_options *o = t->o;
    piece *p = &t->pieces[k];
    int64_t len = t->end - t->begin;
    int64_t pos = t->begin + len * k / t->npieces;
    int64_t stop = t->begin + len * (k + 1) / t->npieces;
    int64_t d = doc_of(t, pos);
    double total = (double)o->epochs * (double)t->nwords;
    bgm__rng_seed(&p->rng, o->seed + 0x632BE59BD9B4E019ULL * (t->slice * MAX_PIECES + k + 1));
    p->loss = 0;
    p->pairs = 0;
    while (pos < stop) {
        int64_t doc_end = t->doc_starts[d + 1], limit = doc_end < stop ? doc_end : stop;
        int64_t first = pos;
        int n = 0;
        float alpha;
        while (pos < limit && n < MAX_SENTENCE) {
            int32_t w = t->corpus[pos++];
            if (t->keep && t->keep[w] < bgm_rng_uniform(&p->rng))
                continue;
            p->sentence[n++] = w;
        }
        if (pos == doc_end)
            d++;
        alpha = (float)(o->alpha - (o->alpha - o->min_alpha) *
                                       (((double)t->epoch * t->nwords + first) / total));
        if (o->arch == BGM_WORD2VEC_CBOW)
            train_cbow(t, p, n, alpha);
        else
            train_skipgram(t, p, n, alpha);
    }
}

static void train_pieces(void *ctx, int64_t begin, int64_t end)
{
    int64_t k;
    for (k = begin; k < end; k++)
        train_piece(ctx, (int)k);
}

/* ---- setup -------------------------------------------------------------- */

static bgm_status check_options(const bgm_word2vec_options *o, const char *fn)
{
    if (o->arch != BGM_WORD2VEC_SKIPGRAM && o->arch != BGM_WORD2VEC_CBOW)
        return bgm__fail(BGM_E_INVALID, "%s: unknown arch %d (BGM_WORD2VEC_SKIPGRAM = 0, "
                         "BGM_WORD2VEC_CBOW = 1)", fn, (int)o->arch);
    if (o->vector_size < 1 || o->vector_size > (1 << 20))
        return bgm__fail(BGM_E_INVALID, "%s: vector_size %lld must be in 1..%d", fn,
                         (long long)o->vector_size, 1 << 20);
    if (o->window < 1 || o->window > MAX_SENTENCE)
        return bgm__fail(BGM_E_INVALID, "%s: window %d must be in 1..%d", fn, o->window,
                         MAX_SENTENCE);
    if (o->min_count < 1)
        return bgm__fail(BGM_E_INVALID, "%s: min_count %lld must be at least 1", fn,
                         (long long)o->min_count);
    if (o->max_vocab < 0)
        return bgm__fail(BGM_E_INVALID, "%s: max_vocab %lld is negative", fn,
                         (long long)o->max_vocab);
    if (o->negative < 1 || o->negative > 1000)
        return bgm__fail(BGM_E_INVALID, "%s: negative %d must be in 1..1000", fn, o->negative);
    if (!(o->sample >= 0 && o->sample < 1))
        return bgm__fail(BGM_E_INVALID, "%s: sample %g must be in [0, 1)", fn, o->sample);
    if (o->epochs < 1)
        return bgm__fail(BGM_E_INVALID, "%s: epochs %d must be at least 1", fn, o->epochs);
    if (!(o->alpha > 0 && o->alpha < 1e3f))
        return bgm__fail(BGM_E_INVALID, "%s: alpha %g must be positive", fn, (double)o->alpha);
    if (!(o->min_alpha >= 0 && o->min_alpha <= o->alpha))
        return bgm__fail(BGM_E_INVALID, "%s: min_alpha %g must be in [0, alpha = %g]", fn,
                         (double)o->min_alpha, (double)o->alpha);
    if (o->threads < 0)
        return bgm__fail(BGM_E_INVALID, "%s: threads %d is negative (0 means "
                         "bgm_get_num_threads())", fn, o->threads);
    return BGM_OK;
}

#define W2V_OPTIONS_V1_SIZE BGM__OPTIONS_SIZE(bgm_word2vec_options, progress_ctx)

static void w2v_defaults(bgm_word2vec_options *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->arch = BGM_WORD2VEC_SKIPGRAM;
    o->vector_size = 100;
    o->window = 5;
    o->min_count = 5;
    o->max_vocab = 0;
    o->negative = 5;
    o->sample = 1e-3;
    o->epochs = 5;
    o->alpha = 0.025f;
    o->min_alpha = 0.0001f;
    o->threads = 1;
    o->seed = 1;
    o->clean = NULL;
    o->progress = NULL;
    o->progress_ctx = NULL;
}

BGM__OPTIONS_INIT_FUNCTIONS(bgm_word2vec_options, bgm_word2vec_options_init, w2v_defaults,
                            W2V_OPTIONS_V1_SIZE)

/*
 * Keeps the ranked words of wc in *words (numbered by rank) and rewrites seq
 * in those numbers, dropping the other words and the documents left empty.
 */
static bgm_status select_words(bgm__strtab *words, int64_t **counts, bgm__idseq *seq,
                               const char *fn, const bgm__wordcount *wc,
                               const bgm_word2vec_options *o)
{
    int64_t *order = NULL, n = 0, i, d, kept = 0, nd = 0, start = 0, id;
    int32_t *map = NULL;
    int added;
    bgm_status s = bgm__wordcount_rank(&order, &n, fn, wc, o->min_count);
    if (s != BGM_OK)
        return s;
    if (o->max_vocab > 0 && n > o->max_vocab)
        n = o->max_vocab;
    map = malloc((size_t)(wc->words.count ? wc->words.count : 1) * sizeof *map);
    *counts = malloc((size_t)(n ? n : 1) * sizeof **counts);
    if (!map || !*counts)
        goto nomem;
    for (i = 0; i < wc->words.count; i++)
        map[i] = -1;
    for (i = 0; i < n; i++) {
        if (!bgm__strtab_intern(words, bgm__strtab_str(&wc->words, order[i]),
                                bgm__strtab_len(&wc->words, order[i]), &id, &added))
            goto nomem;
        map[order[i]] = (int32_t)i;
        (*counts)[i] = wc->counts[order[i]];
    }
    for (d = 0; d < seq->ndocs; d++) {
        int64_t end = seq->doc_starts[d + 1], first = kept, p;
        for (p = start; p < end; p++)
            if (map[seq->ids[p]] >= 0)
                seq->ids[kept++] = map[seq->ids[p]];
        if (kept > first)
            seq->doc_starts[nd++] = first;
        start = end;
    }
    seq->doc_starts[nd] = kept;
    seq->ndocs = nd;
    seq->n = kept;
    free(order);
    free(map);
    return BGM_OK;
nomem:
    free(order);
    free(map);
    return bgm__fail(BGM_E_NOMEM, "%s: out of memory for a vocabulary of %lld words", fn,
                     (long long)n);
}

/* Vose's alias method over count^0.75, processed in a fixed order. */
static int build_noise(trainer *t, const int64_t *counts)
{
    int64_t v = t->vocab, i, ns = 0, nl = 0;
    double *q = malloc((size_t)v * sizeof *q), sum = 0;
    int32_t *small = malloc((size_t)v * sizeof *small);
    int32_t *large = malloc((size_t)v * sizeof *large);
    t->alias_prob = malloc((size_t)v * sizeof *t->alias_prob);
    t->alias = malloc((size_t)v * sizeof *t->alias);
    if (!q || !small || !large || !t->alias_prob || !t->alias) {
        free(q);
        free(small);
        free(large);
        return 0;
    }
    for (i = 0; i < v; i++)
        sum += q[i] = pow((double)counts[i], 0.75);
    for (i = 0; i < v; i++) {
        q[i] = q[i] / sum * (double)v;
        if (q[i] < 1)
            small[ns++] = (int32_t)i;
        else
            large[nl++] = (int32_t)i;
    }
    while (ns > 0 && nl > 0) {
        int32_t s = small[--ns], l = large[--nl];
        t->alias_prob[s] = (float)q[s];
        t->alias[s] = l;
        q[l] = (q[l] + q[s]) - 1;
        if (q[l] < 1)
            small[ns++] = l;
        else
            large[nl++] = l;
    }
    while (nl > 0) {
        int32_t l = large[--nl];
        t->alias_prob[l] = 1;
        t->alias[l] = l;
    }
    while (ns > 0) { /* rounding leftovers */
        int32_t s = small[--ns];
        t->alias_prob[s] = 1;
        t->alias[s] = s;
    }
    free(q);
    free(small);
    free(large);
    return 1;
}

/* word2vec.c's sub-sampling: keep with probability (sqrt(f/t) + 1) t/f. */
static int build_keep(trainer *t, const int64_t *counts)
{
    double thresh = t->o->sample * (double)t->nwords;
    int64_t i;
    if (t->o->sample <= 0)
        return 1;
    t->keep = malloc((size_t)t->vocab * sizeof *t->keep);
    if (!t->keep)
        return 0;
    for (i = 0; i < t->vocab; i++) {
        double c = (double)counts[i], p = (sqrt(c / thresh) + 1) * thresh / c;
        t->keep[i] = p > 1 ? 1.0f : (float)p;
    }
    return 1;
}

static int alloc_vectors(trainer *t)
{
    size_t bytes;
    int64_t i, j;
    bgm_rng rng;
    if (!bgm__mul_size((size_t)t->vocab, (size_t)t->stride, &bytes) ||
        !bgm__mul_size(bytes, sizeof(float), &bytes))
        return 0;
    t->syn0 = bgm__aligned_alloc(bytes);
    t->syn1 = bgm__aligned_alloc(bytes);
    if (!t->syn0 || !t->syn1)
        return 0;
    memset(t->syn0, 0, bytes);
    memset(t->syn1, 0, bytes);
    bgm__rng_seed(&rng, t->o->seed);
    for (i = 0; i < t->vocab; i++)
        for (j = 0; j < t->dim; j++)
            t->syn0[i * t->stride + j] = (bgm_rng_uniform(&rng) - 0.5f) / (float)t->dim;
    return 1;
}

static int alloc_pieces(trainer *t, int n)
{
    int k;
    t->pieces = calloc((size_t)n, sizeof *t->pieces);
    if (!t->pieces)
        return 0;
    t->nalloc = n;
    for (k = 0; k < n; k++) {
        t->pieces[k].neu1 = bgm__aligned_alloc((size_t)t->stride * sizeof(float));
        t->pieces[k].neu1e = bgm__aligned_alloc((size_t)t->stride * sizeof(float));
        if (!t->pieces[k].neu1 || !t->pieces[k].neu1e)
            return 0;
    }
    return 1;
}

static void trainer_release(trainer *t)
{
    int k;
    for (k = 0; t->pieces && k < t->nalloc; k++) {
        bgm__aligned_free(t->pieces[k].neu1);
        bgm__aligned_free(t->pieces[k].neu1e);
    }
    free(t->pieces);
    bgm__aligned_free(t->syn0);
    bgm__aligned_free(t->syn1);
    free(t->keep);
    free(t->alias_prob);
    free(t->alias);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Runs every epoch slice by slice; reports progress after each slice. */
static bgm_status run_epochs(trainer *t, const char *fn, int threads)
{
    const bgm_word2vec_options *o = t->o;
    int64_t nslices = (t->nwords + SLICE_WORDS - 1) / SLICE_WORDS, sl;
    for (t->epoch = 0; t->epoch < o->epochs; t->epoch++) {
        for (sl = 0; sl < nslices; sl++) {
            double start = o->progress ? now_seconds() : 0, loss = 0;
            int64_t pairs = 0;
            int k;
            t->begin = t->nwords * sl / nslices;
            t->end = t->nwords * (sl + 1) / nslices;
            t->npieces = (int)(t->end - t->begin < threads ? t->end - t->begin : threads);
            t->slice = (uint64_t)t->epoch * (uint64_t)nslices + (uint64_t)sl;
            bgm__parallel_for(t->npieces, 1, train_pieces, t);
            if (!o->progress)
                continue;
            for (k = 0; k < t->npieces; k++) {
                loss += t->pieces[k].loss;
                pairs += t->pieces[k].pairs;
            }
            {
                double done = ((double)t->epoch * t->nwords + t->end) /
                              ((double)o->epochs * t->nwords);
                double secs = now_seconds() - start;
                float alpha = (float)(o->alpha - (o->alpha - o->min_alpha) * done);
                if (o->progress(o->progress_ctx, t->epoch + 1, done,
                                secs > 0 ? (double)(t->end - t->begin) / secs : 0, alpha,
                                pairs ? (float)(loss / (double)pairs) : 0.0f))
                    return bgm__fail(BGM_E_CANCELLED, "%s: stopped by the progress callback "
                                     "in epoch %d", fn, t->epoch + 1);
            }
        }
    }
    return BGM_OK;
}

/* Moves the trained input vectors and the words into a new model. */
static bgm_status make_model(bgm_word2vec **out, const char *fn, trainer *t,
                             bgm__strtab *words)
{
    bgm_word2vec *m = NULL;
    int64_t i;
    bgm_status s = bgm__word2vec_new(&m, fn, t->dim);
    if (s != BGM_OK)
        return s;
    m->words = *words;
    bgm__strtab_init(words);
    if (!bgm__word2vec_reserve(m, t->vocab)) {
        bgm_word2vec_free(m);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld vectors", fn,
                         (long long)t->vocab);
    }
    for (i = 0; i < t->vocab; i++)
        memcpy(m->vectors + i * t->dim, t->syn0 + i * t->stride,
               (size_t)t->dim * sizeof(float));
    bgm__word2vec_finish(m);
    *out = m;
    return BGM_OK;
}

BGM_API bgm_status bgm_word2vec_train(bgm_word2vec **out, const char *const *docs,
                                      const int64_t *lens, int64_t ndocs,
                                      const bgm_word2vec_options *opts)
{
    static const char *fn = "bgm_word2vec_train";
    bgm_word2vec_options defaults;
    bgm_text_clean_options clean_defaults;
    const bgm_text_clean_options *clean = NULL;
    const bgm_word2vec_options *o = &defaults;
    bgm__wordcount wc;
    bgm__idseq seq;
    bgm__strtab words;
    int64_t *counts = NULL;
    trainer t;
    int threads;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    w2v_defaults(&defaults);
    s = opts ? bgm__options_read(&defaults, sizeof defaults, opts, W2V_OPTIONS_V1_SIZE,
                                 "bgm_word2vec_options", "bgm_word2vec_options_init_v2", fn)
             : BGM_OK;
    if (s == BGM_OK)
        s = check_options(o, fn);
    if (s == BGM_OK)
        s = bgm__clean_options(&clean, &clean_defaults, fn, o->clean);
    if (s == BGM_OK)
        s = bgm__check_docs(fn, docs, ndocs);
    if (s == BGM_OK && ndocs == 0)
        s = bgm__fail(BGM_E_INVALID, "%s: empty corpus (no documents)", fn);
    if (s != BGM_OK)
        return s;
    threads = o->threads ? o->threads : bgm_get_num_threads();
    if (threads > MAX_PIECES)
        threads = MAX_PIECES;

    memset(&t, 0, sizeof t);
    memset(&seq, 0, sizeof seq);
    bgm__wordcount_init(&wc);
    bgm__strtab_init(&words);
    s = bgm__wordcount_docs(&wc, &seq, fn, docs, lens, ndocs, clean);
    if (s == BGM_OK)
        s = select_words(&words, &counts, &seq, fn, &wc, o);
    bgm__wordcount_release(&wc);
    if (s == BGM_OK && seq.n == 0)
        s = bgm__fail(BGM_E_INVALID, "%s: empty corpus: no word occurs at least min_count = "
                      "%lld times in the %lld documents", fn, (long long)o->min_count,
                      (long long)ndocs);
    if (s != BGM_OK)
        goto done;

    t.o = o;
    t.vocab = words.count;
    t.dim = o->vector_size;
    t.stride = (t.dim + ROW_ALIGN - 1) / ROW_ALIGN * ROW_ALIGN;
    t.corpus = seq.ids;
    t.nwords = seq.n;
    t.doc_starts = seq.doc_starts;
    t.ndocs = seq.ndocs;
    fill_tables(&t);
    if (!build_noise(&t, counts) || !build_keep(&t, counts) || !alloc_vectors(&t) ||
        !alloc_pieces(&t, threads)) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld words of dimension %lld", fn,
                      (long long)t.vocab, (long long)t.dim);
        goto done;
    }
    s = run_epochs(&t, fn, threads);
    if (s == BGM_OK)
        s = make_model(out, fn, &t, &words);
done:
    trainer_release(&t);
    bgm__idseq_release(&seq);
    bgm__strtab_release(&words);
    free(counts);
    return s;
}
