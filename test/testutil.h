/* Shared helpers for the Check suites: status assertions, tensors from
 * literals, and the finite-difference gradient checker. */
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

/* New float32 tensor of the given shape holding values (copied). */
bgm_tensor *bgm_test_tensor(const int64_t *shape, int ndim, const float *values);

/* New float32 tensor of the given shape with N(0,1) values from seed. */
bgm_tensor *bgm_test_randn(const int64_t *shape, int ndim, uint64_t seed);

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

/* Raises a test case's timeout (Check's default is 4 s). */
#define BGM_TEST_SLOW(tc, seconds) tcase_set_timeout((tc), (seconds))

#endif
