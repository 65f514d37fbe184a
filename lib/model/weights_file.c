/*
 * bgm_model_save_weights / bgm_model_load_weights: a model's weights alone
 * (Keras' save_weights), in a .bgm archive of the weight tensors in the
 * model's order, or in safetensors when the path ends in ".safetensors".
 * Loading matches weights by position and shape, as Keras matches a
 * weights file to a model of the same architecture, so a clone (other
 * layer names) reads its original's weights.
 */
#include "model/model_file.h"

#include <stdio.h>
#include <string.h>

#define WEIGHTS_FORMAT "bigmodel-weights"

static int is_safetensors(const char *path)
{
    size_t n = strlen(path), k = strlen(".safetensors");
    return n >= k && strcmp(path + n - k, ".safetensors") == 0;
}

BGM_API bgm_status bgm_model_save_weights(const bgm_model *m, const char *path)
{
    static const char *fn = "bgm_model_save_weights";
    bgm_archive *a = NULL;
    bgm_status s;
    int i;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(path, fn);
    if (is_safetensors(path))
        return bgm_model_save_weights_safetensors(m, path);
    s = bgm_archive_create(&a);
    if (s == BGM_OK)
        s = bgm_archive_add_string(a, "weights.format", WEIGHTS_FORMAT);
    if (s == BGM_OK)
        s = bgm_archive_add_int64(a, "weights.count", m->nweights);
    for (i = 0; s == BGM_OK && i < m->nweights; i++)
        s = bgm_archive_add_tensor(a, m->weights[i].name, m->weights[i].view);
    if (s == BGM_OK)
        s = bgm_archive_save(a, path, 0);
    bgm_archive_free(a);
    return s;
}

/* Checks that the weight tensors of a (all but the optimizer's slots, so a
 * model file serves too) match m's weights one by one. */
static bgm_status check_match(const bgm_model *m, const bgm_archive *a, const char *path,
                              const char *fn)
{
    char want[BGM__SHAPE_STR_SIZE], got[BGM__SHAPE_STR_SIZE];
    int64_t n = bgm_archive_num_tensors(a), t;
    int i = 0;
    for (t = 0; t < n; t++) {
        const char *name = bgm_archive_tensor_name(a, t);
        const bgm_tensor *x = NULL;
        const bgm__weight *w = i < m->nweights ? &m->weights[i] : NULL;
        if (strcmp(name, BGM__SLOTS_TENSOR) == 0)
            continue;
        bgm_archive_find_tensor(&x, a, name);
        if (!w)
            return bgm__fail(BGM_E_SHAPE, "%s: %s holds more weights than the model's %d: "
                             "the first extra one is '%.128s' %s", fn, path, m->nweights,
                             name, bgm__shape_str(got, sizeof got, bgm_tensor_shape(x),
                                                  bgm_tensor_ndim(x)));
        if (bgm_tensor_dtype(x) != BGM_FLOAT32 || bgm_tensor_ndim(x) != bgm_tensor_ndim(w->view) ||
            memcmp(bgm_tensor_shape(x), bgm_tensor_shape(w->view),
                   (size_t)bgm_tensor_ndim(x) * sizeof(int64_t)) != 0)
            return bgm__fail(BGM_E_SHAPE, "%s: %s is the weights of another architecture: "
                             "weight %d of the model, '%s', is float32 %s, but the file's "
                             "weight %d, '%.128s', is %s %s", fn, path, i, w->name,
                             bgm__shape_str(want, sizeof want, bgm_tensor_shape(w->view),
                                            bgm_tensor_ndim(w->view)),
                             i, name, bgm_tensor_dtype(x) == BGM_FLOAT32 ? "float32" : "int32",
                             bgm__shape_str(got, sizeof got, bgm_tensor_shape(x),
                                            bgm_tensor_ndim(x)));
        i++;
    }
    if (i < m->nweights)
        return bgm__fail(BGM_E_SHAPE, "%s: %s holds %d weights, fewer than the model's %d: "
                         "the model's weight '%s' has none", fn, path, i, m->nweights,
                         m->weights[i].name);
    return BGM_OK;
}

BGM_API bgm_status bgm_model_load_weights(bgm_model *m, const char *path)
{
    static const char *fn = "bgm_model_load_weights";
    char msg[900];
    bgm_archive *a = NULL;
    bgm_status s;
    int64_t t, n;
    int i = 0;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(path, fn);
    if (is_safetensors(path))
        return bgm_model_load_weights_safetensors(m, path);
    s = bgm_archive_load(&a, path);
    if (s != BGM_OK) {
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        return bgm__fail(s, "%s: %s", fn, msg);
    }
    if (bgm_archive_meta_type(a, "weights.format") == BGM_META_NONE &&
        bgm_archive_meta_type(a, "model.type") == BGM_META_NONE)
        s = bgm__fail(BGM_E_FORMAT, "%s: %s is neither a weights file (save_weights) nor a "
                      "model file", fn, path);
    if (s == BGM_OK)
        s = check_match(m, a, path, fn);
    n = bgm_archive_num_tensors(a);
    for (t = 0; s == BGM_OK && t < n; t++) {
        const char *name = bgm_archive_tensor_name(a, t);
        if (strcmp(name, BGM__SLOTS_TENSOR) != 0)
            s = bgm_archive_copy_tensor(m->weights[i++].view, a, name);
    }
    bgm_archive_free(a);
    return s;
}
