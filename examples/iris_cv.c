/*
 * 5-fold stratified cross-validation of a softmax-regression classifier on
 * the iris data (scikit-learn's bundled iris.csv), as cross_val_score does:
 * each fold standardizes with its own training statistics, trains a fresh
 * model with the gradient tape and plain gradient descent, and scores the
 * accuracy on its held-out fold; we print every fold and mean ± std.
 * The model part moves to bgm_model_* once the model API lands.
 *
 * usage: iris_cv [iris.csv]
 */
#include <stdio.h>

#include <bigmodel.h>

#define STEPS 1000
#define LR 0.5f

/* Trains on train, writes the accuracy on val to *score. */
static bgm_status fit_and_score(double *score, const bgm_dataset *train,
                                const bgm_dataset *val, int fold, void *ctx)
{
    bgm_scaler *scaler = NULL;
    bgm_dataset *tr = NULL, *va = NULL;
    bgm_tensor *w[2] = {NULL, NULL}, *grads[2], *h, *logits, *loss, *pred = NULL;
    bgm_tape *tape = NULL;
    bgm_status s;
    int step, i;

    /* a pipeline per fold: the held-out samples never shape the scaler */
    s = bgm_scaler_standard(&scaler, BGM_SCALE_PER_FEATURE);
    if (s == BGM_OK) s = bgm_scaler_fit_dataset(scaler, train);
    if (s == BGM_OK) s = bgm_scaler_transform_dataset(&tr, scaler, train);
    if (s == BGM_OK) s = bgm_scaler_transform_dataset(&va, scaler, val);

    if (s == BGM_OK) s = bgm_tensor_zeros(&w[0], BGM_FLOAT32, (int64_t[]){4, 3}, 2);
    if (s == BGM_OK) s = bgm_tensor_zeros(&w[1], BGM_FLOAT32, (int64_t[]){3}, 1);
    for (i = 0; i < 2 && s == BGM_OK; i++) s = bgm_tensor_set_requires_grad(w[i], 1);
    if (s == BGM_OK) s = bgm_tape_create(&tape);

    for (step = 0; step < STEPS && s == BGM_OK; step++) {   /* full-batch descent */
        s = bgm_op_matmul(&h, tape, bgm_dataset_features(tr), w[0]);
        if (s == BGM_OK) s = bgm_op_add(&logits, tape, h, w[1]);
        if (s == BGM_OK)
            s = bgm_op_sparse_categorical_crossentropy(&loss, tape, logits,
                                                       bgm_dataset_targets(tr), 1);
        if (s == BGM_OK) s = bgm_tape_gradient(tape, loss, w, 2, grads);
        for (i = 0; i < 2 && s == BGM_OK; i++) s = bgm_tensor_axpy(w[i], -LR, grads[i]);
        if (s == BGM_OK) s = bgm_tape_reset(tape);
    }

    if (s == BGM_OK) s = bgm_op_matmul(&h, tape, bgm_dataset_features(va), w[0]);
    if (s == BGM_OK) s = bgm_op_add(&pred, tape, h, w[1]);
    if (s == BGM_OK)
        s = bgm_metric_compute(score, NULL, BGM_METRIC_ACCURACY, NULL,
                               bgm_dataset_targets(va), pred);
    bgm_tape_free(tape);   /* also frees h, logits, loss, grads and pred */
    bgm_tensor_free(w[0]);
    bgm_tensor_free(w[1]);
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
