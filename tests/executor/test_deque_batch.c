/* The deque operations the executor's batches use: pushing many items with one
 * publication (order, growth, a concurrent thief taking every item exactly
 * once) and peeking at the next items to steal. */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <pthread.h>
#include <stdlib.h>

#include "internal/deque.h"
#include "weft_test.h"

#define P(i) ((void *)(uintptr_t)(i))
#define I(p) ((uintptr_t)(p))

static void test_push_many_order_and_peek(void **state)
{
    (void)state;
    weft__deque d;
    assert_int_equal(weft__deque_init(&d), 0);
    void *items[5] = {P(1), P(2), P(3), P(4), P(5)};
    assert_int_equal(weft__deque_push_many_owner(&d, items, 5), 0);
    assert_int_equal(weft__deque_size_any(&d), 5);
    /* items[0] is nearest the top: peeked and stolen first. */
    assert_int_equal(I(weft__deque_peek_any(&d, 0)), 1);
    assert_int_equal(I(weft__deque_peek_any(&d, 4)), 5);
    assert_null(weft__deque_peek_any(&d, 5));
    bool contended = false;
    assert_int_equal(I(weft__deque_steal_any(&d, &contended)), 1);
    assert_int_equal(I(weft__deque_peek_any(&d, 0)), 2);
    /* The owner pops the newest. */
    assert_int_equal(I(weft__deque_pop_owner(&d)), 5);
    assert_int_equal(weft__deque_push_many_owner(&d, items, 0), 0);
    assert_int_equal(weft__deque_size_any(&d), 3);
    for (uintptr_t want = 2; want <= 4; want++)
        assert_int_equal(I(weft__deque_steal_any(&d, &contended)), want);
    assert_null(weft__deque_peek_any(&d, 0));
    assert_false(contended);
    weft__deque_destroy(&d);
}

static void test_push_many_grows(void **state)
{
    (void)state;
    weft__deque d;
    assert_int_equal(weft__deque_init(&d), 0);
    /* Batches of 50 up to 5000 items: past the first array several times,
     * with items taken from the top in between (positions wrap). */
    void *items[50];
    uintptr_t next = 1, taken = 1;
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 50; i++)
            items[i] = P(next++);
        assert_int_equal(weft__deque_push_many_owner(&d, items, 50), 0);
        for (int i = 0; i < 10; i++) {
            bool contended = false;
            assert_int_equal(I(weft__deque_steal_any(&d, &contended)), taken++);
        }
    }
    assert_int_equal(weft__deque_size_any(&d), 5000 - 1000);
    while (taken < next) {
        bool contended = false;
        assert_int_equal(I(weft__deque_steal_any(&d, &contended)), taken++);
    }
    assert_null(weft__deque_pop_owner(&d));
    weft__deque_destroy(&d);
}

#define STRESS_ITEMS 200000
#define STRESS_BATCH 32

struct stress {
    weft__deque d;
    unsigned char seen[STRESS_ITEMS + 1];
    uintptr_t stolen;
    int done; /* set by the owner when it has pushed everything */
};

static void *thief(void *arg)
{
    struct stress *s = arg;
    for (;;) {
        bool contended = false;
        void *p = weft__deque_steal_any(&s->d, &contended);
        if (p) {
            s->seen[I(p)]++;
            s->stolen++;
            continue;
        }
        /* Acquire: every push happened before the owner set done. */
        if (!contended && __atomic_load_n(&s->done, __ATOMIC_ACQUIRE) &&
            weft__deque_size_any(&s->d) == 0)
            return NULL;
    }
}

static void test_push_many_stress_every_item_once(void **state)
{
    (void)state;
    struct stress *s = calloc(1, sizeof *s);
    assert_non_null(s);
    assert_int_equal(weft__deque_init(&s->d), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, thief, s), 0);
    /* The owner pushes batches and pops some itself, as a worker does. */
    unsigned char *mine = calloc(STRESS_ITEMS + 1, 1);
    assert_non_null(mine);
    void *items[STRESS_BATCH];
    uintptr_t next = 1;
    while (next <= STRESS_ITEMS) {
        size_t n = 0;
        while (n < STRESS_BATCH && next <= STRESS_ITEMS)
            items[n++] = P(next++);
        assert_int_equal(weft__deque_push_many_owner(&s->d, items, n), 0);
        void *p = weft__deque_pop_owner(&s->d);
        if (p)
            mine[I(p)]++;
    }
    /* Release: pairs with the thief's acquire. */
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    assert_int_equal(pthread_join(t, NULL), 0);
    for (uintptr_t i = 1; i <= STRESS_ITEMS; i++)
        assert_int_equal(s->seen[i] + mine[i], 1);
    weft__deque_destroy(&s->d);
    free(mine);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_many_order_and_peek),
        cmocka_unit_test(test_push_many_grows),
        cmocka_unit_test(test_push_many_stress_every_item_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
