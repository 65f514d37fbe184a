/* Datasets of padded id sequences and labels from text files: a folder per
 * class (as Keras' text_dataset_from_directory) or a list of files. */
#include "text_impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/options.h"
#include "data/dataset_impl.h"
#include "data/fileio.h"

/* Deeper folders than this are taken for a link loop. */
#define MAX_DEPTH 32

#define DATASET_OPTIONS_V1_SIZE BGM__OPTIONS_SIZE(bgm_text_dataset_options, truncating)

static void dataset_defaults(bgm_text_dataset_options *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->clean = NULL;
    o->vocab = NULL;
    o->min_count = 1;
    o->max_size = 0;
    o->sequence_length = 0;
    o->padding = BGM_PAD_PRE;
    o->truncating = BGM_PAD_PRE;
}

BGM__OPTIONS_INIT_FUNCTIONS(bgm_text_dataset_options, bgm_text_dataset_options_init,
                            dataset_defaults,
                            DATASET_OPTIONS_V1_SIZE)

static bgm_status check_options(const bgm_text_dataset_options **o,
                                bgm_text_dataset_options *defaults,
                                const bgm_text_clean_options **clean,
                                bgm_text_clean_options *clean_defaults, const char *func,
                                const bgm_text_dataset_options *opts)
{
    bgm_status s;
    dataset_defaults(defaults);
    s = opts ? bgm__options_read(defaults, sizeof *defaults, opts, DATASET_OPTIONS_V1_SIZE,
                                 "bgm_text_dataset_options", "bgm_text_dataset_options_init_v2",
                                 func)
             : BGM_OK;
    if (s != BGM_OK)
        return s;
    opts = defaults;
    if (!opts->vocab && opts->min_count < 1)
        return bgm__fail(BGM_E_INVALID, "%s: min_count %lld must be at least 1", func,
                         (long long)opts->min_count);
    if (!opts->vocab && (opts->max_size < 0 || opts->max_size == 1))
        return bgm__fail(BGM_E_INVALID, "%s: max_size %lld must be 0 (no limit) or at least 2",
                         func, (long long)opts->max_size);
    s = bgm__check_padding(func, opts->sequence_length, opts->padding, opts->truncating);
    if (s != BGM_OK)
        return s;
    *o = opts;
    return bgm__clean_options(clean, clean_defaults, func, opts->clean);
}

/* ---- file lists ----------------------------------------------------------- */

typedef struct file_list {
    char **paths;    /* owned */
    int32_t *labels;
    int64_t n, cap;
} file_list;

static void file_list_release(file_list *f)
{
    int64_t i;
    for (i = 0; i < f->n; i++)
        free(f->paths[i]);
    free(f->paths);
    free(f->labels);
    memset(f, 0, sizeof *f);
}

static int file_list_add(file_list *f, char *path, int32_t label)
{
    if (f->n == f->cap) {
        int64_t cap = f->cap ? f->cap * 2 : 256;
        char **p = realloc(f->paths, (size_t)cap * sizeof *p);
        int32_t *l;
        if (!p)
            return 0;
        f->paths = p;
        l = realloc(f->labels, (size_t)cap * sizeof *l);
        if (!l)
            return 0;
        f->labels = l;
        f->cap = cap;
    }
    f->paths[f->n] = path;
    f->labels[f->n++] = label;
    return 1;
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bgm_status io_fail(const char *func, const char *path, const char *what, int err)
{
    char reason[128];
    if (strerror_r(err, reason, sizeof reason) != 0)
        snprintf(reason, sizeof reason, "error %d", err);
    return bgm__fail(BGM_E_IO, "%s: %s: %s: %s", func, path, what, reason);
}

/* The names in dir, hidden ones left out, sorted byte-wise: a new array of
 * *n new strings. */
static bgm_status list_dir(char ***names, int64_t *n, const char *func, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **list = NULL, **grown;
    int64_t cap = 0, i;
    *names = NULL;
    *n = 0;
    if (!d)
        return io_fail(func, dir, "cannot open the folder", errno);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            grown = realloc(list, (size_t)cap * sizeof *list);
            if (!grown)
                goto nomem;
            list = grown;
        }
        list[*n] = strdup(e->d_name);
        if (!list[*n])
            goto nomem;
        (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(list, (size_t)*n, sizeof *list, by_name);
    *names = list;
    return BGM_OK;
nomem:
    closedir(d);
    for (i = 0; i < *n; i++)
        free(list[i]);
    free(list);
    *n = 0;
    return bgm__fail(BGM_E_NOMEM, "%s: %s: out of memory listing the folder", func, dir);
}

static void free_names(char **names, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Adds every regular file below dir (recursively, sorted) with label. */
static bgm_status collect_files(file_list *files, const char *func, const char *dir,
                                int32_t label, int depth)
{
    char **names = NULL;
    int64_t n = 0, i;
    bgm_status s;
    if (depth > MAX_DEPTH)
        return bgm__fail(BGM_E_IO, "%s: %s: folders nested deeper than %d (a link loop?)",
                         func, dir, MAX_DEPTH);
    s = list_dir(&names, &n, func, dir);
    for (i = 0; s == BGM_OK && i < n; i++) {
        struct stat st;
        char *path = join_path(dir, names[i]);
        if (!path) {
            s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
        } else if (stat(path, &st) != 0) {
            s = io_fail(func, path, "cannot stat", errno);
            free(path);
        } else if (S_ISDIR(st.st_mode)) {
            s = collect_files(files, func, path, label, depth + 1);
            free(path);
        } else if (S_ISREG(st.st_mode)) {
            if (!file_list_add(files, path, label)) {
                free(path);
                s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
            }
        } else {
            free(path);
        }
    }
    free_names(names, n);
    return s;
}

/* ---- from files to a dataset ---------------------------------------------- */

/*
 * A dataset owning x (int32 ids) and y. bgm_dataset_from_tensors accepts
 * float32 features only, so the handle is assembled from its internal layout.
 * Takes the two handles, also on failure.
 */
static bgm_status build_dataset(bgm_dataset **out, bgm_vocab **vocab_out, const char *func,
                                const char *const *paths, const int32_t *labels, int64_t n,
                                const bgm_text_dataset_options *o,
                                const bgm_text_clean_options *clean)
{
    bgm__blob *blobs = calloc((size_t)(n ? n : 1), sizeof *blobs);
    const char **docs = malloc((size_t)(n ? n : 1) * sizeof *docs);
    int64_t *lens = malloc((size_t)(n ? n : 1) * sizeof *lens), i, shape[1];
    bgm_vocab *built = NULL;
    const bgm_vocab *v = o->vocab;
    bgm_tensor *x = NULL, *y = NULL;
    bgm_status s = BGM_OK;
    if (!blobs || !docs || !lens) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld documents", func, (long long)n);
        goto done;
    }
    for (i = 0; i < n && s == BGM_OK; i++) {
        s = bgm__read_file(&blobs[i], func, paths[i]);
        docs[i] = (const char *)blobs[i].data;
        lens[i] = (int64_t)blobs[i].size;
    }
    if (s == BGM_OK && !v) {
        s = bgm__vocab_build(&built, func, docs, lens, n, o->min_count, o->max_size, clean);
        v = built;
    }
    if (s == BGM_OK)
        s = bgm__encode_padded(&x, func, v, docs, lens, n, o->sequence_length, o->padding,
                               o->truncating, clean);
    shape[0] = n;
    if (s == BGM_OK)
        s = bgm_tensor_from_data(&y, BGM_INT32, shape, 1, labels);
    if (s == BGM_OK) {
        s = bgm__dataset_adopt(out, func, x, y);
        x = y = NULL;
    }
    if (s == BGM_OK && vocab_out) {
        if (built) {
            *vocab_out = built;
            built = NULL;
        } else {
            s = bgm__vocab_copy(vocab_out, func, v);
        }
    }
    if (s != BGM_OK) {
        bgm_dataset_free(*out);
        *out = NULL;
    }
done:
    for (i = 0; blobs && i < n; i++)
        bgm__blob_free(&blobs[i]);
    free(blobs);
    free(docs);
    free(lens);
    bgm_vocab_free(built);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    return s;
}

BGM_API bgm_status bgm_text_dataset_from_files(bgm_dataset **out, bgm_vocab **vocab,
                                               const char *const *paths,
                                               const int32_t *labels, int64_t n,
                                               const bgm_text_dataset_options *opts)
{
    static const char *fn = "bgm_text_dataset_from_files";
    bgm_text_dataset_options defaults;
    bgm_text_clean_options clean_defaults;
    const bgm_text_dataset_options *o = NULL;
    const bgm_text_clean_options *clean = NULL;
    bgm_status s;
    int64_t i;
    if (vocab)
        *vocab = NULL;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    if (n < 0)
        return bgm__fail(BGM_E_INVALID, "%s: file count %lld is negative", fn, (long long)n);
    if (n > 0 && (!paths || !labels))
        return bgm__fail(BGM_E_INVALID, "%s: argument '%s' is NULL with %lld files", fn,
                         paths ? "labels" : "paths", (long long)n);
    for (i = 0; i < n; i++)
        if (!paths[i])
            return bgm__fail(BGM_E_INVALID, "%s: path %lld is NULL", fn, (long long)i);
    s = check_options(&o, &defaults, &clean, &clean_defaults, fn, opts);
    if (s != BGM_OK)
        return s;
    return build_dataset(out, vocab, fn, paths, labels, n, o, clean);
}

BGM_API bgm_status bgm_text_dataset_from_directory(bgm_dataset **out, bgm_vocab **vocab,
                                                   char ***class_names, const char *dir,
                                                   const bgm_text_dataset_options *opts)
{
    static const char *fn = "bgm_text_dataset_from_directory";
    bgm_text_dataset_options defaults;
    bgm_text_clean_options clean_defaults;
    const bgm_text_dataset_options *o = NULL;
    const bgm_text_clean_options *clean = NULL;
    file_list files = {NULL, NULL, 0, 0};
    char **names = NULL, **classes = NULL;
    size_t *name_lens = NULL;
    int64_t nnames = 0, nclasses = 0, i;
    bgm_status s;
    if (vocab)
        *vocab = NULL;
    if (class_names)
        *class_names = NULL;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(dir, fn);
    s = check_options(&o, &defaults, &clean, &clean_defaults, fn, opts);
    if (s == BGM_OK)
        s = list_dir(&names, &nnames, fn, dir);
    if (s != BGM_OK)
        return s;
    /* class folders keep their sorted order; plain files beside them are ignored */
    classes = malloc((size_t)(nnames ? nnames : 1) * sizeof *classes);
    name_lens = malloc((size_t)(nnames ? nnames : 1) * sizeof *name_lens);
    if (!classes || !name_lens) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        goto done;
    }
    for (i = 0; i < nnames && s == BGM_OK; i++) {
        struct stat st;
        char *path = join_path(dir, names[i]);
        if (!path) {
            s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
            break;
        }
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (nclasses >= INT32_MAX)
                s = bgm__fail(BGM_E_FORMAT, "%s: %s: too many class folders", fn, dir);
            else
                s = collect_files(&files, fn, path, (int32_t)nclasses, 1);
            name_lens[nclasses] = strlen(names[i]);
            classes[nclasses++] = names[i];
        }
        free(path);
    }
    if (s == BGM_OK && nclasses == 0)
        s = bgm__fail(BGM_E_FORMAT, "%s: %s: no class folders (expected one subfolder per "
                      "class holding its text files)", fn, dir);
    if (s == BGM_OK && files.n == 0)
        s = bgm__fail(BGM_E_FORMAT, "%s: %s: the class folders hold no files", fn, dir);
    if (s == BGM_OK)
        s = build_dataset(out, vocab, fn, (const char *const *)files.paths, files.labels,
                          files.n, o, clean);
    if (s == BGM_OK && class_names) {
        *class_names = bgm__list_new((const char *const *)classes, name_lens, nclasses);
        if (!*class_names) {
            s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
            bgm_dataset_free(*out);
            *out = NULL;
            if (vocab) {
                bgm_vocab_free(*vocab);
                *vocab = NULL;
            }
        }
    }
done:
    free(classes);
    free(name_lens);
    free_names(names, nnames);
    file_list_release(&files);
    return s;
}
