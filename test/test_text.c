/* Text pipeline: cleaning, tokenizing, vocabularies, padding, text datasets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* Cleans text (len bytes, -1: NUL-terminated) and compares with want. */
static void assert_clean(const char *text, int64_t len, const bgm_text_clean_options *o,
                         const char *want)
{
    char *got = NULL;
    int64_t n = -1;
    BGM_ASSERT_OK(bgm_text_clean(&got, &n, text, len, o));
    ck_assert_str_eq(got, want);
    ck_assert_int_eq(n, (int64_t)strlen(want));
    bgm_text_free(got);
}

/* ---- cleaning ------------------------------------------------------------- */

START_TEST(clean_defaults_lowercase_strip_punctuation_and_collapse_spaces)
{
    assert_clean("  Hello,  World!\tIt's 42 GREAT.\n", -1, NULL, "hello world its 42 great");
    assert_clean("e-mail: foo@bar.com (really)", -1, NULL, "e mail foo bar com really");
    assert_clean("", -1, NULL, "");
    assert_clean("?!...", -1, NULL, "");
}
END_TEST

START_TEST(clean_options_switch_each_rule)
{
    bgm_text_clean_options o;
    bgm_text_clean_options_init(&o);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    ck_assert_int_eq(o.strip_digits, 0);
    o.strip_digits = 1;
    assert_clean("Route 66, 1999s", -1, &o, "route s");
    bgm_text_clean_options_init(&o);
    o.lowercase = 0;
    o.strip_punctuation = 0;
    assert_clean("Don't  STOP!", -1, &o, "Don't STOP!");
    o.collapse_whitespace = 0;
    assert_clean(" a \t b\n", -1, &o, " a \t b\n");
}
END_TEST

START_TEST(clean_lowercases_latin1_and_strips_unicode_punctuation)
{
    bgm_text_clean_options o;
    /* ÉCOLE Ça «Ü» — × ½ : capitals of U+00C0..U+00DE fold, × and « » — are punctuation */
    assert_clean("\xC3\x89" "COLE \xC3\x87" "a \xC2\xAB\xC3\x9C\xC2\xBB \xE2\x80\x94 \xC3\x97",
                 -1, NULL, "\xC3\xA9" "cole \xC3\xA7" "a \xC3\xBC");
    /* right single quote is an apostrophe: removed inside the word */
    assert_clean("don\xE2\x80\x99t", -1, NULL, "dont");
    /* a no-break space and an ideographic space are spaces */
    assert_clean("a\xC2\xA0" "b\xE3\x80\x80" "c", -1, NULL, "a b c");
    /* outside Latin-1 letters are kept as they are */
    bgm_text_clean_options_init(&o);
    assert_clean("\xCE\xA9mega \xE6\x97\xA5\xE6\x9C\xAC", -1, &o,
                 "\xCE\xA9mega \xE6\x97\xA5\xE6\x9C\xAC");
}
END_TEST

START_TEST(clean_replaces_invalid_utf8_bytes_with_spaces_and_keeps_the_rest)
{
    bgm_text_clean_options o;
    /* stray bytes, a truncated 3-byte sequence in the middle, overlong and surrogate forms */
    assert_clean("ab\xFF\xFE" "cd \xE2\x82" "ef \xC0\xAF" "gh \xED\xA0\x80" "ij end of doc",
                 -1, NULL, "ab cd ef gh ij end of doc");
    /* a truncated sequence at the very end */
    assert_clean("caf\xC3", -1, NULL, "caf");
    /* a lone continuation byte directly before a valid character */
    assert_clean("x\x80\xC3\xA9", -1, NULL, "x \xC3\xA9");
    /* NUL and control bytes inside an explicit length become spaces */
    assert_clean("a\0b\x01" "c\x7F" "d", 7, NULL, "a b c d");
    bgm_text_clean_options_init(&o);
    o.collapse_whitespace = 0;
    assert_clean("a\xFF" "b", -1, &o, "a b");
}
END_TEST

START_TEST(clean_strips_mail_headers_up_to_the_first_empty_line)
{
    bgm_text_clean_options o;
    const char *mail = "From sender@example.com  Thu Aug 22 13:17:22 2002\n"
                       "Return-Path: <sender@example.com>\n"
                       "Subject: Cheap offer\n"
                       "\tcontinued on a folded line\n"
                       "\n"
                       "Body text: here.\n\nSecond paragraph.\n";
    bgm_text_clean_options_init(&o);
    o.strip_headers = 1;
    assert_clean(mail, -1, &o, "body text here second paragraph");
    assert_clean("Subject: hi\r\n\r\nCRLF body", -1, &o, "crlf body");
    assert_clean("X-Only: headers\nY: no body\n", -1, &o, "");
    /* a first line that is not a header keeps everything */
    assert_clean("Dear friend: hello\n\nbody", -1, &o, "dear friend hello body");
    o.strip_headers = 0;
    assert_clean("Subject: hi\n\nbody", -1, &o, "subject hi body");
}
END_TEST

/* ---- tokenizing ------------------------------------------------------------ */

START_TEST(tokenize_returns_the_cleaned_words_in_a_null_terminated_list)
{
    char **tok = NULL;
    int64_t n = -1;
    BGM_ASSERT_OK(bgm_text_tokenize(&tok, &n, "The cat, the HAT!\xFF", -1, NULL));
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(tok[0], "the");
    ck_assert_str_eq(tok[1], "cat");
    ck_assert_str_eq(tok[2], "the");
    ck_assert_str_eq(tok[3], "hat");
    ck_assert_ptr_null(tok[4]);
    bgm_text_list_free(tok);
    BGM_ASSERT_OK(bgm_text_tokenize(&tok, &n, " ,;  ", -1, NULL));
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(tok[0]);
    bgm_text_list_free(tok);
    BGM_ASSERT_OK(bgm_text_tokenize(&tok, NULL, "x", 1, NULL));
    ck_assert_str_eq(tok[0], "x");
    bgm_text_list_free(tok);
}
END_TEST

START_TEST(next_token_walks_words_split_on_ascii_whitespace)
{
    const char *t = "  ab c\t\ndef ";
    int64_t pos = 0, st = 0, n = 0, starts[3], lens[3];
    int k = 0;
    while (bgm_text_next_token(&st, &n, t, -1, pos) == BGM_OK && n > 0) {
        ck_assert_int_lt(k, 3);
        starts[k] = st;
        lens[k++] = n;
        pos = st + n;
    }
    ck_assert_int_eq(k, 3);
    ck_assert_int_eq(starts[0], 2);
    ck_assert_int_eq(lens[0], 2);
    ck_assert_int_eq(starts[1], 5);
    ck_assert_int_eq(lens[1], 1);
    ck_assert_int_eq(starts[2], 8);
    ck_assert_int_eq(lens[2], 3);
    ck_assert_int_eq(st, 12);
    BGM_ASSERT_OK(bgm_text_next_token(&st, &n, t, -1, 100));
    ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(cleaning_and_tokenizing_reject_bad_arguments)
{
    bgm_text_clean_options o;
    char *s = (char *)1, **list = (char **)1;
    int64_t st, n;
    BGM_ASSERT_FAILS(bgm_text_clean(NULL, NULL, "x", -1, NULL), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_text_clean(&s, NULL, NULL, -1, NULL), BGM_E_INVALID, "'text'");
    ck_assert_ptr_null(s);
    bgm_text_clean_options_init(&o);
    o.struct_size = 4;
    BGM_ASSERT_FAILS(bgm_text_clean(&s, NULL, "x", -1, &o), BGM_E_INVALID, "struct_size");
    BGM_ASSERT_FAILS(bgm_text_tokenize(&list, NULL, NULL, -1, NULL), BGM_E_INVALID,
                     "bgm_text_tokenize: argument 'text'");
    ck_assert_ptr_null(list);
    BGM_ASSERT_FAILS(bgm_text_tokenize(NULL, NULL, "x", -1, NULL), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_text_next_token(NULL, &n, "x", -1, 0), BGM_E_INVALID, "'start'");
    BGM_ASSERT_FAILS(bgm_text_next_token(&st, NULL, "x", -1, 0), BGM_E_INVALID, "'length'");
    BGM_ASSERT_FAILS(bgm_text_next_token(&st, &n, NULL, -1, 0), BGM_E_INVALID, "'text'");
    BGM_ASSERT_FAILS(bgm_text_next_token(&st, &n, "x", -1, -1), BGM_E_INVALID, "negative");
    bgm_text_free(NULL);
    bgm_text_list_free(NULL);
    bgm_text_clean_options_init(NULL);
}
END_TEST

/* ---- vocabularies ---------------------------------------------------------- */

static const char *const DOCS[] = {"b a c b", "C, b d!", "a e"};

START_TEST(vocab_orders_by_count_then_first_appearance_after_reserved_ids)
{
    bgm_vocab *v = NULL;
    BGM_ASSERT_OK(bgm_vocab_build(&v, DOCS, NULL, 3, NULL));
    /* counts: b 3, a 2, c 2, d 1, e 1; a before c and d before e by first appearance */
    ck_assert_int_eq(bgm_vocab_size(v), 7);
    ck_assert_str_eq(bgm_vocab_token(v, 0), "");
    ck_assert_str_eq(bgm_vocab_token(v, 1), "[UNK]");
    ck_assert_str_eq(bgm_vocab_token(v, 2), "b");
    ck_assert_str_eq(bgm_vocab_token(v, 3), "a");
    ck_assert_str_eq(bgm_vocab_token(v, 4), "c");
    ck_assert_str_eq(bgm_vocab_token(v, 5), "d");
    ck_assert_str_eq(bgm_vocab_token(v, 6), "e");
    ck_assert_ptr_null(bgm_vocab_token(v, 7));
    ck_assert_ptr_null(bgm_vocab_token(v, -1));
    ck_assert_int_eq(bgm_vocab_count(v, 2), 3);
    ck_assert_int_eq(bgm_vocab_count(v, 4), 2);
    ck_assert_int_eq(bgm_vocab_count(v, 1), 0);
    ck_assert_int_eq(bgm_vocab_id(v, "c", -1), 4);
    ck_assert_int_eq(bgm_vocab_id(v, "cx", 1), 4);
    ck_assert_int_eq(bgm_vocab_id(v, "zebra", -1), BGM_VOCAB_OOV);
    ck_assert_int_eq(bgm_vocab_id(v, "", -1), BGM_VOCAB_OOV);
    ck_assert_int_eq(bgm_vocab_id(v, "[UNK]", -1), BGM_VOCAB_OOV);
    ck_assert_int_eq(bgm_vocab_id(NULL, "a", -1), -1);
    bgm_vocab_free(v);
}
END_TEST

START_TEST(vocab_min_count_and_max_size_cut_the_rare_tokens)
{
    bgm_vocab *v = NULL;
    bgm_vocab_options o;
    bgm_vocab_options_init(&o);
    ck_assert_int_eq(o.min_count, 1);
    o.min_count = 2;
    BGM_ASSERT_OK(bgm_vocab_build(&v, DOCS, NULL, 3, &o));
    ck_assert_int_eq(bgm_vocab_size(v), 5);
    ck_assert_int_eq(bgm_vocab_id(v, "d", -1), BGM_VOCAB_OOV);
    bgm_vocab_free(v);
    bgm_vocab_options_init(&o);
    o.max_size = 4; /* the reserved ids count, as Keras' max_tokens */
    BGM_ASSERT_OK(bgm_vocab_build(&v, DOCS, NULL, 3, &o));
    ck_assert_int_eq(bgm_vocab_size(v), 4);
    ck_assert_str_eq(bgm_vocab_token(v, 3), "a");
    bgm_vocab_free(v);
    o.max_size = 2;
    BGM_ASSERT_OK(bgm_vocab_build(&v, DOCS, NULL, 3, &o));
    ck_assert_int_eq(bgm_vocab_size(v), 2);
    bgm_vocab_free(v);
    /* no documents: only the reserved ids */
    BGM_ASSERT_OK(bgm_vocab_build(&v, NULL, NULL, 0, NULL));
    ck_assert_int_eq(bgm_vocab_size(v), 2);
    bgm_vocab_free(v);
}
END_TEST

START_TEST(vocab_encode_maps_words_to_ids_and_unknown_to_oov)
{
    bgm_vocab *v = NULL;
    bgm_tensor *t = NULL;
    const int32_t *ids;
    BGM_ASSERT_OK(bgm_vocab_build(&v, DOCS, NULL, 3, NULL));
    BGM_ASSERT_OK(bgm_vocab_encode(&t, v, "B zebra, a \xFF E", -1, NULL));
    ck_assert_int_eq(bgm_tensor_dtype(t), BGM_INT32);
    ck_assert_int_eq(bgm_tensor_ndim(t), 1);
    ck_assert_int_eq(bgm_tensor_dim(t, 0), 4);
    ids = bgm_tensor_data(t);
    ck_assert_int_eq(ids[0], 2);
    ck_assert_int_eq(ids[1], 1);
    ck_assert_int_eq(ids[2], 3);
    ck_assert_int_eq(ids[3], 6);
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_vocab_encode(&t, v, "", -1, NULL));
    ck_assert_int_eq(bgm_tensor_dim(t, 0), 0);
    bgm_tensor_free(t);
    bgm_vocab_free(v);
}
END_TEST

/* A temporary file name; the caller unlinks it. */
static void temp_path(char *buf, size_t size, const char *tag)
{
    snprintf(buf, size, "/tmp/bgm_test_text_%ld_%s", (long)getpid(), tag);
}

START_TEST(vocab_save_and_load_round_trip)
{
    bgm_vocab *v = NULL, *w = NULL;
    char path[256], line[64];
    int64_t i;
    FILE *f;
    temp_path(path, sizeof path, "vocab.txt");
    BGM_ASSERT_OK(bgm_vocab_build(&v, DOCS, NULL, 3, NULL));
    BGM_ASSERT_OK(bgm_vocab_save(v, path));
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_str_eq(line, "b 3\n");
    BGM_ASSERT_OK(bgm_vocab_load(&w, path));
    ck_assert_int_eq(bgm_vocab_size(w), bgm_vocab_size(v));
    for (i = 0; i < bgm_vocab_size(v); i++) {
        ck_assert_str_eq(bgm_vocab_token(w, (int32_t)i), bgm_vocab_token(v, (int32_t)i));
        ck_assert_int_eq(bgm_vocab_count(w, (int32_t)i), bgm_vocab_count(v, (int32_t)i));
    }
    bgm_vocab_free(w);
    /* a plain token list with a BOM and CRLF loads too, counts 0 */
    bgm_test_write_file(path, "\xEF\xBB\xBFhello\r\nworld 7\r\n", 19);
    BGM_ASSERT_OK(bgm_vocab_load(&w, path));
    ck_assert_int_eq(bgm_vocab_size(w), 4);
    ck_assert_int_eq(bgm_vocab_id(w, "hello", -1), 2);
    ck_assert_int_eq(bgm_vocab_count(w, 2), 0);
    ck_assert_int_eq(bgm_vocab_count(w, 3), 7);
    bgm_vocab_free(w);
    unlink(path);
    bgm_vocab_free(v);
}
END_TEST

START_TEST(vocab_load_rejects_malformed_files_naming_the_line)
{
    bgm_vocab *w = (bgm_vocab *)1;
    char path[256];
    temp_path(path, sizeof path, "bad_vocab.txt");
    bgm_test_write_file(path, "a 1\n\nb 2\n", 9);
    BGM_ASSERT_FAILS(bgm_vocab_load(&w, path), BGM_E_FORMAT, "line 2: empty token");
    ck_assert_ptr_null(w);
    bgm_test_write_file(path, "a 1\nb 2\na 3\n", 12);
    BGM_ASSERT_FAILS(bgm_vocab_load(&w, path), BGM_E_FORMAT, "line 3: token 'a' already on line 1");
    bgm_test_write_file(path, "a 1\n[UNK] 2\n", 12);
    BGM_ASSERT_FAILS(bgm_vocab_load(&w, path), BGM_E_FORMAT, "line 2: the reserved token");
    bgm_test_write_file(path, "a x\n", 4);
    BGM_ASSERT_FAILS(bgm_vocab_load(&w, path), BGM_E_FORMAT, "line 1: expected 'token count'");
    bgm_test_write_file(path, "a 1 2\n", 6);
    BGM_ASSERT_FAILS(bgm_vocab_load(&w, path), BGM_E_FORMAT, "line 1");
    bgm_test_write_file(path, "a\0b 1\n", 6);
    BGM_ASSERT_FAILS(bgm_vocab_load(&w, path), BGM_E_FORMAT, "line 1: control byte 0x00");
    unlink(path);
    BGM_ASSERT_FAILS(bgm_vocab_load(&w, path), BGM_E_IO, "bad_vocab.txt");
}
END_TEST

START_TEST(vocab_functions_reject_bad_arguments)
{
    bgm_vocab *v = NULL, *w = (bgm_vocab *)1;
    bgm_vocab_options o;
    bgm_tensor *t = (bgm_tensor *)1;
    const char *docs_with_null[] = {"a", NULL};
    BGM_ASSERT_OK(bgm_vocab_build(&v, DOCS, NULL, 3, NULL));
    BGM_ASSERT_FAILS(bgm_vocab_build(NULL, DOCS, NULL, 3, NULL), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_vocab_build(&w, NULL, NULL, 3, NULL), BGM_E_INVALID, "'docs' is NULL");
    ck_assert_ptr_null(w);
    BGM_ASSERT_FAILS(bgm_vocab_build(&w, docs_with_null, NULL, 2, NULL), BGM_E_INVALID,
                     "document 1 is NULL");
    BGM_ASSERT_FAILS(bgm_vocab_build(&w, DOCS, NULL, -1, NULL), BGM_E_INVALID, "negative");
    bgm_vocab_options_init(&o);
    o.min_count = 0;
    BGM_ASSERT_FAILS(bgm_vocab_build(&w, DOCS, NULL, 3, &o), BGM_E_INVALID, "min_count");
    bgm_vocab_options_init(&o);
    o.max_size = 1;
    BGM_ASSERT_FAILS(bgm_vocab_build(&w, DOCS, NULL, 3, &o), BGM_E_INVALID, "max_size");
    o.max_size = -5;
    BGM_ASSERT_FAILS(bgm_vocab_build(&w, DOCS, NULL, 3, &o), BGM_E_INVALID, "max_size");
    bgm_vocab_options_init(&o);
    o.struct_size = 1;
    BGM_ASSERT_FAILS(bgm_vocab_build(&w, DOCS, NULL, 3, &o), BGM_E_INVALID, "struct_size");
    BGM_ASSERT_FAILS(bgm_vocab_encode(&t, NULL, "a", -1, NULL), BGM_E_INVALID, "'v'");
    ck_assert_ptr_null(t);
    BGM_ASSERT_FAILS(bgm_vocab_encode(&t, v, NULL, -1, NULL), BGM_E_INVALID, "'text'");
    BGM_ASSERT_FAILS(bgm_vocab_encode(NULL, v, "a", -1, NULL), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_vocab_encode_padded(&t, v, DOCS, NULL, 3, -1, BGM_PAD_PRE, BGM_PAD_PRE,
                                             NULL), BGM_E_INVALID, "maxlen");
    BGM_ASSERT_FAILS(bgm_vocab_encode_padded(&t, NULL, DOCS, NULL, 3, 4, BGM_PAD_PRE,
                                             BGM_PAD_PRE, NULL), BGM_E_INVALID, "'v'");
    BGM_ASSERT_FAILS(bgm_vocab_encode_padded(&t, v, NULL, NULL, 3, 4, BGM_PAD_PRE,
                                             BGM_PAD_PRE, NULL), BGM_E_INVALID, "'docs'");
    BGM_ASSERT_FAILS(bgm_vocab_encode_padded(&t, v, DOCS, NULL, 3, 4, (bgm_pad_side)3,
                                             BGM_PAD_PRE, NULL), BGM_E_INVALID, "padding 3");
    BGM_ASSERT_FAILS(bgm_vocab_encode_padded(NULL, v, DOCS, NULL, 3, 4, BGM_PAD_PRE,
                                             BGM_PAD_PRE, NULL), BGM_E_INVALID, "'out'");
    {
        bgm_text_clean_options co;
        bgm_text_clean_options_init(&co);
        co.struct_size = 2;
        BGM_ASSERT_FAILS(bgm_vocab_encode(&t, v, "a", -1, &co), BGM_E_INVALID, "struct_size");
        BGM_ASSERT_FAILS(bgm_vocab_encode_padded(&t, v, DOCS, NULL, 3, 4, BGM_PAD_PRE,
                                                 BGM_PAD_PRE, &co), BGM_E_INVALID,
                         "struct_size");
    }
    BGM_ASSERT_FAILS(bgm_vocab_save(NULL, "/tmp/x"), BGM_E_INVALID, "'v'");
    BGM_ASSERT_FAILS(bgm_vocab_save(v, NULL), BGM_E_INVALID, "'path'");
    BGM_ASSERT_FAILS(bgm_vocab_save(v, "/nonexistent-dir/vocab.txt"), BGM_E_IO,
                     "/nonexistent-dir/vocab.txt");
    BGM_ASSERT_FAILS(bgm_vocab_load(NULL, "/tmp/x"), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_vocab_load(&w, NULL), BGM_E_INVALID, "'path'");
    ck_assert_int_eq(bgm_vocab_size(NULL), 0);
    ck_assert_ptr_null(bgm_vocab_token(NULL, 0));
    ck_assert_int_eq(bgm_vocab_count(NULL, 2), 0);
    bgm_vocab_free(NULL);
    bgm_vocab_options_init(NULL);
    bgm_vocab_free(v);
}
END_TEST

/* ---- padding ---------------------------------------------------------------- */

static const int32_t SEQ_A[] = {1, 2, 3, 4, 5}, SEQ_B[] = {6, 7};
static const int32_t *const SEQS[] = {SEQ_A, SEQ_B, NULL};
static const int64_t SEQ_LENS[] = {5, 2, 0};

static void assert_padded(bgm_pad_side padding, bgm_pad_side truncating, int64_t maxlen,
                          int32_t value, const int32_t *want, int64_t cols)
{
    bgm_tensor *t = NULL;
    const int32_t *got;
    int64_t i;
    BGM_ASSERT_OK(bgm_pad_sequences(&t, SEQS, SEQ_LENS, 3, maxlen, padding, truncating, value));
    ck_assert_int_eq(bgm_tensor_dtype(t), BGM_INT32);
    ck_assert_int_eq(bgm_tensor_dim(t, 0), 3);
    ck_assert_int_eq(bgm_tensor_dim(t, 1), cols);
    got = bgm_tensor_data(t);
    for (i = 0; i < 3 * cols; i++)
        ck_assert_msg(got[i] == want[i], "element %lld: got %d, want %d", (long long)i,
                      got[i], want[i]);
    bgm_tensor_free(t);
}

START_TEST(pad_sequences_follows_keras_for_every_pre_post_combination)
{
    /* keras.utils.pad_sequences([[1,2,3,4,5],[6,7],[]], maxlen=3, padding=p, truncating=t) */
    const int32_t pre_pre[] = {3, 4, 5, 0, 6, 7, 0, 0, 0};
    const int32_t post_pre[] = {3, 4, 5, 6, 7, 0, 0, 0, 0};
    const int32_t pre_post[] = {1, 2, 3, 0, 6, 7, 0, 0, 0};
    const int32_t post_post[] = {1, 2, 3, 6, 7, 0, 0, 0, 0};
    /* maxlen=None pads to the longest (5); value=-1 */
    const int32_t longest[] = {1, 2, 3, 4, 5, -1, -1, -1, 6, 7, -1, -1, -1, -1, -1};
    assert_padded(BGM_PAD_PRE, BGM_PAD_PRE, 3, 0, pre_pre, 3);
    assert_padded(BGM_PAD_POST, BGM_PAD_PRE, 3, 0, post_pre, 3);
    assert_padded(BGM_PAD_PRE, BGM_PAD_POST, 3, 0, pre_post, 3);
    assert_padded(BGM_PAD_POST, BGM_PAD_POST, 3, 0, post_post, 3);
    assert_padded(BGM_PAD_PRE, BGM_PAD_PRE, 0, -1, longest, 5);
}
END_TEST

START_TEST(encode_padded_gives_an_n_by_maxlen_id_matrix)
{
    bgm_vocab *v = NULL;
    bgm_tensor *t = NULL;
    const char *docs[] = {"a b c d e", "zebra b", ""};
    /* ids: b 2, a 3, c 4, d 5, e 6 */
    const int32_t want_pre[] = {4, 5, 6, 0, 1, 2, 0, 0, 0};
    const int32_t want_post[] = {3, 2, 4, 5, 6, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0};
    int64_t shape3[] = {3, 3}, shape5[] = {3, 5};
    const int32_t *got;
    int i;
    BGM_ASSERT_OK(bgm_vocab_build(&v, DOCS, NULL, 3, NULL));
    BGM_ASSERT_OK(bgm_vocab_encode_padded(&t, v, docs, NULL, 3, 3, BGM_PAD_PRE, BGM_PAD_PRE,
                                          NULL));
    ck_assert_int_eq(bgm_tensor_dim(t, 0), shape3[0]);
    ck_assert_int_eq(bgm_tensor_dim(t, 1), shape3[1]);
    got = bgm_tensor_data(t);
    for (i = 0; i < 9; i++)
        ck_assert_int_eq(got[i], want_pre[i]);
    bgm_tensor_free(t);
    BGM_ASSERT_OK(bgm_vocab_encode_padded(&t, v, docs, NULL, 3, 0, BGM_PAD_POST, BGM_PAD_PRE,
                                          NULL));
    ck_assert_int_eq(bgm_tensor_dim(t, 1), shape5[1]);
    got = bgm_tensor_data(t);
    for (i = 0; i < 15; i++)
        ck_assert_int_eq(got[i], want_post[i]);
    bgm_tensor_free(t);
    bgm_vocab_free(v);
}
END_TEST

/* Found by fuzz_text: documents without a single word (the id buffer is
 * never allocated) give rows of padding, with no arithmetic on NULL. */
START_TEST(encode_padded_documents_without_words_are_all_padding)
{
    static const char *const none[] = {"", "!!! ...", "  "};
    bgm_vocab *v = NULL;
    bgm_tensor *t = NULL;
    const int32_t *ids;
    int64_t i;
    BGM_ASSERT_OK(bgm_vocab_build(&v, DOCS, NULL, 3, NULL));
    BGM_ASSERT_OK(bgm_vocab_encode_padded(&t, v, none, NULL, 3, 4, BGM_PAD_PRE, BGM_PAD_PRE,
                                          NULL));
    ck_assert_int_eq(bgm_tensor_dim(t, 0), 3);
    ck_assert_int_eq(bgm_tensor_dim(t, 1), 4);
    ids = bgm_tensor_data(t);
    for (i = 0; i < 12; i++)
        ck_assert_int_eq(ids[i], BGM_VOCAB_PAD);
    bgm_tensor_free(t);
    /* maxlen 0: the longest document, 0 ids */
    BGM_ASSERT_OK(bgm_vocab_encode_padded(&t, v, none, NULL, 3, 0, BGM_PAD_POST, BGM_PAD_POST,
                                          NULL));
    ck_assert_int_eq(bgm_tensor_dim(t, 0), 3);
    ck_assert_int_eq(bgm_tensor_dim(t, 1), 0);
    bgm_tensor_free(t);
    bgm_vocab_free(v);
}
END_TEST

START_TEST(pad_sequences_rejects_bad_arguments)
{
    bgm_tensor *t = (bgm_tensor *)1;
    const int32_t *with_null[] = {NULL};
    int64_t len2[] = {2}, neg[] = {-1};
    BGM_ASSERT_FAILS(bgm_pad_sequences(NULL, SEQS, SEQ_LENS, 3, 3, 0, 0, 0), BGM_E_INVALID,
                     "'out'");
    BGM_ASSERT_FAILS(bgm_pad_sequences(&t, NULL, SEQ_LENS, 3, 3, 0, 0, 0), BGM_E_INVALID,
                     "'seqs' is NULL");
    ck_assert_ptr_null(t);
    BGM_ASSERT_FAILS(bgm_pad_sequences(&t, SEQS, NULL, 3, 3, 0, 0, 0), BGM_E_INVALID,
                     "'lens' is NULL");
    BGM_ASSERT_FAILS(bgm_pad_sequences(&t, SEQS, SEQ_LENS, -1, 3, 0, 0, 0), BGM_E_INVALID,
                     "count -1");
    BGM_ASSERT_FAILS(bgm_pad_sequences(&t, SEQS, SEQ_LENS, 3, -2, 0, 0, 0), BGM_E_INVALID,
                     "maxlen -2");
    BGM_ASSERT_FAILS(bgm_pad_sequences(&t, SEQS, SEQ_LENS, 3, 3, 2, 0, 0), BGM_E_INVALID,
                     "padding 2");
    BGM_ASSERT_FAILS(bgm_pad_sequences(&t, SEQS, SEQ_LENS, 3, 3, 0, 7, 0), BGM_E_INVALID,
                     "truncating 7");
    BGM_ASSERT_FAILS(bgm_pad_sequences(&t, with_null, len2, 1, 3, 0, 0, 0), BGM_E_INVALID,
                     "sequence 0 is NULL");
    BGM_ASSERT_FAILS(bgm_pad_sequences(&t, SEQS, neg, 1, 3, 0, 0, 0), BGM_E_INVALID,
                     "length -1 of sequence 0");
    BGM_ASSERT_OK(bgm_pad_sequences(&t, NULL, NULL, 0, 4, 0, 0, 0));
    ck_assert_int_eq(bgm_tensor_dim(t, 0), 0);
    ck_assert_int_eq(bgm_tensor_dim(t, 1), 4);
    bgm_tensor_free(t);
}
END_TEST

/* ---- text datasets ----------------------------------------------------------- */

static void make_dir(const char *path)
{
    ck_assert_int_eq(mkdir(path, 0700), 0);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    bgm_test_write_file(path, text, strlen(text));
}

/* root/neg/{a.txt,b.txt}, root/pos/{x.txt, sub/y.txt}, a hidden folder and a stray file. */
static void make_tree(char *root, size_t size)
{
    char p[512];
    temp_path(root, size, "tree");
    make_dir(root);
    snprintf(p, sizeof p, "%s/neg", root);
    make_dir(p);
    write_text(p, "a.txt", "bad awful film");
    write_text(p, "b.txt", "awful plot, bad acting!");
    snprintf(p, sizeof p, "%s/pos", root);
    make_dir(p);
    write_text(p, "x.txt", "great film");
    snprintf(p, sizeof p, "%s/pos/sub", root);
    make_dir(p);
    write_text(p, "y.txt", "great great acting");
    snprintf(p, sizeof p, "%s/.hidden", root);
    make_dir(p);
    write_text(p, "z.txt", "ignored");
    write_text(root, "README", "not a class");
}

static void remove_tree(const char *root)
{
    const char *files[] = {"neg/a.txt", "neg/b.txt", "pos/x.txt", "pos/sub/y.txt",
                           ".hidden/z.txt", "README"};
    const char *dirs[] = {"pos/sub", "neg", "pos", ".hidden", ""};
    char p[512];
    size_t i;
    for (i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        unlink(p);
    }
    for (i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        rmdir(p);
    }
}

START_TEST(dataset_from_directory_labels_sorted_class_folders)
{
    char root[256];
    bgm_dataset *ds = NULL;
    bgm_vocab *v = NULL;
    char **classes = NULL;
    bgm_text_dataset_options o;
    const bgm_tensor *x, *y;
    const int32_t *ids, *labels;
    make_tree(root, sizeof root);
    bgm_text_dataset_options_init(&o);
    o.sequence_length = 4;
    BGM_ASSERT_OK(bgm_text_dataset_from_directory(&ds, &v, &classes, root, &o));
    ck_assert_str_eq(classes[0], "neg");
    ck_assert_str_eq(classes[1], "pos");
    ck_assert_ptr_null(classes[2]);
    ck_assert_int_eq(bgm_dataset_size(ds), 4);
    x = bgm_dataset_features(ds);
    y = bgm_dataset_targets(ds);
    ck_assert_int_eq(bgm_tensor_dtype(x), BGM_INT32);
    ck_assert_int_eq(bgm_tensor_dim(x, 1), 4);
    labels = bgm_tensor_data(y);
    ck_assert_int_eq(labels[0], 0);
    ck_assert_int_eq(labels[1], 0);
    ck_assert_int_eq(labels[2], 1);
    ck_assert_int_eq(labels[3], 1);
    /* words in file order a, b, sub/y (before x.txt), x: bad 2, awful 2, great 3, film 2,
       acting 2 -> great 2, bad 3, awful 4, film 5, acting 6, plot 7 */
    ck_assert_int_eq(bgm_vocab_id(v, "great", -1), 2);
    ck_assert_int_eq(bgm_vocab_id(v, "bad", -1), 3);
    ck_assert_int_eq(bgm_vocab_id(v, "plot", -1), 7);
    ids = bgm_tensor_data(x);
    /* row 0 "bad awful film" pre-padded; row 2 is sub/y.txt "great great acting" */
    ck_assert_int_eq(ids[0], 0);
    ck_assert_int_eq(ids[1], 3);
    ck_assert_int_eq(ids[2], 4);
    ck_assert_int_eq(ids[3], 5);
    ck_assert_int_eq(ids[8], 0);
    ck_assert_int_eq(ids[9], 2);
    ck_assert_int_eq(ids[10], 2);
    ck_assert_int_eq(ids[11], 6);
    bgm_dataset_free(ds);
    bgm_text_list_free(classes);
    /* the test split reuses the training vocabulary: *vocab is a copy of it */
    {
        bgm_vocab *copy = NULL;
        o.vocab = v;
        BGM_ASSERT_OK(bgm_text_dataset_from_directory(&ds, &copy, NULL, root, &o));
        ck_assert_ptr_ne(copy, v);
        ck_assert_int_eq(bgm_vocab_size(copy), bgm_vocab_size(v));
        bgm_vocab_free(copy);
        bgm_dataset_free(ds);
    }
    bgm_vocab_free(v);
    remove_tree(root);
}
END_TEST

START_TEST(dataset_from_files_keeps_the_given_order_and_labels)
{
    char root[256], a[512], b[512];
    const char *paths[2];
    const int32_t labels[] = {5, 2};
    bgm_dataset *ds = NULL;
    const int32_t *ids, *y;
    make_tree(root, sizeof root);
    snprintf(a, sizeof a, "%s/pos/x.txt", root);
    snprintf(b, sizeof b, "%s/neg/b.txt", root);
    paths[0] = a;
    paths[1] = b;
    BGM_ASSERT_OK(bgm_text_dataset_from_files(&ds, NULL, paths, labels, 2, NULL));
    /* sequence_length 0: the longest document (b.txt, 4 words) */
    ck_assert_int_eq(bgm_tensor_dim(bgm_dataset_features(ds), 1), 4);
    ids = bgm_tensor_data(bgm_dataset_features(ds));
    y = bgm_tensor_data(bgm_dataset_targets(ds));
    ck_assert_int_eq(y[0], 5);
    ck_assert_int_eq(y[1], 2);
    ck_assert_int_eq(ids[0], 0);
    ck_assert_int_eq(ids[1], 0);
    bgm_dataset_free(ds);
    remove_tree(root);
}
END_TEST

START_TEST(text_datasets_reject_bad_arguments_and_missing_folders)
{
    char root[256], missing[512], p[512];
    bgm_dataset *ds = (bgm_dataset *)1;
    bgm_vocab *v = (bgm_vocab *)1;
    bgm_text_dataset_options o;
    const char *paths[] = {"/nonexistent/file.txt"}, *null_path[] = {NULL};
    const int32_t labels[] = {0};
    BGM_ASSERT_FAILS(bgm_text_dataset_from_directory(NULL, NULL, NULL, "/tmp", NULL),
                     BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_text_dataset_from_directory(&ds, &v, NULL, NULL, NULL),
                     BGM_E_INVALID, "'dir'");
    ck_assert_ptr_null(ds);
    ck_assert_ptr_null(v);
    temp_path(missing, sizeof missing, "no_such_dir");
    BGM_ASSERT_FAILS(bgm_text_dataset_from_directory(&ds, NULL, NULL, missing, NULL),
                     BGM_E_IO, "no_such_dir");
    temp_path(root, sizeof root, "flat");
    make_dir(root);
    write_text(root, "only.txt", "no class folders");
    BGM_ASSERT_FAILS(bgm_text_dataset_from_directory(&ds, NULL, NULL, root, NULL),
                     BGM_E_FORMAT, "no class folders");
    snprintf(p, sizeof p, "%s/empty", root);
    make_dir(p);
    BGM_ASSERT_FAILS(bgm_text_dataset_from_directory(&ds, NULL, NULL, root, NULL),
                     BGM_E_FORMAT, "hold no files");
    rmdir(p);
    snprintf(p, sizeof p, "%s/only.txt", root);
    unlink(p);
    rmdir(root);
    bgm_text_dataset_options_init(&o);
    o.padding = 9;
    BGM_ASSERT_FAILS(bgm_text_dataset_from_directory(&ds, NULL, NULL, "/tmp", &o),
                     BGM_E_INVALID, "padding 9");
    bgm_text_dataset_options_init(&o);
    o.min_count = 0;
    BGM_ASSERT_FAILS(bgm_text_dataset_from_files(&ds, NULL, paths, labels, 1, &o),
                     BGM_E_INVALID, "min_count");
    bgm_text_dataset_options_init(&o);
    o.struct_size = 0;
    BGM_ASSERT_FAILS(bgm_text_dataset_from_files(&ds, NULL, paths, labels, 1, &o),
                     BGM_E_INVALID, "struct_size");
    BGM_ASSERT_FAILS(bgm_text_dataset_from_files(&ds, NULL, paths, labels, 1, NULL),
                     BGM_E_IO, "/nonexistent/file.txt");
    BGM_ASSERT_FAILS(bgm_text_dataset_from_files(&ds, NULL, NULL, labels, 1, NULL),
                     BGM_E_INVALID, "'paths' is NULL");
    BGM_ASSERT_FAILS(bgm_text_dataset_from_files(&ds, NULL, paths, NULL, 1, NULL),
                     BGM_E_INVALID, "'labels' is NULL");
    BGM_ASSERT_FAILS(bgm_text_dataset_from_files(&ds, NULL, null_path, labels, 1, NULL),
                     BGM_E_INVALID, "path 0 is NULL");
    BGM_ASSERT_FAILS(bgm_text_dataset_from_files(&ds, NULL, paths, labels, -1, NULL),
                     BGM_E_INVALID, "negative");
    BGM_ASSERT_FAILS(bgm_text_dataset_from_files(NULL, NULL, paths, labels, 1, NULL),
                     BGM_E_INVALID, "'out'");
    bgm_text_dataset_options_init(NULL);
}
END_TEST

Suite *suite_text(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("clean");
    tcase_add_test(tc, clean_defaults_lowercase_strip_punctuation_and_collapse_spaces);
    tcase_add_test(tc, clean_options_switch_each_rule);
    tcase_add_test(tc, clean_lowercases_latin1_and_strips_unicode_punctuation);
    tcase_add_test(tc, clean_replaces_invalid_utf8_bytes_with_spaces_and_keeps_the_rest);
    tcase_add_test(tc, clean_strips_mail_headers_up_to_the_first_empty_line);
    tcase_add_test(tc, tokenize_returns_the_cleaned_words_in_a_null_terminated_list);
    tcase_add_test(tc, next_token_walks_words_split_on_ascii_whitespace);
    tcase_add_test(tc, cleaning_and_tokenizing_reject_bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("vocab");
    tcase_add_test(tc, vocab_orders_by_count_then_first_appearance_after_reserved_ids);
    tcase_add_test(tc, vocab_min_count_and_max_size_cut_the_rare_tokens);
    tcase_add_test(tc, vocab_encode_maps_words_to_ids_and_unknown_to_oov);
    tcase_add_test(tc, vocab_save_and_load_round_trip);
    tcase_add_test(tc, vocab_load_rejects_malformed_files_naming_the_line);
    tcase_add_test(tc, vocab_functions_reject_bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("pad");
    tcase_add_test(tc, pad_sequences_follows_keras_for_every_pre_post_combination);
    tcase_add_test(tc, encode_padded_gives_an_n_by_maxlen_id_matrix);
    tcase_add_test(tc, encode_padded_documents_without_words_are_all_padding);
    tcase_add_test(tc, pad_sequences_rejects_bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("dataset");
    tcase_add_test(tc, dataset_from_directory_labels_sorted_class_folders);
    tcase_add_test(tc, dataset_from_files_keeps_the_given_order_and_labels);
    tcase_add_test(tc, text_datasets_reject_bad_arguments_and_missing_folders);
    suite_add_tcase(s, tc);
    return s;
}
