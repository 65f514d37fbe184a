/* Shared helpers for the Check suites: status assertions, tensors from
 * literals, the finite-difference gradient checker, and scratch files. */
#ifndef BGM_TESTUTIL_H
#define BGM_TESTUTIL_H

#include <check.h>
#include <string.h>

#include "bigmodel.h"

/* Fails the test with the library's message unless expr returns BGM_OK. */
#define BGM_ASSERT_OK(expr)                                                      \
    do {                                                                         \
        bgm_status bgm_s_ = (expr);                                              \
        ck_assert_msg(bgm_s_ == BGM_OK, "%s returned %s: %s", #expr,             \
                      bgm_status_string(bgm_s_), bgm_last_error());              \
    } while (0)

/* Fails unless expr returns status and the message contains needle. */
#define BGM_ASSERT_FAILS(expr, status, needle)                                   \
    do {                                                                         \
        bgm_status bgm_s_ = (expr);                                              \
        ck_assert_msg(bgm_s_ == (status), "%s returned %s, expected %s (%s)",    \
                      #expr, bgm_status_string(bgm_s_),                          \
                      bgm_status_string(status), bgm_last_error());              \
        ck_assert_msg(strstr(bgm_last_error(), (needle)) != NULL,                \
                      "%s: message \"%s\" lacks \"%s\"", #expr, bgm_last_error(), \
                      (needle));                                                 \
    } while (0)

/* A new archive with every key and tensor of the archive at path except the
 * one named skip (NULL: none), for tests that spoil files on purpose. */
bgm_archive *bgm_test_archive_copy_without(const char *path, const char *skip);

/* Graph building that fails the test on error: a float32 input node of g,
 * and l called on in[0..n). */
bgm_node *bgm_test_input(bgm_graph *g, const int64_t *shape, int ndim, const char *name);
bgm_node *bgm_test_call(bgm_layer *l, bgm_node *const *in, int n);

/* New float32 tensor of the given shape holding values (copied). */
bgm_tensor *bgm_test_tensor(const int64_t *shape, int ndim, const float *values);

/* New float32 tensor of the given shape with N(0,1) values from seed. */
bgm_tensor *bgm_test_randn(const int64_t *shape, int ndim, uint64_t seed);

/* New float32 tensor of the given shape with U(lo, hi) values from seed. */
bgm_tensor *bgm_test_uniform(const int64_t *shape, int ndim, float lo, float hi,
                             uint64_t seed);

/* New float32 tensor of the given shape holding start, start + 1, ... */
bgm_tensor *bgm_test_arange(const int64_t *shape, int ndim, float start);

/* Fails unless models a and b hold the same weights, bit for bit. */
void bgm_test_assert_same_weights(const bgm_model *a, const bgm_model *b);

/* Fails unless t has shape `shape` and every element is within tol of want
 * (absolute tol + tol * |want|). */
void bgm_test_assert_close(const bgm_tensor *t, const int64_t *shape, int ndim,
                           const float *want, double tol);

/* Computes out = f(inputs); out may be owned by tape (non-NULL) or the caller. */
typedef bgm_status (*bgm_test_fn)(bgm_tensor **out, bgm_tape *tape,
                                  bgm_tensor *const *inputs, void *ctx);

/*
 * Compares the tape's gradient of L = sum(f(inputs) * W), W a fixed random
 * weighting, with central finite differences of L (evaluated in double from
 * f's float outputs, step eps), for every input. Returns the largest
 * relative error max_i ||g_tape - g_fd|| / max(||g_fd||, 1e-6).
 */
double bgm_test_gradcheck(bgm_test_fn f, bgm_tensor *const *inputs, int n, void *ctx,
                          double eps);

/*
 * Scratch files: one directory per test (Check runs each test in its own
 * process), made with bgm_test_tmpdir_create and removed, with everything
 * below it, by bgm_test_tmpdir_remove. The file helpers fail the test when
 * the system call fails.
 */
void bgm_test_tmpdir_create(const char *tag);   /* /tmp/bgm-<tag>-XXXXXX */
void bgm_test_tmpdir_remove(void);
const char *bgm_test_tmpdir(void);

/* Path of name in the scratch directory; four rotating buffers, so one call
 * can take several. */
const char *bgm_test_path(const char *name);

/* Writes n bytes to path, replacing the file. */
void bgm_test_write_file(const char *path, const void *data, size_t n);

/* The whole file (malloc'd, one spare byte at the end); its size in *len. */
unsigned char *bgm_test_read_file(const char *path, size_t *len);

/* CRC-32 of n bytes (the zlib / gzip polynomial), bit by bit: a reference
 * independent of the library's and zlib's. */
uint32_t bgm_test_crc32(const unsigned char *p, size_t n);

/* Text a bgm_write_fn wrote: pass bgm_test_capture as the function and a
 * zeroed bgm_test_text as its ctx (text past the buffer is dropped). */
typedef struct bgm_test_text {
    char buf[8192];
    size_t len;
} bgm_test_text;
void bgm_test_capture(void *ctx, const char *text);

/* In a forked child: limits the address space to what the process maps now
 * plus spare bytes, and checks that the limit bites (an allocation of 4 x
 * spare must fail); _exit(4..6) when it cannot. A test then sees an
 * allocation of a size a file merely claims as BGM_E_NOMEM. Under ASan it
 * sets no limit (ASan's allocator aborts at one). */
void bgm_test_limit_address_space(size_t spare);

/* fork() for a test: returns 0 in the child and the child's pid in the
 * parent; a failed fork fails the test (in the parent). The child must not
 * call Check (no ck_assert, BGM_ASSERT_OK, mark_point): even a passing
 * assertion writes a message to the channel it shares with the parent, and
 * a child killed halfway through one corrupts what the parent reads
 * ("Bad message type" from check_pack.c). */
int bgm_test_fork(void);

/* Waits for the forked child pid and fails the test, naming what it did,
 * unless it exited with status 0 (children print their reason to stderr). */
void bgm_test_assert_child_ok(int pid, const char *what);

/* Raises a test case's timeout (Check's default is 4 s). */
#define BGM_TEST_SLOW(tc, seconds) tcase_set_timeout((tc), (seconds))

#endif
