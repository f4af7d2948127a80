/* By hand (not built by CMake): microseconds per spawn+join of a child that
 * returns 0 at once - raw fork()+waitpid(), weft fork, weft forkserver -
 * interleaved in rounds so machine load hits all three alike.
 *   cc -O2 -D_GNU_SOURCE -Iinclude tests/process/spawn_bench.c build/release/libweft.a \
 *      -lpthread -lm -o /tmp/spawn_bench && /tmp/spawn_bench [rounds] [per_round]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int zero(void *arg)
{
    (void)arg;
    return 0;
}

static double raw(int n)
{
    double t0 = now();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        waitpid(pid, NULL, 0);
    }
    return (now() - t0) / n * 1e6;
}

static double with_weft(int n, weft_start_method m)
{
    double t0 = now();
    for (int i = 0; i < n; i++) {
        weft_process *p;
        if (weft_process_spawn(&p, zero, NULL, &(weft_process_opts){.method = m}) != 0)
            abort();
        weft_process_join(p, WEFT_FOREVER);
        weft_process_free(p);
    }
    return (now() - t0) / n * 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 9, per = argc > 2 ? atoi(argv[2]) : 300;
    double r[64], f[64], s[64];
    weft_forkserver_start();
    with_weft(20, WEFT_START_FORK); /* warm up */
    with_weft(20, WEFT_START_FORKSERVER);
    raw(20);
    for (int i = 0; i < rounds && i < 64; i++) {
        r[i] = raw(per);
        f[i] = with_weft(per, WEFT_START_FORK);
        s[i] = with_weft(per, WEFT_START_FORKSERVER);
    }
    qsort(r, (size_t)rounds, sizeof *r, cmp);
    qsort(f, (size_t)rounds, sizeof *f, cmp);
    qsort(s, (size_t)rounds, sizeof *s, cmp);
    /* The best round is the least disturbed by other load; the median too. */
    int m = rounds / 2;
    printf("raw fork+waitpid\t%.1f\tus best\t%.1f\tus median (%d rounds x %d)\n", r[0], r[m],
           rounds, per);
    printf("weft fork\t%.1f\tus best\t%.1f\tus median\t%.3fx raw (best)\n", f[0], f[m],
           f[0] / r[0]);
    printf("weft forkserver\t%.1f\tus best\t%.1f\tus median\t%.3fx raw (best)\n", s[0], s[m],
           s[0] / r[0]);
    return 0;
}
