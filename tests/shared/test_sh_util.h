/* Helpers for the shared-synchronisation tests (tests/shared/test_sh*.c): shared
 * memory, child processes and threads. Not a test program itself. */
#ifndef WEFT_TEST_SH_UTIL_H
#define WEFT_TEST_SH_UTIL_H

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft_test.h"

#define t_now weft_test_now
#define t_sleep weft_test_sleep

/* Anonymous shared memory, inherited by fork() children. */
static inline void *sh_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    return p;
}

static inline void sh_unmap(void *p, size_t size)
{
    assert_int_equal(munmap(p, size), 0);
}

/* Run fn(arg) in a child process, which leaves with _exit(fn's value) and never
 * returns into cmocka. The value is the child's verdict: 0 means all its checks
 * passed. */
static inline pid_t sh_spawn(int (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(arg));
    return pid;
}

/* Wait for a child; returns its exit status (or 128 + signal). */
static inline int sh_reap(pid_t pid)
{
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
}

/* In a child: fail (exit status = line) unless cond holds. */
#define CHILD_CHECK(cond)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return __LINE__ % 200 + 1;                                                             \
    } while (0)

/* Spin (yielding) until *p reaches at least v; false after 10 s. Works across
 * processes on shared memory. */
static inline bool sh_await(const int *p, int v)
{
    double end = t_now() + 10;
    while (__atomic_load_n(p, __ATOMIC_ACQUIRE) < v) {
        if (t_now() > end)
            return false;
        sched_yield();
    }
    return true;
}

static inline void sh_bump(int *p)
{
    __atomic_fetch_add(p, 1, __ATOMIC_ACQ_REL);
}

/* Iteration counts, smaller under the sanitizers. */
#define SH_SCALE(n) WEFT_TEST_SCALE(n)

#endif
