/*
 * bank_balance.c - ports the tutorials' race-condition program: one thread
 * deposits and another withdraws the same amounts, many times, on one shared
 * balance - first without a lock, then with threading.Lock.
 *
 * Shows: "balance = balance + amount" is a read, then a write; when the other
 * thread writes in between, an update is lost and the final balance is wrong.
 * Holding a lock around the read-modify-write makes the result exact.
 *
 * The unprotected version reads and writes the balance with relaxed atomic loads
 * and stores: each access is whole (no torn values, and ThreadSanitizer has no
 * data race to complain about), but the read-modify-write is not atomic, which is
 * exactly the bug being shown.
 */
#include <limits.h>
#include <stdbool.h>

#include "seed.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define START 100
#define TIMES 20000
#define AMOUNT 10
#define MAX_ROUNDS 20

typedef struct account {
    long balance;
    weft_lock lock;
    bool use_lock;
    weft_event go; /* both threads start together, so they overlap */
} account;

typedef struct teller {
    account *acct;
    long amount; /* +AMOUNT deposits, -AMOUNT withdraws */
} teller;

/* Widen the gap between the read and the write, as a slow computation would. */
static void think(void)
{
    for (volatile int i = 0; i < 20; i++)
        ;
}

static void update(account *a, long amount)
{
    if (a->use_lock)
        weft_lock_acquire(&a->lock, WEFT_FOREVER);
    long b = __atomic_load_n(&a->balance, __ATOMIC_RELAXED); /* read */
    think();
    __atomic_store_n(&a->balance, b + amount, __ATOMIC_RELAXED); /* write back */
    if (a->use_lock)
        weft_lock_release(&a->lock);
}

static void *teller_run(void *arg)
{
    teller *t = arg;
    weft_event_wait(&t->acct->go, WEFT_FOREVER);
    for (int i = 0; i < TIMES; i++)
        update(t->acct, t->amount);
    return NULL;
}

/* One round: deposit and withdraw concurrently. Returns the final balance,
 * or LONG_MIN if the threads could not be started. */
static long round_trip(bool use_lock)
{
    account a = {.balance = START, .lock = WEFT_LOCK_INIT_NAMED("balance"),
                 .use_lock = use_lock, .go = WEFT_EVENT_INIT};
    teller dep = {&a, +AMOUNT}, wd = {&a, -AMOUNT};
    weft_thread *t1, *t2;
    if (weft_thread_start(&t1, teller_run, &dep, &(weft_thread_opts){.name = "deposit"}) != 0)
        return LONG_MIN;
    if (weft_thread_start(&t2, teller_run, &wd, &(weft_thread_opts){.name = "withdraw"}) != 0) {
        weft_event_set(&a.go);
        weft_thread_join(t1, WEFT_FOREVER, NULL);
        weft_thread_free(t1);
        return LONG_MIN;
    }
    weft_event_set(&a.go);
    weft_thread_join(t1, WEFT_FOREVER, NULL);
    weft_thread_join(t2, WEFT_FOREVER, NULL);
    weft_thread_free(t1);
    weft_thread_free(t2);
    return a.balance;
}

WEFT_SEED(bank_balance, "the lost-update race on a bank balance, and the lock that fixes it")
{
    printf("%d deposits and %d withdrawals of %d, starting from %d\n", TIMES, TIMES, AMOUNT,
           START);
    long b = START;
    int round = 1;
    for (; round <= MAX_ROUNDS; round++) {
        b = round_trip(false);
        SEED_CHECK(b != LONG_MIN, "could not start the teller threads");
        if (b != START)
            break;
    }
    if (b != START)
        printf("without a lock: balance %ld, not %d (round %d): updates were lost\n", b,
               START, round);
    else
        printf("without a lock: the race did not show in %d rounds this time\n", MAX_ROUNDS);

    b = round_trip(true);
    SEED_CHECK(b != LONG_MIN, "could not start the teller threads");
    printf("with a lock:    balance %ld\n", b);
    SEED_CHECK(b == START, "with the lock the balance is %ld, expected %d", b, START);
    return 0;
}
