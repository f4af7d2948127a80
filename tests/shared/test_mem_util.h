/* Helpers for the shared-memory and file-lock tests: children that run a
 * function and _exit, pipes to hand a step over, unique names. Not a test
 * program itself. */
#ifndef WEFT_TEST_MEM_UTIL_H
#define WEFT_TEST_MEM_UTIL_H

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft_test.h"

#define t_now weft_test_now
#define t_sleep weft_test_sleep

/* Fork a child running fn(arg); it leaves with _exit(fn's value), never
 * returning into cmocka. */
static inline pid_t t_fork(int (*fn)(void *), void *arg)
{
    fflush(NULL); /* no stdio buffer written twice */
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn(arg));
    return pid;
}

/* Wait for a child: its exit status, or 128 + signal if it was killed. */
static inline int t_wait(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) != pid)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* One-byte hand-overs between processes over a pipe. */
static inline void t_post(int fd)
{
    char c = 1;
    while (write(fd, &c, 1) != 1)
        ;
}

/* Wait for a byte; false on end-of-file (the writer died) or error. */
static inline int t_take(int fd)
{
    char c;
    return read(fd, &c, 1) == 1;
}

/* A name unique to this process and tag: "weft-t-<pid>-<tag>". */
static inline const char *t_name(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "weft-t-%d-%s", (int)getpid(), tag);
    return buf;
}

/* Exit code of a child check: 0 if every check passed, else the number of the
 * first that failed (so the parent's assert tells which). */
#define T_CHECK(n, cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return (n);                                                                            \
    } while (0)

#endif
