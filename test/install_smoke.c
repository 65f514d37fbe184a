/* Built against an installed libbigmodel with pkg-config only (check_install.sh). */
#include <stdio.h>

#include <bigmodel.h>

int main(void)
{
    bgm_tensor *t = NULL;
    int64_t shape[] = {2, 2};
    if (bgm_version_number() != BGM_VERSION_NUMBER) {
        fprintf(stderr, "header %d, library %d\n", BGM_VERSION_NUMBER, bgm_version_number());
        return 1;
    }
    if (bgm_tensor_full(&t, BGM_FLOAT32, shape, 2, 1.5) != BGM_OK) {
        fprintf(stderr, "bgm_tensor_full: %s\n", bgm_last_error());
        return 1;
    }
    printf("libbigmodel %s: %lld elements\n", bgm_version_string(),
           (long long)bgm_tensor_numel(t));
    bgm_tensor_free(t);
    return 0;
}
