/* The work-stealing deque: owner LIFO, thieves FIFO, growth, and a stress test
 * where every item must come out exactly once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include "internal/deque.h"
#include "weft_test.h"

#define P(i) ((void *)(uintptr_t)(i))
#define I(p) ((uintptr_t)(p))

static void test_empty(void **state)
{
    weft__deque d;
    assert_int_equal(weft__deque_init(&d), 0);
    assert_null(weft__deque_pop_owner(&d));
    bool contended = false;
    assert_null(weft__deque_steal_any(&d, &contended));
    assert_false(contended);
    assert_int_equal(weft__deque_size_any(&d), 0);
    /* Popping an empty deque leaves it usable. */
    assert_int_equal(weft__deque_push_owner(&d, P(7)), 0);
    assert_int_equal(weft__deque_size_any(&d), 1);
    assert_int_equal(I(weft__deque_pop_owner(&d)), 7);
    assert_null(weft__deque_pop_owner(&d));
    weft__deque_destroy(&d);
}

static void test_owner_lifo_thief_fifo(void **state)
{
    weft__deque d;
    assert_int_equal(weft__deque_init(&d), 0);
    for (uintptr_t i = 1; i <= 6; i++)
        assert_int_equal(weft__deque_push_owner(&d, P(i)), 0);
    assert_int_equal(I(weft__deque_pop_owner(&d)), 6);
    assert_int_equal(I(weft__deque_steal_any(&d, NULL)), 1);
    assert_int_equal(I(weft__deque_pop_owner(&d)), 5);
    assert_int_equal(I(weft__deque_steal_any(&d, NULL)), 2);
    assert_int_equal(weft__deque_size_any(&d), 2);
    assert_int_equal(I(weft__deque_pop_owner(&d)), 4);
    /* Last item through the owner's CAS path. */
    assert_int_equal(I(weft__deque_pop_owner(&d)), 3);
    assert_null(weft__deque_pop_owner(&d));
    assert_null(weft__deque_steal_any(&d, NULL));
    weft__deque_destroy(&d);
}

static void test_growth_keeps_order(void **state)
{
    weft__deque d;
    assert_int_equal(weft__deque_init(&d), 0);
    const uintptr_t n = 10000; /* many doublings */
    /* Move top forward first so positions do not start at slot 0. */
    for (uintptr_t i = 0; i < 37; i++) {
        assert_int_equal(weft__deque_push_owner(&d, P(1000000 + i)), 0);
        assert_int_equal(I(weft__deque_steal_any(&d, NULL)), 1000000 + i);
    }
    for (uintptr_t i = 1; i <= n; i++)
        assert_int_equal(weft__deque_push_owner(&d, P(i)), 0);
    assert_int_equal(weft__deque_size_any(&d), n);
    for (uintptr_t i = 1; i <= n / 2; i++)
        assert_int_equal(I(weft__deque_steal_any(&d, NULL)), i);
    for (uintptr_t i = n; i > n / 2; i--)
        assert_int_equal(I(weft__deque_pop_owner(&d)), i);
    assert_null(weft__deque_pop_owner(&d));
    weft__deque_destroy(&d);
}

/* ---- stress: an owner pushing and popping against several thieves ---- */

#define THIEVES 3

struct stress {
    weft__deque d;
    uintptr_t n;
    uint8_t *seen;     /* seen[i]: times item i came out (atomic increments) */
    int done;          /* owner finished: thieves stop once the deque is empty */
    uint64_t stolen[THIEVES];
};

struct thief_arg {
    struct stress *s;
    int idx;
};

static void take(struct stress *s, void *item)
{
    uintptr_t i = I(item);
    assert_true(i >= 1 && i <= s->n);
    __atomic_fetch_add(&s->seen[i], 1, __ATOMIC_RELAXED);
}

static void *thief(void *arg)
{
    struct thief_arg *ta = arg;
    struct stress *s = ta->s;
    for (;;) {
        bool contended = false;
        void *item = weft__deque_steal_any(&s->d, &contended);
        if (item) {
            take(s, item);
            s->stolen[ta->idx]++;
            continue;
        }
        if (!contended && __atomic_load_n(&s->done, __ATOMIC_ACQUIRE) &&
            weft__deque_size_any(&s->d) == 0)
            return NULL;
    }
}

static void test_stress_every_item_once(void **state)
{
    struct stress s = {.n = WEFT_TEST_SCALE(2000000)};
    assert_int_equal(weft__deque_init(&s.d), 0);
    s.seen = calloc(s.n + 1, 1);
    assert_non_null(s.seen);
    pthread_t th[THIEVES];
    struct thief_arg ta[THIEVES];
    for (int k = 0; k < THIEVES; k++) {
        ta[k] = (struct thief_arg){&s, k};
        assert_int_equal(pthread_create(&th[k], NULL, thief, &ta[k]), 0);
    }
    uint64_t popped = 0;
    unsigned rng = 12345;
    for (uintptr_t i = 1; i <= s.n;) {
        /* Bursts of pushes (some long enough to grow) and pops. */
        rng = rng * 1103515245u + 12345u;
        unsigned burst = 1 + (rng >> 16) % ((rng & 0x100000) ? 300 : 4);
        for (unsigned k = 0; k < burst && i <= s.n; k++, i++)
            assert_int_equal(weft__deque_push_owner(&s.d, P(i)), 0);
        unsigned pops = (rng >> 8) % 3;
        for (unsigned k = 0; k < pops; k++) {
            void *item = weft__deque_pop_owner(&s.d);
            if (!item)
                break;
            take(&s, item);
            popped++;
        }
    }
    void *item;
    while ((item = weft__deque_pop_owner(&s.d)) != NULL) {
        take(&s, item);
        popped++;
    }
    __atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
    uint64_t stolen = 0;
    for (int k = 0; k < THIEVES; k++) {
        assert_int_equal(pthread_join(th[k], NULL), 0);
        stolen += s.stolen[k];
    }
    assert_int_equal(popped + stolen, s.n);
    for (uintptr_t i = 1; i <= s.n; i++)
        if (s.seen[i] != 1)
            fail_msg("item %lu came out %u times", (unsigned long)i, s.seen[i]);
    free(s.seen);
    weft__deque_destroy(&s.d);
}

/* The single-item race, many times over: owner pushes one item and pops it while
 * thieves try to steal it; exactly one side gets it. */
static void test_stress_last_item_race(void **state)
{
    struct stress s = {.n = WEFT_TEST_SCALE(400000)};
    assert_int_equal(weft__deque_init(&s.d), 0);
    s.seen = calloc(s.n + 1, 1);
    assert_non_null(s.seen);
    pthread_t th[THIEVES];
    struct thief_arg ta[THIEVES];
    for (int k = 0; k < THIEVES; k++) {
        ta[k] = (struct thief_arg){&s, k};
        assert_int_equal(pthread_create(&th[k], NULL, thief, &ta[k]), 0);
    }
    uint64_t popped = 0;
    for (uintptr_t i = 1; i <= s.n; i++) {
        assert_int_equal(weft__deque_push_owner(&s.d, P(i)), 0);
        void *item = weft__deque_pop_owner(&s.d);
        if (item) {
            take(&s, item);
            popped++;
        }
    }
    __atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
    uint64_t stolen = 0;
    for (int k = 0; k < THIEVES; k++) {
        assert_int_equal(pthread_join(th[k], NULL), 0);
        stolen += s.stolen[k];
    }
    assert_int_equal(popped + stolen, s.n);
    for (uintptr_t i = 1; i <= s.n; i++)
        if (s.seen[i] != 1)
            fail_msg("item %lu came out %u times", (unsigned long)i, s.seen[i]);
    free(s.seen);
    weft__deque_destroy(&s.d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_owner_lifo_thief_fifo),
        cmocka_unit_test(test_growth_keeps_order),
        cmocka_unit_test(test_stress_every_item_once),
        cmocka_unit_test(test_stress_last_item_race),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
