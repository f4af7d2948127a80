/*
 * weft/common.h - conventions shared by every weft module.
 *
 * Errors: a call that can fail returns int: 0 on success, a negative errno value
 * on failure. weft_strerror() turns any such value into text.
 *
 * Timeouts: relative, in seconds, as a double, exactly as in Python.
 * WEFT_FOREVER (any negative value) waits forever, 0 never blocks, anything else is
 * turned once into an absolute CLOCK_MONOTONIC deadline inside the call, so a wait
 * that is woken early and sleeps again never extends the total.
 */
#ifndef WEFT_COMMON_H
#define WEFT_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(WEFT_BUILDING)
#define WEFT_API __attribute__((visibility("default")))
#else
#define WEFT_API
#endif

/* Wait without limit. Any negative timeout means the same. */
#define WEFT_FOREVER (-1.0)

/*
 * Module-specific outcomes are plain errno values under a readable name, so every
 * call still returns 0 or a negative errno:
 *   WEFT_EBROKEN    a Barrier is broken (Python's BrokenBarrierError).
 *   WEFT_ESHUTDOWN  a queue or executor was shut down (Python's ShutDown, and
 *                   RuntimeError on submit after shutdown).
 */
#define WEFT_EBROKEN EPIPE
#define WEFT_ESHUTDOWN ESHUTDOWN

/*
 * Text for a weft result code: accepts 0, a negative errno (as returned by weft
 * calls) or a positive one. Never returns NULL; the string is static.
 * Thread-safe, never blocks.
 */
WEFT_API const char *weft_strerror(int code);

/* The library's version as "MAJOR.MINOR.PATCH". */
WEFT_API const char *weft_version(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_COMMON_H */
