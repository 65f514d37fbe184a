/*
 * Fashion-MNIST with softmax regression (Flatten + Dense(10) on logits, SGD),
 * the Keras way: load the IDX files, standardize every pixel with statistics
 * of the training images only, hold out the last 10% for validation (as
 * Keras' validation_split), fit, evaluate, then print the test set's
 * confusion matrix and scikit-learn's classification report.
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

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    char report[4096];
    bgm_dataset *full = NULL, *train = NULL, *val = NULL, *test = NULL;
    bgm_scaler *scaler = NULL;
    bgm_model *m = NULL;
    bgm_optimizer *sgd = NULL;
    bgm_history *history = NULL;
    bgm_fit_options opts;
    bgm_tensor *pred = NULL, *cm = NULL;
    double results[2]; /* loss, accuracy */
    int i, j;
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

    if (s == BGM_OK) s = bgm_model_create(&m, (int64_t[]){28, 28, 1}, 3, /*seed*/ 42);
    if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_flatten());
    if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_dense(10, BGM_ACT_LINEAR));
    if (s == BGM_OK) s = bgm_optimizer_sgd(&sgd, LR, 0.0f, 0);
    if (s == BGM_OK) {
        s = bgm_model_compile(m, sgd, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                              (bgm_metric_kind[]){BGM_METRIC_ACCURACY}, 1);
        sgd = NULL; /* the model owns it now, even on error */
    }
    if (s == BGM_OK) s = bgm_fit_options_init(&opts, sizeof opts);
    if (s == BGM_OK) {
        opts.epochs = EPOCHS;
        opts.batch_size = BATCH;
        opts.verbose = 2; /* one line per epoch */
        s = bgm_model_fit_dataset(&history, m, train, val, &opts);
    }

    if (s == BGM_OK) s = bgm_model_evaluate_dataset(results, 2, m, test, 1000);
    if (s == BGM_OK)
        printf("\ntest loss: %.4f - test accuracy: %.4f\n", results[0], results[1]);
    if (s == BGM_OK) s = bgm_model_predict(&pred, m, bgm_dataset_features(test), 1000);
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
    bgm_history_free(history);
    bgm_model_free(m);
    bgm_optimizer_free(sgd);
    bgm_scaler_free(scaler);
    bgm_dataset_free(full);
    bgm_dataset_free(train);
    bgm_dataset_free(val);
    bgm_dataset_free(test);
    return s == BGM_OK ? 0 : 1;
}
