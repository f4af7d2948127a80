/*
 * The process-shared message queue of weft/ipc.h: layout of the shared block and
 * the protocol that keeps it safe when any process dies at any instant.
 *
 * Layout. One shared mapping: a header (geometry, for checks only), then two
 * "sides", each on cache lines of its own, then the ring of `capacity` bytes
 * (a power of two). Producers own the put side, consumers the get side:
 *
 *   put side: put_lock (a weft_shared_lock, robust against its owner's death:
 *             serialises producers),
 *             tail (committed end of the data), not_empty (eventcount consumers
 *             sleep on; producers notify it)
 *   get side: get_lock (serialises consumers), head (committed start of the data),
 *             not_full (eventcount producers sleep on; consumers notify it)
 *
 * With one producer and one consumer each lock stays in its owner's cache: the
 * only lines that travel between the two processes are the data and the two
 * committed words, and each side reads the other's word only when its own last
 * look at it says "full" (producers) or "empty" (consumers).
 *
 * Records. A message of n bytes is a record of 8 + round_up(n, 8) bytes at a
 * multiple of 8: a header {u32 len, u32 check} then the payload, which may wrap
 * around the end of the ring (the header never does: capacity is a multiple of 8).
 * check = ~len ^ (offset / 8), so a header at the wrong place or a torn one
 * fails the check.
 *
 * Committed words. head and tail each pack a free-running byte offset (low
 * IPCQ_OFF_BITS bits) and a free-running message count (high IPCQ_CNT_BITS
 * bits), so one 64-bit store commits a put (or a get) as a whole: the record's
 * bytes and the message count move together. Used bytes = tail.off - head.off
 * and messages = tail.cnt - head.cnt, both modulo their widths; capacity is at
 * most 2^30 so that neither can wrap ambiguously (at most 2^27 records fit).
 *
 * Crash safety (the argument). A put writes its record beyond the committed tail
 * - bytes no consumer reads - and only then stores tail; a get copies the record
 * out and only then stores head. Everything else a caller writes is its side's
 * lock. So at every instant the shared state is "committed words plus scratch
 * bytes nobody trusts". A process killed anywhere - holding its side's lock,
 * half-way through a copy - leaves committed words that describe whole records
 * only: the next caller of that side gets EOWNERDEAD from the robust mutex,
 * marks it consistent (there is nothing to repair) and carries on. A put that
 * returned 0 has stored its tail, so its record is delivered exactly once: it
 * stays in the ring until one get copies it out and moves head past it. A get
 * killed before its head store leaves the record for the next consumer; one
 * killed after it had taken the message (the message went to a process that
 * died, which no queue can undo). A sleeper killed in an eventcount wait leaves
 * at most a stale "sleepers" bit: one futex wake too many, later.
 *
 * Hostile shared memory. The geometry (capacity, max message, maxsize) is copied
 * into the process's own handle when the queue is made or opened and never read
 * from shared memory again. head, tail and each record header are loaded once
 * per use, checked (used <= capacity, count <= what can fit, len <= max_message,
 * record <= used, check word) and masked before any access: a bad value marks
 * the queue broken (-WEFT_ECORRUPT for every later call), never an out-of-bounds
 * access, an endless loop or an allocation.
 */
#ifndef WEFT_IPC_IPCQ_INTERNAL_H
#define WEFT_IPC_IPCQ_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal/clock.h"
#include "internal/eventcount.h"
#include "weft/ipc.h"
#include "weft/shared.h"

#define IPCQ_MAGIC UINT64_C(0x3151504954464557) /* "WEFTIPQ1" in memory order */
#define IPCQ_VERSION 1u
#define IPCQ_OFF_BITS 36
#define IPCQ_CNT_BITS 28
#define IPCQ_OFF_MASK ((UINT64_C(1) << IPCQ_OFF_BITS) - 1)
#define IPCQ_CNT_MASK ((UINT64_C(1) << IPCQ_CNT_BITS) - 1)
#define IPCQ_REC_HDR 8u
#define IPCQ_CAP_MIN 64u
#define IPCQ_CAP_MAX (UINT64_C(1) << 30)
#define IPCQ_CAP_DEFAULT (UINT64_C(1) << 20)

struct ipcq_shared {
    uint64_t magic;
    uint32_t version;
    uint32_t broken;       /* set (relaxed) by any process that found corruption */
    uint64_t capacity;     /* informational: each handle keeps its own copy */
    uint64_t max_message;
    uint64_t maxsize;
    uint64_t map_size;

    /* put side: the lock serialises producers; tail is written only by its holder
     * and read by consumers (acquire: the record's bytes come with it).
     * head_seen is the producers' last look at head, kept so that a put reads
     * the consumers' line only when the ring looked full (a stale head only
     * under-states the room). Written and read by put_lock holders only. */
    _Alignas(64) weft_shared_lock put_lock;
    _Alignas(64) uint64_t tail;
    uint64_t head_seen;
    weft__ec not_empty; /* consumers sleep here; each put notifies */

    /* get side: the same for consumers; tail_seen is their last look at tail (a
     * stale tail only under-states what is there). */
    _Alignas(64) weft_shared_lock get_lock;
    _Alignas(64) uint64_t head;
    uint64_t tail_seen;
    weft__ec not_full; /* producers sleep here; each get notifies */

    _Alignas(64) unsigned char ring[];
};

struct weft_ipc_queue {
    struct ipcq_shared *sh;
    size_t map_size;
    /* geometry, trusted: copied when the queue was made */
    uint64_t capacity, mask, max_message, maxsize;
    bool closed;  /* weft_ipc_queue_close() was called on this handle */
    bool broken;  /* this process found the shared state corrupt */
    struct ipcq_name *name; /* the name this process serves, or NULL (ipcq_name.c) */
};

static inline uint64_t ipcq_off(uint64_t w)
{
    return w & IPCQ_OFF_MASK;
}

static inline uint64_t ipcq_cnt(uint64_t w)
{
    return w >> IPCQ_OFF_BITS;
}

static inline uint64_t ipcq_word(uint64_t cnt, uint64_t off)
{
    return ((cnt & IPCQ_CNT_MASK) << IPCQ_OFF_BITS) | (off & IPCQ_OFF_MASK);
}

static inline uint64_t ipcq_record_size(uint64_t len)
{
    return IPCQ_REC_HDR + ((len + 7u) & ~UINT64_C(7));
}

/* Lock one side's robust lock within timeout seconds. 0, -EBUSY (timeout 0 and
 * held), -ETIMEDOUT, -ENOTRECOVERABLE (never here: we always mark it
 * consistent). A dead previous owner is absorbed here (see the crash argument). */
int weft__ipcq_lock(weft_shared_lock *l, double timeout);

/* Make a queue (ipcq.c): anonymous shared memory when memfd is NULL, else a
 * memfd whose descriptor is stored in *memfd. Options checked; opts->name unused. */
int weft__ipcq_make(weft_ipc_queue **out, const weft_ipc_queue_opts *opts, int *memfd);

/* A handle on the queue in memfd (received from another program): size, magic,
 * version and geometry checked. Returns 0, -WEFT_ECORRUPT, -ENOMEM. The caller
 * keeps (and closes) memfd. */
int weft__ipcq_adopt(weft_ipc_queue **out, int memfd);

/* Named queues (ipcq_name.c): make one and start serving its name; stop serving
 * (no-op for an unnamed handle, or in a fork child of the server). */
int weft__ipcq_new_named(weft_ipc_queue **out, const weft_ipc_queue_opts *opts);
void weft__ipcq_unname(weft_ipc_queue *q);

/* Mark the queue corrupt, for this handle and every process; returns the code. */
int weft__ipcq_corrupt(weft_ipc_queue *q);

#endif
