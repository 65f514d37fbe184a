/* Size-versioned options structs (docs/abi.md): each starts with a size_t
 * size, set by its init function to the sizeof the caller compiled with;
 * fields appended later keep their defaults for older callers. */
#ifndef BGM_CORE_OPTIONS_H
#define BGM_CORE_OPTIONS_H

#include <stddef.h>

#include "bigmodel/core.h"

/* Rounds the end of a struct's last field up to the size_t alignment: the
 * sizeof a version of the struct ending there had. */
#define BGM__OPTIONS_SIZE(type, last)                                                    \
    ((offsetof(type, last) + sizeof(((type *)0)->last) + sizeof(size_t) - 1) /          \
     sizeof(size_t) * sizeof(size_t))

/* The body of an init(opts, size): copies the first size bytes of defaults
 * (full bytes) to opts and sets its size. Errors: BGM_E_INVALID (NULL opts,
 * size < v1), BGM_E_UNSUPPORTED (size > full), messages naming init. */
bgm_status bgm__options_fill(void *opts, size_t size, const void *defaults, size_t v1,
                             size_t full, const char *type, const char *init);

/* dst (full bytes) holds the defaults: copies over it the fields the
 * caller's src covers and sets dst's size to full. Errors as above,
 * naming fn and pointing at init. */
bgm_status bgm__options_read(void *dst, size_t full, const void *src, size_t v1,
                             const char *type, const char *init, const char *fn);

/* Defines the init functions of options struct type: name##_v2(opts, size),
 * filling from defaults_fn (which sets every field of the full struct), and
 * the void name(opts) of the struct_size era, which fills v1 bytes. */
#define BGM__OPTIONS_INIT_FUNCTIONS(type, name, defaults_fn, v1)                         \
    BGM_API bgm_status name##_v2(type *opts, size_t size)                                \
    {                                                                                    \
        type d;                                                                          \
        defaults_fn(&d);                                                                 \
        return bgm__options_fill(opts, size, &d, (v1), sizeof d, #type, #name "_v2");    \
    }                                                                                    \
    BGM_API void name(type *opts)                                                        \
    {                                                                                    \
        if (opts)                                                                        \
            (void)name##_v2(opts, (v1));                                                 \
    }

#endif
