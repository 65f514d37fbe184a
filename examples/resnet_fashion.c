/*
 * A small ResNet on Fashion-MNIST with the functional API (graph.h): a
 * Conv-BN-ReLU stem, three stages of two basic blocks (16, 32, 64 filters;
 * stages 2 and 3 start with a stride-2 convolution and a 1x1 stride-2
 * projection shortcut), global average pooling, Dense(10) on logits. Adam,
 * batch 64, no augmentation; the learning rate warms up, then follows a
 * cosine down to 0 at the end of the last epoch.
 *
 *     resnet_fashion [-e EPOCHS (7)] [-b BATCH (64)] [DIR (/usr/share/datasets/fashion-mnist)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bigmodel.h>

#define PEAK_LR 3e-3f
#define WARMUP_STEPS 500

/* Training and test sets, standardized per channel with the training set's statistics. */
static bgm_status load(bgm_dataset **train, bgm_dataset **test, const char *dir)
{
    char img[2][4096], lab[2][4096];
    bgm_scaler *sc = NULL;
    bgm_status s;
    snprintf(img[0], sizeof img[0], "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lab[0], sizeof lab[0], "%s/train-labels-idx1-ubyte.gz", dir);
    snprintf(img[1], sizeof img[1], "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(lab[1], sizeof lab[1], "%s/t10k-labels-idx1-ubyte.gz", dir);
    s = bgm_dataset_load_idx(train, img[0], lab[0]);
    if (s == BGM_OK) s = bgm_dataset_load_idx(test, img[1], lab[1]);
    if (s == BGM_OK) s = bgm_scaler_standard(&sc, BGM_SCALE_PER_CHANNEL);
    if (s == BGM_OK) s = bgm_scaler_fit_dataset(sc, *train);
    if (s == BGM_OK) s = bgm_scaler_transform_dataset_inplace(sc, *train);
    if (s == BGM_OK) s = bgm_scaler_transform_dataset_inplace(sc, *test);
    bgm_scaler_free(sc);
    return s;
}

/* *x = layer(*x) while s is BGM_OK; otherwise frees layer and passes s on. */
static bgm_status call(bgm_status s, bgm_node **x, bgm_layer *layer)
{
    bgm_node *in = *x;
    if (s != BGM_OK) {
        bgm_layer_free(layer);
        return s;
    }
    return bgm_layer_call(x, layer, &in, 1);
}

/* Conv2D (k x k, stride, SAME, no bias: BatchNorm shifts) -> BatchNorm [-> ReLU]. */
static bgm_status conv_bn(bgm_node **x, int64_t filters, int64_t k, int64_t stride, int relu)
{
    bgm_layer *conv = bgm_layer_conv2d(filters, k, BGM_ACT_LINEAR);
    bgm_status s = bgm_layer_set_strides(conv, stride, stride);
    if (s == BGM_OK) s = bgm_layer_set_padding(conv, BGM_PADDING_SAME);
    if (s == BGM_OK) s = bgm_layer_set_use_bias(conv, 0);
    if (s == BGM_OK) s = bgm_layer_set_kernel_initializer(conv, BGM_INIT_HE_NORMAL);
    s = call(s, x, conv);
    s = call(s, x, bgm_layer_batch_norm());
    return relu ? call(s, x, bgm_layer_activation(BGM_ACT_RELU)) : s;
}

/* A basic block: Conv-BN-ReLU-Conv-BN plus the shortcut, then ReLU. */
static bgm_status basic_block(bgm_node **x, int64_t filters, int64_t stride)
{
    bgm_node *h = *x, *shortcut = *x;
    bgm_status s = conv_bn(&h, filters, 3, stride, 1);
    if (s == BGM_OK) s = conv_bn(&h, filters, 3, 1, 0);
    if (s == BGM_OK && (stride != 1 || bgm_node_shape(*x, NULL)[2] != filters))
        s = conv_bn(&shortcut, filters, 1, stride, 0); /* 1x1 projection */
    if (s == BGM_OK) s = bgm_layer_call(x, bgm_layer_add(), (bgm_node *[]){h, shortcut}, 2);
    return call(s, x, bgm_layer_activation(BGM_ACT_RELU));
}

static bgm_status build(bgm_model **m, int64_t total_steps)
{
    bgm_graph *g = NULL;
    bgm_node *in = NULL, *x = NULL;
    bgm_optimizer *adam = NULL;
    bgm_lr_schedule *lr = NULL;
    int64_t warmup = total_steps / 10 < WARMUP_STEPS ? total_steps / 10 : WARMUP_STEPS;
    int stage, block;
    bgm_status s = bgm_graph_create(&g);
    if (s == BGM_OK) s = bgm_graph_input(&in, g, (int64_t[]){28, 28, 1}, 3, BGM_FLOAT32, "image");
    x = in;
    if (s == BGM_OK) s = conv_bn(&x, 16, 3, 1, 1); /* stem */
    for (stage = 0; stage < 3; stage++)            /* 16, 32, 64 filters */
        for (block = 0; block < 2 && s == BGM_OK; block++)
            s = basic_block(&x, (int64_t)16 << stage, stage > 0 && block == 0 ? 2 : 1);
    s = call(s, &x, bgm_layer_global_avg_pool2d());
    s = call(s, &x, bgm_layer_dense(10, BGM_ACT_LINEAR));
    if (s == BGM_OK) s = bgm_model_create_graph(m, &in, 1, &x, 1, /*seed*/ 42);
    bgm_graph_free(g); /* the model keeps what it needs */
    if (s == BGM_OK) s = bgm_optimizer_adam(&adam, PEAK_LR, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                            BGM_ADAM_EPSILON);
    if (s == BGM_OK) s = bgm_lr_schedule_cosine_decay(&lr, PEAK_LR, total_steps - warmup, 0.0f,
                                                      warmup, PEAK_LR / 10);
    if (s == BGM_OK) s = bgm_optimizer_set_schedule(adam, lr); /* adam keeps a copy */
    bgm_lr_schedule_free(lr);
    if (s == BGM_OK) {
        s = bgm_model_compile(*m, adam, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                              (bgm_metric_kind[]){BGM_METRIC_ACCURACY}, 1);
        adam = NULL; /* the model owns it now, even on error */
    }
    bgm_optimizer_free(adam);
    return s;
}

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    bgm_dataset *train = NULL, *test = NULL;
    bgm_model *m = NULL;
    bgm_history *history = NULL;
    bgm_fit_options fit;
    double results[2] = {0, 0};
    bgm_status s;
    int i;

    bgm_fit_options_init(&fit, sizeof fit);
    fit.epochs = 7;
    fit.batch_size = 64;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-e") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
            fit.epochs = atoi(argv[++i]);
        else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
            fit.batch_size = atoi(argv[++i]);
        else if (argv[i][0] != '-')
            dir = argv[i];
        else {
            fprintf(stderr, "usage: %s [-e EPOCHS] [-b BATCH_SIZE] [DIR]\n", argv[0]);
            return 2;
        }
    }

    s = load(&train, &test, dir);
    if (s == BGM_OK) /* the schedule spans every step of the run */
        s = build(&m, fit.epochs * ((bgm_dataset_size(train) + fit.batch_size - 1) /
                                    fit.batch_size));
    if (s == BGM_OK) s = bgm_model_summary(m, NULL, NULL);
    if (s == BGM_OK) s = bgm_model_fit_dataset(&history, m, train, test, &fit);
    if (s == BGM_OK) s = bgm_model_evaluate_dataset(results, 2, m, test, 256);
    if (s == BGM_OK)
        printf("test loss: %.4f - test accuracy: %.4f\n", results[0], results[1]);
    else
        fprintf(stderr, "%s: %s: %s\n", argv[0], bgm_status_string(s), bgm_last_error());

    bgm_history_free(history);
    bgm_model_free(m);
    bgm_dataset_free(train);
    bgm_dataset_free(test);
    return s == BGM_OK ? 0 : 1;
}
