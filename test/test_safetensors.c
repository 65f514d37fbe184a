/* safetensors export and import: exact bytes of what we write, bit-exact
 * round trips, files written by hand (escapes, I64 tensors), and every kind
 * of malformed or inconsistent header rejected with its byte offset. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* Writes a safetensors file: the header's length, the header, then data. */
static const char *write_st(const char *name, const char *header, const void *data,
                            size_t data_len)
{
    const char *p = bgm_test_path(name);
    FILE *f = fopen(p, "wb");
    unsigned char len[8];
    uint64_t n = strlen(header);
    int i;
    for (i = 0; i < 8; i++)
        len[i] = (unsigned char)(n >> (8 * i));
    ck_assert_ptr_nonnull(f);
    fwrite(len, 1, 8, f);
    fwrite(header, 1, n, f);
    if (data_len)
        fwrite(data, 1, data_len, f);
    fclose(f);
    return p;
}

static bgm_archive *two_tensor_archive(void)
{
    const int64_t s23[2] = {2, 3}, s2[1] = {2};
    const float w[6] = {1.0f, -2.5f, 3.0e-39f, 0.1f, -0.0f, 6.0f};
    const int32_t ids[2] = {-7, 2147483647};
    bgm_archive *a = NULL;
    bgm_tensor *t = NULL;
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_OK(bgm_tensor_from_data(&t, BGM_FLOAT32, s23, 2, w));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "fc.weight", t));
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_tensor_from_data(&t, BGM_INT32, s2, 1, ids));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "ids", t));
    bgm_tensor_free(t);
    return a;
}

static void assert_same_tensors(const bgm_archive *b, const bgm_archive *a)
{
    int64_t i;
    int d;
    ck_assert_int_eq(bgm_archive_num_tensors(b), bgm_archive_num_tensors(a));
    for (i = 0; i < bgm_archive_num_tensors(a); i++) {
        const char *name = bgm_archive_tensor_name(a, i);
        const bgm_tensor *x = NULL, *y = NULL;
        BGM_ASSERT_OK(bgm_archive_find_tensor(&x, a, name));
        BGM_ASSERT_OK(bgm_archive_find_tensor(&y, b, name));
        ck_assert_int_eq(bgm_tensor_dtype(y), bgm_tensor_dtype(x));
        ck_assert_int_eq(bgm_tensor_ndim(y), bgm_tensor_ndim(x));
        for (d = 0; d < bgm_tensor_ndim(x); d++)
            ck_assert_int_eq(bgm_tensor_shape(y)[d], bgm_tensor_shape(x)[d]);
        ck_assert(memcmp(bgm_tensor_data(y), bgm_tensor_data(x), bgm_tensor_nbytes(x)) == 0);
    }
}

/* ---- export --------------------------------------------------------------- */

START_TEST(test_export_writes_the_exact_header_and_data)
{
    static const char want[] =
        "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"a \\\"b\\\" \\u000a\"},"
        "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        "\"ids\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[24,32]}}";
    bgm_archive *a = two_tensor_archive();
    size_t len, hlen, i;
    unsigned char *f;
    bgm_test_tmpdir_create("st");
    BGM_ASSERT_OK(bgm_archive_add_string(a, "note", "a \"b\" \n"));
    BGM_ASSERT_OK(bgm_archive_save_safetensors(a, bgm_test_path("m.safetensors")));
    f = bgm_test_read_file(bgm_test_path("m.safetensors"), &len);
    hlen = 0;
    for (i = 0; i < 8; i++)
        hlen |= (size_t)f[i] << (8 * i);
    /* padded with spaces so the data starts 8-byte aligned */
    ck_assert_uint_eq((8 + hlen) % 8, 0);
    ck_assert_uint_eq(len, 8 + hlen + 32);
    ck_assert(memcmp(f + 8, want, strlen(want)) == 0);
    for (i = strlen(want); i < hlen; i++)
        ck_assert_int_eq(f[8 + i], ' ');
    ck_assert(((const float *)(f + 8 + hlen))[1] == -2.5f);
    ck_assert_int_eq(((const int32_t *)(f + 8 + hlen + 24))[1], 2147483647);
    free(f);
    bgm_archive_free(a);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_export_import_round_trip_is_bit_exact)
{
    const int64_t s0[2] = {0, 4};
    const float scalar = -1.25f;
    bgm_archive *a = two_tensor_archive(), *b = NULL;
    bgm_tensor *t = NULL;
    const char *s = NULL;
    bgm_test_tmpdir_create("st");
    BGM_ASSERT_OK(bgm_tensor_from_data(&t, BGM_FLOAT32, NULL, 0, &scalar));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "scalar", t));
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_tensor_zeros(&t, BGM_INT32, s0, 2));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "empty", t));
    bgm_tensor_free(t);
    t = bgm_test_randn((const int64_t[]){33, 17, 5}, 3, 9);
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "big", t));
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_archive_add_string(a, "arch", "caf\xc3\xa9 \xf0\x9f\x98\x80"));
    BGM_ASSERT_OK(bgm_archive_save_safetensors(a, bgm_test_path("r.safetensors")));
    BGM_ASSERT_OK(bgm_archive_load_safetensors(&b, bgm_test_path("r.safetensors")));
    assert_same_tensors(b, a);
    BGM_ASSERT_OK(bgm_archive_get_string(&s, b, "arch"));
    ck_assert_str_eq(s, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    BGM_ASSERT_OK(bgm_archive_get_string(&s, b, "format"));
    ck_assert_str_eq(s, "pt");
    ck_assert_int_eq(bgm_archive_num_meta(b), 2);
    bgm_archive_free(a);
    bgm_archive_free(b);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_export_writes_numbers_as_text_and_keeps_a_given_format)
{
    static const int64_t iv[3] = {1, -2, 3};
    static const double dv[2] = {0.5, 0.1};
    bgm_archive *a = NULL, *b = NULL;
    const char *s = NULL;
    bgm_test_tmpdir_create("st");
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_OK(bgm_archive_add_string(a, "format", "np"));
    BGM_ASSERT_OK(bgm_archive_add_int64(a, "epochs", -42));
    BGM_ASSERT_OK(bgm_archive_add_float64(a, "lr", 0.1));
    BGM_ASSERT_OK(bgm_archive_add_int64_array(a, "shape", iv, 3));
    BGM_ASSERT_OK(bgm_archive_add_float64_array(a, "betas", dv, 2));
    BGM_ASSERT_OK(bgm_archive_add_int64_array(a, "none", NULL, 0));
    BGM_ASSERT_OK(bgm_archive_save_safetensors(a, bgm_test_path("n.safetensors")));
    BGM_ASSERT_OK(bgm_archive_load_safetensors(&b, bgm_test_path("n.safetensors")));
    ck_assert_int_eq(bgm_archive_num_meta(b), 6);
    ck_assert_int_eq(bgm_archive_num_tensors(b), 0);
    BGM_ASSERT_OK(bgm_archive_get_string(&s, b, "format"));
    ck_assert_str_eq(s, "np");
    BGM_ASSERT_OK(bgm_archive_get_string(&s, b, "epochs"));
    ck_assert_str_eq(s, "-42");
    BGM_ASSERT_OK(bgm_archive_get_string(&s, b, "lr"));
    ck_assert_str_eq(s, "0.10000000000000001");
    BGM_ASSERT_OK(bgm_archive_get_string(&s, b, "shape"));
    ck_assert_str_eq(s, "[1, -2, 3]");
    BGM_ASSERT_OK(bgm_archive_get_string(&s, b, "betas"));
    ck_assert_str_eq(s, "[0.5, 0.10000000000000001]");
    BGM_ASSERT_OK(bgm_archive_get_string(&s, b, "none"));
    ck_assert_str_eq(s, "[]");
    bgm_archive_free(a);
    bgm_archive_free(b);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_export_rejects_strings_json_cannot_carry)
{
    bgm_archive *a = two_tensor_archive();
    int count = 0;
    struct dirent *e;
    DIR *d;
    bgm_test_tmpdir_create("st");
    BGM_ASSERT_OK(bgm_archive_add_string(a, "latin1", "caf\xe9"));
    BGM_ASSERT_FAILS(bgm_archive_save_safetensors(a, bgm_test_path("x.safetensors")), BGM_E_INVALID,
                     "metadata key 'latin1' holds a string that is not UTF-8");
    d = opendir(bgm_test_tmpdir());
    while ((e = readdir(d)) != NULL)
        count += e->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(count, 0);
    BGM_ASSERT_FAILS(bgm_archive_save_safetensors(NULL, "x"), BGM_E_INVALID, "'a' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_save_safetensors(a, NULL), BGM_E_INVALID, "'path' is NULL");
    bgm_archive_free(a);
    a = two_tensor_archive();
    BGM_ASSERT_FAILS(bgm_archive_save_safetensors(a, bgm_test_path("no/dir/x.safetensors")),
                     BGM_E_IO, "cannot create a temporary file");
    bgm_archive_free(a);
    bgm_test_tmpdir_remove();
}
END_TEST

/* ---- import of files written by hand ---------------------------------------- */

START_TEST(test_import_reads_a_hand_written_file_with_escapes_and_i64)
{
    /* Keys in any order, whitespace, escapes (é, an emoji through a
     * surrogate pair, a newline), an I64 tensor and metadata. */
    static const char header[] =
        " {\n  \"b\\u00e9\\ud83d\\ude00\\n\" : {\"shape\": [2], \"dtype\": \"I64\","
        " \"data_offsets\": [8, 24]},\n"
        "  \"__metadata__\": {\"format\": \"pt\", \"\\\"q\\\"\": \"\\\\\"},\n"
        "  \"a\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]},\n"
        "  \"z\": {\"dtype\": \"I32\", \"shape\": [1, 0], \"data_offsets\": [4, 4]},\n"
        "  \"pad\": {\"dtype\": \"I32\", \"shape\": [1], \"data_offsets\": [4, 8]}\n"
        "}    ";
    unsigned char data[24] = {0};
    const float half = 0.5f;
    const int64_t big = -2147483648LL, one = 1;
    bgm_archive *b = NULL;
    bgm_tensor *t = NULL;
    const char *s = NULL;
    bgm_test_tmpdir_create("st");
    memcpy(data, &half, 4);
    memcpy(data + 8, &big, 8);
    memcpy(data + 16, &one, 8);
    /* header starts with a space: the reference implementation wants '{' */
    write_st("h.safetensors", header, data, sizeof data);
    BGM_ASSERT_FAILS(bgm_archive_load_safetensors(&b, bgm_test_path("h.safetensors")), BGM_E_FORMAT,
                     "byte 8: the header must start with '{'");
    write_st("h.safetensors", header + 1, data, sizeof data);
    BGM_ASSERT_OK(bgm_archive_load_safetensors(&b, bgm_test_path("h.safetensors")));
    ck_assert_int_eq(bgm_archive_num_tensors(b), 4);
    ck_assert_str_eq(bgm_archive_tensor_name(b, 0), "b\xc3\xa9\xf0\x9f\x98\x80\n");
    BGM_ASSERT_OK(bgm_archive_get_tensor(&t, b, "b\xc3\xa9\xf0\x9f\x98\x80\n"));
    ck_assert_int_eq(bgm_tensor_dtype(t), BGM_INT32);
    ck_assert_int_eq(((int32_t *)bgm_tensor_data(t))[0], INT32_MIN);
    ck_assert_int_eq(((int32_t *)bgm_tensor_data(t))[1], 1);
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_archive_get_tensor(&t, b, "a"));
    ck_assert_int_eq(bgm_tensor_ndim(t), 0);
    ck_assert(*(float *)bgm_tensor_data(t) == 0.5f);
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_archive_get_tensor(&t, b, "z"));
    ck_assert_int_eq(bgm_tensor_numel(t), 0);
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_archive_get_string(&s, b, "\"q\""));
    ck_assert_str_eq(s, "\\");
    bgm_archive_free(b);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_import_rejects_i64_values_outside_int32_and_other_dtypes)
{
    const int64_t v[2] = {5, 3000000000LL};
    bgm_archive *b = NULL;
    bgm_test_tmpdir_create("st");
    write_st("i.safetensors",
             "{\"x\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", v, 16);
    BGM_ASSERT_FAILS(bgm_archive_load_safetensors(&b, bgm_test_path("i.safetensors")),
                     BGM_E_UNSUPPORTED, "I64 tensor 'x' holds 3000000000, outside int32");
    ck_assert_ptr_null(b);
    write_st("h.safetensors",
             "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", v, 4);
    BGM_ASSERT_FAILS(bgm_archive_load_safetensors(&b, bgm_test_path("h.safetensors")),
                     BGM_E_UNSUPPORTED, "tensor 'h' has dtype \"F16\"");
    write_st("d.safetensors",
             "{\"d\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
             "\"data_offsets\":[0,4]}}", v, 4);
    BGM_ASSERT_FAILS(bgm_archive_load_safetensors(&b, bgm_test_path("d.safetensors")),
                     BGM_E_UNSUPPORTED, "tensor 'd' has more than 8 dimensions");
    bgm_test_tmpdir_remove();
}
END_TEST

/* ---- malformed headers ------------------------------------------------------ */

typedef struct bad_header {
    const char *json;
    size_t data_len;
    const char *message;
} bad_header;

#define T(dtype, shape, b, e) "{\"dtype\":\"" dtype "\",\"shape\":" shape \
                              ",\"data_offsets\":[" #b "," #e "]}"

static const bad_header bad_headers[] = {
    {"{\"a\":" T("F32", "[2]", 0, 8), 8, "byte 61: malformed header: expected ',' or '}'"},
    {"{\"a\":" T("F32", "[2]", 0, 8) ",}", 8, "trailing comma"},
    {"{\"a\":" T("F32", "[2,]", 0, 8) "}", 8, "trailing comma"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8,
     "unknown key in a tensor entry"},
    {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
     "repeated key in a tensor entry"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 'a' lacks \"data_offsets\""},
    {"{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a' lacks \"dtype\""},
    {"{\"a\":" T("F32", "[-2]", 0, 8) "}", 8, "negative number"},
    {"{\"a\":" T("F32", "[2.0]", 0, 8) "}", 8, "not a fraction or exponent"},
    {"{\"a\":" T("F32", "[2e0]", 0, 8) "}", 8, "not a fraction or exponent"},
    {"{\"a\":" T("F32", "[02]", 0, 8) "}", 8, "leading zero"},
    {"{\"a\":" T("F32", "[99999999999999999999]", 0, 8) "}", 8, "larger than 2^63 - 1"},
    {"{\"a\":" T("F32", "\"2\"", 0, 8) "}", 8, "expected '['"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8,
     "data_offsets needs 2 numbers"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", 8,
     "data_offsets holds more than 2 numbers"},
    {"{\"a\":" T("F32", "[2]", 0, 8) ",\"a\":" T("F32", "[2]", 8, 16) "}", 16,
     "tensor name 'a' appears twice"},
    {"{\"a\\q\":" T("F32", "[2]", 0, 8) "}", 8, "byte 12: malformed header: unknown escape"},
    {"{\"a\nb\":" T("F32", "[2]", 0, 8) "}", 8, "control character in a string"},
    {"{\"\\ud800\":" T("F32", "[2]", 0, 8) "}", 8, "high surrogate without its low half"},
    {"{\"\\udc00\":" T("F32", "[2]", 0, 8) "}", 8, "lone low surrogate"},
    {"{\"a\\u0000\":" T("F32", "[2]", 0, 8) "}", 8, "\\u0000 is not allowed"},
    {"{\"\xff\":" T("F32", "[2]", 0, 8) "}", 8, "string is not valid UTF-8"},
    {"{\"a", 0, "unterminated string"},
    {"{\"a\":" T("F32", "[2]", 0, 8) "} x", 8, "unexpected bytes after the header's object"},
    {"{\"a\":" T("F32", "[2]", 0, 8) "}{}", 8, "unexpected bytes after the header's object"},
    {"{\"\":" T("F32", "[2]", 0, 8) "}", 8, "tensor name is empty"},
    {"{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ values must be strings"},
    {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "\"__metadata__\" appears twice"},
    {"{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", 0, "metadata key 'k' appears twice"},
    {"[]", 0, "the header must start with '{'"},
    {"{\"a\":" T("F32", "[2]", 0, 8) ",\"b\":" T("F32", "[2]", 4, 12) "}", 12,
     "tensor 'b' starts at data byte 4, but the previous bytes end at 8 (overlap)"},
    {"{\"a\":" T("F32", "[2]", 0, 8) ",\"b\":" T("F32", "[2]", 12, 20) "}", 20,
     "tensor 'b' starts at data byte 12, but the previous bytes end at 8 (a hole)"},
    {"{\"a\":" T("F32", "[2]", 4, 12) "}", 12, "(a hole)"},
    {"{\"a\":" T("F32", "[2]", 0, 8) "}", 12, "the tensors cover 8 of the 12 data bytes"},
    {"{\"a\":" T("F32", "[2]", 0, 8) "}", 4, "are not a range within the 4 bytes"},
    {"{\"a\":" T("F32", "[2]", 8, 0) "}", 8, "are not a range within"},
    {"{\"a\":" T("F32", "[3]", 0, 8) "}", 8, "its shape needs a different byte length"},
    {"{\"a\":" T("I32", "[4611686018427387904,4]", 0, 8) "}", 8,
     "its shape needs a different byte length"},
};

START_TEST(test_malformed_headers_are_rejected_with_the_offset)
{
    const bad_header *b = &bad_headers[_i];
    unsigned char zeros[32] = {0};
    bgm_archive *a = (bgm_archive *)1;
    const char *path;
    bgm_test_tmpdir_create("st");
    path = write_st("bad.safetensors", b->json, zeros, b->data_len);
    BGM_ASSERT_FAILS(bgm_archive_load_safetensors(&a, path), BGM_E_FORMAT, b->message);
    ck_assert_ptr_null(a);
    BGM_ASSERT_FAILS(bgm_archive_load_safetensors(&a, path), BGM_E_FORMAT,
                     "bad.safetensors: byte ");
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_header_length_beyond_the_file_is_rejected_before_allocating)
{
    unsigned char f[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    bgm_archive *a = NULL;
    FILE *fp;
    bgm_test_tmpdir_create("st");
    fp = fopen(bgm_test_path("len.safetensors"), "wb");
    fwrite(f, 1, 10, fp);
    fclose(fp);
    BGM_ASSERT_FAILS(bgm_archive_load_safetensors(&a, bgm_test_path("len.safetensors")),
                     BGM_E_FORMAT, "byte 0: header length 9223372036854775807 exceeds the 2 "
                     "bytes after it");
    fp = fopen(bgm_test_path("len.safetensors"), "wb");
    fwrite(f, 1, 5, fp);
    fclose(fp);
    BGM_ASSERT_FAILS(bgm_archive_load_safetensors(&a, bgm_test_path("len.safetensors")),
                     BGM_E_FORMAT, "truncated: the file has 5 bytes, the header length needs 8");
    BGM_ASSERT_FAILS(bgm_archive_load_safetensors(&a, bgm_test_path("missing")), BGM_E_IO,
                     "cannot open");
    BGM_ASSERT_FAILS(bgm_archive_load_safetensors(NULL, "x"), BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_archive_load_safetensors(&a, NULL), BGM_E_INVALID, "'path' is NULL");
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(test_every_truncated_length_of_an_export_is_rejected)
{
    bgm_archive *a = two_tensor_archive(), *b = NULL;
    size_t len, n;
    unsigned char *f;
    FILE *fp;
    bgm_test_tmpdir_create("st");
    BGM_ASSERT_OK(bgm_archive_save_safetensors(a, bgm_test_path("full.safetensors")));
    f = bgm_test_read_file(bgm_test_path("full.safetensors"), &len);
    for (n = 0; n < len; n++) {
        fp = fopen(bgm_test_path("cut.safetensors"), "wb");
        fwrite(f, 1, n, fp);
        fclose(fp);
        BGM_ASSERT_FAILS(bgm_archive_load_safetensors(&b, bgm_test_path("cut.safetensors")),
                         BGM_E_FORMAT, "cut.safetensors: byte ");
        ck_assert_ptr_null(b);
    }
    free(f);
    bgm_archive_free(a);
    bgm_test_tmpdir_remove();
}
END_TEST

Suite *suite_safetensors(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("export");
    tcase_add_test(tc, test_export_writes_the_exact_header_and_data);
    tcase_add_test(tc, test_export_import_round_trip_is_bit_exact);
    tcase_add_test(tc, test_export_writes_numbers_as_text_and_keeps_a_given_format);
    tcase_add_test(tc, test_export_rejects_strings_json_cannot_carry);
    suite_add_tcase(s, tc);

    tc = tcase_create("import");
    tcase_add_test(tc, test_import_reads_a_hand_written_file_with_escapes_and_i64);
    tcase_add_test(tc, test_import_rejects_i64_values_outside_int32_and_other_dtypes);
    tcase_add_loop_test(tc, test_malformed_headers_are_rejected_with_the_offset, 0,
                        (int)(sizeof bad_headers / sizeof bad_headers[0]));
    tcase_add_test(tc, test_header_length_beyond_the_file_is_rejected_before_allocating);
    tcase_add_test(tc, test_every_truncated_length_of_an_export_is_rejected);
    BGM_TEST_SLOW(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
