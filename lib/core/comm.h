/* Internal side of bgm_comm (distributed.h): what fit needs beyond the public calls. */
#ifndef BGM_CORE_COMM_H
#define BGM_CORE_COMM_H

#include "bigmodel/distributed.h"

/* Calls c's abort hook (when it has one) with status and bgm_last_error()'s text. */
void bgm__comm_abort(bgm_comm *c, bgm_status status);

/* Sums data[0..n) over c's ranks; a failure's message names fn and what. */
bgm_status bgm__comm_allreduce(bgm_comm *c, float *data, int64_t n, const char *what,
                               const char *fn);

/* A reduction started by bgm__comm_start (pending: wait has yet to be called). */
typedef struct bgm__comm_request {
    void *handle;
    int pending;
} bgm__comm_request;

/* Starts summing data[0..n) over c's ranks without waiting (c's
 * allreduce_start); a transport without one sums it now and r is then not
 * pending. A failure's message names fn and what. */
bgm_status bgm__comm_start(bgm_comm *c, bgm__comm_request *r, float *data, int64_t n,
                           const char *what, const char *fn);

/* Lets the transport progress r (c's test callback, when it has one). */
void bgm__comm_progress(bgm_comm *c, bgm__comm_request *r);

/* Waits for r (nothing when it is not pending); r is not pending after it. */
bgm_status bgm__comm_finish(bgm_comm *c, bgm__comm_request *r, const char *what,
                            const char *fn);

/* Broadcasts nbytes of data from rank 0; a failure's message names fn and what. */
bgm_status bgm__comm_broadcast0(bgm_comm *c, void *data, int64_t nbytes, const char *what,
                                const char *fn);

/* Every rank learns, with one all-reduce of one float, whether some rank
 * could not go on (local: this rank's status, e.g. an allocation that
 * failed before a collective it must join): BGM_OK when none; else every
 * rank fails, this one with local (its message kept) or BGM_E_STATE naming
 * how many ranks could not `what`. *shared (when not NULL) says whether the
 * failure is known to every rank (not so for the transport's own). */
bgm_status bgm__comm_agree(bgm_comm *c, bgm_status local, int *shared, const char *what,
                           const char *fn);

/* 1 when an agreement (bgm__comm_agree) failed every rank since the last
 * call, which clears it: then every rank stopped at the same collective. */
int bgm__comm_take_agreed(bgm_comm *c);

/* Sums v[0..n) over c's ranks in double precision, in place: every rank
 * puts its values in its own place of a zeroed buffer (as two floats each),
 * and adds the ranks' in rank order, so all get the same bits. The buffer
 * is kept in c and grown to hold max(n, reserve) values; when it has to
 * grow, a one-float agreement first (every rank grows at the same calls),
 * so that a rank out of memory fails every rank instead of leaving them
 * waiting. A collective call. */
bgm_status bgm__comm_sum_doubles(bgm_comm *c, double *v, int64_t n, int64_t reserve,
                                 const char *what, const char *fn);

/* Keeps status s (its message from bgm_last_error()) in c for
 * bgm__comm_deferred, for a failure where it cannot be returned (an op's
 * backward). The first one is kept. */
void bgm__comm_defer(bgm_comm *c, bgm_status s);

/* The deferred failure of c (BGM_OK when none), given as the current error
 * and cleared. */
bgm_status bgm__comm_deferred(bgm_comm *c);

/* A double as two floats, hi + lo (about 48 bits), at *p, which moves on:
 * gathers over allreduce_sum put each rank's values in its own place of a
 * zeroed buffer, so that the sum carries them exactly. */
void bgm__comm_put_double(float **p, double v);

/* The double put there (take_double moves *p on as well). */
double bgm__comm_take_double(const float **p);

#endif
