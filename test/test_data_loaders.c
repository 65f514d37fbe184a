/* File loaders: IDX (real Fashion-MNIST and generated files), CIFAR-10/100
 * binary, CSV (scikit-learn's bundled files and generated ones), NumPy .npy;
 * and truncated, corrupt or lying files for each. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/"
#define SKDATA "/usr/lib/python3/dist-packages/sklearn/datasets/data/"

/* ---- scratch files ------------------------------------------------------ */

static void make_tmpdir(void) { bgm_test_tmpdir_create("loaders"); }

/* Writes a scratch file; returns its path. */
static const char *write_file(const char *name, const void *data, size_t len)
{
    const char *p = bgm_test_path(name);
    bgm_test_write_file(p, data, len);
    return p;
}

static const char *write_text(const char *name, const char *text)
{
    return write_file(name, text, strlen(text));
}

static int files_in_tmpdir(void)
{
    struct dirent *e;
    DIR *d = opendir(bgm_test_tmpdir());
    int n = 0;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* A gzip file holding data in stored (uncompressed) deflate blocks; returns
 * the malloc'ed bytes and their count in *len. */
static unsigned char *gzip_stored(const unsigned char *data, size_t n, size_t *len)
{
    size_t blocks = n / 65535 + 1, off = 0, b;
    unsigned char *g = malloc(10 + blocks * 5 + n + 8), *p = g;
    const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    memcpy(p, head, 10);
    p += 10;
    for (b = 0; b < blocks; b++) {
        size_t k = n - off < 65535 ? n - off : 65535;
        *p++ = b + 1 == blocks; /* BFINAL, BTYPE 00 (stored) */
        *p++ = (unsigned char)k;
        *p++ = (unsigned char)(k >> 8);
        *p++ = (unsigned char)~k;
        *p++ = (unsigned char)(~k >> 8);
        memcpy(p, data + off, k);
        p += k;
        off += k;
    }
    put_le32(p, bgm_test_crc32(data, n));
    put_le32(p + 4, (uint32_t)n);
    *len = (size_t)(p + 8 - g);
    return g;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* ---- IDX ---------------------------------------------------------------- */

START_TEST(fashion_mnist_train_set_loads_with_known_checksums)
{
    bgm_dataset *ds = NULL;
    const float *x;
    const int32_t *y;
    const int64_t *elem;
    double sum = 0, weighted = 0, first = 0;
    int64_t i, labels = 0, n;
    int ndim = 0;
    BGM_ASSERT_OK(bgm_dataset_load_idx(&ds, FMNIST "train-images-idx3-ubyte.gz",
                                       FMNIST "train-labels-idx1-ubyte.gz"));
    ck_assert_int_eq(bgm_dataset_size(ds), 60000);
    elem = bgm_dataset_element_shape(ds, &ndim);
    ck_assert_int_eq(ndim, 3);
    ck_assert_int_eq(elem[0], 28);
    ck_assert_int_eq(elem[1], 28);
    ck_assert_int_eq(elem[2], 1);
    x = bgm_tensor_data(bgm_dataset_features(ds));
    y = bgm_tensor_data(bgm_dataset_targets(ds));
    n = bgm_tensor_numel(bgm_dataset_features(ds));
    ck_assert_int_eq(n, 60000LL * 784);
    /* Expected values computed with Python's gzip and numpy from the same files. */
    for (i = 0; i < n; i++) {
        sum += x[i];
        weighted += (double)x[i] * (double)(i % 251);
    }
    for (i = 0; i < 784; i++)
        first += x[i];
    for (i = 0; i < 60000; i++)
        labels += y[i];
    ck_assert_double_eq(sum, 3431114169.0);
    ck_assert_double_eq(weighted, 428843984823.0);
    ck_assert_double_eq(first, 76247.0);
    ck_assert_float_eq(x[14 * 28 + 14], 217.0f);
    ck_assert_int_eq(y[0], 9);
    ck_assert_int_eq(y[1], 0);
    ck_assert_int_eq(y[3], 3);
    ck_assert_int_eq(labels, 270000);
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(fashion_mnist_test_files_load_one_by_one)
{
    bgm_tensor *x = NULL, *y = NULL;
    const float *px;
    double sum = 0;
    int64_t i;
    BGM_ASSERT_OK(bgm_idx_load_images(&x, FMNIST "t10k-images-idx3-ubyte.gz"));
    BGM_ASSERT_OK(bgm_idx_load_labels(&y, FMNIST "t10k-labels-idx1-ubyte.gz"));
    ck_assert_int_eq(bgm_tensor_ndim(x), 4);
    ck_assert_int_eq(bgm_tensor_dim(x, 0), 10000);
    ck_assert_int_eq(bgm_tensor_dtype(y), BGM_INT32);
    ck_assert_int_eq(bgm_tensor_dim(y, 0), 10000);
    ck_assert_int_eq(((const int32_t *)bgm_tensor_data(y))[0], 9);
    ck_assert_int_eq(((const int32_t *)bgm_tensor_data(y))[1], 2);
    px = bgm_tensor_data(x);
    for (i = 0; i < bgm_tensor_numel(x); i++)
        sum += px[i];
    ck_assert_double_eq(sum, 573469082.0);
    ck_assert_float_eq(px[9999 * 784 + 10 * 28 + 5], 5.0f);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
}
END_TEST

/* An IDX file of ubyte with the given dimensions, filled with (i * 7) % 256. */
static unsigned char *idx_bytes(const uint32_t *dims, int ndim, size_t *len)
{
    size_t n = 1, i;
    unsigned char *b;
    int d;
    for (d = 0; d < ndim; d++)
        n *= dims[d];
    *len = 4 + 4 * (size_t)ndim + n;
    b = malloc(*len);
    b[0] = b[1] = 0;
    b[2] = 0x08;
    b[3] = (unsigned char)ndim;
    for (d = 0; d < ndim; d++)
        put_be32(b + 4 + 4 * d, dims[d]);
    for (i = 0; i < n; i++)
        b[4 + 4 * ndim + i] = (unsigned char)(i * 7);
    return b;
}

START_TEST(idx_plain_and_gzip_files_give_the_same_images)
{
    const uint32_t dims[] = {2, 3, 2}, ldims[] = {2};
    unsigned char *raw, *gz, *lab;
    size_t len, gzlen, llen;
    bgm_tensor *a = NULL, *b = NULL;
    bgm_dataset *ds = NULL;
    const float *pa;
    raw = idx_bytes(dims, 3, &len);
    gz = gzip_stored(raw, len, &gzlen);
    lab = idx_bytes(ldims, 1, &llen);
    BGM_ASSERT_OK(bgm_idx_load_images(&a, write_file("img.idx", raw, len)));
    BGM_ASSERT_OK(bgm_idx_load_images(&b, write_file("img.idx.gz", gz, gzlen)));
    ck_assert_int_eq(bgm_tensor_dim(a, 0), 2);
    ck_assert_int_eq(bgm_tensor_dim(a, 1), 3);
    ck_assert_int_eq(bgm_tensor_dim(a, 2), 2);
    ck_assert_int_eq(bgm_tensor_dim(a, 3), 1);
    pa = bgm_tensor_data(a);
    ck_assert_float_eq(pa[11], (float)(77 % 256));
    ck_assert_int_eq(memcmp(pa, bgm_tensor_data(b), 12 * sizeof(float)), 0);
    BGM_ASSERT_OK(bgm_dataset_load_idx(&ds, bgm_test_path("img.idx.gz"),
                                       write_file("lab.idx", lab, llen)));
    ck_assert_int_eq(((const int32_t *)bgm_tensor_data(bgm_dataset_targets(ds)))[1], 7);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_dataset_free(ds);
    free(raw);
    free(gz);
    free(lab);
}
END_TEST

START_TEST(idx_bad_files_fail_naming_the_file_and_offset)
{
    const uint32_t dims[] = {3, 4, 4}, ldims[] = {5}, big[] = {0xFFFFFFFFu, 0xFFFFFFFFu, 28};
    unsigned char *raw, *lab, *gz, copy[100];
    size_t len, llen, gzlen;
    bgm_tensor *t = (bgm_tensor *)0x1;
    bgm_dataset *ds = (bgm_dataset *)0x1;
    const char *p;
    raw = idx_bytes(dims, 3, &len); /* 16 + 48 bytes */
    lab = idx_bytes(ldims, 1, &llen);

    p = write_file("short.idx", raw, len - 5);
    BGM_ASSERT_FAILS(bgm_idx_load_images(&t, p), BGM_E_FORMAT, "byte offset 16");
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(bgm_last_error(), "short.idx"), "%s", bgm_last_error());
    BGM_ASSERT_FAILS(bgm_idx_load_images(&t, write_file("tiny.idx", raw, 7)), BGM_E_FORMAT,
                     "header needs 16 bytes");
    memcpy(copy, raw, len);
    copy[1] = 0x42;
    BGM_ASSERT_FAILS(bgm_idx_load_images(&t, write_file("magic.idx", copy, len)),
                     BGM_E_FORMAT, "bad magic 0x0042 at byte offset 0");
    memcpy(copy, raw, len);
    put_be32(copy + 4, big[0]);
    put_be32(copy + 8, big[1]);
    put_be32(copy + 12, big[2]);
    BGM_ASSERT_FAILS(bgm_idx_load_images(&t, write_file("huge.idx", copy, len)),
                     BGM_E_FORMAT, "(4294967295, 4294967295, 28)");
    ck_assert_msg(strstr(bgm_last_error(), "byte offset 16"), "%s", bgm_last_error());
    memcpy(copy, raw, len);
    copy[len] = 1;
    BGM_ASSERT_FAILS(bgm_idx_load_images(&t, write_file("long.idx", copy, len + 1)),
                     BGM_E_FORMAT, "1 unexpected bytes after the data, from byte offset 64");
    memcpy(copy, raw, len);
    copy[2] = 0x0D;
    BGM_ASSERT_FAILS(bgm_idx_load_images(&t, write_file("float.idx", copy, len)),
                     BGM_E_UNSUPPORTED, "float32");
    copy[2] = 0x33;
    BGM_ASSERT_FAILS(bgm_idx_load_images(&t, write_file("type.idx", copy, len)),
                     BGM_E_FORMAT, "type 0x33 at byte offset 2");
    BGM_ASSERT_FAILS(bgm_idx_load_images(&t, write_file("lab.idx", lab, llen)),
                     BGM_E_FORMAT, "1 dimensions (byte offset 3), expected 3");
    BGM_ASSERT_FAILS(bgm_idx_load_labels(&t, write_file("img.idx", raw, len)),
                     BGM_E_FORMAT, "expected 1 for idx1 labels");
    BGM_ASSERT_FAILS(bgm_dataset_load_idx(&ds, bgm_test_path("img.idx"), bgm_test_path("lab.idx")),
                     BGM_E_SHAPE, "3 images");
    ck_assert_ptr_null(ds);
    ck_assert_msg(strstr(bgm_last_error(), "5 labels"), "%s", bgm_last_error());

    /* gzip: a stream cut short, and one whose checksum does not match */
    gz = gzip_stored(raw, len, &gzlen);
    BGM_ASSERT_FAILS(bgm_idx_load_images(&t, write_file("cut.gz", gz, gzlen - 20)),
                     BGM_E_FORMAT, "truncated gzip");
    ck_assert_msg(strstr(bgm_last_error(), "cut.gz"), "%s", bgm_last_error());
    gz[gzlen - 6] ^= 0xFF;
    BGM_ASSERT_FAILS(bgm_idx_load_images(&t, write_file("crc.gz", gz, gzlen)),
                     BGM_E_FORMAT, "gzip");
    free(gz);
    gz = gzip_stored(raw, len - 5, &gzlen);
    BGM_ASSERT_FAILS(bgm_idx_load_images(&t, write_file("short.gz", gz, gzlen)),
                     BGM_E_FORMAT, "decompressed");
    ck_assert_msg(strstr(bgm_last_error(), "byte offset 16"), "%s", bgm_last_error());

    BGM_ASSERT_FAILS(bgm_idx_load_images(&t, bgm_test_path("missing.idx")), BGM_E_IO,
                     "missing.idx: cannot open");
    BGM_ASSERT_FAILS(bgm_idx_load_images(&t, bgm_test_tmpdir()), BGM_E_IO, "cannot read");
    BGM_ASSERT_FAILS(bgm_idx_load_images(NULL, p), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_idx_load_labels(&t, NULL), BGM_E_INVALID, "'path'");
    BGM_ASSERT_FAILS(bgm_dataset_load_idx(&ds, p, NULL), BGM_E_INVALID, "labels_path");
    free(raw);
    free(lab);
    free(gz);
}
END_TEST

/* ---- CIFAR -------------------------------------------------------------- */

/* Pixel byte of record r, channel c, row h, column w in the generated files. */
static unsigned char cifar_pixel(int r, int c, int h, int w)
{
    return (unsigned char)(r * 31 + c * 7 + h * 3 + w);
}

/* n CIFAR records starting at record number first; labels (first + i) % 10,
 * and for CIFAR-100 coarse (first + i) % 20, fine (first + i) * 3 % 100. */
static unsigned char *cifar_bytes(int first, int n, int cifar100, size_t *len)
{
    size_t lb = cifar100 ? 2 : 1, rec = lb + 3072;
    unsigned char *b = malloc(rec * (size_t)n), *p;
    int i, c, h, w;
    for (i = 0; i < n; i++) {
        p = b + rec * (size_t)i;
        if (cifar100) {
            p[0] = (unsigned char)((first + i) % 20);
            p[1] = (unsigned char)((first + i) * 3 % 100);
        } else {
            p[0] = (unsigned char)((first + i) % 10);
        }
        for (c = 0; c < 3; c++)
            for (h = 0; h < 32; h++)
                for (w = 0; w < 32; w++)
                    p[lb + c * 1024 + h * 32 + w] = cifar_pixel(first + i, c, h, w);
    }
    *len = rec * (size_t)n;
    return b;
}

static float nhwc(const bgm_dataset *ds, int r, int h, int w, int c)
{
    return ((const float *)bgm_tensor_data(bgm_dataset_features(ds)))
        [((r * 32 + h) * 32 + w) * 3 + c];
}

START_TEST(cifar10_files_concatenate_into_nhwc_images)
{
    size_t l1, l2;
    unsigned char *b1 = cifar_bytes(0, 3, 0, &l1), *b2 = cifar_bytes(3, 2, 0, &l2);
    const char *paths[2];
    bgm_dataset *ds = NULL;
    const int32_t *y;
    int r;
    paths[0] = write_file("data_batch_1.bin", b1, l1);
    paths[1] = write_file("data_batch_2.bin", b2, l2);
    BGM_ASSERT_OK(bgm_dataset_load_cifar(&ds, paths, 2, BGM_CIFAR10));
    ck_assert_int_eq(bgm_dataset_size(ds), 5);
    ck_assert_int_eq(bgm_tensor_dim(bgm_dataset_features(ds), 1), 32);
    ck_assert_int_eq(bgm_tensor_dim(bgm_dataset_features(ds), 3), 3);
    y = bgm_tensor_data(bgm_dataset_targets(ds));
    for (r = 0; r < 5; r++) {
        ck_assert_int_eq(y[r], r % 10);
        ck_assert_float_eq(nhwc(ds, r, 0, 0, 0), cifar_pixel(r, 0, 0, 0));
        ck_assert_float_eq(nhwc(ds, r, 5, 9, 2), cifar_pixel(r, 2, 5, 9));
        ck_assert_float_eq(nhwc(ds, r, 31, 30, 1), cifar_pixel(r, 1, 31, 30));
    }
    bgm_dataset_free(ds);
    free(b1);
    free(b2);
}
END_TEST

START_TEST(cifar100_keeps_the_fine_or_the_coarse_label)
{
    size_t len;
    unsigned char *b = cifar_bytes(0, 40, 1, &len);
    const char *path = write_file("train.bin", b, len);
    bgm_dataset *fine = NULL, *coarse = NULL;
    BGM_ASSERT_OK(bgm_dataset_load_cifar(&fine, &path, 1, BGM_CIFAR100_FINE));
    BGM_ASSERT_OK(bgm_dataset_load_cifar(&coarse, &path, 1, BGM_CIFAR100_COARSE));
    ck_assert_int_eq(bgm_dataset_size(fine), 40);
    ck_assert_int_eq(((const int32_t *)bgm_tensor_data(bgm_dataset_targets(fine)))[37],
                     37 * 3 % 100);
    ck_assert_int_eq(((const int32_t *)bgm_tensor_data(bgm_dataset_targets(coarse)))[37],
                     37 % 20);
    ck_assert_float_eq(nhwc(fine, 39, 7, 8, 1), cifar_pixel(39, 1, 7, 8));
    bgm_dataset_free(fine);
    bgm_dataset_free(coarse);
    free(b);
}
END_TEST

START_TEST(cifar_bad_files_fail_naming_the_file_and_offset)
{
    size_t len, len100;
    unsigned char *b = cifar_bytes(0, 2, 0, &len), *c = cifar_bytes(0, 2, 1, &len100);
    const char *paths[2];
    char good[512];
    bgm_dataset *ds = (bgm_dataset *)0x1;
    snprintf(good, sizeof good, "%s", write_file("good.bin", b, len));
    paths[0] = good;
    paths[1] = write_file("cut.bin", b, len - 100);
    BGM_ASSERT_FAILS(bgm_dataset_load_cifar(&ds, paths, 2, BGM_CIFAR10), BGM_E_FORMAT,
                     "record at byte offset 3073 is truncated");
    ck_assert_ptr_null(ds);
    ck_assert_msg(strstr(bgm_last_error(), "cut.bin"), "%s", bgm_last_error());
    b[3073] = 10;
    paths[1] = write_file("label.bin", b, len);
    BGM_ASSERT_FAILS(bgm_dataset_load_cifar(&ds, paths, 2, BGM_CIFAR10), BGM_E_FORMAT,
                     "label 10 at byte offset 3073");
    paths[1] = write_file("c100.bin", c, len100);
    BGM_ASSERT_FAILS(bgm_dataset_load_cifar(&ds, paths + 1, 1, BGM_CIFAR10), BGM_E_FORMAT,
                     "CIFAR-100");
    c[3074 + 1] = 100;
    paths[1] = write_file("fine.bin", c, len100);
    BGM_ASSERT_FAILS(bgm_dataset_load_cifar(&ds, paths + 1, 1, BGM_CIFAR100_COARSE),
                     BGM_E_FORMAT, "fine label 100 at byte offset 3075");
    paths[1] = write_file("empty.bin", b, 0);
    BGM_ASSERT_FAILS(bgm_dataset_load_cifar(&ds, paths + 1, 1, BGM_CIFAR10), BGM_E_FORMAT,
                     "empty");
    paths[1] = bgm_test_path("nowhere.bin");
    BGM_ASSERT_FAILS(bgm_dataset_load_cifar(&ds, paths, 2, BGM_CIFAR10), BGM_E_IO,
                     "nowhere.bin");
    BGM_ASSERT_FAILS(bgm_dataset_load_cifar(&ds, paths, 0, BGM_CIFAR10), BGM_E_INVALID,
                     "npaths");
    BGM_ASSERT_FAILS(bgm_dataset_load_cifar(&ds, paths, 1, (bgm_cifar_kind)9),
                     BGM_E_INVALID, "kind 9");
    BGM_ASSERT_FAILS(bgm_dataset_load_cifar(&ds, NULL, 1, BGM_CIFAR10), BGM_E_INVALID,
                     "'paths'");
    paths[1] = NULL;
    BGM_ASSERT_FAILS(bgm_dataset_load_cifar(&ds, paths, 2, BGM_CIFAR10), BGM_E_INVALID,
                     "paths[1]");
    free(b);
    free(c);
}
END_TEST

/* ---- CSV ---------------------------------------------------------------- */

static bgm_csv_options sklearn_options(void)
{
    bgm_csv_options o;
    bgm_csv_options_init(&o);
    o.skip_lines = 1; /* "150,4,setosa,versicolor,virginica" */
    o.has_header = 0;
    return o;
}

START_TEST(csv_reads_scikit_learns_iris)
{
    bgm_csv_options o = sklearn_options();
    bgm_dataset *ds = NULL;
    const float *x;
    const int32_t *y;
    int counts[3] = {0, 0, 0}, i;
    BGM_ASSERT_OK(bgm_dataset_load_csv(&ds, SKDATA "iris.csv", &o));
    ck_assert_int_eq(bgm_dataset_size(ds), 150);
    ck_assert_int_eq(bgm_tensor_dim(bgm_dataset_features(ds), 1), 4);
    x = bgm_tensor_data(bgm_dataset_features(ds));
    y = bgm_tensor_data(bgm_dataset_targets(ds));
    ck_assert_float_eq(x[0], 5.1f);
    ck_assert_float_eq(x[1], 3.5f);
    ck_assert_float_eq(x[2], 1.4f);
    ck_assert_float_eq(x[3], 0.2f);
    ck_assert_float_eq(x[149 * 4 + 0], 5.9f);
    ck_assert_float_eq(x[149 * 4 + 3], 1.8f);
    for (i = 0; i < 150; i++) {
        ck_assert(y[i] >= 0 && y[i] < 3);
        counts[y[i]]++;
    }
    ck_assert_int_eq(counts[0], 50);
    ck_assert_int_eq(counts[1], 50);
    ck_assert_int_eq(counts[2], 50);
    ck_assert_int_eq(y[149], 2);
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(csv_reads_scikit_learns_wine_and_breast_cancer)
{
    bgm_csv_options o = sklearn_options();
    bgm_dataset *wine = NULL, *cancer = NULL, *plain = NULL;
    BGM_ASSERT_OK(bgm_dataset_load_csv(&wine, SKDATA "wine_data.csv", &o));
    BGM_ASSERT_OK(bgm_dataset_load_csv(&cancer, SKDATA "breast_cancer.csv", &o));
    ck_assert_int_eq(bgm_dataset_size(wine), 178);
    ck_assert_int_eq(bgm_tensor_dim(bgm_dataset_features(wine), 1), 13);
    ck_assert_float_eq(((const float *)bgm_tensor_data(bgm_dataset_features(wine)))[12],
                       1065.0f);
    ck_assert_int_eq(bgm_dataset_size(cancer), 569);
    ck_assert_int_eq(bgm_tensor_dim(bgm_dataset_features(cancer), 1), 30);
    ck_assert_float_eq(((const float *)bgm_tensor_data(bgm_dataset_features(cancer)))[0],
                       17.99f);
    /* Read as a plain CSV, the count line is taken for a 5-column header. */
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&plain, SKDATA "wine_data.csv", NULL),
                     BGM_E_FORMAT, "line 2 has 14 fields, expected 5");
    bgm_dataset_free(wine);
    bgm_dataset_free(cancer);
}
END_TEST

START_TEST(csv_label_by_name_with_quotes_crlf_bom_and_blank_lines)
{
    const char *text = "\xEF\xBB\xBF" "a, \"the label\",\"c, quoted\"\r\n"
                       "1.5,2,-3e2\r\n"
                       "\r\n"
                       "  4 , 0 ,\"6\"\r\n"
                       "\n";
    bgm_csv_options o;
    bgm_dataset *ds = NULL;
    const float want[] = {1.5f, -300.0f, 4.0f, 6.0f};
    bgm_csv_options_init(&o);
    o.label_name = "the label";
    BGM_ASSERT_OK(bgm_dataset_load_csv(&ds, write_text("q.csv", text), &o));
    bgm_test_assert_close(bgm_dataset_features(ds), (int64_t[]){2, 2}, 2, want, 0);
    ck_assert_int_eq(((const int32_t *)bgm_tensor_data(bgm_dataset_targets(ds)))[0], 2);
    ck_assert_int_eq(((const int32_t *)bgm_tensor_data(bgm_dataset_targets(ds)))[1], 0);
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(csv_float_labels_tabs_and_unlabeled_files)
{
    bgm_csv_options o;
    bgm_dataset *ds = NULL;
    const char *path = write_text("r.tsv", "y\tx1\tx2\n0.25\t1\t2\n-1.5\t3\t4\n");
    const float y[] = {0.25f, -1.5f}, all[] = {0.25f, 1, 2, -1.5f, 3, 4};
    bgm_csv_options_init(&o);
    o.delimiter = '\t';
    o.label_column = 0;
    o.label_dtype = BGM_FLOAT32;
    BGM_ASSERT_OK(bgm_dataset_load_csv(&ds, path, &o));
    bgm_test_assert_close(bgm_dataset_targets(ds), (int64_t[]){2}, 1, y, 0);
    ck_assert_float_eq(((const float *)bgm_tensor_data(bgm_dataset_features(ds)))[3], 4);
    bgm_dataset_free(ds);
    o.no_label = 1;
    BGM_ASSERT_OK(bgm_dataset_load_csv(&ds, path, &o));
    ck_assert_ptr_null(bgm_dataset_targets(ds));
    bgm_test_assert_close(bgm_dataset_features(ds), (int64_t[]){2, 3}, 2, all, 0);
    bgm_dataset_free(ds);
    /* A header and no rows is an empty dataset of the right width. */
    BGM_ASSERT_OK(bgm_dataset_load_csv(&ds, write_text("h.csv", "a,b,c\n"), NULL));
    ck_assert_int_eq(bgm_dataset_size(ds), 0);
    ck_assert_int_eq(bgm_tensor_dim(bgm_dataset_features(ds), 1), 2);
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(csv_bad_values_are_reported_with_line_and_column)
{
    bgm_dataset *ds = (bgm_dataset *)0x1;
    bgm_csv_options o;
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, write_text("m.csv", "a,b,y\n1,2,0\n3,,1\n"),
                                          NULL),
                     BGM_E_FORMAT, "line 3, column 2 ('b'): missing value");
    ck_assert_ptr_null(ds);
    ck_assert_msg(strstr(bgm_last_error(), "m.csv"), "%s", bgm_last_error());
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, write_text("t.csv", "a,b,y\nabc,2,0\n"), NULL),
                     BGM_E_FORMAT, "line 2, column 1 ('a'): 'abc' is not a number");
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, write_text("n.csv", "a,b,y\n1,NaN,0\n"), NULL),
                     BGM_E_FORMAT, "line 2, column 2");
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, write_text("f.csv", "a,y\n1,0\n2,1.5\n"), NULL),
                     BGM_E_FORMAT, "line 3, column 2 ('y'): label '1.5' is not a whole");
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, write_text("w.csv", "a,b,y\n1,2,0\n1,2\n"),
                                          NULL),
                     BGM_E_FORMAT, "line 3 has 2 fields, expected 3");
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, write_text("x.csv", "a,y\n1,0\n1,2,3,4\n"),
                                          NULL),
                     BGM_E_FORMAT, "line 3 has 4 fields, expected 2");
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, write_text("u.csv", "a,y\n\"1,0\n"), NULL),
                     BGM_E_FORMAT, "line 2, column 1: unterminated");
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, write_text("o.csv", "a,y\n1e39,0\n"), NULL),
                     BGM_E_FORMAT, "float32 range");
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, write_text("e.csv", ""), NULL), BGM_E_FORMAT,
                     "no header");
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, write_text("one.csv", "y\n1\n"), NULL),
                     BGM_E_FORMAT, "no feature column");
    bgm_csv_options_init(&o);
    o.label_name = "label";
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, bgm_test_path("m.csv"), &o), BGM_E_FORMAT,
                     "no column named 'label'");
    o.has_header = 0;
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, bgm_test_path("m.csv"), &o), BGM_E_INVALID,
                     "has_header");
    bgm_csv_options_init(&o);
    o.label_column = 3;
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, bgm_test_path("m.csv"), &o), BGM_E_INVALID,
                     "label_column 3 is outside the file's 3 columns");
    bgm_csv_options_init(&o);
    o.skip_lines = 9;
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, bgm_test_path("m.csv"), &o), BGM_E_FORMAT,
                     "skip_lines");
    bgm_csv_options_init(&o);
    o.label_dtype = (bgm_dtype)7;
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, bgm_test_path("m.csv"), &o), BGM_E_INVALID,
                     "label_dtype");
    bgm_csv_options_init(&o);
    o.struct_size = 4;
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, bgm_test_path("m.csv"), &o), BGM_E_INVALID,
                     "bgm_csv_options_init");
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, bgm_test_path("absent.csv"), NULL), BGM_E_IO,
                     "absent.csv");
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(NULL, bgm_test_path("m.csv"), NULL), BGM_E_INVALID,
                     "out");
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, NULL, NULL), BGM_E_INVALID, "path");
    bgm_csv_options_init(NULL);
}
END_TEST

/* ---- NPY ---------------------------------------------------------------- */

/* A .npy file: format major.0, the dict padded as numpy pads it, then data. */
static unsigned char *npy_bytes(int major, const char *dict, const void *data, size_t n,
                                size_t *len)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
    unsigned char *b = malloc(total + n + 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    if (major == 1) {
        b[8] = (unsigned char)hlen;
        b[9] = (unsigned char)(hlen >> 8);
    } else {
        put_le32(b + 8, (uint32_t)hlen);
    }
    memcpy(b + pre, dict, dl);
    memset(b + pre + dl, ' ', total - pre - dl - 1);
    b[total - 1] = '\n';
    if (n)
        memcpy(b + total, data, n);
    *len = total + n;
    return b;
}

static int contains(const unsigned char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle), i;
    for (i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = malloc(1 << 16);
    ck_assert_ptr_nonnull(f);
    *len = fread(b, 1, 1 << 16, f);
    fclose(f);
    return b;
}

START_TEST(npy_save_then_load_is_bit_exact)
{
    const float f[6] = {1.5f, -0.0f, 3.4028235e38f, 1e-45f, -7.25f, 0.1f};
    const int32_t i[6] = {0, -1, 2147483647, -2147483647 - 1, 42, 7};
    bgm_tensor *tf = NULL, *ti = NULL, *sc = NULL, *empty = NULL, *back = NULL;
    unsigned char *raw;
    size_t len;
    BGM_ASSERT_OK(bgm_tensor_from_data(&tf, BGM_FLOAT32, (int64_t[]){2, 3}, 2, f));
    BGM_ASSERT_OK(bgm_tensor_from_data(&ti, BGM_INT32, (int64_t[]){3, 1, 2}, 3, i));
    BGM_ASSERT_OK(bgm_tensor_full(&sc, BGM_FLOAT32, NULL, 0, 2.5));
    BGM_ASSERT_OK(bgm_tensor_zeros(&empty, BGM_INT32, (int64_t[]){0, 4}, 2));

    BGM_ASSERT_OK(bgm_npy_save(tf, bgm_test_path("f.npy")));
    BGM_ASSERT_OK(bgm_npy_load(&back, bgm_test_path("f.npy")));
    ck_assert_int_eq(bgm_tensor_dtype(back), BGM_FLOAT32);
    ck_assert_int_eq(bgm_tensor_dim(back, 1), 3);
    ck_assert_int_eq(memcmp(bgm_tensor_data(back), f, sizeof f), 0);
    bgm_tensor_free(back);
    raw = read_all(bgm_test_path("f.npy"), &len);
    ck_assert_int_eq(raw[6], 1); /* format 1.0 */
    ck_assert_int_eq((10 + raw[8] + raw[9] * 256) % 64, 0);
    ck_assert_uint_eq(len, 128 + sizeof f);
    ck_assert(contains(raw, len, "'descr': '<f4'"));
    free(raw);

    BGM_ASSERT_OK(bgm_npy_save(ti, bgm_test_path("i.npy")));
    BGM_ASSERT_OK(bgm_npy_load(&back, bgm_test_path("i.npy")));
    ck_assert_int_eq(bgm_tensor_dtype(back), BGM_INT32);
    ck_assert_int_eq(bgm_tensor_ndim(back), 3);
    ck_assert_int_eq(memcmp(bgm_tensor_data(back), i, sizeof i), 0);
    bgm_tensor_free(back);

    BGM_ASSERT_OK(bgm_npy_save(sc, bgm_test_path("s.npy")));
    BGM_ASSERT_OK(bgm_npy_load(&back, bgm_test_path("s.npy")));
    ck_assert_int_eq(bgm_tensor_ndim(back), 0);
    ck_assert_float_eq(((const float *)bgm_tensor_data(back))[0], 2.5f);
    bgm_tensor_free(back);

    BGM_ASSERT_OK(bgm_npy_save(empty, bgm_test_path("e.npy")));
    BGM_ASSERT_OK(bgm_npy_load(&back, bgm_test_path("e.npy")));
    ck_assert_int_eq(bgm_tensor_numel(back), 0);
    ck_assert_int_eq(bgm_tensor_dim(back, 1), 4);
    bgm_tensor_free(back);

    /* Overwriting keeps no temporary files behind. */
    BGM_ASSERT_OK(bgm_npy_save(ti, bgm_test_path("f.npy")));
    ck_assert_int_eq(files_in_tmpdir(), 4);
    bgm_tensor_free(tf);
    bgm_tensor_free(ti);
    bgm_tensor_free(sc);
    bgm_tensor_free(empty);
}
END_TEST

START_TEST(npy_reads_version_1_and_2_headers_for_every_dtype)
{
    const float f[4] = {1, -2.5f, 1e30f, 0.125f};
    const int32_t i[4] = {-7, 0, 1 << 30, 3};
    const unsigned char u[4] = {0, 1, 128, 255};
    const char *dicts[3] = {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                            "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }",
                            "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 4), }"};
    const void *data[3] = {f, i, u};
    const size_t sizes[3] = {16, 16, 4};
    const float uf[4] = {0, 1, 128, 255};
    bgm_tensor *t = NULL, *again = NULL;
    unsigned char *b;
    size_t len;
    int k, major;
    char name[32];
    for (major = 1; major <= 2; major++) {
        for (k = 0; k < 3; k++) {
            snprintf(name, sizeof name, "v%d_%d.npy", major, k);
            b = npy_bytes(major, dicts[k], data[k], sizes[k], &len);
            BGM_ASSERT_OK(bgm_npy_load(&t, write_file(name, b, len)));
            free(b);
            ck_assert_int_eq(bgm_tensor_numel(t), 4);
            if (k == 2) {
                ck_assert_int_eq(bgm_tensor_dtype(t), BGM_FLOAT32);
                ck_assert_int_eq(memcmp(bgm_tensor_data(t), uf, sizeof uf), 0);
            } else {
                ck_assert_int_eq(memcmp(bgm_tensor_data(t), data[k], 16), 0);
                /* and back out through our writer, bit for bit */
                BGM_ASSERT_OK(bgm_npy_save(t, bgm_test_path("again.npy")));
                BGM_ASSERT_OK(bgm_npy_load(&again, bgm_test_path("again.npy")));
                ck_assert_int_eq(memcmp(bgm_tensor_data(again), data[k], 16), 0);
                bgm_tensor_free(again);
            }
            bgm_tensor_free(t);
        }
    }
    /* Key order, quotes and spacing vary between writers. */
    b = npy_bytes(1, "{\"shape\":(2,2),\"fortran_order\":False,\"descr\":\"<f4\"}", f, 16,
                  &len);
    BGM_ASSERT_OK(bgm_npy_load(&t, write_file("order.npy", b, len)));
    ck_assert_int_eq(bgm_tensor_dim(t, 0), 2);
    bgm_tensor_free(t);
    free(b);
}
END_TEST

START_TEST(npy_bad_files_fail_naming_the_problem)
{
    const float f[4] = {0};
    bgm_tensor *t = (bgm_tensor *)0x1, *ok = NULL;
    unsigned char *b;
    size_t len;
    struct {
        const char *dict;
        size_t n;
        bgm_status status;
        const char *needle;
    } cases[] = {
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16,
         BGM_E_UNSUPPORTED, "dtype '<f8'"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", 16,
         BGM_E_UNSUPPORTED, "dtype '>f4'"},
        {"{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 16,
         BGM_E_UNSUPPORTED, "'<i8'"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16,
         BGM_E_UNSUPPORTED, "Fortran"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", 16,
         BGM_E_UNSUPPORTED, "structured"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,4), }", 16,
         BGM_E_UNSUPPORTED, "more than 8 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 12, BGM_E_FORMAT,
         "truncated file or bad shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 17, BGM_E_FORMAT,
         "1 unexpected bytes after the data, from byte offset 144"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
         16, BGM_E_FORMAT, "(4294967296, 4294967296)"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
         16, BGM_E_FORMAT, "too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,) ", 16, BGM_E_FORMAT,
         "expected ',' or '}'"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (4,), }", 16, BGM_E_FORMAT,
         "byte offset 44: expected True or False"},
        {"{'descr': '<f4', 'shape': (4,), }", 16, BGM_E_FORMAT, "lacks"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'extra': 1}", 16,
         BGM_E_FORMAT, "unknown or repeated key"},
        {"['descr', '<f4']", 16, BGM_E_FORMAT, "byte offset 10: expected '{'"},
    };
    size_t k;
    char name[32];
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(name, sizeof name, "bad%zu.npy", k);
        b = npy_bytes(1, cases[k].dict, f, sizeof f, &len);
        len -= sizeof f;
        len += cases[k].n;
        b = realloc(b, len);
        if (cases[k].n > sizeof f)
            memset(b + len - (cases[k].n - sizeof f), 0, cases[k].n - sizeof f);
        BGM_ASSERT_FAILS(bgm_npy_load(&t, write_file(name, b, len)), cases[k].status,
                         cases[k].needle);
        ck_assert_ptr_null(t);
        ck_assert_msg(strstr(bgm_last_error(), name), "%s", bgm_last_error());
        free(b);
    }
    b = npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f, 16,
                  &len);
    b[0] = 'X';
    BGM_ASSERT_FAILS(bgm_npy_load(&t, write_file("magic.npy", b, len)), BGM_E_FORMAT,
                     "bad magic at byte offset 0");
    b[0] = 0x93;
    b[6] = 9;
    BGM_ASSERT_FAILS(bgm_npy_load(&t, write_file("v9.npy", b, len)), BGM_E_UNSUPPORTED,
                     "version 9.0");
    b[6] = 1;
    b[8] = 0xFF;
    b[9] = 0xFF;
    BGM_ASSERT_FAILS(bgm_npy_load(&t, write_file("hlen.npy", b, len)), BGM_E_FORMAT,
                     "header length 65535 at byte offset 8");
    BGM_ASSERT_FAILS(bgm_npy_load(&t, write_file("short.npy", b, 9)), BGM_E_FORMAT,
                     "byte offset 9");
    free(b);
    BGM_ASSERT_FAILS(bgm_npy_load(&t, bgm_test_path("none.npy")), BGM_E_IO, "none.npy");
    BGM_ASSERT_FAILS(bgm_npy_load(NULL, bgm_test_path("none.npy")), BGM_E_INVALID, "'out'");
    BGM_ASSERT_OK(bgm_tensor_zeros(&ok, BGM_FLOAT32, (int64_t[]){2}, 1));
    BGM_ASSERT_FAILS(bgm_npy_save(ok, "/nonexistent-dir/x.npy"), BGM_E_IO,
                     "/nonexistent-dir/x.npy");
    BGM_ASSERT_FAILS(bgm_npy_save(NULL, bgm_test_path("x.npy")), BGM_E_INVALID, "'t'");
    BGM_ASSERT_FAILS(bgm_npy_save(ok, NULL), BGM_E_INVALID, "'path'");
    bgm_tensor_free(ok);
}
END_TEST

Suite *suite_data_loaders(void)
{
    Suite *s = suite_create("data_loaders");
    TCase *real = tcase_create("real files");
    TCase *gen = tcase_create("generated files");
    tcase_add_test(real, fashion_mnist_train_set_loads_with_known_checksums);
    tcase_add_test(real, fashion_mnist_test_files_load_one_by_one);
    tcase_add_test(real, csv_reads_scikit_learns_iris);
    tcase_add_test(real, csv_reads_scikit_learns_wine_and_breast_cancer);
    /* Decompressing and converting 60000 images takes a few seconds. */
    BGM_TEST_SLOW(real, 120);
    tcase_add_checked_fixture(gen, make_tmpdir, bgm_test_tmpdir_remove);
    tcase_add_test(gen, idx_plain_and_gzip_files_give_the_same_images);
    tcase_add_test(gen, idx_bad_files_fail_naming_the_file_and_offset);
    tcase_add_test(gen, cifar10_files_concatenate_into_nhwc_images);
    tcase_add_test(gen, cifar100_keeps_the_fine_or_the_coarse_label);
    tcase_add_test(gen, cifar_bad_files_fail_naming_the_file_and_offset);
    tcase_add_test(gen, csv_label_by_name_with_quotes_crlf_bom_and_blank_lines);
    tcase_add_test(gen, csv_float_labels_tabs_and_unlabeled_files);
    tcase_add_test(gen, csv_bad_values_are_reported_with_line_and_column);
    tcase_add_test(gen, npy_save_then_load_is_bit_exact);
    tcase_add_test(gen, npy_reads_version_1_and_2_headers_for_every_dtype);
    tcase_add_test(gen, npy_bad_files_fail_naming_the_problem);
    BGM_TEST_SLOW(gen, 30);
    suite_add_tcase(s, real);
    suite_add_tcase(s, gen);
    return s;
}
