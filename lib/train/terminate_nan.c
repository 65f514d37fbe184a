/* Keras' TerminateOnNaN: stops training at the end of a batch whose loss is
 * NaN or infinite, or with raise_error fails it there. */
#include "train/train.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* impl is not a pointer to state: the raise_error flag, as an integer. */
static bgm_status tn_batch_end(void *impl, bgm__train_state *st, int epoch, int64_t batch,
                               const bgm_logs *logs)
{
    int k = bgm__logs_find(logs, "loss");
    if (k < 0 || isfinite(logs->values[k]))
        return BGM_OK;
    if ((uintptr_t)impl)
        return bgm__fail(BGM_E_NONFINITE, "TerminateOnNaN: NaN or Inf loss encountered at "
                         "batch %lld of epoch %d (loss %g); training terminated",
                         (long long)batch, epoch + 1, logs->values[k]);
    bgm__train_say(st, "Batch %lld: Invalid loss, terminating training\n", (long long)batch);
    st->stop = 1;
    return BGM_OK;
}

static void tn_free(void *impl)
{
    (void)impl;
}

static const bgm__callback_ops terminate_on_nan_ops = {
    .wants_batches = 1, .batch_end = tn_batch_end, .free_impl = tn_free};

BGM_API bgm_status bgm_callback_terminate_on_nan(bgm_callback **out, int raise_error)
{
    static const char *fn = "bgm_callback_terminate_on_nan";
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    if (raise_error != 0 && raise_error != 1)
        return bgm__fail(BGM_E_INVALID, "%s: raise_error = %d, expected 0 or 1", fn,
                         raise_error);
    return bgm__callback_new_ops(out, &terminate_on_nan_ops, (void *)(uintptr_t)raise_error,
                                 fn);
}
