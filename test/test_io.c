/* Archives and the .bgm format: bit-exact round trips, the byte layout the
 * spec promises, corrupt / truncated / lying files, atomic saves (a writer
 * SIGKILLed mid-save leaves the old file whole), and bad arguments. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* ---- scratch files ------------------------------------------------------ */

/* Names of the files in the scratch directory, joined by spaces (static buffer). */
static const char *dir_listing(int *count)
{
    static char list[4096];
    struct dirent *e;
    DIR *d = opendir(bgm_test_tmpdir());
    list[0] = '\0';
    *count = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        ++*count;
        strncat(list, e->d_name, sizeof list - strlen(list) - 2);
        strcat(list, " ");
    }
    closedir(d);
    return list;
}

/* First occurrence of needle (n bytes) in hay (len bytes), or NULL. */
static const unsigned char *find_bytes(const unsigned char *hay, size_t len, const void *needle,
                                       size_t n)
{
    size_t i;
    for (i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

/* ---- little-endian fields and CRCs, independent of the library ---------- */

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    int i;
    for (i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void set_le(unsigned char *p, uint64_t v, int n)
{
    int i;
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Header fields (docs/file-format.md). */
#define H_MAJOR 4
#define H_MINOR 6
#define H_HEADER_SIZE 8
#define H_FLAGS 12
#define H_FILE_SIZE 16
#define H_META_OFF 24
#define H_META_LEN 32
#define H_TABLE_OFF 40
#define H_TABLE_LEN 48
#define H_DATA_OFF 56
#define H_DATA_LEN 64
#define H_RAW_LEN 72
#define H_META_CRC 80
#define H_TABLE_CRC 84
#define H_DATA_CRC 88
#define H_CRC 92

static void fix_header_crc(unsigned char *f) { set_le(f + H_CRC, bgm_test_crc32(f, 92), 4); }

/* Recomputes every section CRC and then the header's, after a patch, so the
 * reader gets past the CRCs to the check under test. */
static void fix_crcs(unsigned char *f)
{
    set_le(f + H_META_CRC, bgm_test_crc32(f + le(f + H_META_OFF, 8), le(f + H_META_LEN, 8)), 4);
    set_le(f + H_TABLE_CRC, bgm_test_crc32(f + le(f + H_TABLE_OFF, 8), le(f + H_TABLE_LEN, 8)), 4);
    set_le(f + H_DATA_CRC, bgm_test_crc32(f + le(f + H_DATA_OFF, 8), le(f + H_DATA_LEN, 8)), 4);
    set_le(f + H_CRC, bgm_test_crc32(f, 92), 4);
}

/* ---- a sample archive with every kind of entry ----------------------------- */

static const float f23[6] = {1.5f, -2.25f, 3.0e-38f, 1.0e38f, -0.0f, 7.0f};
static const int32_t i4[4] = {INT32_MIN, -1, 0, INT32_MAX};
static const int64_t ints[3] = {INT64_MIN, 0, INT64_MAX};
static const double dbls[4] = {0.1, -0.0, 4.9e-324, 1.7976931348623157e308};

static bgm_archive *sample_archive(void)
{
    bgm_archive *a = NULL;
    bgm_tensor *t = NULL;
    const int64_t s23[2] = {2, 3}, s4[1] = {4}, s05[2] = {0, 5}, s222[3] = {2, 2, 2};
    const float scalar = 3.25f;
    int32_t cube[8];
    int i;
    for (i = 0; i < 8; i++)
        cube[i] = i * 1000003;
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_OK(bgm_archive_add_int64(a, "epochs", -42));
    BGM_ASSERT_OK(bgm_archive_add_int64(a, "int64.max", INT64_MAX));
    BGM_ASSERT_OK(bgm_archive_add_float64(a, "lr", 1e-3));
    BGM_ASSERT_OK(bgm_archive_add_float64(a, "nan", NAN));
    BGM_ASSERT_OK(bgm_archive_add_float64(a, "-inf", -INFINITY));
    BGM_ASSERT_OK(bgm_archive_add_string(a, "layer.0.kind", "dense"));
    BGM_ASSERT_OK(bgm_archive_add_string(a, "empty", ""));
    BGM_ASSERT_OK(bgm_archive_add_string(a, "utf8 \xc3\xa9\xe2\x82\xac", "caf\xc3\xa9\n\t\"x\""));
    BGM_ASSERT_OK(bgm_archive_add_int64_array(a, "shape", ints, 3));
    BGM_ASSERT_OK(bgm_archive_add_int64_array(a, "no ints", NULL, 0));
    BGM_ASSERT_OK(bgm_archive_add_float64_array(a, "doubles", dbls, 4));
    BGM_ASSERT_OK(bgm_archive_add_float64_array(a, "no doubles", NULL, 0));

    BGM_ASSERT_OK(bgm_tensor_from_data(&t, BGM_FLOAT32, s23, 2, f23));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "dense.kernel", t));
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_tensor_from_data(&t, BGM_INT32, s4, 1, i4));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "labels", t));
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_tensor_from_data(&t, BGM_FLOAT32, NULL, 0, &scalar));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "scalar", t));
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_tensor_zeros(&t, BGM_FLOAT32, s05, 2));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "empty", t));
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_tensor_from_data(&t, BGM_INT32, s222, 3, cube));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "cube", t));
    bgm_tensor_free(t);
    return a;
}

static void assert_same_bits_f64(double x, double y)
{
    uint64_t a, b;
    memcpy(&a, &x, 8);
    memcpy(&b, &y, 8);
    ck_assert_msg(a == b, "float64 bits differ: %016llx vs %016llx", (unsigned long long)a,
                  (unsigned long long)b);
}

/* b holds everything a holds (user keys and tensors), bit for bit. */
static void assert_archive_contains(const bgm_archive *b, const bgm_archive *a)
{
    int64_t i, n1, n2, k;
    for (i = 0; i < bgm_archive_num_meta(a); i++) {
        const char *key = bgm_archive_meta_key(a, i);
        bgm_meta_type type = bgm_archive_meta_type(a, key);
        ck_assert_int_eq(bgm_archive_meta_type(b, key), type);
        if (type == BGM_META_INT64) {
            int64_t x, y;
            BGM_ASSERT_OK(bgm_archive_get_int64(&x, a, key));
            BGM_ASSERT_OK(bgm_archive_get_int64(&y, b, key));
            ck_assert_int_eq(x, y);
        } else if (type == BGM_META_FLOAT64) {
            double x, y;
            BGM_ASSERT_OK(bgm_archive_get_float64(&x, a, key));
            BGM_ASSERT_OK(bgm_archive_get_float64(&y, b, key));
            assert_same_bits_f64(x, y);
        } else if (type == BGM_META_STRING) {
            const char *x, *y;
            BGM_ASSERT_OK(bgm_archive_get_string(&x, a, key));
            BGM_ASSERT_OK(bgm_archive_get_string(&y, b, key));
            ck_assert_str_eq(x, y);
        } else if (type == BGM_META_INT64_ARRAY) {
            const int64_t *x, *y;
            BGM_ASSERT_OK(bgm_archive_get_int64_array(&x, &n1, a, key));
            BGM_ASSERT_OK(bgm_archive_get_int64_array(&y, &n2, b, key));
            ck_assert_int_eq(n1, n2);
            for (k = 0; k < n1; k++)
                ck_assert_int_eq(x[k], y[k]);
        } else {
            const double *x, *y;
            ck_assert_int_eq(type, BGM_META_FLOAT64_ARRAY);
            BGM_ASSERT_OK(bgm_archive_get_float64_array(&x, &n1, a, key));
            BGM_ASSERT_OK(bgm_archive_get_float64_array(&y, &n2, b, key));
            ck_assert_int_eq(n1, n2);
            for (k = 0; k < n1; k++)
                assert_same_bits_f64(x[k], y[k]);
        }
    }
    ck_assert_int_eq(bgm_archive_num_tensors(b), bgm_archive_num_tensors(a));
    for (i = 0; i < bgm_archive_num_tensors(a); i++) {
        const char *name = bgm_archive_tensor_name(a, i);
        const bgm_tensor *x = NULL, *y = NULL;
        ck_assert_str_eq(bgm_archive_tensor_name(b, i), name);
        BGM_ASSERT_OK(bgm_archive_find_tensor(&x, a, name));
        BGM_ASSERT_OK(bgm_archive_find_tensor(&y, b, name));
        ck_assert_int_eq(bgm_tensor_dtype(y), bgm_tensor_dtype(x));
        ck_assert_int_eq(bgm_tensor_ndim(y), bgm_tensor_ndim(x));
        for (k = 0; k < bgm_tensor_ndim(x); k++)
            ck_assert_int_eq(bgm_tensor_shape(y)[k], bgm_tensor_shape(x)[k]);
        ck_assert_uint_eq(bgm_tensor_nbytes(y), bgm_tensor_nbytes(x));
        ck_assert(memcmp(bgm_tensor_data(y), bgm_tensor_data(x), bgm_tensor_nbytes(x)) == 0);
    }
}

/* The sample archive saved (flags) and read back as bytes. */
static unsigned char *sample_file(unsigned flags, size_t *len)
{
    bgm_archive *a = sample_archive();
    BGM_ASSERT_OK(bgm_archive_save(a, bgm_test_path("sample.bgm"), flags));
    bgm_archive_free(a);
    return bgm_test_read_file(bgm_test_path("sample.bgm"), len);
}

/* ---- round trips ---------------------------------------------------------- */

START_TEST(test_roundtrip_is_bit_exact_for_every_metadata_type_and_tensor_kind)
{
    unsigned flags = _i ? BGM_ARCHIVE_COMPRESS : 0;
    bgm_archive *a = sample_archive(), *b = NULL;
    bgm_tensor *t = NULL;
    const char *s = NULL;
    double nan_back = 0;
    bgm_test_tmpdir_create("io");
    BGM_ASSERT_OK(bgm_archive_save(a, bgm_test_path("m.bgm"), flags));
    BGM_ASSERT_OK(bgm_archive_load(&b, bgm_test_path("m.bgm")));
    assert_archive_contains(b, a);
    /* Spot checks with real values, beyond "equal to the original". */
    BGM_ASSERT_OK(bgm_archive_get_string(&s, b, "layer.0.kind"));
    ck_assert_str_eq(s, "dense");
    BGM_ASSERT_OK(bgm_archive_get_float64(&nan_back, b, "nan"));
    ck_assert(isnan(nan_back));
    BGM_ASSERT_OK(bgm_archive_get_tensor(&t, b, "dense.kernel"));
    ck_assert_int_eq(bgm_tensor_dim(t, 0), 2);
    ck_assert_int_eq(bgm_tensor_dim(t, 1), 3);
    ck_assert(((float *)bgm_tensor_data(t))[1] == -2.25f);
    ck_assert(signbit(((float *)bgm_tensor_data(t))[4]));
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_archive_get_tensor(&t, b, "scalar"));
    ck_assert_int_eq(bgm_tensor_ndim(t), 0);
    ck_assert(*(float *)bgm_tensor_data(t) == 3.25f);
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_archive_get_tensor(&t, b, "empty"));
    ck_assert_int_eq(bgm_tensor_numel(t), 0);
    ck_assert_int_eq(bgm_tensor_dim(t, 1), 5);
    bgm_tensor_free(t);
    bgm_archive_free(a);
    bgm_archive_free(b);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_load_memory_reads_the_same_archive_as_load)
{
    size_t len;
    unsigned char *bytes;
    bgm_archive *a = sample_archive(), *b = NULL;
    bgm_test_tmpdir_create("io");
    bytes = sample_file(_i ? BGM_ARCHIVE_COMPRESS : 0, &len);
    BGM_ASSERT_OK(bgm_archive_load_memory(&b, bytes, len));
    assert_archive_contains(b, a);
    free(bytes);
    bgm_archive_free(a);
    bgm_archive_free(b);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_save_records_the_library_version)
{
    bgm_archive *a = sample_archive(), *b = NULL;
    const char *v = NULL;
    int64_t n = 0;
    bgm_test_tmpdir_create("io");
    BGM_ASSERT_OK(bgm_archive_save(a, bgm_test_path("v.bgm"), 0));
    BGM_ASSERT_OK(bgm_archive_load(&b, bgm_test_path("v.bgm")));
    BGM_ASSERT_OK(bgm_archive_get_string(&v, b, "bgm.library_version"));
    ck_assert_str_eq(v, bgm_version_string());
    BGM_ASSERT_OK(bgm_archive_get_int64(&n, b, "bgm.library_version_number"));
    ck_assert_int_eq(n, bgm_version_number());
    /* 12 user entries plus the library's 2, in that order after load. */
    ck_assert_int_eq(bgm_archive_num_meta(b), 14);
    ck_assert_str_eq(bgm_archive_meta_key(b, 0), "bgm.library_version");
    ck_assert_str_eq(bgm_archive_meta_key(b, 2), "epochs");
    bgm_archive_free(a);
    bgm_archive_free(b);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_resaving_a_loaded_archive_replaces_the_version_keys_once)
{
    bgm_archive *a = sample_archive(), *b = NULL, *c = NULL;
    bgm_test_tmpdir_create("io");
    BGM_ASSERT_OK(bgm_archive_save(a, bgm_test_path("1.bgm"), 0));
    BGM_ASSERT_OK(bgm_archive_load(&b, bgm_test_path("1.bgm")));
    BGM_ASSERT_OK(bgm_archive_save(b, bgm_test_path("2.bgm"), BGM_ARCHIVE_COMPRESS));
    BGM_ASSERT_OK(bgm_archive_load(&c, bgm_test_path("2.bgm")));
    ck_assert_int_eq(bgm_archive_num_meta(c), 14);
    assert_archive_contains(c, b);
    bgm_archive_free(a);
    bgm_archive_free(b);
    bgm_archive_free(c);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_empty_archive_round_trips)
{
    bgm_archive *a = NULL, *b = NULL;
    size_t len;
    unsigned char *f;
    bgm_test_tmpdir_create("io");
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_OK(bgm_archive_save(a, bgm_test_path("e.bgm"), _i ? BGM_ARCHIVE_COMPRESS : 0));
    BGM_ASSERT_OK(bgm_archive_load(&b, bgm_test_path("e.bgm")));
    ck_assert_int_eq(bgm_archive_num_tensors(b), 0);
    ck_assert_int_eq(bgm_archive_num_meta(b), 2);
    f = bgm_test_read_file(bgm_test_path("e.bgm"), &len);
    ck_assert_uint_eq(le(f + H_RAW_LEN, 8), 0);
    free(f);
    bgm_archive_free(a);
    bgm_archive_free(b);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_large_tensors_round_trip_across_chunk_boundaries)
{
    /* 300,001 floats (just over 1 MiB, odd) and a 70,000-element int32
     * tensor: crosses the 64 KiB streaming chunks at odd places. */
    const int64_t n1[1] = {300001}, n2[2] = {7, 10000};
    bgm_tensor *x = bgm_test_randn(n1, 1, 7), *y = NULL;
    bgm_archive *a = NULL, *b = NULL;
    int32_t *p;
    int64_t i;
    bgm_test_tmpdir_create("io");
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_INT32, n2, 2));
    p = bgm_tensor_data(y);
    for (i = 0; i < 70000; i++)
        p[i] = (int32_t)(i * 2654435761u);
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "x", x));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "y", y));
    BGM_ASSERT_OK(bgm_archive_save(a, bgm_test_path("big.bgm"), _i ? BGM_ARCHIVE_COMPRESS : 0));
    BGM_ASSERT_OK(bgm_archive_load(&b, bgm_test_path("big.bgm")));
    assert_archive_contains(b, a);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_archive_free(a);
    bgm_archive_free(b);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_compression_shrinks_zero_filled_optimizer_state)
{
    const int64_t n[1] = {100000};
    bgm_tensor *z = NULL;
    bgm_archive *a = NULL, *b = NULL;
    struct stat plain, packed;
    bgm_test_tmpdir_create("io");
    BGM_ASSERT_OK(bgm_tensor_zeros(&z, BGM_FLOAT32, n, 1));
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "adam.m", z));
    BGM_ASSERT_OK(bgm_archive_save(a, bgm_test_path("plain.bgm"), 0));
    BGM_ASSERT_OK(bgm_archive_save(a, bgm_test_path("packed.bgm"), BGM_ARCHIVE_COMPRESS));
    ck_assert_int_eq(stat(bgm_test_path("plain.bgm"), &plain), 0);
    ck_assert_int_eq(stat(bgm_test_path("packed.bgm"), &packed), 0);
    ck_assert_int_gt(plain.st_size, 400000);
    ck_assert_int_lt(packed.st_size, 5000);
    BGM_ASSERT_OK(bgm_archive_load(&b, bgm_test_path("packed.bgm")));
    assert_archive_contains(b, a);
    bgm_tensor_free(z);
    bgm_archive_free(a);
    bgm_archive_free(b);
    bgm_test_tmpdir_remove();
}
END_TEST

/* ---- the byte layout ---------------------------------------------------- */

START_TEST(test_header_fields_match_the_spec)
{
    size_t len;
    unsigned char *f;
    bgm_test_tmpdir_create("io");
    f = sample_file(0, &len);
    ck_assert(memcmp(f, "BGMF", 4) == 0);
    ck_assert_uint_eq(le(f + H_MAJOR, 2), 1);
    ck_assert_uint_eq(le(f + H_MINOR, 2), 0);
    ck_assert_uint_eq(le(f + H_HEADER_SIZE, 4), 96);
    ck_assert_uint_eq(le(f + H_FLAGS, 4), 0);
    ck_assert_uint_eq(le(f + H_FILE_SIZE, 8), len);
    ck_assert_uint_eq(le(f + H_META_OFF, 8), 96);
    ck_assert_uint_eq(le(f + H_TABLE_OFF, 8), 96 + le(f + H_META_LEN, 8));
    ck_assert_uint_eq(le(f + H_DATA_OFF, 8) % 64, 0);
    ck_assert_uint_eq(le(f + H_DATA_OFF, 8) + le(f + H_DATA_LEN, 8), len);
    ck_assert_uint_eq(le(f + H_DATA_LEN, 8), le(f + H_RAW_LEN, 8));
    ck_assert_uint_eq(le(f + H_CRC, 4), bgm_test_crc32(f, 92));
    ck_assert_uint_eq(le(f + H_META_CRC, 4), bgm_test_crc32(f + 96, le(f + H_META_LEN, 8)));
    /* The metadata starts with its count: 12 entries + 2 of the library. */
    ck_assert_uint_eq(le(f + 96, 4), 14);
    free(f);
    f = sample_file(BGM_ARCHIVE_COMPRESS, &len);
    ck_assert_uint_eq(le(f + H_FLAGS, 4), 1);
    free(f);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_tensor_data_sits_at_64_byte_aligned_file_offsets)
{
    size_t len;
    unsigned char *f;
    const unsigned char *hit;
    bgm_test_tmpdir_create("io");
    f = sample_file(0, &len);
    /* The first bytes of each tensor's data are distinctive enough to find. */
    hit = find_bytes(f + 96, len - 96, f23, sizeof f23);
    ck_assert_ptr_nonnull(hit);
    ck_assert_uint_eq((size_t)(hit - f) % 64, 0);
    hit = find_bytes(f + 96, len - 96, i4, sizeof i4);
    ck_assert_ptr_nonnull(hit);
    ck_assert_uint_eq((size_t)(hit - f) % 64, 0);
    /* dense.kernel comes first, at the start of the data section. */
    ck_assert(memcmp(f + le(f + H_DATA_OFF, 8), f23, sizeof f23) == 0);
    free(f);
    bgm_test_tmpdir_remove();
}
END_TEST

/* ---- rejected files ------------------------------------------------------ */

START_TEST(test_wrong_magic_is_rejected)
{
    size_t len;
    unsigned char *f;
    bgm_archive *b = NULL;
    bgm_test_tmpdir_create("io");
    f = sample_file(0, &len);
    memcpy(f, "PK\3\4", 4);
    bgm_test_write_file(bgm_test_path("zip.bgm"), f, len);
    BGM_ASSERT_FAILS(bgm_archive_load(&b, bgm_test_path("zip.bgm")), BGM_E_FORMAT,
                     "not a .bgm file: the magic is 50 4b 03 04");
    ck_assert_ptr_null(b);
    BGM_ASSERT_FAILS(bgm_archive_load(&b, bgm_test_path("zip.bgm")), BGM_E_FORMAT,
                     "zip.bgm: byte 0");
    free(f);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_newer_major_version_is_unsupported_naming_both_versions)
{
    size_t len;
    unsigned char *f;
    bgm_archive *b = NULL;
    bgm_test_tmpdir_create("io");
    f = sample_file(0, &len);
    set_le(f + H_MAJOR, 2, 2);
    set_le(f + H_MINOR, 3, 2);
    /* Even with a header this library cannot check, the version decides. */
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_UNSUPPORTED,
                     "format version 2.3 is newer than this library reads (1.x; it writes "
                     "1.0)");
    ck_assert_ptr_null(b);
    set_le(f + H_MAJOR, 0, 2);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "format version 0.3 does not exist");
    free(f);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_newer_minor_version_and_unknown_optional_flags_are_accepted)
{
    size_t len;
    unsigned char *f;
    bgm_archive *a = sample_archive(), *b = NULL;
    bgm_test_tmpdir_create("io");
    f = sample_file(0, &len);
    set_le(f + H_MINOR, 9, 2);
    set_le(f + H_FLAGS, 0x00010000u, 4);
    fix_crcs(f);
    BGM_ASSERT_OK(bgm_archive_load_memory(&b, f, len));
    assert_archive_contains(b, a);
    bgm_archive_free(b);
    /* An unknown bit in the low half changes how to read: refused. */
    set_le(f + H_FLAGS, 0x4u, 4);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_UNSUPPORTED,
                     "flags 0x00000004 ask for features");
    free(f);
    bgm_archive_free(a);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_newer_minor_skips_unknown_metadata_types_and_refuses_unknown_dtypes)
{
    size_t len, at, epochs;
    unsigned char *f;
    bgm_archive *b = NULL;
    int64_t v = 0;
    bgm_test_tmpdir_create("io");
    f = sample_file(0, &len);
    /* "epochs" gets type 9, which a later minor might define. */
    epochs = (size_t)(find_bytes(f + 96, len - 96, "\6\0\0\0epochs", 10) - f) + 10;
    set_le(f + epochs, 9, 4);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "metadata key 'epochs' has unknown type 9");
    set_le(f + H_MINOR, 1, 2);
    fix_crcs(f);
    BGM_ASSERT_OK(bgm_archive_load_memory(&b, f, len));
    ck_assert_int_eq(bgm_archive_meta_type(b, "epochs"), BGM_META_NONE);
    BGM_ASSERT_OK(bgm_archive_get_int64(&v, b, "int64.max"));
    ck_assert_int_eq(v, INT64_MAX);
    bgm_archive_free(b);
    /* A tensor dtype from the future cannot be skipped: its bytes matter. */
    at = (size_t)(find_bytes(f + 96, len - 96, "\x0c\0\0\0dense.kernel", 16) - f) + 16;
    set_le(f + at, 7, 4);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_UNSUPPORTED,
                     "tensor 'dense.kernel' has dtype 7");
    set_le(f + H_MINOR, 0, 2);
    set_le(f + epochs, 1, 4);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "tensor 'dense.kernel' has dtype 7");
    free(f);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_newer_minor_with_a_longer_header_is_read)
{
    size_t len, big;
    unsigned char *f, *g;
    bgm_archive *a = sample_archive(), *b = NULL;
    bgm_test_tmpdir_create("io");
    f = sample_file(_i ? BGM_ARCHIVE_COMPRESS : 0, &len);
    /* 64 more header bytes (new fields, then the CRC last); every section
     * moves by 64, which keeps the data aligned. */
    big = len + 64;
    g = calloc(1, big);
    memcpy(g, f, 92);
    memcpy(g + 160, f + 96, len - 96);
    set_le(g + H_MINOR, 4, 2);
    set_le(g + H_HEADER_SIZE, 160, 4);
    set_le(g + H_FILE_SIZE, big, 8);
    set_le(g + H_META_OFF, le(f + H_META_OFF, 8) + 64, 8);
    set_le(g + H_TABLE_OFF, le(f + H_TABLE_OFF, 8) + 64, 8);
    set_le(g + H_DATA_OFF, le(f + H_DATA_OFF, 8) + 64, 8);
    g[100] = 0xAB; /* a field this reader does not know, covered by the CRC */
    set_le(g + 156, bgm_test_crc32(g, 156), 4);
    BGM_ASSERT_OK(bgm_archive_load_memory(&b, g, big));
    assert_archive_contains(b, a);
    bgm_archive_free(b);
    g[100] = 0xAC;
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, g, big), BGM_E_FORMAT,
                     "byte 156: CRC mismatch in the header (bytes 0..160)");
    free(f);
    free(g);
    bgm_archive_free(a);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_crc_mismatch_in_each_section_is_detected)
{
    static const char *const where[] = {"CRC mismatch in the header",
                                        "CRC mismatch in the metadata section",
                                        "CRC mismatch in the tensor table section",
                                        "CRC mismatch in the data section"};
    unsigned flags = _i ? BGM_ARCHIVE_COMPRESS : 0;
    size_t len, at[4];
    unsigned char *f;
    bgm_archive *b = NULL;
    int k;
    bgm_test_tmpdir_create("io");
    f = sample_file(flags, &len);
    at[0] = H_META_LEN;                                         /* a header field */
    at[1] = le(f + H_META_OFF, 8) + le(f + H_META_LEN, 8) - 1;  /* last metadata byte */
    at[2] = le(f + H_TABLE_OFF, 8) + 10;                        /* inside a name */
    at[3] = le(f + H_DATA_OFF, 8) + le(f + H_DATA_LEN, 8) / 2;  /* middle of the data */
    for (k = 0; k < 4; k++) {
        f[at[k]] ^= 0x10;
        BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT, where[k]);
        ck_assert_ptr_null(b);
        f[at[k]] ^= 0x10;
    }
    BGM_ASSERT_OK(bgm_archive_load_memory(&b, f, len));
    bgm_archive_free(b);
    free(f);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_every_truncated_length_is_rejected_without_crashing)
{
    unsigned flags = _i ? BGM_ARCHIVE_COMPRESS : 0;
    size_t len, n;
    unsigned char *f;
    bgm_archive *b = NULL;
    bgm_test_tmpdir_create("io");
    f = sample_file(flags, &len);
    for (n = 0; n < len; n++) {
        /* A copy of exactly n bytes, so a sanitizer sees any over-read. */
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, f, n);
        BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, cut, n), BGM_E_FORMAT, "<memory>: byte");
        ck_assert_ptr_null(b);
        free(cut);
    }
    /* Through a file, the message names it. */
    bgm_test_write_file(bgm_test_path("cut.bgm"), f, len / 2);
    BGM_ASSERT_FAILS(bgm_archive_load(&b, bgm_test_path("cut.bgm")), BGM_E_FORMAT, "truncated");
    BGM_ASSERT_FAILS(bgm_archive_load(&b, bgm_test_path("cut.bgm")), BGM_E_FORMAT,
                     bgm_test_path("cut.bgm"));
    bgm_test_write_file(bgm_test_path("cut.bgm"), f, 50);
    BGM_ASSERT_FAILS(bgm_archive_load(&b, bgm_test_path("cut.bgm")), BGM_E_FORMAT,
                     "truncated: the file has 50 bytes, the header needs 96");
    free(f);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_trailing_bytes_are_rejected)
{
    size_t len;
    unsigned char *f, *g;
    bgm_archive *b = NULL;
    bgm_test_tmpdir_create("io");
    f = sample_file(0, &len);
    g = calloc(1, len + 3);
    memcpy(g, f, len);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, g, len + 3), BGM_E_FORMAT,
                     "3 unexpected bytes after the end");
    free(f);
    free(g);
    bgm_test_tmpdir_remove();
}
END_TEST

/* One tensor named "w" of 16 floats and one metadata entry: fields at known places. */
static unsigned char *tiny_file(size_t *len, unsigned flags)
{
    const int64_t shape[1] = {16};
    bgm_tensor *t = bgm_test_randn(shape, 1, 3);
    bgm_archive *a = NULL;
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "w", t));
    BGM_ASSERT_OK(bgm_archive_save(a, bgm_test_path("tiny.bgm"), flags));
    bgm_tensor_free(t);
    bgm_archive_free(a);
    return bgm_test_read_file(bgm_test_path("tiny.bgm"), len);
}

START_TEST(test_absurd_sizes_are_rejected_before_allocating)
{
    size_t len;
    unsigned char *f;
    bgm_archive *b = NULL;
    size_t meta, table;
    bgm_test_tmpdir_create("io");
    f = tiny_file(&len, 0);
    meta = le(f + H_META_OFF, 8);
    table = le(f + H_TABLE_OFF, 8);
    /* table: count(4) name_len(4) "w" dtype(4) ndim(4) dim(8) offset(8) nbytes(8) */

    set_le(f + meta, 0xFFFFFFFFu, 4);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "4294967295 metadata entries cannot fit");
    set_le(f + meta, 2, 4);
    fix_crcs(f);

    set_le(f + table, 100000000, 4);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "100000000 tensors cannot fit");
    set_le(f + table, 1, 4);

    set_le(f + table + 4, 0x7FFFFFFFu, 4);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "a tensor name length 2147483647 is outside 1..4096");
    set_le(f + table + 4, 1, 4);

    /* A shape of 2^40 floats whose length is consistent with it: the data
     * is 64 bytes, so nothing may be allocated for it. */
    set_le(f + table + 17, (uint64_t)1 << 40, 8);
    set_le(f + table + 33, (uint64_t)1 << 42, 8);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "exceed the 64 bytes of tensor data");
    set_le(f + table + 17, 16, 8);
    set_le(f + table + 33, 64, 8);

    set_le(f + table + 13, 9, 4);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "tensor 'w' has 9 dimensions");
    set_le(f + table + 13, 1, 4);

    set_le(f + table + 9, 3, 4);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "tensor 'w' has dtype 3");
    set_le(f + table + 9, 1, 4);

    set_le(f + H_HEADER_SIZE, 1u << 30, 4);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "header size 1073741824 is outside 96..65536");
    set_le(f + H_HEADER_SIZE, 96, 4);

    set_le(f + H_TABLE_LEN, (uint64_t)1 << 62, 8);
    fix_header_crc(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "the tensor table section (offset");
    free(f);

    f = tiny_file(&len, BGM_ARCHIVE_COMPRESS);
    set_le(f + H_RAW_LEN, (uint64_t)1 << 50, 8);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "cannot come from a compressed data section");
    ck_assert_ptr_null(b);
    free(f);
    bgm_test_tmpdir_remove();
}
END_TEST

/* Sizes that agree with each other but not with the file, small enough that
 * an allocation could succeed: a 2^28-float (1 GiB) tensor over 64 bytes of
 * data, and 1 GiB of raw data from a compressed section of a few dozen bytes.
 * In a child whose address space has only 64 MiB to spare, allocating the
 * claimed size would give BGM_E_NOMEM: FORMAT shows the file was checked first. */
START_TEST(test_plausible_huge_sizes_are_rejected_under_a_memory_limit)
{
    size_t len, clen;
    unsigned char *f, *c;
    size_t table;
    pid_t pid;
    bgm_test_tmpdir_create("io");
    f = tiny_file(&len, 0);
    table = le(f + H_TABLE_OFF, 8);
    set_le(f + table + 17, (uint64_t)1 << 28, 8);
    set_le(f + table + 33, (uint64_t)1 << 30, 8);
    fix_crcs(f);
    c = tiny_file(&clen, BGM_ARCHIVE_COMPRESS);
    set_le(c + H_RAW_LEN, (uint64_t)1 << 30, 8);
    fix_crcs(c);
    pid = bgm_test_fork();
    if (pid == 0) {
        bgm_archive *a = NULL, *b = NULL;
        bgm_status s1, s2;
        int ok;
        bgm_test_limit_address_space(64u << 20);
        s1 = bgm_archive_load_memory(&a, f, len);
        if (s1 != BGM_E_FORMAT)
            fprintf(stderr, "tensor claim: %s: %s\n", bgm_status_string(s1), bgm_last_error());
        s2 = bgm_archive_load_memory(&b, c, clen);
        if (s2 != BGM_E_FORMAT)
            fprintf(stderr, "raw length claim: %s: %s\n", bgm_status_string(s2),
                    bgm_last_error());
        ok = s1 == BGM_E_FORMAT && s2 == BGM_E_FORMAT && !a && !b;
        bgm_archive_free(a);
        bgm_archive_free(b);
        free(f);
        free(c);
        _exit(ok ? 0 : 1);
    }
    bgm_test_assert_child_ok(pid, "a claimed 1 GiB refused as FORMAT under a memory limit");
    free(f);
    free(c);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_lying_compressed_length_and_bad_padding_are_rejected)
{
    size_t len;
    unsigned char *f;
    bgm_archive *b = NULL;
    bgm_test_tmpdir_create("io");
    /* The stream inflates to 64 bytes; a header claiming 128 (and a table
     * to match) must fail when the stream ends early. */
    f = tiny_file(&len, BGM_ARCHIVE_COMPRESS);
    set_le(f + H_RAW_LEN, 128, 8);
    set_le(f + le(f + H_TABLE_OFF, 8) + 17, 32, 8);
    set_le(f + le(f + H_TABLE_OFF, 8) + 33, 128, 8);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "the compressed data ends after 64 of 128 bytes");
    free(f);
    /* Claiming fewer bytes than the stream holds. */
    f = tiny_file(&len, BGM_ARCHIVE_COMPRESS);
    set_le(f + H_RAW_LEN, 32, 8);
    set_le(f + le(f + H_TABLE_OFF, 8) + 17, 8, 8);
    set_le(f + le(f + H_TABLE_OFF, 8) + 33, 32, 8);
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "holds more than the 32 bytes");
    free(f);
    /* A tensor moved to offset 64 of a plain file leaves 64 padding bytes,
     * which must be zero. */
    f = tiny_file(&len, 0);
    {
        size_t t = le(f + H_TABLE_OFF, 8), d = le(f + H_DATA_OFF, 8);
        unsigned char *g = calloc(1, len + 64);
        memcpy(g, f, len);
        memcpy(g + d + 64, f + d, 64);
        memset(g + d, 0, 64);
        g[d + 5] = 1;
        set_le(g + t + 25, 64, 8);
        set_le(g + H_RAW_LEN, 128, 8);
        set_le(g + H_DATA_LEN, 128, 8);
        set_le(g + H_FILE_SIZE, len + 64, 8);
        fix_crcs(g);
        BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, g, len + 64), BGM_E_FORMAT,
                         "padding byte 5 of the tensor data is 0x01, not zero");
        g[d + 5] = 0;
        fix_crcs(g);
        BGM_ASSERT_OK(bgm_archive_load_memory(&b, g, len + 64));
        bgm_archive_free(b);
        free(g);
    }
    free(f);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_duplicate_names_in_a_file_are_rejected)
{
    size_t len, t;
    unsigned char *f;
    bgm_archive *a = NULL, *b = NULL;
    bgm_tensor *x = NULL;
    const float one = 1.0f;
    bgm_test_tmpdir_create("io");
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_OK(bgm_archive_add_int64(a, "a", 1));
    BGM_ASSERT_OK(bgm_archive_add_int64(a, "b", 2));
    BGM_ASSERT_OK(bgm_tensor_from_data(&x, BGM_FLOAT32, NULL, 0, &one));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "p", x));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "q", x));
    BGM_ASSERT_OK(bgm_archive_save(a, bgm_test_path("dup.bgm"), 0));
    f = bgm_test_read_file(bgm_test_path("dup.bgm"), &len);
    /* the second tensor's name: count(4) + entry of "p" (4+1+4+4+8+8) + len(4) */
    t = le(f + H_TABLE_OFF, 8) + 4 + 29 + 4;
    ck_assert_int_eq(f[t], 'q');
    f[t] = 'p';
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "tensor name 'p' appears twice");
    f[t] = 'q';
    /* user key "b" follows the library's two entries and "a" */
    t = (size_t)(find_bytes(f + 96, len - 96, "\1\0\0\0b", 5) - f) + 4;
    f[t] = 'a';
    fix_crcs(f);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, f, len), BGM_E_FORMAT,
                     "metadata key 'a' appears twice");
    ck_assert_ptr_null(b);
    free(f);
    bgm_tensor_free(x);
    bgm_archive_free(a);
    bgm_test_tmpdir_remove();
}
END_TEST

/* ---- atomic saves --------------------------------------------------------- */

/* Size of the first "<target>.tmp-*" file in the scratch directory, or -1. */
static long long temp_file_size(void)
{
    struct dirent *e;
    struct stat st;
    long long size = -1;
    DIR *d = opendir(bgm_test_tmpdir());
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "model.bgm.tmp-", 14) == 0 &&
            stat(bgm_test_path(e->d_name), &st) == 0)
            size = (long long)st.st_size;
    closedir(d);
    return size;
}

/* The child: builds a 64 MiB archive and saves it over model.bgm, then exits. */
static void big_save_then_exit(void)
{
    const int64_t shape[1] = {(int64_t)1 << 24};
    bgm_archive *a = NULL;
    bgm_tensor *t = NULL;
    if (bgm_tensor_full(&t, BGM_FLOAT32, shape, 1, 2.0) != BGM_OK ||
        bgm_archive_create(&a) != BGM_OK || bgm_archive_add_int64(a, "version", 2) != BGM_OK ||
        bgm_archive_add_tensor(a, "w", t) != BGM_OK)
        _exit(3);
    bgm_tensor_free(t);
    _exit(bgm_archive_save(a, bgm_test_path("model.bgm"), 0) == BGM_OK ? 0 : 4);
}

START_TEST(test_writer_killed_mid_save_leaves_the_previous_file_intact)
{
    const int64_t shape[1] = {1000};
    bgm_tensor *w = bgm_test_randn(shape, 1, 11);
    bgm_archive *old = NULL, *back = NULL;
    struct timespec nap = {0, 200000};
    size_t before_len, after_len;
    unsigned char *before, *after;
    int status = 0, count = 0, attempt, killed = 0, k;
    int64_t version = 0;
    const char *listing;
    pid_t pid;
    bgm_test_tmpdir_create("io");
    BGM_ASSERT_OK(bgm_archive_create(&old));
    BGM_ASSERT_OK(bgm_archive_add_int64(old, "version", 1));
    BGM_ASSERT_OK(bgm_archive_add_tensor(old, "w", w));
    BGM_ASSERT_OK(bgm_archive_save(old, bgm_test_path("model.bgm"), 0));
    before = bgm_test_read_file(bgm_test_path("model.bgm"), &before_len);
    /* The child may, rarely, finish before it is caught: try a few times. */
    for (attempt = 0; attempt < 5 && !killed; attempt++) {
        pid = bgm_test_fork();
        if (pid == 0)
            big_save_then_exit();
        /* Kill once the temporary file holds at least 1 MiB of the 64. */
        for (k = 0; k < 200000; k++) {
            long long size = temp_file_size();
            if (size >= (1 << 20) || waitpid(pid, &status, WNOHANG) == pid)
                break;
            nanosleep(&nap, NULL);
        }
        if (kill(pid, SIGKILL) == 0 && waitpid(pid, &status, 0) == pid)
            killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        if (!killed) {
            /* it finished: put the old file back and try again */
            BGM_ASSERT_OK(bgm_archive_save(old, bgm_test_path("model.bgm"), 0));
        }
    }
    ck_assert_msg(killed, "the writer could not be killed mid-save in 5 attempts");
    /* The target is byte for byte the old file, and loads. */
    after = bgm_test_read_file(bgm_test_path("model.bgm"), &after_len);
    ck_assert_uint_eq(after_len, before_len);
    ck_assert(memcmp(after, before, before_len) == 0);
    BGM_ASSERT_OK(bgm_archive_load(&back, bgm_test_path("model.bgm")));
    BGM_ASSERT_OK(bgm_archive_get_int64(&version, back, "version"));
    ck_assert_int_eq(version, 1);
    assert_archive_contains(back, old);
    /* Besides it, only the killed writer's partial temporary file. */
    listing = dir_listing(&count);
    ck_assert_msg(count == 2 && strstr(listing, "model.bgm.tmp-"), "files: %s", listing);
    ck_assert_int_ge(temp_file_size(), 1 << 20);
    free(before);
    free(after);
    bgm_tensor_free(w);
    bgm_archive_free(old);
    bgm_archive_free(back);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_failed_save_leaves_no_temporary_file_and_the_target_untouched)
{
    bgm_archive *a = sample_archive();
    const char *listing;
    int count = 0;
    bgm_test_tmpdir_create("io");
    /* A folder that does not exist. */
    BGM_ASSERT_FAILS(bgm_archive_save(a, bgm_test_path("no/such/dir/m.bgm"), 0), BGM_E_IO,
                     "cannot create a temporary file beside it");
    BGM_ASSERT_FAILS(bgm_archive_save(a, bgm_test_path("no/such/dir/m.bgm"), 0), BGM_E_IO,
                     "no/such/dir/m.bgm");
    /* A target that is a folder: the rename fails, the temp file goes. */
    ck_assert_int_eq(mkdir(bgm_test_path("target"), 0755), 0);
    BGM_ASSERT_FAILS(bgm_archive_save(a, bgm_test_path("target"), 0), BGM_E_IO, "write failed");
    listing = dir_listing(&count);
    ck_assert_msg(count == 1 && strcmp(listing, "target ") == 0, "files: %s", listing);
    bgm_archive_free(a);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_save_replaces_a_file_keeping_its_permissions_and_leaves_nothing_else)
{
    bgm_archive *a = sample_archive(), *b = NULL;
    struct stat st;
    int count = 0;
    bgm_test_tmpdir_create("io");
    bgm_test_write_file(bgm_test_path("m.bgm"), "old", 3);
    ck_assert_int_eq(chmod(bgm_test_path("m.bgm"), 0640), 0);
    BGM_ASSERT_OK(bgm_archive_save(a, bgm_test_path("m.bgm"), 0));
    ck_assert_int_eq(stat(bgm_test_path("m.bgm"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    dir_listing(&count);
    ck_assert_int_eq(count, 1);
    BGM_ASSERT_OK(bgm_archive_load(&b, bgm_test_path("m.bgm")));
    assert_archive_contains(b, a);
    bgm_archive_free(a);
    bgm_archive_free(b);
    bgm_test_tmpdir_remove();
}
END_TEST

/* ---- bad arguments ------------------------------------------------------- */

START_TEST(test_null_arguments_are_rejected_with_their_names)
{
    bgm_archive *a = NULL, *b = (bgm_archive *)1;
    bgm_tensor *t = (bgm_tensor *)1;
    const bgm_tensor *ct = (const bgm_tensor *)1;
    const char *s = "x";
    const int64_t *iv = ints;
    const double *dv = dbls;
    int64_t i = 5, n = 5;
    double d = 5;
    BGM_ASSERT_FAILS(bgm_archive_create(NULL), BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_FAILS(bgm_archive_add_int64(NULL, "k", 1), BGM_E_INVALID, "'a' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_add_int64(a, NULL, 1), BGM_E_INVALID, "'key' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_add_float64(a, NULL, 1), BGM_E_INVALID, "'key' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_add_string(a, "k", NULL), BGM_E_INVALID, "'value' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_add_int64_array(a, "k", NULL, 2), BGM_E_INVALID,
                     "'values' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_add_float64_array(a, "k", dbls, -1), BGM_E_INVALID,
                     "count -1 is negative");
    BGM_ASSERT_FAILS(bgm_archive_add_tensor(a, "t", NULL), BGM_E_INVALID, "'t' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_add_tensor(NULL, "t", NULL), BGM_E_INVALID, "'a' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_get_int64(NULL, a, "k"), BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_get_int64(&i, NULL, "k"), BGM_E_INVALID, "'a' is NULL");
    ck_assert_int_eq(i, 0);
    BGM_ASSERT_FAILS(bgm_archive_get_float64(&d, a, NULL), BGM_E_INVALID, "'key' is NULL");
    ck_assert(d == 0);
    BGM_ASSERT_FAILS(bgm_archive_get_string(&s, a, NULL), BGM_E_INVALID, "'key' is NULL");
    ck_assert_ptr_null(s);
    BGM_ASSERT_FAILS(bgm_archive_get_int64_array(&iv, NULL, a, "k"), BGM_E_INVALID,
                     "'count' is NULL");
    ck_assert_ptr_null(iv);
    BGM_ASSERT_FAILS(bgm_archive_get_float64_array(NULL, &n, a, "k"), BGM_E_INVALID,
                     "'values' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_get_float64_array(&dv, &n, NULL, "k"), BGM_E_INVALID,
                     "'a' is NULL");
    ck_assert_ptr_null(dv);
    ck_assert_int_eq(n, 0);
    BGM_ASSERT_FAILS(bgm_archive_get_tensor(NULL, a, "t"), BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_get_tensor(&t, a, NULL), BGM_E_INVALID, "'name' is NULL");
    ck_assert_ptr_null(t);
    BGM_ASSERT_FAILS(bgm_archive_find_tensor(&ct, NULL, "t"), BGM_E_INVALID, "'a' is NULL");
    ck_assert_ptr_null(ct);
    BGM_ASSERT_FAILS(bgm_archive_copy_tensor(NULL, a, "t"), BGM_E_INVALID, "'dst' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_save(NULL, "x", 0), BGM_E_INVALID, "'a' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_save(a, NULL, 0), BGM_E_INVALID, "'path' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_load(NULL, "x"), BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_load(&b, NULL), BGM_E_INVALID, "'path' is NULL");
    ck_assert_ptr_null(b);
    b = (bgm_archive *)1;
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, NULL, 10), BGM_E_INVALID, "'data' is NULL");
    ck_assert_ptr_null(b);
    BGM_ASSERT_FAILS(bgm_archive_load_memory(&b, NULL, 0), BGM_E_FORMAT, "truncated");
    /* Accessors never fail. */
    ck_assert_int_eq(bgm_archive_num_meta(NULL), 0);
    ck_assert_int_eq(bgm_archive_num_tensors(NULL), 0);
    ck_assert_ptr_null(bgm_archive_meta_key(NULL, 0));
    ck_assert_ptr_null(bgm_archive_meta_key(a, -1));
    ck_assert_ptr_null(bgm_archive_tensor_name(a, 0));
    ck_assert_int_eq(bgm_archive_meta_type(NULL, "k"), BGM_META_NONE);
    ck_assert_int_eq(bgm_archive_meta_type(a, NULL), BGM_META_NONE);
    /* Nothing was added by the failed calls. */
    ck_assert_int_eq(bgm_archive_num_meta(a), 0);
    bgm_archive_free(a);
    bgm_archive_free(NULL);
}
END_TEST

START_TEST(test_bad_keys_and_names_are_rejected)
{
    bgm_archive *a = NULL;
    bgm_tensor *t = NULL;
    char *longkey = malloc(BGM_ARCHIVE_MAX_NAME + 2);
    memset(longkey, 'k', BGM_ARCHIVE_MAX_NAME + 1);
    longkey[BGM_ARCHIVE_MAX_NAME + 1] = '\0';
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_OK(bgm_tensor_zeros(&t, BGM_FLOAT32, NULL, 0));
    BGM_ASSERT_FAILS(bgm_archive_add_int64(a, "", 1), BGM_E_INVALID, "metadata key '' is empty");
    BGM_ASSERT_FAILS(bgm_archive_add_int64(a, longkey, 1), BGM_E_INVALID,
                     "is longer than BGM_ARCHIVE_MAX_NAME (4096) bytes");
    longkey[BGM_ARCHIVE_MAX_NAME] = '\0';
    BGM_ASSERT_OK(bgm_archive_add_int64(a, longkey, 1));
    BGM_ASSERT_FAILS(bgm_archive_add_string(a, "bad \xff utf8", "v"), BGM_E_INVALID,
                     "is not valid UTF-8");
    BGM_ASSERT_FAILS(bgm_archive_add_float64(a, "bgm.library_version", 1.0), BGM_E_INVALID,
                     "uses the reserved prefix 'bgm.'");
    BGM_ASSERT_FAILS(bgm_archive_add_tensor(a, "", t), BGM_E_INVALID, "tensor name '' is empty");
    BGM_ASSERT_FAILS(bgm_archive_add_tensor(a, "\xc0\x80", t), BGM_E_INVALID,
                     "is not valid UTF-8");
    /* Tensor names have no reserved prefix. */
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "bgm.w", t));
    bgm_tensor_free(t);
    bgm_archive_free(a);
    free(longkey);
}
END_TEST

START_TEST(test_duplicate_keys_and_names_are_rejected_in_their_own_namespace)
{
    bgm_archive *a = NULL;
    bgm_tensor *t = NULL;
    int64_t v = 0;
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_OK(bgm_tensor_zeros(&t, BGM_INT32, NULL, 0));
    BGM_ASSERT_OK(bgm_archive_add_int64(a, "units", 64));
    BGM_ASSERT_FAILS(bgm_archive_add_int64(a, "units", 32), BGM_E_INVALID,
                     "metadata key 'units' is already present");
    BGM_ASSERT_FAILS(bgm_archive_add_string(a, "units", "x"), BGM_E_INVALID,
                     "already present");
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "units", t));
    BGM_ASSERT_FAILS(bgm_archive_add_tensor(a, "units", t), BGM_E_INVALID,
                     "tensor name 'units' is already present");
    BGM_ASSERT_OK(bgm_archive_get_int64(&v, a, "units"));
    ck_assert_int_eq(v, 64);
    ck_assert_int_eq(bgm_archive_num_meta(a), 1);
    ck_assert_int_eq(bgm_archive_num_tensors(a), 1);
    bgm_tensor_free(t);
    bgm_archive_free(a);
}
END_TEST

START_TEST(test_missing_keys_and_wrong_types_name_the_key)
{
    bgm_archive *a = sample_archive();
    int64_t i = 1;
    double d = 1;
    const char *s = NULL;
    const int64_t *iv = NULL;
    int64_t n = 0;
    BGM_ASSERT_FAILS(bgm_archive_get_int64(&i, a, "epoch"), BGM_E_INVALID,
                     "bgm_archive_get_int64: no metadata key 'epoch' in the archive");
    ck_assert_int_eq(i, 0);
    BGM_ASSERT_FAILS(bgm_archive_get_float64(&d, a, "epochs"), BGM_E_DTYPE,
                     "metadata key 'epochs' has type int64, not float64");
    BGM_ASSERT_FAILS(bgm_archive_get_string(&s, a, "lr"), BGM_E_DTYPE,
                     "has type float64, not string");
    BGM_ASSERT_FAILS(bgm_archive_get_int64_array(&iv, &n, a, "doubles"), BGM_E_DTYPE,
                     "has type float64 array, not int64 array");
    BGM_ASSERT_FAILS(bgm_archive_get_int64(&i, a, "shape"), BGM_E_DTYPE,
                     "has type int64 array, not int64");
    ck_assert_int_eq(bgm_archive_meta_type(a, "shape"), BGM_META_INT64_ARRAY);
    ck_assert_int_eq(bgm_archive_meta_type(a, "nope"), BGM_META_NONE);
    BGM_ASSERT_OK(bgm_archive_get_int64_array(&iv, &n, a, "shape"));
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(iv[0], INT64_MIN);
    BGM_ASSERT_OK(bgm_archive_get_int64_array(&iv, &n, a, "no ints"));
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(iv);
    bgm_archive_free(a);
}
END_TEST

START_TEST(test_tensor_getters_check_names_dtypes_and_shapes)
{
    bgm_archive *a = sample_archive();
    const int64_t s23[2] = {2, 3}, s32[2] = {3, 2};
    bgm_tensor *dst = NULL, *t = (bgm_tensor *)1;
    const bgm_tensor *view = NULL;
    BGM_ASSERT_FAILS(bgm_archive_get_tensor(&t, a, "dense.bias"), BGM_E_INVALID,
                     "no tensor named 'dense.bias' in the archive");
    ck_assert_ptr_null(t);
    BGM_ASSERT_OK(bgm_tensor_zeros(&dst, BGM_INT32, s23, 2));
    BGM_ASSERT_FAILS(bgm_archive_copy_tensor(dst, a, "dense.kernel"), BGM_E_DTYPE,
                     "tensor 'dense.kernel' is float32, the destination int32");
    bgm_tensor_free(dst);
    BGM_ASSERT_OK(bgm_tensor_zeros(&dst, BGM_FLOAT32, s32, 2));
    BGM_ASSERT_FAILS(bgm_archive_copy_tensor(dst, a, "dense.kernel"), BGM_E_SHAPE,
                     "tensor 'dense.kernel' has shape (2, 3), the destination (3, 2)");
    bgm_tensor_free(dst);
    BGM_ASSERT_OK(bgm_tensor_zeros(&dst, BGM_FLOAT32, s23, 2));
    BGM_ASSERT_OK(bgm_archive_copy_tensor(dst, a, "dense.kernel"));
    ck_assert(memcmp(bgm_tensor_data(dst), f23, sizeof f23) == 0);
    bgm_tensor_free(dst);
    BGM_ASSERT_OK(bgm_archive_find_tensor(&view, a, "labels"));
    ck_assert_int_eq(((const int32_t *)bgm_tensor_data(view))[0], INT32_MIN);
    /* get_tensor hands out an independent copy. */
    BGM_ASSERT_OK(bgm_archive_get_tensor(&t, a, "labels"));
    ((int32_t *)bgm_tensor_data(t))[0] = 5;
    ck_assert_int_eq(((const int32_t *)bgm_tensor_data(view))[0], INT32_MIN);
    bgm_tensor_free(t);
    ck_assert_str_eq(bgm_archive_tensor_name(a, 4), "cube");
    ck_assert_ptr_null(bgm_archive_tensor_name(a, 5));
    bgm_archive_free(a);
}
END_TEST

START_TEST(test_save_rejects_unknown_flags_and_load_reports_missing_files)
{
    bgm_archive *a = sample_archive(), *b = NULL;
    bgm_test_tmpdir_create("io");
    BGM_ASSERT_FAILS(bgm_archive_save(a, bgm_test_path("m.bgm"), 6), BGM_E_INVALID,
                     "unknown flag bits 0x6");
    BGM_ASSERT_FAILS(bgm_archive_load(&b, bgm_test_path("missing.bgm")), BGM_E_IO,
                     "missing.bgm: cannot open: No such file or directory");
    BGM_ASSERT_FAILS(bgm_archive_load(&b, bgm_test_tmpdir()), BGM_E_IO, "not a regular file");
    ck_assert_ptr_null(b);
    bgm_archive_free(a);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_many_entries_stay_addressable_by_name)
{
    bgm_archive *a = NULL, *b = NULL;
    bgm_tensor *t = NULL;
    char key[32];
    int64_t v = 0;
    int i;
    bgm_test_tmpdir_create("io");
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_OK(bgm_tensor_zeros(&t, BGM_FLOAT32, NULL, 0));
    for (i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "layer.%d.units", i);
        BGM_ASSERT_OK(bgm_archive_add_int64(a, key, i * 7));
        snprintf(key, sizeof key, "layer.%d.w", i);
        BGM_ASSERT_OK(bgm_archive_add_tensor(a, key, t));
    }
    BGM_ASSERT_OK(bgm_archive_save(a, bgm_test_path("many.bgm"), 0));
    BGM_ASSERT_OK(bgm_archive_load(&b, bgm_test_path("many.bgm")));
    BGM_ASSERT_OK(bgm_archive_get_int64(&v, b, "layer.2999.units"));
    ck_assert_int_eq(v, 2999 * 7);
    ck_assert_int_eq(bgm_archive_num_tensors(b), 3000);
    ck_assert_str_eq(bgm_archive_tensor_name(b, 1234), "layer.1234.w");
    bgm_tensor_free(t);
    bgm_archive_free(a);
    bgm_archive_free(b);
    bgm_test_tmpdir_remove();
}
END_TEST

Suite *suite_io(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("roundtrip");
    tcase_add_loop_test(tc, test_roundtrip_is_bit_exact_for_every_metadata_type_and_tensor_kind,
                        0, 2);
    tcase_add_loop_test(tc, test_load_memory_reads_the_same_archive_as_load, 0, 2);
    tcase_add_test(tc, test_save_records_the_library_version);
    tcase_add_test(tc, test_resaving_a_loaded_archive_replaces_the_version_keys_once);
    tcase_add_loop_test(tc, test_empty_archive_round_trips, 0, 2);
    tcase_add_loop_test(tc, test_large_tensors_round_trip_across_chunk_boundaries, 0, 2);
    tcase_add_test(tc, test_compression_shrinks_zero_filled_optimizer_state);
    tcase_add_test(tc, test_many_entries_stay_addressable_by_name);
    BGM_TEST_SLOW(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("layout");
    tcase_add_test(tc, test_header_fields_match_the_spec);
    tcase_add_test(tc, test_tensor_data_sits_at_64_byte_aligned_file_offsets);
    suite_add_tcase(s, tc);

    tc = tcase_create("rejected files");
    tcase_add_test(tc, test_wrong_magic_is_rejected);
    tcase_add_test(tc, test_newer_major_version_is_unsupported_naming_both_versions);
    tcase_add_test(tc, test_newer_minor_version_and_unknown_optional_flags_are_accepted);
    tcase_add_test(tc, test_newer_minor_skips_unknown_metadata_types_and_refuses_unknown_dtypes);
    tcase_add_loop_test(tc, test_newer_minor_with_a_longer_header_is_read, 0, 2);
    tcase_add_loop_test(tc, test_crc_mismatch_in_each_section_is_detected, 0, 2);
    tcase_add_loop_test(tc, test_every_truncated_length_is_rejected_without_crashing, 0, 2);
    tcase_add_test(tc, test_trailing_bytes_are_rejected);
    tcase_add_test(tc, test_absurd_sizes_are_rejected_before_allocating);
    tcase_add_test(tc, test_plausible_huge_sizes_are_rejected_under_a_memory_limit);
    tcase_add_test(tc, test_lying_compressed_length_and_bad_padding_are_rejected);
    tcase_add_test(tc, test_duplicate_names_in_a_file_are_rejected);
    BGM_TEST_SLOW(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("atomic");
    tcase_add_test(tc, test_writer_killed_mid_save_leaves_the_previous_file_intact);
    tcase_add_test(tc, test_failed_save_leaves_no_temporary_file_and_the_target_untouched);
    tcase_add_test(tc, test_save_replaces_a_file_keeping_its_permissions_and_leaves_nothing_else);
    BGM_TEST_SLOW(tc, 120);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad input");
    tcase_add_test(tc, test_null_arguments_are_rejected_with_their_names);
    tcase_add_test(tc, test_bad_keys_and_names_are_rejected);
    tcase_add_test(tc, test_duplicate_keys_and_names_are_rejected_in_their_own_namespace);
    tcase_add_test(tc, test_missing_keys_and_wrong_types_name_the_key);
    tcase_add_test(tc, test_tensor_getters_check_names_dtypes_and_shapes);
    tcase_add_test(tc, test_save_rejects_unknown_flags_and_load_reports_missing_files);
    suite_add_tcase(s, tc);
    return s;
}
