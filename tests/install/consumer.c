/* A user's program: one thread, one lock, one queue, through the installed
 * headers and library. Exits 0 when all three work. */
#include <stdint.h>
#include <stdio.h>
#include <weft.h>

static weft_lock lock = WEFT_LOCK_INIT;
static long total;

static void *add(void *arg)
{
    weft_lock_acquire(&lock, WEFT_FOREVER);
    total += (long)(intptr_t)arg;
    weft_lock_release(&lock);
    return arg;
}

int main(void)
{
    weft_thread *t;
    void *r = NULL;
    if (weft_thread_start(&t, add, (void *)42, NULL) || weft_thread_join(t, WEFT_FOREVER, &r))
        return 1;
    weft_thread_free(t);
    weft_queue *q;
    void *item = NULL;
    if (weft_queue_new(&q, NULL) || weft_queue_put(q, r, 0) || weft_queue_get(q, &item, 0))
        return 1;
    weft_queue_free(q);
    printf("weft %s: total %ld, item %ld\n", weft_version(), total, (long)(intptr_t)item);
    return total == 42 && item == (void *)42 ? 0 : 1;
}
