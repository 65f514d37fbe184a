/*
 * The SpamAssassin mails of the spam examples (spam_lstm.c,
 * spam_transformer.c): every mail of easy-ham-1/2, hard-ham-1 (ham, 0) and
 * spam-1/2 (spam, 1), read from its raw .txt file, in name order. A header
 * of the examples, not of the library: it defines the functions it declares.
 */
#ifndef SPAM_CORPUS_H
#define SPAM_CORPUS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bigmodel.h>

#define MAXDOCS 8192

static char *docs[MAXDOCS];
static int32_t labels[MAXDOCS];
static int64_t ndocs;

/* Appends every *.txt mail of dir/group, in name order, with label. */
static void read_group(const char *dir, const char *group, int32_t label)
{
    char path[4096];
    struct dirent **names = NULL;
    int n, i;
    snprintf(path, sizeof path, "%s/%s", dir, group);
    n = scandir(path, &names, NULL, alphasort);
    for (i = 0; i < n; i++) {
        FILE *f = NULL;
        long len;
        snprintf(path, sizeof path, "%s/%s/%s", dir, group, names[i]->d_name);
        if (strstr(names[i]->d_name, ".txt") && ndocs < MAXDOCS && (f = fopen(path, "rb")) &&
            fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
            (docs[ndocs] = calloc((size_t)len + 1, 1)) &&
            fread(docs[ndocs], 1, (size_t)len, f) == (size_t)len)
            labels[ndocs++] = label;
        if (f)
            fclose(f);
        free(names[i]);
    }
    free(names);
}

/* The documents and float labels (N, 1) of the samples of ds, whose features are indices. */
static bgm_status pick(const bgm_dataset *ds, const char ***out, bgm_tensor **y)
{
    int64_t n = bgm_dataset_size(ds), i;
    const int32_t *idx = bgm_tensor_data(bgm_dataset_features(ds));
    bgm_status s = bgm_tensor_zeros(y, BGM_FLOAT32, (int64_t[]){n, 1}, 2);
    *out = malloc((size_t)n * sizeof **out);
    for (i = 0; s == BGM_OK && *out && i < n; i++) {
        (*out)[i] = docs[idx[i]];
        ((float *)bgm_tensor_data(*y))[i] = (float)labels[idx[i]];
    }
    return s == BGM_OK && !*out ? BGM_E_NOMEM : s;
}

/* The stratified 80/20 split (seed 42) of the mails read: training and
 * test mails (arrays of borrowed strings) with float labels (N, 1). */
typedef struct spam_split {
    const char **train, **test;
    bgm_tensor *y_train, *y_test;
    int64_t ntrain, ntest;
} spam_split;

static bgm_status split_corpus(spam_split *sp)
{
    bgm_tensor *index = NULL, *ids = NULL;
    bgm_dataset *all = NULL, *train = NULL, *test = NULL;
    int64_t i;
    bgm_status s = bgm_tensor_zeros(&index, BGM_INT32, (int64_t[]){ndocs, 1}, 2);
    for (i = 0; s == BGM_OK && i < ndocs; i++)
        ((int32_t *)bgm_tensor_data(index))[i] = (int32_t)i;
    if (s == BGM_OK) s = bgm_tensor_from_data(&ids, BGM_INT32, (int64_t[]){ndocs}, 1, labels);
    if (s == BGM_OK) s = bgm_dataset_from_tensors(&all, index, ids);
    if (s == BGM_OK) s = bgm_dataset_train_test_split(&train, &test, all, 0.2, 42, 1);
    if (s == BGM_OK) s = pick(train, &sp->train, &sp->y_train);
    if (s == BGM_OK) s = pick(test, &sp->test, &sp->y_test);
    sp->ntrain = bgm_dataset_size(train);
    sp->ntest = bgm_dataset_size(test);
    bgm_tensor_free(index), bgm_tensor_free(ids);
    bgm_dataset_free(all), bgm_dataset_free(train), bgm_dataset_free(test);
    return s;
}

static void spam_split_free(spam_split *sp)
{
    free(sp->train), free(sp->test);
    bgm_tensor_free(sp->y_train), bgm_tensor_free(sp->y_test);
}

/* The cleaning of both examples: mail headers (they give the answer away)
 * and digits stripped. */
static void spam_clean_options(bgm_text_clean_options *clean)
{
    bgm_text_clean_options_init(clean);
    clean->strip_headers = clean->strip_digits = 1;
}

/* Reads the five groups of dir. */
static void read_corpus(const char *dir)
{
    read_group(dir, "easy-ham-1", 0), read_group(dir, "easy-ham-2", 0);
    read_group(dir, "hard-ham-1", 0), read_group(dir, "spam-1", 1), read_group(dir, "spam-2", 1);
}

/* Prints the classification report of m (which outputs logits) on x, y; returns the accuracy. */
static double report(const char *title, bgm_model *m, const bgm_tensor *x, const bgm_tensor *y)
{
    static const char *names[2] = {"ham", "spam"};
    bgm_tensor *logits = NULL, *probs = NULL;
    double acc = -1.0;
    char text[2048];
    if (bgm_model_predict(&logits, m, x, 256) == BGM_OK &&
        bgm_op_sigmoid(&probs, NULL, logits) == BGM_OK &&
        bgm_classification_report(text, sizeof text, NULL, NULL, y, probs, 2, names, 4) == 0 &&
        bgm_metric_compute(&acc, NULL, BGM_METRIC_ACCURACY, NULL, y, probs) == BGM_OK)
        printf("\n%s\n%s", title, text);
    bgm_tensor_free(logits);
    bgm_tensor_free(probs);
    return acc;
}

#endif
