/* Internal side of bgm_stream: how fit / evaluate / predict take its batches. */
#ifndef BGM_DATA_STREAM_H
#define BGM_DATA_STREAM_H

#include "bigmodel/data.h"

/* Most features or targets tensors of a stream. */
#define BGM__STREAM_MAX_TENSORS 16

/* A call (fn) starts using st: BGM_E_STATE when another call is using it.
 * Pair with bgm__stream_close. */
bgm_status bgm__stream_open(bgm_stream *st, const char *fn);

/* Starts an epoch or pass: a new pass (reset) when the previous one ended or
 * none ran yet in this call, else the current pass goes on. Starts the
 * thread on the first call. */
bgm_status bgm__stream_begin(bgm_stream *st, const char *fn);

/* The next batch: *has = 1 and xs[0..num_x), ys[0..num_y) borrowed until the
 * next call (ys may be NULL when unwanted; ys[num_y] the sample weights of a
 * weighted stream), or *has = 0 at the end of the
 * pass. A callback's failure comes back with its status and message. */
bgm_status bgm__stream_next(bgm_stream *st, int *has, const bgm_tensor **xs,
                            const bgm_tensor **ys, const char *fn);

/* Stops and joins the thread, drops prefetched batches; st may be used by
 * the next call. NULL is a no-op. */
void bgm__stream_close(bgm_stream *st);

/* The spec's description of features tensor i (i < num_x), targets tensor
 * i - num_x, or (i = num_x + num_y) the sample weights. */
const bgm_stream_tensor *bgm__stream_tensor(const bgm_stream *st, int i);

#endif
