/* Helpers shared by the Check suites (see testutil.h). */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

bgm_tensor *bgm_test_tensor(const int64_t *shape, int ndim, const float *values)
{
    bgm_tensor *t = NULL;
    BGM_ASSERT_OK(bgm_tensor_from_data(&t, BGM_FLOAT32, shape, ndim, values));
    return t;
}

bgm_tensor *bgm_test_randn(const int64_t *shape, int ndim, uint64_t seed)
{
    bgm_rng *rng = NULL;
    bgm_tensor *t = NULL;
    BGM_ASSERT_OK(bgm_rng_create(&rng, seed));
    BGM_ASSERT_OK(bgm_tensor_randn(&t, rng, shape, ndim, 0.0f, 1.0f));
    bgm_rng_free(rng);
    return t;
}

bgm_tensor *bgm_test_uniform(const int64_t *shape, int ndim, float lo, float hi,
                             uint64_t seed)
{
    bgm_rng *rng = NULL;
    bgm_tensor *t = NULL;
    BGM_ASSERT_OK(bgm_rng_create(&rng, seed));
    BGM_ASSERT_OK(bgm_tensor_rand_uniform(&t, rng, shape, ndim, lo, hi));
    bgm_rng_free(rng);
    return t;
}

bgm_tensor *bgm_test_arange(const int64_t *shape, int ndim, float start)
{
    bgm_tensor *t = NULL;
    float *d;
    int64_t i;
    BGM_ASSERT_OK(bgm_tensor_zeros(&t, BGM_FLOAT32, shape, ndim));
    d = bgm_tensor_data(t);
    for (i = 0; i < bgm_tensor_numel(t); i++)
        d[i] = start + (float)i;
    return t;
}

void bgm_test_assert_same_weights(const bgm_model *a, const bgm_model *b)
{
    int64_t n = bgm_model_num_params(a);
    float *wa = malloc((size_t)(n + 1) * sizeof *wa), *wb = malloc((size_t)(n + 1) * sizeof *wb);
    ck_assert_int_eq(n, bgm_model_num_params(b));
    ck_assert_ptr_nonnull(wa);
    ck_assert_ptr_nonnull(wb);
    BGM_ASSERT_OK(bgm_model_get_weights(a, wa, n));
    BGM_ASSERT_OK(bgm_model_get_weights(b, wb, n));
    ck_assert_msg(memcmp(wa, wb, (size_t)n * sizeof *wa) == 0, "weights differ");
    free(wa);
    free(wb);
}

void bgm_test_assert_close(const bgm_tensor *t, const int64_t *shape, int ndim,
                           const float *want, double tol)
{
    const float *got;
    int64_t i, n = 1;
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(bgm_tensor_ndim(t), ndim);
    for (i = 0; i < ndim; i++) {
        ck_assert_int_eq(bgm_tensor_dim(t, (int)i), shape[i]);
        n *= shape[i];
    }
    ck_assert_int_eq(bgm_tensor_numel(t), n);
    got = bgm_tensor_data(t);
    for (i = 0; i < n; i++)
        ck_assert_msg(fabs((double)got[i] - want[i]) <= tol + tol * fabs(want[i]),
                      "element %lld: got %.9g, want %.9g", (long long)i, got[i],
                      want[i]);
}

/* L = sum(out * w) in double, with w drawn from a fixed generator. */
static double weighted_sum(bgm_test_fn f, bgm_tensor *const *inputs, void *ctx)
{
    bgm_tensor *out = NULL;
    bgm_rng *rng = NULL;
    const float *o;
    double acc = 0.0;
    int64_t i;
    BGM_ASSERT_OK(f(&out, NULL, inputs, ctx));
    BGM_ASSERT_OK(bgm_rng_create(&rng, 1234));
    o = bgm_tensor_data(out);
    for (i = 0; i < bgm_tensor_numel(out); i++)
        acc += (double)o[i] * (bgm_rng_uniform(rng) * 2.0 - 1.0);
    bgm_rng_free(rng);
    bgm_tensor_free(out);
    return acc;
}

double bgm_test_gradcheck(bgm_test_fn f, bgm_tensor *const *inputs, int n, void *ctx,
                          double eps)
{
    bgm_tape *tape = NULL;
    bgm_tensor *out = NULL, *w = NULL, *prod = NULL, *loss = NULL, **grads;
    bgm_rng *rng = NULL;
    double worst = 0.0;
    float *wd;
    int k;
    int64_t i;

    grads = calloc((size_t)n, sizeof *grads);
    ck_assert_ptr_nonnull(grads);
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    for (k = 0; k < n; k++)
        BGM_ASSERT_OK(bgm_tape_watch(tape, inputs[k]));
    BGM_ASSERT_OK(f(&out, tape, inputs, ctx));
    BGM_ASSERT_OK(bgm_tensor_zeros(&w, BGM_FLOAT32, bgm_tensor_shape(out),
                                   bgm_tensor_ndim(out)));
    BGM_ASSERT_OK(bgm_rng_create(&rng, 1234));
    wd = bgm_tensor_data(w);
    for (i = 0; i < bgm_tensor_numel(w); i++)
        wd[i] = (float)(bgm_rng_uniform(rng) * 2.0 - 1.0);
    bgm_rng_free(rng);
    BGM_ASSERT_OK(bgm_op_mul(&prod, tape, out, w));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, prod));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, inputs, n, grads));

    for (k = 0; k < n; k++) {
        float *x = bgm_tensor_data(inputs[k]);
        const float *g = bgm_tensor_data(grads[k]);
        double diff2 = 0.0, ref2 = 0.0;
        for (i = 0; i < bgm_tensor_numel(inputs[k]); i++) {
            float saved = x[i];
            double up, down, fd;
            x[i] = (float)(saved + eps);
            up = weighted_sum(f, inputs, ctx);
            x[i] = (float)(saved - eps);
            down = weighted_sum(f, inputs, ctx);
            x[i] = saved;
            fd = (up - down) / (2.0 * eps);
            diff2 += (g[i] - fd) * (g[i] - fd);
            ref2 += fd * fd;
        }
        diff2 = sqrt(diff2) / fmax(sqrt(ref2), 1e-6);
        if (diff2 > worst)
            worst = diff2;
    }
    bgm_tensor_free(w);
    bgm_tape_free(tape);
    free(grads);
    return worst;
}

uint32_t bgm_test_crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        c ^= p[i];
        for (k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

/* ---- scratch files ------------------------------------------------------- */

static char tmpdir[64];

void bgm_test_tmpdir_create(const char *tag)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bgm-%s-XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

const char *bgm_test_tmpdir(void) { return tmpdir; }

static void remove_tree(const char *dir)
{
    char path[512];
    struct dirent *e;
    struct stat st;
    DIR *d = opendir(dir);
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void bgm_test_tmpdir_remove(void) { remove_tree(tmpdir); }

const char *bgm_test_path(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *p = bufs[next++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

void bgm_test_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

unsigned char *bgm_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p;
    long n;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    p = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

bgm_archive *bgm_test_archive_copy_without(const char *path, const char *skip)
{
    bgm_archive *src = NULL, *dst = NULL;
    int64_t i, n;
    BGM_ASSERT_OK(bgm_archive_load(&src, path));
    BGM_ASSERT_OK(bgm_archive_create(&dst));
    for (i = 0; i < bgm_archive_num_meta(src); i++) {
        const char *k = bgm_archive_meta_key(src, i);
        const int64_t *iv;
        const double *dv;
        const char *sv;
        int64_t iv1;
        double dv1;
        if ((skip && strcmp(k, skip) == 0) || strncmp(k, "bgm.", 4) == 0)
            continue;
        switch (bgm_archive_meta_type(src, k)) {
        case BGM_META_INT64:
            BGM_ASSERT_OK(bgm_archive_get_int64(&iv1, src, k));
            BGM_ASSERT_OK(bgm_archive_add_int64(dst, k, iv1));
            break;
        case BGM_META_FLOAT64:
            BGM_ASSERT_OK(bgm_archive_get_float64(&dv1, src, k));
            BGM_ASSERT_OK(bgm_archive_add_float64(dst, k, dv1));
            break;
        case BGM_META_STRING:
            BGM_ASSERT_OK(bgm_archive_get_string(&sv, src, k));
            BGM_ASSERT_OK(bgm_archive_add_string(dst, k, sv));
            break;
        case BGM_META_INT64_ARRAY:
            BGM_ASSERT_OK(bgm_archive_get_int64_array(&iv, &n, src, k));
            BGM_ASSERT_OK(bgm_archive_add_int64_array(dst, k, iv, n));
            break;
        default:
            BGM_ASSERT_OK(bgm_archive_get_float64_array(&dv, &n, src, k));
            BGM_ASSERT_OK(bgm_archive_add_float64_array(dst, k, dv, n));
            break;
        }
    }
    for (i = 0; i < bgm_archive_num_tensors(src); i++) {
        const char *name = bgm_archive_tensor_name(src, i);
        const bgm_tensor *t = NULL;
        if (skip && strcmp(name, skip) == 0)
            continue;
        BGM_ASSERT_OK(bgm_archive_find_tensor(&t, src, name));
        BGM_ASSERT_OK(bgm_archive_add_tensor(dst, name, t));
    }
    bgm_archive_free(src);
    return dst;
}

bgm_node *bgm_test_input(bgm_graph *g, const int64_t *shape, int ndim, const char *name)
{
    bgm_node *n = NULL;
    BGM_ASSERT_OK(bgm_graph_input(&n, g, shape, ndim, BGM_FLOAT32, name));
    return n;
}

bgm_node *bgm_test_call(bgm_layer *l, bgm_node *const *in, int n)
{
    bgm_node *y = NULL;
    BGM_ASSERT_OK(bgm_layer_call(&y, l, in, n));
    return y;
}

void bgm_test_capture(void *ctx, const char *text)
{
    bgm_test_text *t = ctx;
    size_t n = strlen(text);
    if (t->len + n < sizeof t->buf) {
        memcpy(t->buf + t->len, text, n + 1);
        t->len += n;
    }
}

void bgm_test_limit_address_space(size_t spare)
{
#if defined(__SANITIZE_ADDRESS__)
    /* ASan maps its shadow memory up front and aborts, rather than returning
     * NULL, when its allocator hits a limit: the sanitizer run checks the
     * statuses alone (make check and valgrind run with the limit). */
    (void)spare;
#else
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    struct rlimit r;
    void *probe;
    if (!f || fscanf(f, "%lu", &pages) != 1)
        _exit(4);
    fclose(f);
    r.rlim_cur = r.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (rlim_t)spare;
    if (setrlimit(RLIMIT_AS, &r) != 0)
        _exit(5);
    probe = malloc(4 * spare);
    if (probe)
        _exit(6);
#endif
}

int bgm_test_fork(void)
{
    pid_t pid = fork();
    if (pid < 0)
        ck_abort_msg("fork: %s", strerror(errno));
    return (int)pid;
}

void bgm_test_assert_child_ok(int pid, const char *what)
{
    int status = 0;
    ck_assert_int_eq(waitpid((pid_t)pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "%s: the child %s %d (see stderr)", what,
                  WIFEXITED(status) ? "exited with" : "died of signal",
                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}
