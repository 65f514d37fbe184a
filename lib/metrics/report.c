/* The text classification report, laid out exactly as scikit-learn's
 * classification_report (Python's str.format rules rebuilt with printf). */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classification.h"
#include "confusion.h"
#include "core/error.h"

/* An snprintf-style writer: keeps counting once the buffer is full. */
typedef struct writer {
    char *buf;
    size_t size, used;  /* used counts every byte of the text, written or not */
} writer;

static void put(writer *w, const char *fmt, ...) BGM__PRINTF(2, 3);
static void put(writer *w, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *dst = NULL;
    size_t room = 0;
    if (w->used < w->size) {
        dst = w->buf + w->used;
        room = w->size - w->used;
    }
    va_start(ap, fmt);
    n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->used += (size_t)n;
}

/* Python's len() of a UTF-8 string: continuation bytes do not count. */
static size_t code_points(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* "{:>{width}s}": the name right-aligned in width code points. */
static void put_name(writer *w, const char *name, size_t width)
{
    size_t len = code_points(name);
    put(w, "%*s%s", (int)(width > len ? width - len : 0), "", name);
}

static void put_row(writer *w, const char *name, size_t width, const bgm__prf *s,
                    int64_t support, int digits)
{
    put_name(w, name, width);
    put(w, "  %9.*f %9.*f %9.*f %9lld\n", digits, s->precision, digits, s->recall,
        digits, s->f1, (long long)support);
}

/* Class c's name: the caller's, or its id as sklearn's "%s" % label gives it. */
static const char *class_name(char *tmp, size_t size, const char *const *names, int c)
{
    if (names)
        return names[c];
    snprintf(tmp, size, "%d", c);
    return tmp;
}

static void write_report(writer *w, const int64_t *cm, int num_classes,
                         const bgm_report_options *o, double *scratch, int *flags)
{
    const char *const *names = o->class_names;
    const int digits = o->digits, listed = o->num_labels ? o->num_labels : num_classes;
    const double zd = o->zero_division;
    static const char *const averages[] = {"macro avg", "weighted avg"};
    static const bgm_average average_kinds[] = {BGM_AVERAGE_MACRO, BGM_AVERAGE_WEIGHTED};
    char tmp[16];
    size_t width = strlen("weighted avg"), len;
    int64_t total = 0, support;
    int c, i, every_class_seen = 1;
    bgm__prf s;
    for (c = 0; c < listed; c++) {
        len = code_points(class_name(tmp, sizeof tmp, names, c));
        if (len > width)
            width = len;
    }
    if ((size_t)digits > width)
        width = (size_t)digits;
    put(w, "%*s  %9s %9s %9s %9s\n\n", (int)width, "", "precision", "recall", "f1-score",
        "support");
    for (c = 0; c < num_classes; c++) {
        int64_t predicted = 0;
        int ignored = 0; /* an unlisted class's undefined values are not reported */
        bgm__prf_class(&s, &support, c < listed ? flags : &ignored, cm, num_classes, c, zd);
        for (i = 0; i < num_classes; i++)
            predicted += cm[(int64_t)i * num_classes + c];
        /* a class not listed but present, or listed and absent */
        every_class_seen &= (c < listed) == (support > 0 || predicted > 0);
        if (c >= listed)
            continue;
        put_row(w, class_name(tmp, sizeof tmp, names, c), width, &s, support, digits);
        total += support;
    }
    put(w, "\n");
    /* sklearn prints micro averaging as "accuracy" (one number) only when the
     * labels it was given are exactly the labels present in the data */
    bgm__prf_average(&s, flags, cm, num_classes, listed, BGM_AVERAGE_MICRO, 0, zd, scratch);
    if (every_class_seen) {
        put_name(w, "accuracy", width);
        put(w, "  %9s %9s %9.*f %9lld\n", "", "", digits, s.f1, (long long)total);
    } else {
        put_row(w, "micro avg", width, &s, total, digits);
    }
    for (i = 0; i < 2; i++) {
        bgm__prf_average(&s, flags, cm, num_classes, listed, average_kinds[i], 0, zd,
                         scratch);
        put_row(w, averages[i], width, &s, total, digits);
    }
}

/* Both report functions, with checked options o. */
static bgm_status report(char *buf, size_t size, size_t *needed, int *zero_division,
                         const bgm_tensor *y_true, const bgm_tensor *y_pred, int num_classes,
                         const bgm_report_options *o, const char *func)
{
    const char *const *class_names = o->class_names;
    const int digits = o->digits;
    writer w = {buf, size, 0};
    int64_t *cm = NULL;
    double *scratch = NULL;
    int c, flags = 0;
    bgm_status s;
    if (needed)
        *needed = 0;
    if (zero_division)
        *zero_division = 0;
    if (buf && size > 0)
        buf[0] = '\0';
    if (!buf && size > 0)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'buf' is NULL with size %zu", func,
                         size);
    BGM__CHECK_NULL(y_true, func);
    BGM__CHECK_NULL(y_pred, func);
    if (digits < 0 || digits > 30)
        return bgm__fail(BGM_E_INVALID, "%s: digits must be in 0..30, got %d", func,
                         digits);
    if (o->num_labels < 0 || o->num_labels > num_classes)
        return bgm__fail(BGM_E_INVALID, "%s: num_labels = %d, expected 0 (all) to "
                         "num_classes = %d", func, o->num_labels, num_classes);
    if (!isfinite(o->zero_division))
        return bgm__fail(BGM_E_INVALID, "%s: zero_division = %g is not finite", func,
                         o->zero_division);
    for (c = 0; class_names && c < (o->num_labels ? o->num_labels : num_classes); c++)
        if (!class_names[c])
            return bgm__fail(BGM_E_INVALID, "%s: class_names[%d] is NULL", func, c);
    s = bgm__confusion_from_tensors(&cm, func, y_true, y_pred, num_classes);
    if (s != BGM_OK)
        return s;
    scratch = calloc(BGM__PRF_SCRATCH(num_classes), sizeof *scratch);
    if (!scratch) {
        free(cm);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    }
    write_report(&w, cm, num_classes, o, scratch, &flags);
    free(scratch);
    free(cm);
    if (needed)
        *needed = w.used + 1;
    if (zero_division)
        *zero_division = flags;
    return BGM_OK;
}

BGM_API bgm_status bgm_classification_report(char *buf, size_t size, size_t *needed,
                                             int *zero_division,
                                             const bgm_tensor *y_true,
                                             const bgm_tensor *y_pred,
                                             int num_classes,
                                             const char *const *class_names,
                                             int digits)
{
    bgm_report_options o;
    bgm_report_options_init(&o, sizeof o);
    o.class_names = class_names;
    o.digits = digits;
    return report(buf, size, needed, zero_division, y_true, y_pred, num_classes, &o,
                  "bgm_classification_report");
}

/* The fields of the first published bgm_report_options. */
#define REPORT_OPTIONS_V1_SIZE (offsetof(bgm_report_options, num_labels) + sizeof(int))

BGM_API bgm_status bgm_report_options_init(bgm_report_options *opts, size_t size)
{
    static const char func[] = "bgm_report_options_init";
    BGM__CHECK_NULL(opts, func);
    if (size < REPORT_OPTIONS_V1_SIZE || size > sizeof *opts)
        return bgm__fail(size < REPORT_OPTIONS_V1_SIZE ? BGM_E_INVALID : BGM_E_UNSUPPORTED,
                         "%s: size %zu, expected sizeof(bgm_report_options) = %zu from this "
                         "library's header", func, size, sizeof *opts);
    memset(opts, 0, size);
    opts->size = size;
    opts->digits = 2;
    return BGM_OK;
}

BGM_API bgm_status bgm_classification_report_ex(char *buf, size_t size, size_t *needed,
                                                int *zero_division,
                                                const bgm_tensor *y_true,
                                                const bgm_tensor *y_pred, int num_classes,
                                                const bgm_report_options *opts)
{
    static const char func[] = "bgm_classification_report_ex";
    bgm_report_options o;
    bgm_report_options_init(&o, sizeof o);
    if (opts) {
        if (opts->size < REPORT_OPTIONS_V1_SIZE || opts->size > sizeof o)
            return bgm__fail(BGM_E_INVALID, "%s: opts->size = %zu; initialize the options "
                             "with bgm_report_options_init", func, opts->size);
        memcpy(&o, opts, opts->size);
    }
    return report(buf, size, needed, zero_division, y_true, y_pred, num_classes, &o, func);
}
