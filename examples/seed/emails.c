/*
 * emails.c - ports the tutorials' "send 100 e-mails, one thread each" program
 * (the sending is simulated by a short sleep, as the slow SMTP round trip).
 *
 * Shows: a hundred threads each waiting on slow I/O finish in about the time of
 * the slowest one; a lock-protected outbox records every e-mail exactly once.
 */
#include <time.h>

#include "seed.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define EMAILS 100

typedef struct email {
    int id;
    double send_time; /* seconds the simulated server takes: 0.05 to 0.1 */
} email;

static weft_lock outbox_lock = WEFT_LOCK_INIT_NAMED("outbox");
static int outbox[EMAILS]; /* ids of the e-mails sent, in order; guarded by outbox_lock */
static int outbox_len;     /* guarded by outbox_lock */



static void *send_email(void *arg)
{
    const email *e = arg;
    seed_sleep(e->send_time);
    weft_lock_acquire(&outbox_lock, WEFT_FOREVER);
    if (outbox_len < EMAILS)
        outbox[outbox_len] = e->id;
    outbox_len++;
    weft_lock_release(&outbox_lock);
    return NULL;
}

/* How many ids in 0..EMAILS-1 appear exactly once in the outbox. */
static int sent_once(void)
{
    int times[EMAILS] = {0};
    for (int i = 0; i < outbox_len && i < EMAILS; i++)
        if (outbox[i] >= 0 && outbox[i] < EMAILS)
            times[outbox[i]]++;
    int once = 0;
    for (int i = 0; i < EMAILS; i++)
        once += times[i] == 1;
    return once;
}

WEFT_SEED(emails, "100 e-mails sent by 100 threads, in the time of the slowest")
{
    static email mail[EMAILS];
    double serial = 0;
    for (int i = 0; i < EMAILS; i++) {
        mail[i] = (email){.id = i, .send_time = 0.05 + 0.01 * (i % 6)};
        serial += mail[i].send_time;
    }

    weft_thread *t[EMAILS];
    int started = 0, rc = 0;
    double t0 = seed_now();
    for (; started < EMAILS; started++)
        if ((rc = weft_thread_start(&t[started], send_email, &mail[started], NULL)) != 0)
            break;
    for (int i = 0; i < started; i++) {
        weft_thread_join(t[i], WEFT_FOREVER, NULL);
        weft_thread_free(t[i]);
    }
    double elapsed = seed_now() - t0;
    SEED_CHECK(rc == 0, "thread %d: weft_thread_start: %s", started, weft_strerror(rc));

    int once = sent_once();
    printf("%d e-mails sent, %d of them exactly once, in %.2f s (one at a time: %.2f s)\n",
           outbox_len, once, elapsed, serial);
    SEED_CHECK(outbox_len == EMAILS && once == EMAILS, "%d sends, %d e-mails sent exactly once",
               outbox_len, once);
    SEED_CHECK(elapsed < serial / 4, "100 threads took %.2f s; one at a time takes %.2f s",
               elapsed, serial);
    return 0;
}
