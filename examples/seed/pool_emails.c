/*
 * pool_emails.c - ports the tutorials' "send 100 e-mails through a
 * ThreadPoolExecutor" program: instead of one thread per e-mail (`emails`), ten
 * workers share the hundred sends, and as_completed() reports progress as each
 * one finishes (a short sleep stands in for the SMTP round trip).
 *
 * Shows: ten threads do the work of a hundred, never more than ten sends at
 * once; every e-mail is sent exactly once; as_completed() hands back each future
 * once, in the order they finish, and ends when all are through; the batch takes
 * about a tenth of the serial time.
 */
#include <stdatomic.h>
#include <time.h>

#include "seed.h"
#include "weft/executor.h"

#define EMAILS 100
#define WORKERS 10

typedef struct email {
    int id;
    double send_time; /* seconds the simulated server takes: 0.02 to 0.05 */
    atomic_int sends; /* times it was sent: must end at exactly 1 */
} email;

static email mail[EMAILS];
static atomic_int in_flight, peak; /* sends under way now, and the most at once */



/* The task: send one e-mail; its result is the e-mail, for the progress line. */
static void *send_email(void *arg)
{
    email *e = arg;
    int now_sending = atomic_fetch_add(&in_flight, 1) + 1;
    int seen = atomic_load(&peak);
    while (now_sending > seen && !atomic_compare_exchange_weak(&peak, &seen, now_sending))
        ;
    seed_sleep(e->send_time);
    atomic_fetch_sub(&in_flight, 1);
    atomic_fetch_add_explicit(&e->sends, 1, memory_order_relaxed);
    return e;
}

/* Collect the futures as they complete, printing every tenth. Returns how many
 * came back (each checked to be the future of the e-mail it returned), or -1
 * after saying why on stderr. */
static int collect(weft_future *fut[EMAILS])
{
    weft_as_completed *it;
    int rc = weft_as_completed_new(&it, fut, EMAILS, 10.0);
    if (rc != 0) {
        fprintf(stderr, "weft_as_completed_new: %s\n", weft_strerror(rc));
        return -1;
    }
    int seen[EMAILS] = {0}, n = 0;
    weft_future *f;
    while ((rc = weft_as_completed_next(it, &f, NULL)) == 0) {
        void *res = NULL;
        int r = weft_future_result(f, 0, &res);
        email *e = res;
        if (r != 0 || e < mail || e >= mail + EMAILS || fut[e->id] != f) {
            fprintf(stderr,
                    "as_completed gave a future that is not done or not its e-mail's "
                    "(%s)\n",
                    weft_strerror(r));
            rc = -EPROTO;
            break;
        }
        seen[e->id]++;
        if (++n % 10 == 0)
            printf("%3d/%d sent (latest: #%d, %.0f ms)\n", n, EMAILS, e->id, e->send_time * 1e3);
    }
    weft_as_completed_free(it);
    if (rc != -ENOENT) {
        fprintf(stderr, "as_completed stopped after %d futures: %s\n", n, weft_strerror(rc));
        return -1;
    }
    for (int i = 0; i < EMAILS; i++)
        if (seen[i] != 1) {
            fprintf(stderr, "as_completed gave e-mail #%d's future %d times\n", i, seen[i]);
            return -1;
        }
    return n;
}

WEFT_SEED(pool_emails, "100 e-mails through a pool of 10, progress by as_completed")
{
    double serial = 0;
    for (int i = 0; i < EMAILS; i++) {
        mail[i].id = i;
        mail[i].send_time = 0.02 + 0.01 * (i % 4);
        atomic_init(&mail[i].sends, 0);
        serial += mail[i].send_time;
    }

    weft_executor *ex;
    int rc = weft_executor_new(&ex, &(weft_executor_opts){.max_workers = WORKERS});
    SEED_CHECK(rc == 0, "weft_executor_new: %s", weft_strerror(rc));
    weft_future *fut[EMAILS] = {NULL};
    double t0 = seed_now();
    int submitted = 0;
    for (; submitted < EMAILS; submitted++)
        if ((rc = weft_executor_submit(ex, send_email, &mail[submitted], &fut[submitted])) != 0)
            break;
    int collected = rc == 0 ? collect(fut) : 0;
    double elapsed = seed_now() - t0;
    unsigned workers = weft_executor_workers(ex);
    weft_executor_free(ex); /* waits for any send still under way */
    for (int i = 0; i < EMAILS; i++)
        weft_future_free(fut[i]);

    SEED_CHECK(rc == 0, "e-mail %d: submit: %s", submitted, weft_strerror(rc));
    SEED_CHECK(collected == EMAILS, "as_completed gave %d of %d futures", collected, EMAILS);
    int once = 0;
    for (int i = 0; i < EMAILS; i++)
        once += atomic_load(&mail[i].sends) == 1;
    printf("%d e-mails sent exactly once by %u workers, at most %d at a time, in %.2f s "
           "(one at a time: %.2f s)\n",
           once, workers, atomic_load(&peak), elapsed, serial);
    SEED_CHECK(once == EMAILS, "only %d of %d e-mails were sent exactly once", once, EMAILS);
    SEED_CHECK(workers <= WORKERS && atomic_load(&peak) <= WORKERS,
               "%u workers started, %d e-mails in flight at once; max_workers is %d", workers,
               atomic_load(&peak), WORKERS);
    SEED_CHECK(atomic_load(&peak) > 1, "the pool sent one e-mail at a time");
    /* Ten workers: ideally a tenth of the serial time; a third is the bound. */
    SEED_CHECK(elapsed < serial / 3, "the pool took %.2f s; one at a time takes %.2f s", elapsed,
               serial);
    return 0;
}
