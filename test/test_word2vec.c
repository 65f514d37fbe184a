/* Word2vec: training on a corpus with known structure, determinism, the text
 * file format, document vectors and bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define GROUP 8
#define NDOCS 240
#define DOC_WORDS 20

/*
 * Two groups of 8 words ("aa".."ah" and "ba".."bh"); every document draws
 * its words from one group only, so words only ever co-occur within their
 * group. Documents alternate between the groups.
 */
typedef struct corpus {
    char *docs[NDOCS];
} corpus;

static void corpus_make(corpus *c)
{
    uint32_t state = 12345;
    int d, w;
    for (d = 0; d < NDOCS; d++) {
        char *p = malloc(DOC_WORDS * 3 + 1);
        ck_assert_ptr_nonnull(p);
        c->docs[d] = p;
        for (w = 0; w < DOC_WORDS; w++) {
            state = state * 1103515245u + 12345u;
            *p++ = d % 2 ? 'b' : 'a';
            *p++ = (char)('a' + (state >> 16) % GROUP);
            *p++ = ' ';
        }
        *p = '\0';
    }
}

static void corpus_free(corpus *c)
{
    int d;
    for (d = 0; d < NDOCS; d++)
        free(c->docs[d]);
}

static void small_options(bgm_word2vec_options *o, bgm_word2vec_arch arch)
{
    bgm_word2vec_options_init(o);
    o->arch = arch;
    o->vector_size = 16;
    o->window = 3;
    o->min_count = 1;
    o->sample = 0;
    o->epochs = 10;
    o->seed = 7;
}

static double cosine(const bgm_word2vec *m, const char *a, const char *b)
{
    bgm_tensor *ta = NULL, *tb = NULL;
    const float *x, *y;
    double dot = 0, na = 0, nb = 0;
    int64_t i;
    BGM_ASSERT_OK(bgm_word2vec_vector(&ta, m, a));
    BGM_ASSERT_OK(bgm_word2vec_vector(&tb, m, b));
    x = bgm_tensor_data(ta);
    y = bgm_tensor_data(tb);
    for (i = 0; i < bgm_word2vec_dim(m); i++) {
        dot += (double)x[i] * y[i];
        na += (double)x[i] * x[i];
        nb += (double)y[i] * y[i];
    }
    bgm_tensor_free(ta);
    bgm_tensor_free(tb);
    return dot / sqrt(na * nb);
}

/* Same-group words must be nearer than cross-group ones, for every word, and
 * the mean within-group cosine must exceed the mean across groups by margin. */
static void assert_groups_separate(const bgm_word2vec *m, double margin)
{
    double within = 0, across = 0;
    int nw = 0, na = 0, i, j;
    char a[3] = "a?", b[3] = "??";
    ck_assert_int_eq(bgm_word2vec_vocab_size(m), 2 * GROUP);
    for (i = 0; i < 2 * GROUP; i++) {
        const char *best[1];
        float score[1];
        int found = 0;
        a[0] = i < GROUP ? 'a' : 'b';
        a[1] = (char)('a' + i % GROUP);
        for (j = 0; j < 2 * GROUP; j++) {
            b[0] = j < GROUP ? 'a' : 'b';
            b[1] = (char)('a' + j % GROUP);
            if (i == j)
                continue;
            if ((i < GROUP) == (j < GROUP)) {
                within += cosine(m, a, b);
                nw++;
            } else {
                across += cosine(m, a, b);
                na++;
            }
        }
        BGM_ASSERT_OK(bgm_word2vec_most_similar(best, score, &found, m, a, 1));
        ck_assert_int_eq(found, 1);
        ck_assert_msg(best[0][0] == a[0], "nearest word to %s is %s (cosine %.3f), from the "
                      "other group", a, best[0], (double)score[0]);
    }
    within /= nw;
    across /= na;
    ck_assert_msg(within > across + margin, "mean cosine within groups %.3f, across %.3f",
                  within, across);
}

START_TEST(skipgram_puts_same_group_words_nearer_than_cross_group_words)
{
    corpus c;
    bgm_word2vec *m = NULL;
    bgm_word2vec_options o;
    corpus_make(&c);
    small_options(&o, BGM_WORD2VEC_SKIPGRAM);
    BGM_ASSERT_OK(bgm_word2vec_train(&m, (const char *const *)c.docs, NULL, NDOCS, &o));
    ck_assert_int_eq(bgm_word2vec_dim(m), 16);
    assert_groups_separate(m, 0.3);
    bgm_word2vec_free(m);
    corpus_free(&c);
}
END_TEST

START_TEST(cbow_puts_same_group_words_nearer_than_cross_group_words)
{
    corpus c;
    bgm_word2vec *m = NULL;
    bgm_word2vec_options o;
    corpus_make(&c);
    small_options(&o, BGM_WORD2VEC_CBOW);
    o.alpha = 0.05f;
    BGM_ASSERT_OK(bgm_word2vec_train(&m, (const char *const *)c.docs, NULL, NDOCS, &o));
    assert_groups_separate(m, 0.3);
    bgm_word2vec_free(m);
    corpus_free(&c);
}
END_TEST

START_TEST(two_threads_and_subsampling_still_learn_the_groups)
{
    corpus c;
    bgm_word2vec *m = NULL;
    bgm_word2vec_options o;
    corpus_make(&c);
    small_options(&o, BGM_WORD2VEC_SKIPGRAM);
    o.threads = 2;
    o.sample = 0.05;
    BGM_ASSERT_OK(bgm_word2vec_train(&m, (const char *const *)c.docs, NULL, NDOCS, &o));
    /* Hogwild updates make this run depend on thread timing: the groups stay
     * apart (every nearest neighbour is checked), but how far apart varies,
     * down to 0.98 against 0.82 seen on a loaded machine; so a small margin. */
    assert_groups_separate(m, 0.05);
    bgm_word2vec_free(m);
    corpus_free(&c);
}
END_TEST

/* Every vector of a and b, compared bit for bit; returns 1 when all are equal. */
static int same_vectors(const bgm_word2vec *a, const bgm_word2vec *b)
{
    int64_t i;
    int same = 1;
    ck_assert_int_eq(bgm_word2vec_vocab_size(a), bgm_word2vec_vocab_size(b));
    for (i = 0; i < bgm_word2vec_vocab_size(a); i++) {
        bgm_tensor *x = NULL, *y = NULL;
        ck_assert_str_eq(bgm_word2vec_word(a, i), bgm_word2vec_word(b, i));
        BGM_ASSERT_OK(bgm_word2vec_vector(&x, a, bgm_word2vec_word(a, i)));
        BGM_ASSERT_OK(bgm_word2vec_vector(&y, b, bgm_word2vec_word(b, i)));
        same &= memcmp(bgm_tensor_data(x), bgm_tensor_data(y), bgm_tensor_nbytes(x)) == 0;
        bgm_tensor_free(x);
        bgm_tensor_free(y);
    }
    return same;
}

START_TEST(one_thread_gives_the_same_bits_for_the_same_seed)
{
    corpus c;
    bgm_word2vec *m1 = NULL, *m2 = NULL, *m3 = NULL;
    bgm_word2vec_options o;
    corpus_make(&c);
    small_options(&o, BGM_WORD2VEC_SKIPGRAM);
    o.epochs = 2;
    o.sample = 0.05;
    BGM_ASSERT_OK(bgm_word2vec_train(&m1, (const char *const *)c.docs, NULL, NDOCS, &o));
    BGM_ASSERT_OK(bgm_word2vec_train(&m2, (const char *const *)c.docs, NULL, NDOCS, &o));
    ck_assert(same_vectors(m1, m2));
    o.seed = 8;
    BGM_ASSERT_OK(bgm_word2vec_train(&m3, (const char *const *)c.docs, NULL, NDOCS, &o));
    ck_assert(!same_vectors(m1, m3));
    bgm_word2vec_free(m1);
    bgm_word2vec_free(m2);
    bgm_word2vec_free(m3);
    corpus_free(&c);
}
END_TEST

START_TEST(words_are_numbered_most_frequent_first)
{
    const char *docs[] = {"rare common common mid", "mid common . rare2"};
    bgm_word2vec *m = NULL;
    bgm_word2vec_options o;
    bgm_word2vec_options_init(&o);
    o.min_count = 1;
    o.vector_size = 4;
    o.epochs = 1;
    BGM_ASSERT_OK(bgm_word2vec_train(&m, docs, NULL, 2, &o));
    ck_assert_int_eq(bgm_word2vec_vocab_size(m), 4);
    ck_assert_str_eq(bgm_word2vec_word(m, 0), "common");
    ck_assert_str_eq(bgm_word2vec_word(m, 1), "mid");
    ck_assert_str_eq(bgm_word2vec_word(m, 2), "rare");
    ck_assert_str_eq(bgm_word2vec_word(m, 3), "rare2");
    ck_assert_ptr_null(bgm_word2vec_word(m, 4));
    ck_assert_int_eq(bgm_word2vec_index(m, "mid"), 1);
    ck_assert_int_eq(bgm_word2vec_index(m, "nope"), -1);
    bgm_word2vec_free(m);
    o.min_count = 2;
    BGM_ASSERT_OK(bgm_word2vec_train(&m, docs, NULL, 2, &o));
    ck_assert_int_eq(bgm_word2vec_vocab_size(m), 2);
    bgm_word2vec_free(m);
    o.min_count = 1;
    o.max_vocab = 1;
    BGM_ASSERT_OK(bgm_word2vec_train(&m, docs, NULL, 2, &o));
    ck_assert_int_eq(bgm_word2vec_vocab_size(m), 1);
    bgm_word2vec_free(m);
}
END_TEST

typedef struct progress_log {
    int calls, last_epoch, stop_after;
    double last_progress;
    float last_alpha, first_loss;
} progress_log;

static int log_progress(void *ctx, int epoch, double progress, double words_per_sec,
                        float alpha, float loss)
{
    progress_log *p = ctx;
    ck_assert_int_ge(epoch, p->last_epoch);
    ck_assert(progress > p->last_progress);
    ck_assert(words_per_sec >= 0);
    if (p->calls == 0)
        p->first_loss = loss;
    p->calls++;
    p->last_epoch = epoch;
    p->last_progress = progress;
    p->last_alpha = alpha;
    return p->stop_after > 0 && p->calls >= p->stop_after;
}

START_TEST(progress_reports_each_epoch_and_can_stop_training)
{
    corpus c;
    bgm_word2vec *m = NULL;
    bgm_word2vec_options o;
    progress_log log = {0, 0, 0, 0.0, 0.0f, 0.0f};
    corpus_make(&c);
    small_options(&o, BGM_WORD2VEC_SKIPGRAM);
    o.epochs = 3;
    o.progress = log_progress;
    o.progress_ctx = &log;
    BGM_ASSERT_OK(bgm_word2vec_train(&m, (const char *const *)c.docs, NULL, NDOCS, &o));
    ck_assert_int_eq(log.calls, 3);
    ck_assert_int_eq(log.last_epoch, 3);
    ck_assert(fabs(log.last_progress - 1.0) < 1e-12);
    ck_assert(fabs(log.last_alpha - o.min_alpha) < 1e-7);
    /* the first epoch starts from random vectors: loss near 6 * log 2 per pair */
    ck_assert(log.first_loss > 0.5f && log.first_loss < 6 * 0.7f);
    bgm_word2vec_free(m);
    memset(&log, 0, sizeof log);
    log.stop_after = 2;
    m = (bgm_word2vec *)1;
    BGM_ASSERT_FAILS(bgm_word2vec_train(&m, (const char *const *)c.docs, NULL, NDOCS, &o),
                     BGM_E_CANCELLED, "stopped by the progress callback in epoch 2");
    ck_assert_ptr_null(m);
    corpus_free(&c);
}
END_TEST

/* ---- files ---------------------------------------------------------------- */

static void temp_path(char *buf, size_t size, const char *tag)
{
    snprintf(buf, size, "/tmp/bgm_test_w2v_%ld_%s", (long)getpid(), tag);
}

static void write_file(const char *path, const char *content)
{
    bgm_test_write_file(path, content, strlen(content));
}

START_TEST(save_and_load_round_trip_in_the_word2vec_text_format)
{
    corpus c;
    bgm_word2vec *m = NULL, *back = NULL;
    bgm_word2vec_options o;
    char path[256], header[64];
    FILE *f;
    corpus_make(&c);
    small_options(&o, BGM_WORD2VEC_SKIPGRAM);
    o.epochs = 1;
    BGM_ASSERT_OK(bgm_word2vec_train(&m, (const char *const *)c.docs, NULL, NDOCS, &o));
    temp_path(path, sizeof path, "vectors.txt");
    BGM_ASSERT_OK(bgm_word2vec_save(m, path));
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(fgets(header, sizeof header, f));
    fclose(f);
    ck_assert_str_eq(header, "16 16\n");
    BGM_ASSERT_OK(bgm_word2vec_load(&back, path));
    ck_assert_int_eq(bgm_word2vec_dim(back), 16);
    /* 9 significant digits bring every float back exactly */
    ck_assert(same_vectors(m, back));
    unlink(path);
    bgm_word2vec_free(back);
    bgm_word2vec_free(m);
    corpus_free(&c);
}
END_TEST

START_TEST(load_reads_files_of_the_original_tool_and_gensim)
{
    bgm_word2vec *m = NULL;
    bgm_tensor *v = NULL;
    const char *best[2];
    float score[2];
    int found = 0;
    char path[256];
    const float want[] = {-0.5f, 2.0f};
    int64_t shape[] = {2};
    temp_path(path, sizeof path, "tool.txt");
    /* word2vec.c writes a space before each newline; CRLF and tabs are accepted too */
    write_file(path, "3 2\r\nking 1 0 \r\nqueen\t0.9 0.1\nman -0.5 2e0 \n\n");
    BGM_ASSERT_OK(bgm_word2vec_load(&m, path));
    ck_assert_int_eq(bgm_word2vec_vocab_size(m), 3);
    ck_assert_str_eq(bgm_word2vec_word(m, 2), "man");
    BGM_ASSERT_OK(bgm_word2vec_vector(&v, m, "man"));
    bgm_test_assert_close(v, shape, 1, want, 0);
    BGM_ASSERT_OK(bgm_word2vec_most_similar(best, score, &found, m, "king", 2));
    ck_assert_int_eq(found, 2);
    ck_assert_str_eq(best[0], "queen");
    ck_assert_str_eq(best[1], "man");
    ck_assert(fabsf(score[0] - 0.9f / sqrtf(0.82f)) < 1e-6f);
    ck_assert(fabsf(score[1] - -0.5f / sqrtf(4.25f)) < 1e-6f);
    /* asking for more neighbours than there are words fills the rest with NULL */
    {
        const char *many[4];
        float sc[4];
        BGM_ASSERT_OK(bgm_word2vec_most_similar(many, sc, &found, m, "king", 4));
        ck_assert_int_eq(found, 2);
        ck_assert_ptr_null(many[2]);
        ck_assert_ptr_null(many[3]);
        ck_assert(sc[3] == 0.0f);
    }
    bgm_tensor_free(v);
    bgm_word2vec_free(m);
    unlink(path);
}
END_TEST

/* Loading content must fail with BGM_E_FORMAT and a message holding needle. */
static void assert_load_fails(const char *content, const char *needle)
{
    bgm_word2vec *m = (bgm_word2vec *)1;
    char path[256];
    temp_path(path, sizeof path, "bad.txt");
    write_file(path, content);
    BGM_ASSERT_FAILS(bgm_word2vec_load(&m, path), BGM_E_FORMAT, needle);
    ck_assert_ptr_null(m);
    unlink(path);
}

START_TEST(load_rejects_corrupt_files_naming_the_line)
{
    bgm_word2vec *m = NULL;
    assert_load_fails("", "line 1: expected the header");
    assert_load_fails("two 2\na 1 2\n", "line 1: expected the header");
    assert_load_fails("1 0\na\n", "line 1: expected the header");
    assert_load_fails("2 2\na 1 2\nb 1\n", "line 3: expected 2 values after the word, found 1");
    assert_load_fails("2 2\na 1 x\nb 1 2\n", "line 2: value 2 is not a finite number");
    assert_load_fails("1 2\na 1 nan\n", "line 2: value 2 is not a finite number");
    assert_load_fails("1 2\na 1 1e99\n", "line 2: value 2 is not a finite number");
    assert_load_fails("1 2\na 1 2 3\n", "line 2: more than 2 values");
    assert_load_fails("3 2\na 1 2\nb 3 4\n", "declares 3 words but only 2 lines follow");
    assert_load_fails("2 2\na 1 2\na 3 4\n", "line 3: word 'a' already on line 2");
    assert_load_fails("1 2\na 1 2\nb 3 4\n", "line 3: more lines than the 1 words");
    assert_load_fails("1 2\n 1 2\n", "line 2: expected \"word v1 ... v2\", got an empty word");
    assert_load_fails("99999 100\na 1\n", "declares 99999 words");
    BGM_ASSERT_FAILS(bgm_word2vec_load(&m, "/nonexistent/vectors.txt"), BGM_E_IO,
                     "/nonexistent/vectors.txt");
}
END_TEST

/* ---- queries ---------------------------------------------------------------- */

START_TEST(document_vectors_average_known_words_and_give_zeros_otherwise)
{
    bgm_word2vec *m = NULL;
    bgm_tensor *t = NULL;
    char path[256];
    const char *docs[] = {"King, MAN! unknown", "", "nothing known"};
    const float want[] = {0.25f, 1.0f, 0, 0, 0, 0};
    int64_t shape[] = {3, 2};
    temp_path(path, sizeof path, "doc.txt");
    write_file(path, "3 2\nking 1 0\nqueen 0.9 0.1\nman -0.5 2\n");
    BGM_ASSERT_OK(bgm_word2vec_load(&m, path));
    unlink(path);
    BGM_ASSERT_OK(bgm_word2vec_document_vectors(&t, m, docs, NULL, 3, NULL));
    bgm_test_assert_close(t, shape, 2, want, 1e-7);
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_word2vec_document_vectors(&t, m, NULL, NULL, 0, NULL));
    ck_assert_int_eq(bgm_tensor_dim(t, 0), 0);
    ck_assert_int_eq(bgm_tensor_dim(t, 1), 2);
    bgm_tensor_free(t);
    bgm_word2vec_free(m);
}
END_TEST

START_TEST(embedding_matrix_follows_the_vocabulary_ids)
{
    bgm_word2vec *m = NULL;
    bgm_vocab *v = NULL;
    bgm_tensor *t = NULL;
    char path[256];
    const char *docs[] = {"man man king zebra"};
    /* ids: 0 pad, 1 oov, man 2, king 3, zebra 4 (unknown to the model) */
    const float want[] = {0, 0, 0, 0, -0.5f, 2, 1, 0, 0, 0};
    int64_t shape[] = {5, 2};
    temp_path(path, sizeof path, "emb.txt");
    write_file(path, "3 2\nking 1 0\nqueen 0.9 0.1\nman -0.5 2\n");
    BGM_ASSERT_OK(bgm_word2vec_load(&m, path));
    unlink(path);
    BGM_ASSERT_OK(bgm_vocab_build(&v, docs, NULL, 1, NULL));
    BGM_ASSERT_OK(bgm_word2vec_embedding_matrix(&t, m, v));
    bgm_test_assert_close(t, shape, 2, want, 0);
    bgm_tensor_free(t);
    BGM_ASSERT_FAILS(bgm_word2vec_embedding_matrix(&t, NULL, v), BGM_E_INVALID, "'m'");
    BGM_ASSERT_FAILS(bgm_word2vec_embedding_matrix(&t, m, NULL), BGM_E_INVALID, "'v'");
    BGM_ASSERT_FAILS(bgm_word2vec_embedding_matrix(NULL, m, v), BGM_E_INVALID, "'out'");
    bgm_vocab_free(v);
    bgm_word2vec_free(m);
}
END_TEST

/* ---- bad input ---------------------------------------------------------------- */

START_TEST(train_rejects_bad_options_and_empty_corpora)
{
    const char *docs[] = {"a b c a b c"}, *null_doc[] = {NULL};
    bgm_word2vec *m = (bgm_word2vec *)1;
    bgm_word2vec_options o;
    bgm_text_clean_options co;
#define BAD_OPTION(field, value, needle)                                                  \
    do {                                                                                  \
        bgm_word2vec_options_init(&o);                                                    \
        o.min_count = 1;                                                                  \
        o.field = value;                                                                  \
        BGM_ASSERT_FAILS(bgm_word2vec_train(&m, docs, NULL, 1, &o), BGM_E_INVALID, needle); \
        ck_assert_ptr_null(m);                                                            \
    } while (0)
    BAD_OPTION(vector_size, 0, "vector_size 0");
    BAD_OPTION(window, 0, "window 0");
    BAD_OPTION(min_count, 0, "min_count 0");
    BAD_OPTION(max_vocab, -1, "max_vocab -1");
    BAD_OPTION(negative, 0, "negative 0");
    BAD_OPTION(sample, -0.1, "sample");
    BAD_OPTION(epochs, 0, "epochs 0");
    BAD_OPTION(alpha, 0.0f, "alpha 0");
    BAD_OPTION(min_alpha, 1.0f, "min_alpha 1");
    BAD_OPTION(threads, -1, "threads -1");
    BAD_OPTION(arch, (bgm_word2vec_arch)5, "unknown arch 5");
    BAD_OPTION(struct_size, 8, "struct_size");
#undef BAD_OPTION
    bgm_text_clean_options_init(&co);
    co.struct_size = 0;
    bgm_word2vec_options_init(&o);
    o.clean = &co;
    BGM_ASSERT_FAILS(bgm_word2vec_train(&m, docs, NULL, 1, &o), BGM_E_INVALID, "struct_size");
    BGM_ASSERT_FAILS(bgm_word2vec_train(NULL, docs, NULL, 1, NULL), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_word2vec_train(&m, NULL, NULL, 1, NULL), BGM_E_INVALID,
                     "'docs' is NULL");
    BGM_ASSERT_FAILS(bgm_word2vec_train(&m, null_doc, NULL, 1, NULL), BGM_E_INVALID,
                     "document 0 is NULL");
    BGM_ASSERT_FAILS(bgm_word2vec_train(&m, docs, NULL, 0, NULL), BGM_E_INVALID,
                     "empty corpus (no documents)");
    BGM_ASSERT_FAILS(bgm_word2vec_train(&m, docs, NULL, -3, NULL), BGM_E_INVALID, "negative");
    /* default min_count 5: no word of "a b c a b c" is frequent enough */
    BGM_ASSERT_FAILS(bgm_word2vec_train(&m, docs, NULL, 1, NULL), BGM_E_INVALID,
                     "no word occurs at least min_count = 5 times");
    ck_assert_ptr_null(m);
    bgm_word2vec_options_init(NULL);
}
END_TEST

START_TEST(queries_reject_unknown_words_and_bad_arguments)
{
    bgm_word2vec *m = NULL;
    bgm_tensor *t = (bgm_tensor *)1;
    const char *best[2], *docs[] = {"king"}, *null_doc[] = {NULL};
    int found = 5;
    char path[256];
    temp_path(path, sizeof path, "q.txt");
    write_file(path, "2 2\nking 1 0\nqueen 0.9 0.1\n");
    BGM_ASSERT_OK(bgm_word2vec_load(&m, path));
    unlink(path);
    BGM_ASSERT_FAILS(bgm_word2vec_most_similar(best, NULL, &found, m, "emperor", 2),
                     BGM_E_RANGE, "word 'emperor' is not in the vocabulary of 2 words");
    ck_assert_int_eq(found, 0);
    ck_assert_ptr_null(best[0]);
    BGM_ASSERT_FAILS(bgm_word2vec_most_similar(best, NULL, NULL, m, "king", 0),
                     BGM_E_INVALID, "k = 0");
    BGM_ASSERT_FAILS(bgm_word2vec_most_similar(NULL, NULL, NULL, m, "king", 1),
                     BGM_E_INVALID, "'words'");
    BGM_ASSERT_FAILS(bgm_word2vec_most_similar(best, NULL, NULL, NULL, "king", 1),
                     BGM_E_INVALID, "'m'");
    BGM_ASSERT_FAILS(bgm_word2vec_most_similar(best, NULL, NULL, m, NULL, 1),
                     BGM_E_INVALID, "'word'");
    BGM_ASSERT_FAILS(bgm_word2vec_vector(&t, m, "emperor"), BGM_E_RANGE, "'emperor'");
    ck_assert_ptr_null(t);
    BGM_ASSERT_FAILS(bgm_word2vec_vector(&t, NULL, "king"), BGM_E_INVALID, "'m'");
    BGM_ASSERT_FAILS(bgm_word2vec_vector(&t, m, NULL), BGM_E_INVALID, "'word'");
    BGM_ASSERT_FAILS(bgm_word2vec_vector(NULL, m, "king"), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_word2vec_document_vectors(&t, NULL, docs, NULL, 1, NULL),
                     BGM_E_INVALID, "'m'");
    BGM_ASSERT_FAILS(bgm_word2vec_document_vectors(&t, m, NULL, NULL, 1, NULL),
                     BGM_E_INVALID, "'docs' is NULL");
    BGM_ASSERT_FAILS(bgm_word2vec_document_vectors(&t, m, null_doc, NULL, 1, NULL),
                     BGM_E_INVALID, "document 0 is NULL");
    BGM_ASSERT_FAILS(bgm_word2vec_document_vectors(NULL, m, docs, NULL, 1, NULL),
                     BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_word2vec_save(NULL, "/tmp/x"), BGM_E_INVALID, "'m'");
    BGM_ASSERT_FAILS(bgm_word2vec_save(m, NULL), BGM_E_INVALID, "'path'");
    BGM_ASSERT_FAILS(bgm_word2vec_save(m, "/nonexistent-dir/v.txt"), BGM_E_IO,
                     "/nonexistent-dir/v.txt");
    BGM_ASSERT_FAILS(bgm_word2vec_load(NULL, "/tmp/x"), BGM_E_INVALID, "'out'");
    bgm_word2vec_free(m);
    BGM_ASSERT_FAILS(bgm_word2vec_load(&m, NULL), BGM_E_INVALID, "'path'");
    ck_assert_ptr_null(m);
    ck_assert_int_eq(bgm_word2vec_vocab_size(NULL), 0);
    ck_assert_int_eq(bgm_word2vec_dim(NULL), 0);
    ck_assert_ptr_null(bgm_word2vec_word(NULL, 0));
    ck_assert_int_eq(bgm_word2vec_index(NULL, "king"), -1);
    bgm_word2vec_free(NULL);
}
END_TEST

Suite *suite_word2vec(void)
{
    Suite *s = suite_create("word2vec");
    TCase *tc = tcase_create("train");
    BGM_TEST_SLOW(tc, 60);
    tcase_add_test(tc, skipgram_puts_same_group_words_nearer_than_cross_group_words);
    tcase_add_test(tc, cbow_puts_same_group_words_nearer_than_cross_group_words);
    tcase_add_test(tc, two_threads_and_subsampling_still_learn_the_groups);
    tcase_add_test(tc, one_thread_gives_the_same_bits_for_the_same_seed);
    tcase_add_test(tc, words_are_numbered_most_frequent_first);
    tcase_add_test(tc, progress_reports_each_epoch_and_can_stop_training);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    BGM_TEST_SLOW(tc, 30);
    tcase_add_test(tc, save_and_load_round_trip_in_the_word2vec_text_format);
    tcase_add_test(tc, load_reads_files_of_the_original_tool_and_gensim);
    tcase_add_test(tc, load_rejects_corrupt_files_naming_the_line);
    suite_add_tcase(s, tc);
    tc = tcase_create("queries");
    tcase_add_test(tc, document_vectors_average_known_words_and_give_zeros_otherwise);
    tcase_add_test(tc, embedding_matrix_follows_the_vocabulary_ids);
    tcase_add_test(tc, train_rejects_bad_options_and_empty_corpora);
    tcase_add_test(tc, queries_reject_unknown_words_and_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
