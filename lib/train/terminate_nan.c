/* Keras' TerminateOnNaN: stops training at the end of a batch whose loss is
 * NaN or infinite. */
#include "train/train.h"

#include <math.h>
#include <stdlib.h>

static bgm_status tn_batch_end(void *impl, bgm__train_state *st, int epoch, int64_t batch,
                               const bgm_logs *logs)
{
    int k = bgm__logs_find(logs, "loss");
    (void)impl;
    (void)epoch;
    if (k >= 0 && !isfinite(logs->values[k])) {
        bgm__train_say(st, "Batch %lld: Invalid loss, terminating training\n",
                       (long long)batch);
        st->stop = 1;
    }
    return BGM_OK;
}

static void tn_free(void *impl)
{
    (void)impl;
}

static const bgm__callback_ops terminate_on_nan_ops = {
    .wants_batches = 1, .batch_end = tn_batch_end, .free_impl = tn_free};

BGM_API bgm_status bgm_callback_terminate_on_nan(bgm_callback **out)
{
    static const char *fn = "bgm_callback_terminate_on_nan";
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    return bgm__callback_new_ops(out, &terminate_on_nan_ops, NULL, fn);
}
