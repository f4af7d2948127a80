/*
 * barrier.c - ports the tutorials' threading.Barrier program: runners get ready
 * at their own pace, wait at the start line, and all start together when the
 * last one arrives (whose arrival fires the starting gun, the barrier's action).
 *
 * Shows: nobody leaves the barrier before everybody has reached it; the action
 * runs once per round; wait() gives each runner a distinct index.
 */
#include <time.h>

#include "seed.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define RUNNERS 4

static const char *const runners[RUNNERS] = {"Abebe", "Bekele", "Coe", "Dibaba"};
static weft_barrier start_line;
static int at_line;    /* runners that reached the line (atomic) */
static int gun_fired;  /* times the action ran (atomic) */

static int starting_gun(void *arg)
{
    __atomic_add_fetch(&gun_fired, 1, __ATOMIC_RELAXED);
    printf("all %d at the line: go!\n", RUNNERS);
    return 0;
}

typedef struct lane {
    int number;
    unsigned index;   /* what wait() returned */
    int saw_at_line;  /* runners at the line when this one left it */
    int rc;
} lane;

static void *run(void *arg)
{
    lane *l = arg;
    nanosleep(&(struct timespec){0, (l->number + 1) * 30 * 1000 * 1000}, NULL); /* warm up */
    printf("%s is ready\n", runners[l->number]);
    __atomic_add_fetch(&at_line, 1, __ATOMIC_RELAXED);
    l->rc = weft_barrier_wait(&start_line, &l->index);
    l->saw_at_line = __atomic_load_n(&at_line, __ATOMIC_RELAXED);
    return NULL;
}

WEFT_SEED(barrier, "runners wait at the start line and leave together, with a Barrier")
{
    weft_barrier_init(&start_line, RUNNERS, &(weft_barrier_opts){.action = starting_gun});
    lane lanes[RUNNERS];
    weft_thread *t[RUNNERS];
    int started = 0, rc = 0;
    for (; started < RUNNERS; started++) {
        lanes[started] = (lane){.number = started};
        if ((rc = weft_thread_start(&t[started], run, &lanes[started],
                                    &(weft_thread_opts){.name = runners[started]})) != 0)
            break;
    }
    if (rc != 0)
        weft_barrier_abort(&start_line);
    for (int i = 0; i < started; i++) {
        weft_thread_join(t[i], WEFT_FOREVER, NULL);
        weft_thread_free(t[i]);
    }
    SEED_CHECK(rc == 0, "weft_thread_start: %s", weft_strerror(rc));

    unsigned seen = 0; /* bit i: index i was handed out */
    for (int i = 0; i < RUNNERS; i++) {
        SEED_CHECK(lanes[i].rc == 0, "%s: wait: %s", runners[i], weft_strerror(lanes[i].rc));
        SEED_CHECK(lanes[i].saw_at_line == RUNNERS, "%s left with only %d at the line",
                   runners[i], lanes[i].saw_at_line);
        SEED_CHECK(lanes[i].index < RUNNERS && !(seen & (1u << lanes[i].index)),
                   "%s got index %u twice or out of range", runners[i], lanes[i].index);
        seen |= 1u << lanes[i].index;
    }
    SEED_CHECK(gun_fired == 1, "the starting gun fired %d times", gun_fired);
    printf("every runner left after all %d had arrived; indices 0..%d each once\n", RUNNERS,
           RUNNERS - 1);
    return 0;
}
