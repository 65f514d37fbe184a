// A C++ program built against an installed libbigmodel by CMake
// (find_package, CMakeLists.txt here) and by pkg-config (test/check_install.sh):
// it fits y = 2 a - b + 1 with one Dense unit and checks the prediction at (4, 1).
#include <cmath>
#include <cstdio>
#include <memory>

#include <bigmodel.h>

namespace {

struct tensor_free { void operator()(bgm_tensor *t) const { bgm_tensor_free(t); } };
struct model_free { void operator()(bgm_model *m) const { bgm_model_free(m); } };
struct history_free { void operator()(bgm_history *h) const { bgm_history_free(h); } };
using tensor_ptr = std::unique_ptr<bgm_tensor, tensor_free>;

int fail(const char *what)
{
    std::fprintf(stderr, "consumer: %s: %s\n", what, bgm_last_error());
    return 1;
}

tensor_ptr matrix(const float *values, int64_t rows, int64_t cols)
{
    bgm_tensor *t = nullptr;
    const int64_t shape[2] = {rows, cols};
    bgm_tensor_from_data(&t, BGM_FLOAT32, shape, 2, values);
    return tensor_ptr(t);
}

}  // namespace

int main()
{
    if (bgm_version_number() != BGM_VERSION_NUMBER) {
        std::fprintf(stderr, "consumer: header %d, library %d\n", BGM_VERSION_NUMBER,
                     bgm_version_number());
        return 1;
    }
    const float xs[] = {0, 0, 1, 0, 0, 1, 1, 1, 2, 1, 1, 2}, probe[] = {4, 1};
    const float ys[] = {1, 3, 0, 2, 4, 1};
    tensor_ptr x = matrix(xs, 6, 2), y = matrix(ys, 6, 1), probe_x = matrix(probe, 1, 2);
    if (!x || !y || !probe_x)
        return fail("bgm_tensor_from_data");

    const int64_t sample[1] = {2};
    bgm_model *raw = nullptr;
    if (bgm_model_create(&raw, sample, 1, 42) != BGM_OK)
        return fail("bgm_model_create");
    std::unique_ptr<bgm_model, model_free> model(raw);
    bgm_optimizer *sgd = nullptr;
    if (bgm_model_add(raw, bgm_layer_dense(1, BGM_ACT_LINEAR)) != BGM_OK ||
        bgm_optimizer_sgd(&sgd, 0.05f, 0.0f, 0) != BGM_OK ||
        bgm_model_compile(raw, sgd, BGM_LOSS_MSE, 0, nullptr, 0) != BGM_OK)
        return fail("building the model");

    bgm_fit_options fo;
    bgm_fit_options_init(&fo, sizeof fo);
    fo.epochs = 500;
    fo.batch_size = 6;
    fo.verbose = 0;
    bgm_history *h = nullptr;
    if (bgm_model_fit(&h, raw, x.get(), y.get(), &fo) != BGM_OK)
        return fail("bgm_model_fit");
    std::unique_ptr<bgm_history, history_free> history(h);

    bgm_tensor *out = nullptr;
    if (bgm_model_predict(&out, raw, probe_x.get(), 0) != BGM_OK)
        return fail("bgm_model_predict");
    tensor_ptr pred(out);
    const float predicted = *static_cast<const float *>(bgm_tensor_data(pred.get()));
    std::printf("consumer: libbigmodel %s, predicted %.3f for (4, 1) (y = 2 a - b + 1: 8)\n",
                bgm_version_string(), predicted);
    return std::fabs(predicted - 8.0f) < 0.05f ? 0 : 1;
}
