/* libFuzzer target: the JSON configs, bgm_layer_from_config and
 * bgm_model_from_json (the JSON reader, the layer fields and Keras'
 * defaults, keras_history resolution, then the model file's graph checks).
 * A model that builds also runs predict on one zero sample. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bigmodel.h"

#include "try_predict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    bgm_layer *l = NULL;
    bgm_model *m = NULL;
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (bgm_layer_from_config(&l, text) == BGM_OK)
        bgm_layer_free(l);
    if (bgm_model_from_json(&m, text, 1) == BGM_OK) {
        try_predict(m);
        bgm_model_free(m);
    }
    free(text);
    return 0;
}
