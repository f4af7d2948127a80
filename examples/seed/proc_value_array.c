/*
 * proc_value_array.c - ports the tutorials' shared-memory program:
 * num = Value('d', 0.0) and arr = Array('i', range(10)); a child process sets
 * num.value = 3.14159 and negates every element; the parent prints both after
 * join(). Then the counter: four processes each add 1 to a Value 10,000 times
 * under `with counter.get_lock():`, and the total is exact.
 *
 * Shows: unlike ordinary globals (proc_isolation), a Value or Array lives in
 * memory shared with the children, so their writes are seen by the parent; and
 * a read-modify-write on it still needs the Value's lock, as in Python.
 */
#include <stdint.h>

#include "seed.h"
#include "weft/process.h"
#include "weft/shared.h"

typedef struct shared_pair {
    weft_value *num;
    weft_array *arr;
} shared_pair;

static int change(void *arg)
{
    shared_pair *s = arg;
    weft_value_set(s->num, &(double){3.14159});
    int *a = WEFT_ARRAY(s->arr, int);
    for (size_t i = 0; i < weft_array_len(s->arr); i++)
        a[i] = -a[i];
    return 0;
}

#define ADDERS 4
#define ADDS 10000

static int add(void *arg)
{
    weft_value *counter = arg;
    for (int i = 0; i < ADDS; i++) {
        weft_value_acquire(counter, WEFT_FOREVER); /* with counter.get_lock(): */
        WEFT_VALUE(counter, int64_t) += 1;
        weft_value_release(counter);
    }
    return 0;
}

WEFT_SEED(proc_value_array, "Value and Array shared with a child; a locked counter in 4 processes")
{
    shared_pair s;
    int init[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    SEED_CHECK(weft_value_new(&s.num, sizeof(double), &(double){0.0}, NULL) == 0, "Value");
    SEED_CHECK(weft_array_new(&s.arr, sizeof(int), 10, init, NULL) == 0, "Array");
    weft_process *p;
    int rc = weft_process_spawn(&p, change, &s, NULL);
    SEED_CHECK(rc == 0, "weft_process_spawn: %s", weft_strerror(rc));
    weft_process_join(p, WEFT_FOREVER);
    weft_process_free(p);
    double num;
    weft_value_get(s.num, &num);
    printf("num = %.5f\narr = [", num);
    int negated = 0;
    for (int i = 0; i < 10; i++) {
        printf("%s%d", i ? ", " : "", WEFT_ARRAY(s.arr, int)[i]);
        negated += WEFT_ARRAY(s.arr, int)[i] == -i;
    }
    printf("]\n");
    weft_value_free(s.num);
    weft_array_free(s.arr);
    SEED_CHECK(num == 3.14159 && negated == 10, "the parent saw num %g, %d negated", num, negated);

    weft_value *counter;
    SEED_CHECK(weft_value_new(&counter, sizeof(int64_t), NULL, NULL) == 0, "Value");
    weft_process *adders[ADDERS];
    int started = 0;
    for (; started < ADDERS; started++)
        if (weft_process_spawn(&adders[started], add, counter, NULL) != 0)
            break;
    for (int i = 0; i < started; i++) {
        weft_process_join(adders[i], WEFT_FOREVER);
        weft_process_free(adders[i]);
    }
    int64_t total = WEFT_VALUE(counter, int64_t);
    weft_value_free(counter);
    printf("counter = %lld (4 processes x %d increments under get_lock())\n", (long long)total,
           ADDS);
    SEED_CHECK(started == ADDERS && total == ADDERS * ADDS, "counter %lld, expected %d",
               (long long)total, ADDERS * ADDS);
    return 0;
}
