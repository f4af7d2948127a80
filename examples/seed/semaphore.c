/*
 * semaphore.c - ports the tutorials' threading.Semaphore program: many workers,
 * but only a few may use a limited resource (say, connections) at the same time.
 *
 * Shows: a semaphore with value 3 lets at most 3 of the 8 workers into the
 * section at once; the others wait for a free slot.
 */
#include <time.h>

#include "seed.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define WORKERS 8
#define SLOTS 3

static weft_sem slots = WEFT_SEM_INIT(SLOTS);
static int inside;    /* workers in the section now (atomic) */
static int most;      /* highest value of `inside` seen (atomic) */
static int finished;  /* workers that went through the section (atomic) */

static void note_most(int n)
{
    int m = __atomic_load_n(&most, __ATOMIC_RELAXED);
    while (n > m && !__atomic_compare_exchange_n(&most, &m, n, false, __ATOMIC_RELAXED,
                                                 __ATOMIC_RELAXED))
        ;
}

static void *use_connection(void *arg)
{
    weft_sem_acquire(&slots, WEFT_FOREVER);
    note_most(__atomic_add_fetch(&inside, 1, __ATOMIC_RELAXED));
    nanosleep(&(struct timespec){0, 40 * 1000 * 1000}, NULL); /* the work */
    __atomic_sub_fetch(&inside, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&finished, 1, __ATOMIC_RELAXED);
    weft_sem_release(&slots, 1);
    return NULL;
}

WEFT_SEED(semaphore, "at most 3 of 8 workers in a section at once, with a Semaphore")
{
    weft_thread *t[WORKERS];
    int started = 0, rc = 0;
    for (; started < WORKERS; started++)
        if ((rc = weft_thread_start(&t[started], use_connection, NULL, NULL)) != 0)
            break;
    for (int i = 0; i < started; i++) {
        weft_thread_join(t[i], WEFT_FOREVER, NULL);
        weft_thread_free(t[i]);
    }
    SEED_CHECK(rc == 0, "weft_thread_start: %s", weft_strerror(rc));
    printf("%d workers, %d slots: %d went through, at most %d inside at once\n", WORKERS, SLOTS,
           finished, most);
    SEED_CHECK(finished == WORKERS, "only %d of %d workers finished", finished, WORKERS);
    SEED_CHECK(most >= 1 && most <= SLOTS, "%d workers were inside at once (limit %d)", most,
               SLOTS);
    SEED_CHECK(weft_sem_value(&slots) == SLOTS, "the semaphore ends at %d, not %d",
               weft_sem_value(&slots), SLOTS);
    return 0;
}
