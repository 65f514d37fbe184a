/*
 * Size-versioned options structs (bgm_fit_options, bgm_compile_options):
 * the checks their *_init functions and their readers share, so a caller
 * built against an older header keeps working and a newer one is told why not.
 */
#include "train/train.h"

bgm_status bgm__options_init_check(size_t size, size_t v1, size_t full, const char *type,
                                   const char *fn)
{
    if (size < v1)
        return bgm__fail(BGM_E_INVALID, "%s: size = %zu is smaller than any version of "
                         "%s (%zu)", fn, size, type, v1);
    if (size > full)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: size = %zu is larger than this library's "
                         "%s (%zu): the caller was built against a newer header", fn, size,
                         type, full);
    return BGM_OK;
}

bgm_status bgm__options_read_check(size_t size, size_t v1, size_t full, const char *init,
                                   const char *fn)
{
    if (size < v1 || size > full)
        return bgm__fail(BGM_E_INVALID, "%s: opts->size = %zu; fill the options with "
                         "%s(&opts, sizeof opts)", fn, size, init);
    return BGM_OK;
}
