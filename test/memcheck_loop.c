/*
 * Creates and frees tensors, views and tapes 10,000 times, differentiating a
 * small expression each time: run under valgrind by `make memcheck`, which
 * fails on any leak or invalid access. Exits non-zero if a call fails.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bigmodel.h"

#define TRY(expr)                                                                 \
    do {                                                                          \
        bgm_status s_ = (expr);                                                   \
        if (s_ != BGM_OK) {                                                       \
            fprintf(stderr, "%s: %s\n", #expr, bgm_last_error());                 \
            return 1;                                                             \
        }                                                                         \
    } while (0)

static void release(void *data, void *ctx)
{
    (void)ctx;
    free(data);
}

static int one_round(bgm_rng *rng, int reuse_tape, bgm_tape *kept)
{
    int64_t xs[] = {4, 3}, ws[] = {3, 2}, flat[] = {12};
    bgm_tensor *x = NULL, *w = NULL, *view = NULL, *row = NULL, *wrapped = NULL, *copy = NULL;
    bgm_tensor *h, *a, *loss, *grads[2];
    bgm_tape *tape = kept;
    float *buf = malloc(12 * sizeof *buf);

    if (!buf)
        return 1;
    TRY(bgm_tensor_randn(&x, rng, xs, 2, 0.0f, 1.0f));
    TRY(bgm_tensor_rand_uniform(&w, rng, ws, 2, -1.0f, 1.0f));
    TRY(bgm_tensor_set_requires_grad(w, 1));
    TRY(bgm_tensor_reshape(&view, x, flat, 1));
    TRY(bgm_tensor_slice(&row, x, 1, 3));
    TRY(bgm_tensor_wrap(&wrapped, BGM_FLOAT32, flat, 1, buf, release, NULL));
    TRY(bgm_tensor_clone(&copy, view));
    if (!reuse_tape)
        TRY(bgm_tape_create(&tape));
    TRY(bgm_tape_watch(tape, x));
    TRY(bgm_op_matmul(&h, tape, x, w));
    TRY(bgm_op_tanh(&a, tape, h));
    TRY(bgm_op_mean_all(&loss, tape, a));
    {
        bgm_tensor *src[2] = {x, w};
        TRY(bgm_tape_gradient(tape, loss, src, 2, grads));
    }
    TRY(bgm_tensor_axpy(w, -0.1f, grads[1]));
    if (reuse_tape)
        TRY(bgm_tape_reset(tape));
    else
        bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(w);
    bgm_tensor_free(view);
    bgm_tensor_free(row);
    bgm_tensor_free(wrapped);
    bgm_tensor_free(copy);
    return 0;
}

int main(void)
{
    bgm_rng *rng = NULL;
    bgm_tape *kept = NULL;
    bgm_tensor *bad = NULL;
    int i;
    TRY(bgm_rng_create(&rng, 42));
    TRY(bgm_tape_create(&kept));
    for (i = 0; i < 10000; i++) {
        if (one_round(rng, i % 2, kept) != 0)
            return 1;
        /* error paths must not leak either */
        if (bgm_tensor_zeros(&bad, BGM_FLOAT32, (int64_t[]){-1}, 1) == BGM_OK)
            return 1;
    }
    bgm_tape_free(kept);
    bgm_rng_free(rng);
    printf("memcheck_loop: 10000 rounds of tensors, views and tapes done\n");
    return 0;
}
