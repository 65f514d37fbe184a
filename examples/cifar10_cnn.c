/*
 * The classic Keras image classifier in C: Conv2D(32) -> MaxPool -> Conv2D(64)
 * -> MaxPool -> Conv2D(64) -> Flatten -> Dense(64) -> Dense(10), trained with
 * Adam on sparse categorical cross-entropy from logits.
 *
 *     cifar10_cnn [-e EPOCHS (10)] [-b BATCH_SIZE (64)] [-o MODEL_FILE]
 *                 [-l CSV_FILE] [CIFAR10_DIR]
 *
 * -o saves the trained model; -l logs every epoch's loss and accuracy, on the
 * training and the test set, with the CSVLogger callback (what `make demo`
 * plots with tools/plot_history.gp).
 *
 * With CIFAR10_DIR (holding data_batch_1.bin ... data_batch_5.bin and
 * test_batch.bin) it trains on CIFAR-10; without it, on Fashion-MNIST from
 * /usr/share/datasets/fashion-mnist (Debian's package).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bigmodel.h>

#include "seed_cnn.h"

/* Loads the training and test sets, pixels scaled to [0, 1]. */
static bgm_status load(bgm_dataset **train, bgm_dataset **test, const char *cifar_dir)
{
    bgm_status s;
    if (cifar_dir) {
        char paths[6][4096];
        const char *p[5];
        int i;
        for (i = 0; i < 5; i++) {
            snprintf(paths[i], sizeof paths[i], "%s/data_batch_%d.bin", cifar_dir, i + 1);
            p[i] = paths[i];
        }
        snprintf(paths[5], sizeof paths[5], "%s/test_batch.bin", cifar_dir);
        p[0] = paths[0];
        s = bgm_dataset_load_cifar(train, p, 5, BGM_CIFAR10);
        p[0] = paths[5];
        if (s == BGM_OK)
            s = bgm_dataset_load_cifar(test, p, 1, BGM_CIFAR10);
    } else {
        s = fashion_load(train, test);
    }
    return s == BGM_OK ? rescale_pixels(*train, *test) : s;
}

int main(int argc, char **argv)
{
    const char *cifar_dir = NULL, *model_file = NULL, *csv_file = NULL;
    bgm_callback *csv_logger = NULL;
    bgm_dataset *train = NULL, *test = NULL;
    bgm_model *m = NULL;
    bgm_history *history = NULL;
    bgm_fit_options fit;
    double results[2] = {0, 0};
    bgm_status s;
    int i;

    bgm_fit_options_init(&fit, sizeof fit);
    fit.epochs = 10; /* as the Keras tutorial */
    fit.batch_size = 64;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-e") == 0 && i + 1 < argc)
            fit.epochs = atoi(argv[++i]);
        else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc)
            fit.batch_size = atoi(argv[++i]);
        else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            model_file = argv[++i];
        else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc)
            csv_file = argv[++i];
        else if (argv[i][0] != '-')
            cifar_dir = argv[i];
        else {
            fprintf(stderr, "usage: %s [-e EPOCHS] [-b BATCH_SIZE] [-o MODEL_FILE] [-l CSV_FILE] "
                            "[CIFAR10_DIR]\n", argv[0]);
            return 2;
        }
    }

    printf("%s: training on %s\n", argv[0], cifar_dir ? "CIFAR-10" : "Fashion-MNIST");
    s = load(&train, &test, cifar_dir);
    if (s == BGM_OK && csv_file) {
        s = bgm_callback_csv_logger(&csv_logger, csv_file, 0);
        fit.callbacks = &csv_logger;
        fit.num_callbacks = 1;
    }
    if (s == BGM_OK) s = seed_cnn_build(&m, bgm_dataset_element_shape(train, NULL));
    if (s == BGM_OK) s = bgm_model_summary(m, NULL, NULL);
    if (s == BGM_OK) s = bgm_model_fit_dataset(&history, m, train, test, &fit);
    if (s == BGM_OK) s = bgm_model_evaluate_dataset(results, 2, m, test, 256);
    if (s == BGM_OK)
        printf("test loss: %.4f - test accuracy: %.4f\n", results[0], results[1]);
    if (s == BGM_OK && model_file && (s = bgm_model_save(m, model_file, 0)) == BGM_OK)
        printf("saved the model to %s\n", model_file);
    if (s != BGM_OK)
        fprintf(stderr, "%s: %s: %s\n", argv[0], bgm_status_string(s), bgm_last_error());

    bgm_callback_free(csv_logger);
    bgm_history_free(history);
    bgm_model_free(m);
    bgm_dataset_free(train);
    bgm_dataset_free(test);
    return s == BGM_OK ? 0 : 1;
}
