/*
 * timer.c - ports the tutorials' threading.Timer program: run a function after a
 * delay in its own thread, and cancel a second timer before it goes off.
 *
 * Shows: a Timer fires once after its delay; cancel() before then means never.
 */
#include <time.h>

#include "seed.h"
#include "weft/thread.h"

typedef struct reminder {
    const char *message;
    double started;  /* when the timer was set */
    double rang_at;  /* when fn ran, relative to `started`; read after join */
    int rings;       /* how many times fn ran (atomic) */
} reminder;


static void ring(void *arg)
{
    reminder *a = arg;
    a->rang_at = seed_now() - a->started;
    __atomic_add_fetch(&a->rings, 1, __ATOMIC_RELAXED);
    printf("timer: %s (after %.2f s)\n", a->message, a->rang_at);
}

WEFT_SEED(timer, "a Timer that fires after its delay, and one cancelled in time")
{
    reminder tea = {"tea is ready", seed_now(), 0, 0}, oven = {"oven is hot", seed_now(), 0, 0};
    weft_timer *t1, *t2;
    int rc = weft_timer_start(&t1, 0.1, ring, &tea, NULL);
    SEED_CHECK(rc == 0, "weft_timer_start: %s", weft_strerror(rc));
    rc = weft_timer_start(&t2, 1.0, ring, &oven, NULL);
    SEED_CHECK(rc == 0, "weft_timer_start: %s", weft_strerror(rc));

    bool cancelled = weft_timer_cancel(t2);
    printf("cancel() of the 1 s timer: %s\n", cancelled ? "in time" : "too late");
    int rc1 = weft_timer_join(t1, WEFT_FOREVER), rc2 = weft_timer_join(t2, WEFT_FOREVER);
    bool fired1 = weft_timer_fired(t1), fired2 = weft_timer_fired(t2);
    weft_timer_free(t1);
    weft_timer_free(t2);

    SEED_CHECK(rc1 == 0 && rc2 == 0, "join: %s / %s", weft_strerror(rc1), weft_strerror(rc2));
    SEED_CHECK(fired1 && tea.rings == 1, "the 0.1 s timer fired %d times", tea.rings);
    SEED_CHECK(tea.rang_at >= 0.1, "the 0.1 s timer fired after only %.3f s", tea.rang_at);
    SEED_CHECK(cancelled, "cancel() right after start came too late");
    SEED_CHECK(!fired2 && oven.rings == 0, "the cancelled timer fired");
    printf("the cancelled timer never fired\n");
    return 0;
}
