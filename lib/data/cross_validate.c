/* bgm_cross_validate: one caller-built model per fold, scores and their spread. */
#include "split.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Population mean and standard deviation (ddof = 0), two passes. */
static void mean_std(double *mean, double *std, const double *v, int n)
{
    double m = 0.0, ss = 0.0;
    int i;
    for (i = 0; i < n; i++)
        m += v[i];
    m /= n;
    for (i = 0; i < n; i++)
        ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *std = sqrt(ss / n);
}

/* Restates the callback's failure with the fold, keeping its own message. */
static bgm_status fail_fold(bgm_status status, const char *func, int fold, int k)
{
    char msg[768];
    if (bgm_last_error()[0] == '\0')
        snprintf(msg, sizeof msg, "callback returned %s without a message",
                 bgm_status_string(status));
    else
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
    return bgm__fail(status, "%s: fold %d of %d failed: %s", func, fold + 1, k, msg);
}

BGM_API bgm_status bgm_cross_validate(double *scores, double *mean, double *std,
                                      const bgm_dataset *ds, int k, int stratified,
                                      uint64_t seed, bgm_cross_validate_fn fn, void *ctx)
{
    static const char *name = "bgm_cross_validate";
    bgm_kfold *kf = NULL;
    bgm_dataset *train = NULL, *val = NULL;
    double *got = NULL, m, sd;
    bgm_status s;
    int f;
    if (mean)
        *mean = 0.0;
    if (std)
        *std = 0.0;
    if (scores && k > 0)
        memset(scores, 0, (size_t)k * sizeof *scores);
    BGM__CHECK_NULL(ds, name);
    BGM__CHECK_NULL(fn, name);
    s = bgm__kfold_create(&kf, name, ds, k, 1, seed, stratified);
    if (s != BGM_OK)
        return s;
    got = malloc((size_t)k * sizeof *got);
    if (!got) {
        bgm_kfold_free(kf);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", name);
    }
    for (f = 0; f < k && s == BGM_OK; f++) {
        s = bgm__kfold_get(&train, &val, name, kf, f);
        if (s != BGM_OK)
            break;
        got[f] = NAN;   /* a callback that forgets to score shows up as NaN */
        bgm_clear_error();
        s = fn(&got[f], train, val, f, ctx);
        if (s != BGM_OK)
            s = fail_fold(s, name, f, k);
        bgm_dataset_free(train);
        bgm_dataset_free(val);
        train = val = NULL;
    }
    if (s == BGM_OK) {
        mean_std(&m, &sd, got, k);
        if (scores)
            memcpy(scores, got, (size_t)k * sizeof *scores);
        if (mean)
            *mean = m;
        if (std)
            *std = sd;
    }
    free(got);
    bgm_kfold_free(kf);
    return s;
}
