/* Helpers shared by the process tests. */
#ifndef WEFT_PROCESS_TEST_H
#define WEFT_PROCESS_TEST_H

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"
#include "weft_test.h"

/* The two start methods, as cmocka prestates. */
static const weft_start_method pt_fork = WEFT_START_FORK;
static const weft_start_method pt_forkserver = WEFT_START_FORKSERVER;
#define PT_METHOD(state) (*(const weft_start_method *)*(state))
#define PT_BOTH(fn)                                                                                \
    cmocka_unit_test_prestate(fn, (void *)&pt_fork),                                               \
        cmocka_unit_test_prestate(fn, (void *)&pt_forkserver)

/* State letter and parent pid of a process from /proc/<pid>/stat; 0 if gone. */
static inline char pt_proc_state(pid_t pid, pid_t *ppid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *s = strrchr(buf, ')');
    char st = 0;
    int pp = 0;
    if (!s || sscanf(s + 1, " %c %d", &st, &pp) != 2)
        return 0;
    if (ppid)
        *ppid = pp;
    return st;
}

/* Zombie children of `parent`, scanning /proc. */
static inline int pt_zombies_of(pid_t parent)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        pid_t pp = 0;
        if (pt_proc_state((pid_t)pid, &pp) == 'Z' && pp == parent)
            n++;
    }
    closedir(d);
    return n;
}

/* Wait (bounded) until `pid` no longer exists or is a zombie; true if so. */
static inline bool pt_wait_gone(pid_t pid, double bound)
{
    double t0 = weft_test_now();
    for (;;) {
        char st = pt_proc_state(pid, NULL);
        if (st == 0 || st == 'Z' || st == 'X')
            return true;
        if (weft_test_now() - t0 > bound)
            return false;
        weft_test_sleep(0.005);
    }
}

/* Wait (bounded) until /proc/<pid>/comm reads `want`. */
static inline bool pt_wait_comm(pid_t pid, const char *want, double bound)
{
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    double t0 = weft_test_now();
    while (weft_test_now() - t0 < bound) {
        FILE *f = fopen(path, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = '\0';
            if (n && buf[n - 1] == '\n')
                buf[n - 1] = '\0';
            if (strcmp(buf, want) == 0)
                return true;
        }
        weft_test_sleep(0.002);
    }
    return false;
}

/* Child bodies. */
static inline int pt_return_arg(void *arg)
{
    return (int)(intptr_t)arg;
}

static inline int pt_sleep_long(void *arg)
{
    (void)arg;
    for (int i = 0; i < 600; i++)
        weft_test_sleep(0.1);
    return 0;
}

static inline int pt_segv(void *arg)
{
    (void)arg;
    signal(SIGSEGV, SIG_DFL); /* sanitizers catch it otherwise */
    raise(SIGSEGV);
    return 99;
}

#endif
