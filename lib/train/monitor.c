/*
 * What the monitoring callbacks (ModelCheckpoint, ReduceLROnPlateau) share:
 * the monitored value and its direction, their verbose lines, and making
 * the folders they write into.
 */
#include "train/train.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

bgm_status bgm__monitor_init(bgm__monitor *mon, const char *monitor, const char *mode,
                             const char *fn)
{
    if (strlen(monitor) == 0 || strlen(monitor) >= sizeof mon->name)
        return bgm__fail(BGM_E_INVALID, "%s: monitor must have 1 to %d bytes", fn,
                         (int)sizeof mon->name - 1);
    if (!mode || strcmp(mode, "auto") == 0)
        mon->maximize = bgm__monitor_auto_max(monitor);
    else if (strcmp(mode, "min") == 0 || strcmp(mode, "max") == 0)
        mon->maximize = mode[1] == 'a';
    else
        return bgm__fail(BGM_E_INVALID, "%s: mode = '%s', expected 'auto', 'min' or 'max'", fn,
                         mode);
    strcpy(mon->name, monitor);
    mon->best = mon->maximize ? -INFINITY : INFINITY;
    return BGM_OK;
}

int bgm__monitor_improved(const bgm__monitor *mon, double current, double delta)
{
    return mon->maximize ? current > mon->best + delta : current < mon->best - delta;
}

void bgm__train_say(const bgm__train_state *st, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (st->write)
        st->write(st->write_ctx, line);
}

bgm_status bgm__make_dirs(const char *path, int whole, const char *what)
{
    char dir[4096];
    size_t n = strlen(path), i;
    struct stat sb;
    if (!whole) {
        while (n > 0 && path[n - 1] != '/')
            n--;
    }
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n == 0 || (n == 1 && path[0] == '/'))
        return BGM_OK;
    if (n >= sizeof dir)
        return bgm__fail(BGM_E_IO, "%s: the folder of '%s' has a path of %zu bytes, longer "
                         "than %zu", what, path, n, sizeof dir - 1);
    memcpy(dir, path, n);
    dir[n] = '\0';
    if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
        return BGM_OK;
    for (i = 1; i <= n; i++) {
        if (i < n && dir[i] != '/')
            continue;
        dir[i] = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            return bgm__fail(BGM_E_IO, "%s: cannot create folder '%s' for '%s': %s", what, dir,
                             path, strerror(errno));
        if (i < n)
            dir[i] = '/';
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return bgm__fail(BGM_E_IO, "%s: cannot create folder '%s' for '%s': %s", what, dir,
                         path, "a file of that name is in the way");
    return BGM_OK;
}
