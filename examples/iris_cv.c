/*
 * 5-fold stratified cross-validation of a softmax-regression classifier on
 * the iris data (scikit-learn's bundled iris.csv), as cross_val_score does:
 * each fold standardizes with its own training statistics, builds and fits a
 * fresh Keras-style model (Dense(3) on logits, SGD), and scores the accuracy
 * on its held-out fold; we print every fold and mean ± std.
 *
 * usage: iris_cv [iris.csv]
 */
#include <stdio.h>

#include <bigmodel.h>

#define EPOCHS 100

/* Trains a fresh model on train, writes its accuracy on val to *score. */
static bgm_status fit_and_score(double *score, const bgm_dataset *train,
                                const bgm_dataset *val, int fold, void *ctx)
{
    bgm_scaler *scaler = NULL;
    bgm_dataset *tr = NULL, *va = NULL;
    bgm_model *m = NULL;
    bgm_optimizer *sgd = NULL;
    bgm_history *history = NULL;
    bgm_fit_options opts;
    double results[2]; /* loss, accuracy */
    bgm_status s;

    /* a pipeline per fold: the held-out samples never shape the scaler */
    s = bgm_scaler_standard(&scaler, BGM_SCALE_PER_FEATURE);
    if (s == BGM_OK) s = bgm_scaler_fit_dataset(scaler, train);
    if (s == BGM_OK) s = bgm_scaler_transform_dataset(&tr, scaler, train);
    if (s == BGM_OK) s = bgm_scaler_transform_dataset(&va, scaler, val);

    if (s == BGM_OK) s = bgm_model_create(&m, (int64_t[]){4}, 1, /*seed*/ 42 + fold);
    if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_dense(3, BGM_ACT_LINEAR));
    if (s == BGM_OK) s = bgm_optimizer_sgd(&sgd, 0.1f, 0.9f, 0);
    if (s == BGM_OK) {
        s = bgm_model_compile(m, sgd, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                              (bgm_metric_kind[]){BGM_METRIC_ACCURACY}, 1);
        sgd = NULL; /* the model owns it now, even on error */
    }
    if (s == BGM_OK) s = bgm_fit_options_init(&opts, sizeof opts);
    if (s == BGM_OK) {
        opts.epochs = EPOCHS;
        opts.batch_size = 16;
        opts.verbose = 0;
        s = bgm_model_fit_dataset(&history, m, tr, NULL, &opts);
    }
    if (s == BGM_OK) s = bgm_model_evaluate_dataset(results, 2, m, va, 32);
    if (s == BGM_OK) *score = results[1];
    bgm_history_free(history);
    bgm_model_free(m);
    bgm_optimizer_free(sgd);
    bgm_dataset_free(tr);
    bgm_dataset_free(va);
    bgm_scaler_free(scaler);
    return s;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1]
                                : "/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv";
    bgm_csv_options opts;
    bgm_dataset *iris = NULL;
    double scores[5], mean, std;
    bgm_status s;
    int f;

    /* sklearn's file starts with a line of counts and names, not column names */
    bgm_csv_options_init(&opts);
    opts.skip_lines = 1;
    opts.has_header = 0;
    s = bgm_dataset_load_csv(&iris, path, &opts);
    if (s == BGM_OK)
        printf("iris: %lld samples, 4 features, 3 classes\n",
               (long long)bgm_dataset_size(iris));

    if (s == BGM_OK)
        s = bgm_cross_validate(scores, &mean, &std, iris, 5, /*stratified*/ 1, /*seed*/ 42,
                               fit_and_score, NULL);
    for (f = 0; f < 5 && s == BGM_OK; f++)
        printf("fold %d - accuracy: %.4f\n", f + 1, scores[f]);
    if (s == BGM_OK)
        printf("accuracy: %.4f +/- %.4f (mean +/- std over 5 folds)\n", mean, std);
    else
        fprintf(stderr, "error: %s\n", bgm_last_error());
    bgm_dataset_free(iris);
    return s == BGM_OK ? 0 : 1;
}
