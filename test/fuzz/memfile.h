/* Fuzz-target helper: the loaders that read a path (plain or gzip files
 * through lib/data/fileio.c) are fed from an in-memory file, a memfd named
 * /proc/self/fd/N, rewritten for every input, so no disk is touched. */
#ifndef BGM_FUZZ_MEMFILE_H
#define BGM_FUZZ_MEMFILE_H

/* memfd_create needs _GNU_SOURCE before the first system header: a target
 * defines it on its first line. */
#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before any #include to use memfile.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Replaces the memory file's contents with data[0..size) and returns its
 * path (static storage); aborts when the kernel refuses, which is a
 * harness failure, not a finding. */
static const char *fuzz_memfile(const void *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    const char *p = data;
    size_t done = 0;
    if (fd < 0) {
        fd = memfd_create("bgm-fuzz", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) {
        perror("ftruncate");
        abort();
    }
    while (done < size) {
        ssize_t w = pwrite(fd, p + done, size - done, (off_t)done);
        if (w <= 0) {
            perror("pwrite");
            abort();
        }
        done += (size_t)w;
    }
    return path;
}

#endif
