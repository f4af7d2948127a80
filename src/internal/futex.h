/*
 * Thin wrappers over the Linux futex system call. A futex is a 32-bit word that
 * threads sleep on while it holds an expected value; the kernel checks the value
 * and queues the sleeper atomically, so a wake-up that changes the word before
 * the sleep is never lost. Every caller re-checks its own condition after
 * waking: wake-ups may be spurious.
 *
 * `shared` selects a futex usable across processes (memory shared between them);
 * process-private futexes are cheaper and the default everywhere else.
 */
#ifndef WEFT_INTERNAL_FUTEX_H
#define WEFT_INTERNAL_FUTEX_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Sleep while *addr == expected, until woken or the absolute CLOCK_MONOTONIC
 * instant `abs` (NULL: no limit). Returns 0 (woken, maybe spuriously),
 * -EAGAIN (*addr != expected on entry), -ETIMEDOUT, -EINTR. */
int weft__futex_wait(uint32_t *addr, uint32_t expected, const struct timespec *abs,
                     bool shared);

/* Wake up to n sleepers on addr (INT32_MAX: all). Returns how many woke. */
int weft__futex_wake(uint32_t *addr, int n, bool shared);

#endif
