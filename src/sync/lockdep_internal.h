/*
 * Internals of the lock-order checker shared with its white-box tests
 * (tests/sync/test_lockdep*.c). The hooks the lock code calls are in
 * internal/lockdep.h; the public switches in weft/sync.h.
 */
#ifndef WEFT_SYNC_LOCKDEP_INTERNAL_H
#define WEFT_SYNC_LOCKDEP_INTERNAL_H

#include <stddef.h>

/* Locks one thread can hold at once and still be checked; a thread that holds
 * more stops being checked (it says so once, on stderr). */
#define WEFT__LOCKDEP_HELD_MAX 48

/* Longest thread name kept in a report, terminating NUL included. */
#define WEFT__LOCKDEP_THREAD_NAME_MAX 64

/* Write the calling thread's name, as lockdep reports show it, into buf (always
 * NUL-terminated when cap > 0; cut to fit). Returns its length. */
size_t weft__lockdep_thread_name(char *buf, size_t cap);

#endif
