/* Helpers shared by the executor tests: pointer-sized integers as task values,
 * and the two tasks nearly every test submits. */
#ifndef WEFT_TEST_EXECUTOR_H
#define WEFT_TEST_EXECUTOR_H

#include <stdint.h>

#include "weft.h"

#define P(i) ((void *)(uintptr_t)(i))
#define I(p) ((uintptr_t)(p))

/* Returns its argument. */
static inline void *identity(void *arg)
{
    return arg;
}

/* Waits until the weft_event *arg is set, then returns P(77). */
static inline void *block_on(void *arg)
{
    weft_event_wait(arg, WEFT_FOREVER);
    return P(77);
}

#endif
