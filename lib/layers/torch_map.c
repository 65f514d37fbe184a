/* Building a layer's PyTorch tensor list (see torch_map.h). */
#include "layers/torch_map.h"

#include <stdio.h>
#include <string.h>

bgm__torch_param *bgm__torch_add(bgm__torch_map *map, const char *param, const char *suffix,
                                 int weight, bgm__torch_layout layout, int ndim, int64_t d0,
                                 int64_t d1, int64_t d2, int64_t d3)
{
    bgm__torch_param *e = &map->params[map->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%d.%s%s", map->index, param, suffix);
    e->weight = weight < 0 ? -1 : map->first_weight + weight;
    e->layout = layout;
    e->ndim = ndim;
    e->shape[0] = d0;
    e->shape[1] = d1;
    e->shape[2] = d2;
    e->shape[3] = d3;
    return e;
}
