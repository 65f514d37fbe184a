/* libFuzzer target: a text corpus file (plain or gzip) made into a dataset
 * by bgm_text_dataset_from_files (reading, cleaning, tokenizing, building
 * the vocabulary, padding). The first input byte picks the options
 * (cleaning with or without e-mail header stripping and lower-casing,
 * sequence length, padding and truncating sides, min_count). */
#define _GNU_SOURCE /* memfd_create, memfile.h */
#include <stddef.h>
#include <stdint.h>

#include "bigmodel.h"
#include "memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t lengths[4] = {0, 1, 5, 64};
    bgm_text_clean_options c;
    bgm_text_dataset_options o;
    bgm_dataset *ds = NULL;
    bgm_vocab *v = NULL;
    const char *path;
    const int32_t label = 0;
    uint8_t pick;
    if (size < 1)
        return 0;
    pick = data[0];
    bgm_text_clean_options_init(&c);
    c.strip_headers = pick & 1;
    c.lowercase = (pick >> 1) & 1;
    bgm_text_dataset_options_init(&o);
    o.clean = &c;
    o.sequence_length = lengths[(pick >> 2) & 3];
    o.padding = (pick >> 4) & 1 ? BGM_PAD_POST : BGM_PAD_PRE;
    o.truncating = (pick >> 5) & 1 ? BGM_PAD_POST : BGM_PAD_PRE;
    o.min_count = 1 + ((pick >> 6) & 1);
    c.strip_digits = (pick >> 7) & 1;
    path = fuzz_memfile(data + 1, size - 1);
    if (bgm_text_dataset_from_files(&ds, &v, &path, &label, 1, &o) == BGM_OK) {
        bgm_dataset_free(ds);
        bgm_vocab_free(v);
    }
    return 0;
}
