/*
 * condition.c - ports the tutorials' producer/consumer program with
 * threading.Condition: a producer fills a small shelf, a consumer empties it, each
 * waiting on a condition when the shelf is full or empty.
 *
 * Shows: wait() releases the lock while sleeping and holds it again on return,
 * so both threads check and change the shelf safely; every item arrives once, in
 * order, and the shelf never overflows.
 */
#include "seed.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define ITEMS 20
#define SHELF 3

typedef struct shelf {
    weft_lock lock;
    weft_cond not_full, not_empty; /* both bound to `lock` */
    int items[SHELF];              /* a ring; guarded by lock */
    int head, count, most;         /* guarded by lock; most: highest count seen */
} shelf;

static shelf s = {
    .lock = WEFT_LOCK_INIT_NAMED("shelf"),
    .not_full = WEFT_COND_INIT(&s.lock),
    .not_empty = WEFT_COND_INIT(&s.lock),
};

static bool has_room(void *arg) { return ((shelf *)arg)->count < SHELF; }
static bool has_item(void *arg) { return ((shelf *)arg)->count > 0; }

static void put(int item)
{
    weft_lock_acquire(&s.lock, WEFT_FOREVER);
    weft_cond_wait_for(&s.not_full, has_room, &s, WEFT_FOREVER);
    s.items[(s.head + s.count) % SHELF] = item;
    s.count++;
    s.most = s.count > s.most ? s.count : s.most;
    weft_cond_notify(&s.not_empty, 1);
    weft_lock_release(&s.lock);
}

static int get(void)
{
    weft_lock_acquire(&s.lock, WEFT_FOREVER);
    weft_cond_wait_for(&s.not_empty, has_item, &s, WEFT_FOREVER);
    int item = s.items[s.head];
    s.head = (s.head + 1) % SHELF;
    s.count--;
    weft_cond_notify(&s.not_full, 1);
    weft_lock_release(&s.lock);
    return item;
}

static void *producer(void *arg)
{
    for (int i = 0; i < ITEMS; i++)
        put(i);
    return NULL;
}

/* Returns how many items arrived in order. */
static void *consumer(void *arg)
{
    uintptr_t in_order = 0;
    for (int i = 0; i < ITEMS; i++)
        in_order += get() == i;
    return (void *)in_order;
}

WEFT_SEED(condition, "producer and consumer around a small shelf, with a Condition")
{
    weft_thread *p, *c;
    int rc = weft_thread_start(&c, consumer, NULL, &(weft_thread_opts){.name = "consumer"});
    SEED_CHECK(rc == 0, "weft_thread_start: %s", weft_strerror(rc));
    rc = weft_thread_start(&p, producer, NULL, &(weft_thread_opts){.name = "producer"});
    if (rc != 0) {
        /* Nobody will produce: feed the consumer ourselves so it can finish. */
        for (int i = 0; i < ITEMS; i++)
            put(-1);
    }
    void *in_order = NULL;
    weft_thread_join(c, WEFT_FOREVER, &in_order);
    weft_thread_free(c);
    SEED_CHECK(rc == 0, "weft_thread_start: %s", weft_strerror(rc));
    weft_thread_join(p, WEFT_FOREVER, NULL);
    weft_thread_free(p);

    printf("produced %d items; consumed %d in order; the shelf of %d held at most %d\n", ITEMS,
           (int)(uintptr_t)in_order, SHELF, s.most);
    SEED_CHECK((uintptr_t)in_order == ITEMS, "only %d of %d items arrived in order",
               (int)(uintptr_t)in_order, ITEMS);
    SEED_CHECK(s.most >= 1 && s.most <= SHELF, "the shelf held %d items (room for %d)", s.most,
               SHELF);
    return 0;
}
