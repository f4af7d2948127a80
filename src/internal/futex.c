#include "internal/futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

int weft__futex_wait(uint32_t *addr, uint32_t expected, const struct timespec *abs,
                     bool shared)
{
    /* FUTEX_WAIT_BITSET takes an absolute timeout on CLOCK_MONOTONIC (plain
     * FUTEX_WAIT takes a relative one), which is what our deadlines are. */
    int op = FUTEX_WAIT_BITSET | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    long rc = syscall(SYS_futex, addr, op, expected, abs, NULL, FUTEX_BITSET_MATCH_ANY);
    if (rc == 0)
        return 0;
    switch (errno) {
    case EAGAIN:
        return -EAGAIN;
    case ETIMEDOUT:
        return -ETIMEDOUT;
    case EINTR:
        return -EINTR;
    default:
        return -errno;
    }
}

int weft__futex_wake(uint32_t *addr, int n, bool shared)
{
    int op = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    long rc = syscall(SYS_futex, addr, op, n, NULL, NULL, 0);
    return rc < 0 ? 0 : (int)rc;
}
