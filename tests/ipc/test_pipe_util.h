/* Helpers shared by the Pipe tests (not a test program itself). */
#ifndef WEFT_TEST_PIPE_UTIL_H
#define WEFT_TEST_PIPE_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc/pipe_internal.h"
#include "weft/ipc.h"
#include "weft_test.h"

/* The byte at index i of test message `seed`: varies with both, so a message
 * shifted, truncated or swapped with another does not compare equal. */
static inline unsigned char p_byte(uint32_t seed, size_t i)
{
    return (unsigned char)((i * 131u + seed * 7u + (i >> 8)) ^ (seed >> 3));
}

static inline void p_fill(unsigned char *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = p_byte(seed, i);
}

/* True when p[0..n) is exactly what p_fill(.., seed) wrote. */
static inline bool p_check(const unsigned char *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != p_byte(seed, i))
            return false;
    return true;
}

/* Write all of p to a raw fd (the tests' way to craft a stream). */
static inline bool p_write_raw(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EAGAIN) {
            weft_test_sleep(0.001);
            continue;
        }
        if (k <= 0)
            return false;
        b += k;
        n -= (size_t)k;
    }
    return true;
}

/* A wire header for a payload of len bytes (check word valid). */
static inline weft__conn_hdr p_hdr(uint32_t len)
{
    return (weft__conn_hdr){.len = len, .check = len ^ WEFT__CONN_MAGIC};
}

/* Wait for a child and return its exit status, or -1 if it did not exit
 * normally (-2 - signal number if it was killed). */
static inline int p_wait(pid_t pid)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    if (WIFSIGNALED(st))
        return -2 - WTERMSIG(st);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
