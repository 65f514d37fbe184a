/* In-memory safetensors import, for the fuzz target. */
#ifndef BGM_IO_SAFETENSORS_H
#define BGM_IO_SAFETENSORS_H

#include "bigmodel/io.h"

/* Same as bgm_archive_load_safetensors, from size bytes at data (messages
 * call it "<memory>"). */
bgm_status bgm__safetensors_parse(bgm_archive **out, const void *data, size_t size);

#endif
