/*
 * Keras-style progress output of fit, character for character:
 *     Epoch 3/10
 *     1875/1875 [==============================] - 9s 5ms/step - loss: 0.3011 - accuracy: 0.8897
 * On a terminal (verbose 1, default output) the bar is rewritten in place
 * with a carriage return while the epoch runs, as Keras' Progbar does.
 */
#include "train/train.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 30
#define UPDATE_INTERVAL 0.05 /* seconds between in-place redraws (Keras' interval) */

double bgm__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void write_stdout(void *ctx, const char *text)
{
    (void)ctx;
    fputs(text, stdout);
    fflush(stdout);
}

void bgm__progress_init(bgm__progress *p, int verbose, bgm_write_fn write, void *ctx)
{
    memset(p, 0, sizeof *p);
    p->verbose = verbose;
    p->write = write ? write : write_stdout;
    p->ctx = ctx;
    p->in_place = verbose == 1 && !write && isatty(fileno(stdout));
}

void bgm__progress_epoch_begin(bgm__progress *p, int epoch, int epochs, int64_t steps)
{
    char line[64];
    p->target = steps;
    p->start = p->last_update = bgm__now();
    p->last_width = 0;
    if (p->verbose <= 0)
        return;
    snprintf(line, sizeof line, "Epoch %d/%d\n", epoch + 1, epochs);
    p->write(p->ctx, line);
}

static size_t append(char *buf, size_t size, size_t used, const char *fmt, double v)
{
    int n;
    if (used >= size)
        return used;
    n = snprintf(buf + used, size - used, fmt, v);
    return n < 0 ? used : used + (size_t)n;
}

void bgm__progress_format(char *buf, size_t size, int64_t current, int64_t target,
                          double elapsed, int final, const bgm_logs *logs)
{
    int digits = 1, i;
    int64_t t, fill;
    size_t used;
    double per_step = current > 0 ? elapsed / (double)current : 0.0;
    if (size == 0)
        return;
    for (t = target; t >= 10; t /= 10)
        digits++;
    used = (size_t)snprintf(buf, size, "%*lld/%lld [", digits, (long long)current,
                            (long long)target);
    fill = target > 0 ? (int64_t)(BAR_WIDTH * (double)current / (double)target) : BAR_WIDTH;
    if (fill > BAR_WIDTH)
        fill = BAR_WIDTH;
    for (i = 0; i < BAR_WIDTH && used + 1 < size; i++) {
        char c = '.';
        if (i < fill - 1)
            c = '=';
        else if (i == fill - 1)
            c = current < target ? '>' : '=';
        buf[used++] = c;
    }
    if (used + 1 < size)
        buf[used++] = ']';
    buf[used < size ? used : size - 1] = '\0';
    if (!final) {
        double eta = per_step * (double)(target - current);
        long e = (long)eta;
        if (eta > 3600)
            used += (size_t)snprintf(buf + used, used < size ? size - used : 0,
                                     " - ETA: %ld:%02ld:%02ld", e / 3600, (e % 3600) / 60,
                                     e % 60);
        else if (eta > 60)
            used += (size_t)snprintf(buf + used, used < size ? size - used : 0,
                                     " - ETA: %ld:%02ld", e / 60, e % 60);
        else
            used += (size_t)snprintf(buf + used, used < size ? size - used : 0,
                                     " - ETA: %lds", e);
    } else {
        used = append(buf, size, used, " - %.0fs", elapsed);
        if (per_step >= 1 || per_step == 0)
            used = append(buf, size, used, " %.0fs/step", per_step);
        else if (per_step >= 1e-3)
            used = append(buf, size, used, " %.0fms/step", per_step * 1e3);
        else
            used = append(buf, size, used, " %.0fus/step", per_step * 1e6);
    }
    for (i = 0; logs && i < logs->n && used < size; i++) {
        double v = logs->values[i];
        used += (size_t)snprintf(buf + used, size - used, " - %s:", logs->names[i]);
        used = append(buf, size, used, v > 1e-3 || v < -1e-3 ? " %.4f" : " %.4e", v);
    }
}

/* Writes line in place of the previous one, padding over its leftovers. */
static void rewrite(bgm__progress *p, const char *line, const char *end)
{
    char buf[2048];
    size_t n = strlen(line);
    size_t pad = p->last_width > n ? p->last_width - n : 0;
    if (pad > 512)
        pad = 512;
    snprintf(buf, sizeof buf, "\r%s%*s%s", line, (int)pad, "", end);
    p->write(p->ctx, buf);
    p->last_width = n;
}

int bgm__progress_due(const bgm__progress *p, int64_t step)
{
    if (!p->in_place || step >= p->target)
        return 0;
    return step <= 1 || bgm__now() - p->last_update >= UPDATE_INTERVAL;
}

void bgm__progress_update(bgm__progress *p, int64_t step, const bgm_logs *logs)
{
    char line[1536];
    double now;
    if (!bgm__progress_due(p, step))
        return;
    now = bgm__now();
    p->last_update = now;
    bgm__progress_format(line, sizeof line, step, p->target, now - p->start, 0, logs);
    rewrite(p, line, "");
}

void bgm__progress_epoch_end(bgm__progress *p, int64_t steps, const bgm_logs *logs)
{
    char line[1536];
    if (p->verbose <= 0)
        return;
    bgm__progress_format(line, sizeof line, steps, p->target, bgm__now() - p->start, 1,
                         logs);
    if (p->in_place) {
        rewrite(p, line, "\n");
    } else {
        size_t n = strlen(line);
        if (n + 1 < sizeof line) {
            line[n] = '\n';
            line[n + 1] = '\0';
        }
        p->write(p->ctx, line);
    }
}
