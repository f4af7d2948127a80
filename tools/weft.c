/*
 * weft - the project's command.
 *
 *   weft tour            run every seed program, each with its explanation and time
 *   weft tour NAME...    run the named seeds
 *   weft tour --list     list the seeds
 *   weft version
 *
 * Each seed runs in a child process of its own (fork, then exit() with the seed's
 * status), so a seed's daemon threads, exit-time waits and crashes stay its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"

typedef struct seed {
    const char *name;
    const char *about;
    int (*run)(void);
} seed;

#define WEFT_SEED_ENTRY(n)                                                             \
    extern const char seed_##n##_about[];                                              \
    int seed_##n(void);
#include "seeds.inc"
#undef WEFT_SEED_ENTRY

#define WEFT_SEED_ENTRY(n) {#n, seed_##n##_about, seed_##n},
static const seed seeds[] = {
#include "seeds.inc"
    {NULL, NULL, NULL}, /* keeps the array non-empty */
};
#undef WEFT_SEED_ENTRY

static const size_t nseeds_ = sizeof seeds / sizeof seeds[0] - 1;
#define NSEEDS nseeds_

typedef struct outcome {
    double seconds;
    int status; /* 0 passed; >0 exit code; <0 killed by that signal */
} outcome;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const seed *find_seed(const char *name)
{
    for (size_t i = 0; i < NSEEDS; i++)
        if (strcmp(seeds[i].name, name) == 0)
            return &seeds[i];
    return NULL;
}

static outcome run_seed(const seed *s)
{
    outcome o = {0, 0};
    printf("\n=== %s: %s\n", s->name, s->about);
    fflush(stdout);
    fflush(stderr);
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) {
        perror("weft tour: fork");
        o.status = 1;
        return o;
    }
    if (pid == 0)
        exit(s->run()); /* exit(), not _exit(): the seed's non-daemon threads finish */
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        ;
    o.seconds = now() - t0;
    o.status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    if (o.status == 0)
        printf("--- %s: ok in %.3f s\n", s->name, o.seconds);
    else if (o.status > 0)
        printf("--- %s: FAILED (exit %d) in %.3f s\n", s->name, o.status, o.seconds);
    else
        printf("--- %s: FAILED (signal %d) in %.3f s\n", s->name, -o.status, o.seconds);
    fflush(stdout);
    return o;
}

static int tour(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "--list") == 0) {
        for (size_t i = 0; i < NSEEDS; i++)
            printf("%-28s %s\n", seeds[i].name, seeds[i].about);
        return 0;
    }
    const seed *chosen[sizeof seeds / sizeof seeds[0]];
    size_t n = 0;
    if (argc == 0) {
        for (size_t i = 0; i < NSEEDS; i++)
            chosen[n++] = &seeds[i];
    } else {
        for (int i = 0; i < argc; i++) {
            const seed *s = find_seed(argv[i]);
            if (!s) {
                fprintf(stderr, "weft tour: no seed named '%s' (weft tour --list)\n", argv[i]);
                return 2;
            }
            if (n < NSEEDS)
                chosen[n++] = s;
        }
    }
    printf("weft %s tour: %zu program%s from the Python concurrency tutorials, in C\n",
           weft_version(), n, n == 1 ? "" : "s");
    outcome results[sizeof seeds / sizeof seeds[0]];
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        results[i] = run_seed(chosen[i]);
        failed += results[i].status != 0;
    }
    printf("\n%-28s %10s  %s\n", "seed", "time (s)", "result");
    for (size_t i = 0; i < n; i++)
        printf("%-28s %10.3f  %s\n", chosen[i]->name, results[i].seconds,
               results[i].status == 0 ? "ok" : "FAILED");
    printf("%zu passed, %d failed\n", n - (size_t)failed, failed);
    return failed ? 1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: weft tour [--list | NAME...]\n"
               "       weft version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "tour") == 0)
        return tour(argc - 2, argv + 2);
    if (strcmp(argv[1], "version") == 0) {
        printf("weft %s\n", weft_version());
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
