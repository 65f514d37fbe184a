/* Atomic file replacement through a synced temporary file and rename(2). */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"

/* Keeps "<base>.tmp-<16 hex>" within NAME_MAX (255) for long base names. */
#define BASE_MAX 200
#define ATTEMPTS 100

static atomic_ulong counter;

static bgm_status io_fail(const char *func, const char *path, const char *what, int err)
{
    char reason[128];
    if (strerror_r(err, reason, sizeof reason) != 0)
        snprintf(reason, sizeof reason, "error %d", err);
    return bgm__fail(BGM_E_IO, "%s: %s: %s: %s", func, path, what, reason);
}

/* A 64-bit value that differs between processes, threads and attempts. */
static uint64_t unique_suffix(void)
{
    struct timespec ts;
    uint64_t x;
    clock_gettime(CLOCK_REALTIME, &ts);
    x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 40;
    x += (uint64_t)atomic_fetch_add(&counter, 1) * 0x9E3779B97F4A7C15ull;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    return x ^ x >> 29;
}

/* Opens a new temporary file beside path; writes its name to tmp (size n). */
static int open_temp(const char *path, char *tmp, size_t n)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    size_t baselen = strlen(path) - dirlen;
    int attempt, fd = -1;
    if (baselen > BASE_MAX)
        baselen = BASE_MAX;
    for (attempt = 0; attempt < ATTEMPTS; attempt++) {
        snprintf(tmp, n, "%.*s%.*s.tmp-%016llx", (int)dirlen, path, (int)baselen,
                 path + dirlen, (unsigned long long)unique_suffix());
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    return fd;
}

/* fsync of the folder holding path, so the rename itself is durable. dir
 * (strlen(path) + 2 bytes or more) receives the folder's name: nothing is
 * allocated once the new file is in place. */
static int sync_folder(const char *path, char *dir)
{
    const char *slash = strrchr(path, '/');
    int fd, err = 0;
    if (!slash)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    if (fsync(fd) != 0)
        err = errno;
    close(fd);
    /* Some filesystems cannot sync a folder; the rename is then as durable as
     * they make it. */
    return err == EINVAL ? 0 : err;
}

bgm_status bgm__atomic_write(const char *func, const char *path, bgm__atomic_write_fn write,
                             void *ctx)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    struct stat st;
    int fd, err = 0;
    FILE *f;
    if (!tmp)
        return bgm__fail(BGM_E_NOMEM, "%s: %s: out of memory", func, path);
    fd = open_temp(path, tmp, n);
    if (fd < 0) {
        err = errno;
        free(tmp);
        return io_fail(func, path, "cannot create a temporary file beside it", err);
    }
    /* Replacing a file keeps its permissions (best effort: a failure here
     * leaves the default 0666 & ~umask). */
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        (void)fchmod(fd, st.st_mode & 07777);
    f = fdopen(fd, "wb");
    if (!f) {
        err = errno;
        close(fd);
    } else {
        err = write(f, ctx);
        if (!err && fflush(f) != 0)
            err = errno;
        if (!err && fsync(fd) != 0)
            err = errno;
        if (fclose(f) != 0 && !err)
            err = errno;
    }
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        unlink(tmp);
        free(tmp);
        return io_fail(func, path, "write failed", err);
    }
    err = sync_folder(path, tmp);
    free(tmp);
    if (err)
        return io_fail(func, path, "the new file is in place but syncing its folder failed",
                       err);
    return BGM_OK;
}
