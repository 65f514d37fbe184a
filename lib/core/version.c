/* Runtime version getters. */
#include "bigmodel/core.h"

BGM_API int bgm_version_number(void) { return BGM_VERSION_NUMBER; }

BGM_API const char *bgm_version_string(void) { return BGM_VERSION_STRING; }
