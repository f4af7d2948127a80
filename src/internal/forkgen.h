/*
 * The fork generation: a counter the thread registry's fork-child handler bumps in
 * every child created by fork(). An object that owns threads (an executor's
 * workers) records it when made; a different value later means "we are in a
 * child, and those threads do not exist here".
 */
#ifndef WEFT_INTERNAL_FORKGEN_H
#define WEFT_INTERNAL_FORKGEN_H

#include <stdint.h>

/* Written only in a fork child, while it is single-threaded; relaxed reads. */
extern uint32_t weft__fork_gen;

static inline uint32_t weft__fork_generation(void)
{
    return __atomic_load_n(&weft__fork_gen, __ATOMIC_RELAXED);
}

#endif
