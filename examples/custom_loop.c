/*
 * A training loop written by hand, as TensorFlow's "training loop from
 * scratch" guide does with tf.GradientTape: for every batch, run the model
 * in training mode on a tape, compute the loss, take the gradients of the
 * trainable weights and let the optimizer apply them. Fashion-MNIST, a small
 * MLP, accuracy tracked with a streaming metric.
 *
 *     custom_loop [EPOCHS]
 */
#include <stdio.h>
#include <stdlib.h>

#include <bigmodel.h>

#define FASHION "/usr/share/datasets/fashion-mnist/"

static bgm_status load(bgm_dataset **train, bgm_dataset **test)
{
    bgm_scaler *rescale = NULL;
    bgm_status s = bgm_dataset_load_idx(train, FASHION "train-images-idx3-ubyte.gz",
                                        FASHION "train-labels-idx1-ubyte.gz");
    if (s == BGM_OK) s = bgm_dataset_load_idx(test, FASHION "t10k-images-idx3-ubyte.gz",
                                              FASHION "t10k-labels-idx1-ubyte.gz");
    if (s == BGM_OK) s = bgm_scaler_rescale(&rescale, 255.0f);
    if (s == BGM_OK) s = bgm_scaler_transform_dataset_inplace(rescale, *train);
    if (s == BGM_OK) s = bgm_scaler_transform_dataset_inplace(rescale, *test);
    bgm_scaler_free(rescale);
    return s;
}

/* One pass over a dataset; trains when opt is not NULL. Returns the mean loss
 * in *loss_out and the accuracy through the metric. */
static bgm_status run_epoch(bgm_model *m, bgm_optimizer *opt, bgm_tape *tape,
                            bgm_batch_iter *it, bgm_metric *accuracy, double *loss_out)
{
    bgm_tensor *const *params;
    bgm_tensor *grads[16], *logits, *loss, *probs;
    const bgm_tensor *x, *y;
    double total = 0.0;
    int64_t seen = 0;
    int n, more;
    bgm_status s = bgm_model_trainable_params(&params, &n, m);
    if (s == BGM_OK) s = bgm_metric_reset(accuracy);
    bgm_batch_iter_reset(it);
    while (s == BGM_OK && (s = bgm_batch_iter_next(&more, &x, &y, it)) == BGM_OK && more) {
        s = bgm_tape_reset(tape);                                   /* keeps its memory */
        if (s == BGM_OK) s = bgm_model_forward(&logits, m, tape, x, opt != NULL);
        if (s == BGM_OK) s = bgm_op_sparse_categorical_crossentropy(&loss, tape, logits, y, 1);
        if (s == BGM_OK && opt) s = bgm_tape_gradient(tape, loss, params, n, grads);
        if (s == BGM_OK && opt) s = bgm_optimizer_step(opt, params, grads, n);
        if (s == BGM_OK) s = bgm_op_softmax(&probs, tape, logits, -1);
        if (s == BGM_OK) s = bgm_metric_update(accuracy, y, probs);
        if (s == BGM_OK) {
            total += *(const float *)bgm_tensor_data(loss) * (double)bgm_tensor_dim(x, 0);
            seen += bgm_tensor_dim(x, 0);
        }
    }
    *loss_out = seen ? total / (double)seen : 0.0;
    return s;
}

int main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 3, epoch;
    bgm_dataset *train = NULL, *test = NULL;
    bgm_batch_iter *train_it = NULL, *test_it = NULL;
    bgm_model *m = NULL;
    bgm_optimizer *opt = NULL;
    bgm_tape *tape = NULL;
    bgm_metric *accuracy = NULL;
    double loss, acc, val_loss, val_acc;
    bgm_status s = load(&train, &test);

    if (s == BGM_OK) s = bgm_model_create(&m, (int64_t[]){28, 28, 1}, 3, 42);
    if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_flatten());
    if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_dense(128, BGM_ACT_RELU));
    if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_dropout(0.2f));
    if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_dense(10, BGM_ACT_LINEAR));
    if (s == BGM_OK) s = bgm_optimizer_adam(&opt, 1e-3f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                            BGM_ADAM_EPSILON);
    if (s == BGM_OK) s = bgm_tape_create(&tape);
    if (s == BGM_OK) s = bgm_metric_create(&accuracy, BGM_METRIC_ACCURACY, NULL);
    if (s == BGM_OK) s = bgm_batch_iter_create(&train_it, train, 64, 0);
    if (s == BGM_OK) s = bgm_batch_iter_shuffle(train_it, 42);
    if (s == BGM_OK) s = bgm_batch_iter_create(&test_it, test, 256, 0);

    for (epoch = 0; epoch < epochs && s == BGM_OK; epoch++) {
        s = run_epoch(m, opt, tape, train_it, accuracy, &loss);
        if (s == BGM_OK) s = bgm_metric_result(&acc, accuracy);
        if (s == BGM_OK) s = run_epoch(m, NULL, tape, test_it, accuracy, &val_loss);
        if (s == BGM_OK) s = bgm_metric_result(&val_acc, accuracy);
        if (s == BGM_OK)
            printf("epoch %d/%d - loss: %.4f - accuracy: %.4f - val_loss: %.4f - "
                   "val_accuracy: %.4f\n", epoch + 1, epochs, loss, acc, val_loss, val_acc);
    }
    if (s != BGM_OK)
        fprintf(stderr, "%s: %s\n", argv[0], bgm_last_error());

    bgm_batch_iter_free(train_it);
    bgm_batch_iter_free(test_it);
    bgm_metric_free(accuracy);
    bgm_tape_free(tape);
    bgm_optimizer_free(opt);
    bgm_model_free(m);
    bgm_dataset_free(train);
    bgm_dataset_free(test);
    return s == BGM_OK ? 0 : 1;
}
