/*
 * Fashion-MNIST with softmax regression, trained by hand with the gradient
 * tape and minibatch SGD: load the IDX files, standardize every pixel with
 * statistics of the training images only, hold out the last 10% for
 * validation (as Keras' validation_split), train, then print the test set's
 * confusion matrix and scikit-learn's classification report.
 * This moves to bgm_model_fit / bgm_model_evaluate once the model API lands.
 *
 * usage: fashion_mnist_report [DIR]   (default /usr/share/datasets/fashion-mnist)
 */
#include <stdio.h>

#include <bigmodel.h>

#define EPOCHS 5
#define BATCH 128
#define LR 0.05f

static const char *const CLASSES[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                        "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                        "Ankle boot"};

static bgm_status load(bgm_dataset **ds, const char *dir, const char *part)
{
    char images[512], labels[512];
    snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", dir, part);
    snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", dir, part);
    return bgm_dataset_load_idx(ds, images, labels);
}

/* logits = flatten(x) W + b, recorded on tape (or computed when tape is NULL) */
static bgm_status forward(bgm_tensor **logits, bgm_tape *tape, const bgm_tensor *x,
                          bgm_tensor *const *w)
{
    bgm_tensor *h = NULL, *z = NULL;
    bgm_status s = bgm_op_reshape(&h, tape, x, (int64_t[]){-1, 784}, 2);
    if (s == BGM_OK) s = bgm_op_matmul(&z, tape, h, w[0]);
    if (s == BGM_OK) s = bgm_op_add(logits, tape, z, w[1]);
    if (!tape) {   /* without a tape the intermediates are ours to free */
        bgm_tensor_free(h);
        bgm_tensor_free(z);
    }
    return s;
}

/* Loss and accuracy over all of ds; *logits receives the predictions (caller frees). */
static bgm_status evaluate(double *loss, double *acc, bgm_tensor **logits,
                           bgm_tensor *const *w, const bgm_dataset *ds)
{
    const bgm_tensor *y = bgm_dataset_targets(ds);
    bgm_tensor *l = NULL;
    bgm_status s = forward(logits, NULL, bgm_dataset_features(ds), w);
    if (s == BGM_OK) s = bgm_op_sparse_categorical_crossentropy(&l, NULL, *logits, y, 1);
    if (s == BGM_OK) *loss = *(float *)bgm_tensor_data(l);
    if (s == BGM_OK) s = bgm_metric_compute(acc, NULL, BGM_METRIC_ACCURACY, NULL, y, *logits);
    bgm_tensor_free(l);
    return s;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    char report[4096];
    bgm_dataset *full = NULL, *train = NULL, *val = NULL, *test = NULL;
    bgm_scaler *scaler = NULL;
    bgm_metric *accuracy = NULL;
    bgm_batch_iter *it = NULL;
    bgm_tape *tape = NULL;
    bgm_tensor *w[2] = {NULL, NULL}, *grads[2], *logits, *loss, *pred = NULL, *cm = NULL;
    const bgm_tensor *x, *y;
    double vloss, vacc, sum;
    int epoch, more, i, j, seen;
    bgm_status s;

    s = load(&full, dir, "train");
    if (s == BGM_OK) s = load(&test, dir, "t10k");
    if (s == BGM_OK) s = bgm_dataset_validation_split(&train, &val, full, 0.1);

    /* fit on the training part only, then apply the same statistics everywhere */
    if (s == BGM_OK) s = bgm_scaler_standard(&scaler, BGM_SCALE_PER_FEATURE);
    if (s == BGM_OK) s = bgm_scaler_fit_dataset(scaler, train);
    if (s == BGM_OK) s = bgm_scaler_transform_dataset_inplace(scaler, train);
    if (s == BGM_OK) s = bgm_scaler_transform_dataset_inplace(scaler, val);
    if (s == BGM_OK) s = bgm_scaler_transform_dataset_inplace(scaler, test);

    if (s == BGM_OK) s = bgm_tensor_zeros(&w[0], BGM_FLOAT32, (int64_t[]){784, 10}, 2);
    if (s == BGM_OK) s = bgm_tensor_zeros(&w[1], BGM_FLOAT32, (int64_t[]){10}, 1);
    for (i = 0; i < 2 && s == BGM_OK; i++) s = bgm_tensor_set_requires_grad(w[i], 1);
    if (s == BGM_OK) s = bgm_tape_create(&tape);
    if (s == BGM_OK) s = bgm_metric_create(&accuracy, BGM_METRIC_ACCURACY, NULL);
    if (s == BGM_OK) s = bgm_batch_iter_create(&it, train, BATCH, 0);
    if (s == BGM_OK) s = bgm_batch_iter_shuffle(it, 42);

    for (epoch = 1; epoch <= EPOCHS && s == BGM_OK; epoch++) {
        sum = 0;
        seen = 0;
        bgm_batch_iter_reset(it);
        s = bgm_metric_reset(accuracy);
        while (s == BGM_OK && (s = bgm_batch_iter_next(&more, &x, &y, it)) == BGM_OK && more) {
            s = forward(&logits, tape, x, w);
            if (s == BGM_OK) s = bgm_op_sparse_categorical_crossentropy(&loss, tape, logits, y, 1);
            if (s == BGM_OK) s = bgm_tape_gradient(tape, loss, w, 2, grads);
            for (i = 0; i < 2 && s == BGM_OK; i++)
                s = bgm_tensor_axpy(w[i], -LR, grads[i]);   /* SGD: w -= lr * grad */
            if (s == BGM_OK) s = bgm_metric_update(accuracy, y, logits);
            sum += s == BGM_OK ? *(float *)bgm_tensor_data(loss) * bgm_tensor_dim(y, 0) : 0;
            seen += (int)bgm_tensor_dim(y, 0);
            if (s == BGM_OK) s = bgm_tape_reset(tape);   /* frees logits, loss, grads */
        }
        if (s == BGM_OK) s = bgm_metric_result(&vacc, accuracy);
        if (s == BGM_OK)
            printf("Epoch %d/%d - loss: %.4f - accuracy: %.4f", epoch, EPOCHS, sum / seen, vacc);
        if (s == BGM_OK) s = evaluate(&vloss, &vacc, &pred, w, val);
        if (s == BGM_OK) printf(" - val_loss: %.4f - val_accuracy: %.4f\n", vloss, vacc);
        bgm_tensor_free(pred);
        pred = NULL;
    }

    if (s == BGM_OK) s = evaluate(&vloss, &vacc, &pred, w, test);
    if (s == BGM_OK) printf("\ntest loss: %.4f - test accuracy: %.4f\n", vloss, vacc);
    if (s == BGM_OK) s = bgm_confusion_matrix(&cm, bgm_dataset_targets(test), pred, 10);
    if (s == BGM_OK) {
        const int32_t *c = bgm_tensor_data(cm);
        printf("\nconfusion matrix (rows: true class, columns: predicted)\n");
        for (i = 0; i < 10; i++) {
            for (j = 0; j < 10; j++)
                printf("%5d", (int)c[i * 10 + j]);
            printf("   %s\n", CLASSES[i]);
        }
        s = bgm_classification_report(report, sizeof report, NULL, NULL,
                                      bgm_dataset_targets(test), pred, 10, CLASSES, 4);
    }
    if (s == BGM_OK) printf("\n%s", report);
    if (s != BGM_OK) fprintf(stderr, "error: %s\n", bgm_last_error());

    bgm_tensor_free(pred);
    bgm_tensor_free(cm);
    bgm_tensor_free(w[0]);
    bgm_tensor_free(w[1]);
    bgm_tape_free(tape);
    bgm_batch_iter_free(it);
    bgm_metric_free(accuracy);
    bgm_scaler_free(scaler);
    bgm_dataset_free(full);
    bgm_dataset_free(train);
    bgm_dataset_free(val);
    bgm_dataset_free(test);
    return s == BGM_OK ? 0 : 1;
}
