/* Every layer kind, for model files and configs. A new kind adds its line here. */
#include "layers/layer.h"

#include <string.h>

static const bgm__layer_ops *const kinds[] = {
    &bgm__dense_ops,         &bgm__conv2d_ops,       &bgm__max_pool2d_ops,
    &bgm__avg_pool2d_ops,    &bgm__global_avg_pool2d_ops, &bgm__flatten_ops,
    &bgm__dropout_ops,       &bgm__batch_norm_ops,   &bgm__activation_ops,
    &bgm__embedding_ops,     &bgm__lstm_ops,         &bgm__gru_ops,
    &bgm__bidirectional_ops, &bgm__add_ops,          &bgm__subtract_ops,
    &bgm__multiply_ops,      &bgm__average_ops,      &bgm__maximum_ops,
    &bgm__minimum_ops,       &bgm__concatenate_ops,  &bgm__reshape_ops,
    &bgm__permute_ops,       &bgm__zero_padding2d_ops, &bgm__conv1d_ops,
    &bgm__position_embedding_ops, &bgm__sine_position_encoding_ops,
    &bgm__multi_head_attention_ops,
    &bgm__layer_norm_ops,    &bgm__rms_norm_ops,     &bgm__global_avg_pool1d_ops,
    &bgm__rescaling_ops,     &bgm__normalization_ops, &bgm__text_vectorization_ops,
};

const bgm__layer_ops *bgm__layer_kind_by_name(const char *kind)
{
    size_t i;
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i]->kind, kind) == 0)
            return kinds[i];
    return NULL;
}
