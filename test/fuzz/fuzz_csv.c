/* libFuzzer target: CSV parsing. The first input byte picks the options
 * (header, skipped lines, label column or name, label dtype, delimiter), the
 * rest is the file. */
#include <stddef.h>
#include <stdint.h>

#include "data/parsers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[4] = {',', '\t', ';', ' '};
    static const int labels[4] = {-1, 0, 1, -2};
    bgm_csv_options o;
    bgm_dataset *ds = NULL;
    uint8_t pick;
    if (size < 1)
        return 0;
    pick = data[0];
    bgm_csv_options_init(&o);
    o.has_header = pick & 1;
    o.skip_lines = (pick >> 1) & 1;
    o.label_column = labels[(pick >> 2) & 3];
    o.label_dtype = (pick >> 4) & 1 ? BGM_FLOAT32 : BGM_INT32;
    o.delimiter = delims[(pick >> 5) & 3];
    o.no_label = (pick >> 7) & !o.has_header;
    if ((pick >> 7) && o.has_header)
        o.label_name = "y";
    if (bgm__csv_parse(&ds, "fuzz", "input", (const char *)data + 1, size - 1, &o) ==
        BGM_OK)
        bgm_dataset_free(ds);
    return 0;
}
