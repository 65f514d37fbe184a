/*
 * XOR with a 2-8-1 network, trained by hand with the gradient tape and plain
 * SGD: the GradientTape workflow of Keras, in C.
 */
#include <stdio.h>

#include <bigmodel.h>

/* p = sigmoid(tanh(x w1 + b1) w2 + b2); every result belongs to the tape. */
static bgm_status forward(bgm_tape *tape, bgm_tensor *x, bgm_tensor *const *w,
                          bgm_tensor **p)
{
    bgm_tensor *h;
    bgm_status s;
    if ((s = bgm_op_matmul(&h, tape, x, w[0])) == BGM_OK &&
        (s = bgm_op_add(&h, tape, h, w[1])) == BGM_OK &&
        (s = bgm_op_tanh(&h, tape, h)) == BGM_OK &&
        (s = bgm_op_matmul(&h, tape, h, w[2])) == BGM_OK &&
        (s = bgm_op_add(&h, tape, h, w[3])) == BGM_OK)
        s = bgm_op_sigmoid(p, tape, h);
    return s;
}

int main(void)
{
    const float xv[] = {0, 0, 0, 1, 1, 0, 1, 1}, yv[] = {0, 1, 1, 0};
    const int64_t shapes[4][2] = {{2, 8}, {8, 0}, {8, 1}, {1, 0}};
    bgm_tensor *x = NULL, *y = NULL, *w[4] = {NULL}, *grads[4], *p, *d, *loss;
    bgm_tape *tape = NULL;
    bgm_rng *rng = NULL;
    bgm_status s;
    int step, i;

    s = bgm_tensor_from_data(&x, BGM_FLOAT32, (int64_t[]){4, 2}, 2, xv);
    if (s == BGM_OK) s = bgm_tensor_from_data(&y, BGM_FLOAT32, (int64_t[]){4, 1}, 2, yv);
    if (s == BGM_OK) s = bgm_rng_create(&rng, 42);
    for (i = 0; i < 4 && s == BGM_OK; i++) {
        s = bgm_tensor_randn(&w[i], rng, shapes[i], shapes[i][1] ? 2 : 1, 0.0f, 1.0f);
        if (s == BGM_OK) s = bgm_tensor_set_requires_grad(w[i], 1);
    }
    if (s == BGM_OK) s = bgm_tape_create(&tape);

    for (step = 1; step <= 2000 && s == BGM_OK; step++) {
        s = forward(tape, x, w, &p);
        if (s == BGM_OK) s = bgm_op_sub(&d, tape, p, y);
        if (s == BGM_OK) s = bgm_op_pow(&d, tape, d, 2.0f);
        if (s == BGM_OK) s = bgm_op_mean_all(&loss, tape, d);   /* mean squared error */
        if (s == BGM_OK) s = bgm_tape_gradient(tape, loss, w, 4, grads);
        for (i = 0; i < 4 && s == BGM_OK; i++)
            s = bgm_tensor_axpy(w[i], -2.0f, grads[i]);          /* SGD, lr = 2 */
        if (s == BGM_OK && step % 500 == 0)
            printf("step %4d - loss: %.4f\n", step, *(float *)bgm_tensor_data(loss));
        if (s == BGM_OK) s = bgm_tape_reset(tape);             /* frees p, d, grads */
    }
    if (s == BGM_OK) s = forward(tape, x, w, &p);
    for (i = 0; i < 4 && s == BGM_OK; i++)
        printf("xor(%g, %g) = %.3f\n", xv[2 * i], xv[2 * i + 1],
               ((float *)bgm_tensor_data(p))[i]);
    if (s != BGM_OK)
        fprintf(stderr, "error: %s\n", bgm_last_error());
    bgm_tape_free(tape);
    bgm_rng_free(rng);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    for (i = 0; i < 4; i++)
        bgm_tensor_free(w[i]);
    return s == BGM_OK ? 0 : 1;
}
