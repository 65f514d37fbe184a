/* Size-versioned options structs: filling a caller's struct of any known
 * version with defaults, and reading one over the library's defaults. */
#include "core/options.h"

#include <string.h>

#include "core/error.h"

/* Copies size bytes from src to dst once size is checked against v1..full,
 * then stores stored_size as dst's size field. */
static bgm_status copy_checked(void *dst, const void *src, size_t size, size_t stored_size,
                               size_t v1, size_t full, const char *type, const char *init,
                               const char *fn)
{
    if (size < v1)
        return bgm__fail(BGM_E_INVALID, "%s: options size (struct_size) = %zu is smaller than "
                         "any version of %s (%zu); fill them with %s(&opts, sizeof opts)",
                         fn, size, type, v1, init);
    if (size > full)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: options size (struct_size) = %zu is larger "
                         "than this library's %s (%zu): the caller was built against a "
                         "newer header", fn, size, type, full);
    memcpy(dst, src, size);
    memcpy(dst, &stored_size, sizeof stored_size);
    return BGM_OK;
}

bgm_status bgm__options_fill(void *opts, size_t size, const void *defaults, size_t v1,
                             size_t full, const char *type, const char *init)
{
    if (!opts)
        return bgm__fail(BGM_E_INVALID, "%s: opts is NULL", init);
    return copy_checked(opts, defaults, size, size, v1, full, type, init, init);
}

bgm_status bgm__options_read(void *dst, size_t full, const void *src, size_t v1,
                             const char *type, const char *init, const char *fn)
{
    size_t size;
    memcpy(&size, src, sizeof size);
    return copy_checked(dst, src, size, full, v1, full, type, init, fn);
}
