/* Layer configs as JSON trees, shared by bgm_layer_from_config and the
 * model configs of model_json.c. */
#ifndef BGM_MODEL_LAYER_JSON_H
#define BGM_MODEL_LAYER_JSON_H

#include "io/json_value.h"
#include "layers/layer.h"

/* The layer of v, {"class_name": ..., "config": {...}} (other keys
 * ignored), configured and checked; wrapped: inside a Bidirectional (no
 * name, no wrapped layer of its own). Errors name fn and byte offsets. */
bgm_status bgm__layer_from_jv(bgm_layer **out, const bgm__jv *v, const char *fn, int wrapped);

/* Parses json (NUL-terminated) into *out (free with bgm__jv_free); fails
 * with "fn: malformed JSON: ... at offset k". */
bgm_status bgm__json_parse(bgm__jv **out, const char *json, const char *fn);

#endif
