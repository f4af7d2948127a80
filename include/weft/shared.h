/*
 * weft/shared.h - Python's multiprocessing.Lock, RLock, Semaphore,
 * BoundedSemaphore, Event, Condition and Barrier, Value and Array, shared memory
 * blocks and file locks, in C: synchronisation and memory that work across
 * processes.
 *
 * (The module overview is written with the two sections below.)
 */
#ifndef WEFT_SHARED_H
#define WEFT_SHARED_H

#include <sys/types.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===========================================================================
 * Part 1: process-shared, owner-death-robust synchronisation.
 * (src/shared/ sync sources; tests/shared/test_sh*.c)
 */

/* --- end of part 1 --- */

/* ===========================================================================
 * Part 2: shared memory (Value, Array, anonymous and named blocks) and file
 * locks. (src/shared/ memory and file-lock sources; tests/shared/test_mem*.c,
 * test_filelock*.c)
 */

/* --- end of part 2 --- */

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SHARED_H */
