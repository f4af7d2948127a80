/*
 * proc_watch_drink_eat.c - ports the tutorials' first multiprocessing program:
 * watching TV, drinking and eating at the same time, each in a process of its own
 * (multiprocessing.Process(target=..., name=...), start(), join(), with
 * time.sleep standing in for the activity).
 *
 * Shows: three processes run side by side, so the three activities take about as
 * long as the longest, not the sum; each process has its own pid and the name it
 * was given, and reports its work through its exit code.
 */
#include <unistd.h>

#include "seed.h"
#include "weft/process.h"

typedef struct activity {
    const char *name;
    double seconds; /* how long one round of it takes */
    int rounds;
} activity;

static const activity todo[] = {{"watch", 0.1, 3}, {"drink", 0.05, 4}, {"eat", 0.08, 3}};
#define NTODO (int)(sizeof todo / sizeof todo[0])

/* A child's body: do the activity, and say how many rounds were done. */
static int do_activity(void *arg)
{
    const activity *a = arg;
    for (int i = 0; i < a->rounds; i++) {
        printf("  %s (pid %d, parent %d): round %d\n", weft_process_name(weft_current_process()),
               (int)getpid(), (int)getppid(), i + 1);
        fflush(stdout);
        seed_sleep(a->seconds);
    }
    return a->rounds;
}

WEFT_SEED(proc_watch_drink_eat, "watch, drink and eat at once: three processes")
{
    weft_process *p[NTODO];
    double longest = 0, sum = 0;
    double t0 = seed_now();
    int started = 0, rc = 0;
    for (; started < NTODO; started++) {
        const activity *a = &todo[started];
        if (a->seconds * a->rounds > longest)
            longest = a->seconds * a->rounds;
        sum += a->seconds * a->rounds;
        rc = weft_process_spawn(&p[started], do_activity, (void *)a,
                                &(weft_process_opts){.name = a->name});
        if (rc != 0)
            break;
    }
    int done_right = 0;
    for (int i = 0; i < started; i++) {
        int code = -1;
        weft_process_join(p[i], WEFT_FOREVER);
        weft_process_exitcode(p[i], &code);
        printf("%s: pid %d, exit code %d\n", weft_process_name(p[i]), (int)weft_process_pid(p[i]),
               code);
        done_right += code == todo[i].rounds;
        weft_process_free(p[i]);
    }
    double elapsed = seed_now() - t0;
    SEED_CHECK(rc == 0, "weft_process_spawn: %s", weft_strerror(rc));
    printf("all three in %.2f s (longest %.2f s, one after another %.2f s)\n", elapsed, longest,
           sum);
    SEED_CHECK(done_right == NTODO, "%d of %d processes did all their rounds", done_right, NTODO);
    SEED_CHECK(elapsed < sum, "three processes took %.2f s, one after another takes %.2f s",
               elapsed, sum);
    return 0;
}
