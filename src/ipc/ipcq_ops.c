/*
 * weft_ipc_queue_put and weft_ipc_queue_get: the record protocol of
 * ipcq_internal.h. Each side's caller holds its side's robust lock for the whole
 * call, so within a side there is one writer of the committed word at a time;
 * the two sides meet only through the committed words (release store by the
 * writer, acquire load by the other side) and the eventcounts.
 */
#include <errno.h>
#include <string.h>

#include "internal/cpu.h"
#include "ipc/ipcq_internal.h"

/* Spins (cpu pauses, re-reading the other side's word) before sleeping: a
 * partner process on the other core usually answers within that. */
#define IPCQ_SPINS 100

static int usable(weft_ipc_queue *q)
{
    if (q->closed)
        return -EBADF;
    /* Relaxed: the flag is a hint raised by whichever process found corruption. */
    if (q->broken || __atomic_load_n(&q->sh->broken, __ATOMIC_RELAXED))
        return -WEFT_ECORRUPT;
    return 0;
}

/* Checks one snapshot of the committed words; on success sets *used (bytes) and
 * *n (messages). */
static bool snapshot_ok(const weft_ipc_queue *q, uint64_t h, uint64_t t, uint64_t *used,
                        uint64_t *n)
{
    *used = (ipcq_off(t) - ipcq_off(h)) & IPCQ_OFF_MASK;
    *n = (ipcq_cnt(t) - ipcq_cnt(h)) & IPCQ_CNT_MASK;
    return ((ipcq_off(h) | ipcq_off(t)) & 7u) == 0 && *used <= q->capacity &&
           *n <= *used / IPCQ_REC_HDR && (*n == 0) == (*used == 0);
}

static uint32_t header_check(uint32_t len, uint64_t off)
{
    return ~len ^ (uint32_t)(off >> 3);
}

/* Copy n bytes into the ring at byte position pos (masked), wrapping at the end. */
static void ring_write(weft_ipc_queue *q, uint64_t pos, const void *src, uint64_t n)
{
    if (n == 0) /* src may be NULL then */
        return;
    pos &= q->mask;
    uint64_t first = n < q->capacity - pos ? n : q->capacity - pos;
    memcpy(q->sh->ring + pos, src, (size_t)first);
    memcpy(q->sh->ring, (const unsigned char *)src + first, (size_t)(n - first));
}

static void ring_read(const weft_ipc_queue *q, uint64_t pos, void *dst, uint64_t n)
{
    if (n == 0) /* dst may be NULL then */
        return;
    pos &= q->mask;
    uint64_t first = n < q->capacity - pos ? n : q->capacity - pos;
    memcpy(dst, q->sh->ring + pos, (size_t)first);
    memcpy((unsigned char *)dst + first, q->sh->ring, (size_t)(n - first));
}

/* Room for a record of rec bytes after the committed tail t? 1 yes, 0 no, or a
 * negative code (corrupt). Looks at head_seen first and loads head itself only
 * when that says no: acquire, so the consumers' reads of the bytes they freed
 * happen before we overwrite them. (head_seen was loaded the same way by an
 * earlier put_lock holder, and the lock orders us after it.) */
static int has_room(weft_ipc_queue *q, uint64_t t, uint64_t rec)
{
    struct ipcq_shared *sh = q->sh;
    uint64_t used, n;
    for (int fresh = 0; fresh < 2; fresh++) {
        uint64_t h = fresh ? __atomic_load_n(&sh->head, __ATOMIC_ACQUIRE) : sh->head_seen;
        if (fresh)
            sh->head_seen = h;
        if (!snapshot_ok(q, h, t, &used, &n)) {
            if (fresh)
                return weft__ipcq_corrupt(q);
            continue; /* a hint from before a reset, or corrupt: look at head itself */
        }
        if (used + rec <= q->capacity && (q->maxsize == 0 || n < q->maxsize))
            return 1;
    }
    return 0;
}

/* Has a committed record after head h? Sets *used. Looks at tail_seen first and
 * loads tail only when that says empty: acquire, so the producers' writes of the
 * records happen before our reads of them. */
static int has_data(weft_ipc_queue *q, uint64_t h, uint64_t *used)
{
    struct ipcq_shared *sh = q->sh;
    uint64_t n;
    for (int fresh = 0; fresh < 2; fresh++) {
        uint64_t t = fresh ? __atomic_load_n(&sh->tail, __ATOMIC_ACQUIRE) : sh->tail_seen;
        if (fresh)
            sh->tail_seen = t;
        if (!snapshot_ok(q, h, t, used, &n)) {
            if (fresh)
                return weft__ipcq_corrupt(q);
            continue;
        }
        if (*used > 0)
            return 1;
    }
    return 0;
}

/* The longest one futex sleep lasts before the sleeper looks again, even with
 * time left. A notifier killed after its commit but before (or inside) its
 * notify - after clearing the sleepers bit, before the futex wake - would
 * otherwise leave a sleeper waiting for a wake-up that never comes, while the
 * message it waits for is committed. Twenty looks a second cost nothing. */
#define IPCQ_NAP_NS 50000000L

static weft__deadline ipcq_nap(const weft__deadline *d)
{
    weft__deadline nap = weft__deadline_in(IPCQ_NAP_NS * 1e-9);
    if (!d->forever && (d->at.tv_sec < nap.at.tv_sec ||
                        (d->at.tv_sec == nap.at.tv_sec && d->at.tv_nsec < nap.at.tv_nsec)))
        nap = *d;
    return nap;
}

/* Wait until check(q, a, b) is non-zero, on the eventcount the other side
 * notifies. Returns 0 (condition true), the check's negative code,
 * `busy` (timeout 0) or -ETIMEDOUT. */
#define IPCQ_WAIT(q, ec, d, busy, check)                                                   \
    do {                                                                                   \
        int r_ = (check);                                                                  \
        for (int s_ = 0; r_ == 0 && !(d)->nonblock && s_ < IPCQ_SPINS; s_++) {             \
            weft__cpu_relax();                                                             \
            r_ = (check);                                                                  \
        }                                                                                  \
        while (r_ == 0) {                                                                  \
            if ((d)->nonblock) {                                                           \
                r_ = (busy);                                                               \
                break;                                                                     \
            }                                                                              \
            uint32_t key_ = weft__ec_prepare(ec);                                          \
            if ((r_ = (check)) != 0)                                                       \
                break;                                                                     \
            weft__deadline nap_ = ipcq_nap(d);                                             \
            if (weft__ec_wait((ec), key_, &nap_, true) == -ETIMEDOUT &&                    \
                weft__deadline_passed(d)) {                                                \
                r_ = (check);                                                              \
                if (r_ == 0)                                                               \
                    r_ = -ETIMEDOUT;                                                       \
                break;                                                                     \
            }                                                                              \
            r_ = (check);                                                                  \
        }                                                                                  \
        rc = r_ > 0 ? 0 : r_;                                                              \
    } while (0)

/* Timeout 0 and the side's lock is taken: by another caller copying a message,
 * or by one waiting for room (put) or data (get). Full/empty is only the answer
 * in the second case: when the committed words show room (data), wait a moment
 * for the copier instead, as a drain loop of get(timeout 0) expects. Returns 0
 * (lock taken) or -WEFT_EFULL / -WEFT_EEMPTY. */
static int busy_side(weft_ipc_queue *q, weft_shared_lock *l, bool put)
{
    int none = put ? -WEFT_EFULL : -WEFT_EEMPTY;
    if (put ? weft_ipc_queue_full(q) : weft_ipc_queue_empty(q))
        return none;
    int rc = weft__ipcq_lock(l, 0.01);
    return rc == 0 ? 0 : rc == -ETIMEDOUT ? none : rc;
}

int weft_ipc_queue_put(weft_ipc_queue *q, const void *msg, size_t len, double timeout)
{
    if (!q || (!msg && len) || weft__timeout_invalid(timeout))
        return -EINVAL;
    int rc = usable(q);
    if (rc != 0)
        return rc;
    if (len > q->max_message)
        return -EMSGSIZE;
    uint64_t rec = ipcq_record_size(len);
    weft__deadline d = weft__deadline_in(timeout);
    struct ipcq_shared *sh = q->sh;
    if ((rc = weft__ipcq_lock(&sh->put_lock, timeout)) == -EBUSY)
        rc = busy_side(q, &sh->put_lock, true);
    if (rc != 0)
        return rc;
    /* Relaxed: only put_lock holders store tail, and taking the lock ordered us
     * after the previous holder (or its death). */
    uint64_t t = __atomic_load_n(&sh->tail, __ATOMIC_RELAXED);
    IPCQ_WAIT(q, &sh->not_full, &d, -WEFT_EFULL, has_room(q, t, rec));
    if (rc == 0) {
        uint32_t hdr[2] = {(uint32_t)len, header_check((uint32_t)len, ipcq_off(t))};
        ring_write(q, ipcq_off(t), hdr, sizeof hdr);
        ring_write(q, ipcq_off(t) + IPCQ_REC_HDR, msg, len);
        /* Release: the record's bytes are visible to whoever acquires this tail.
         * This single store is the commit point of the put. */
        __atomic_store_n(&sh->tail, ipcq_word(ipcq_cnt(t) + 1, ipcq_off(t) + rec),
                         __ATOMIC_RELEASE);
    }
    weft_shared_lock_release(&sh->put_lock);
    if (rc == 0)
        weft__ec_notify_all(&sh->not_empty, true);
    return rc;
}

/* Read and check the header of the record at committed head h; *len on success. */
static int read_header(weft_ipc_queue *q, uint64_t h, uint64_t used, uint32_t *len)
{
    uint32_t hdr[2];
    ring_read(q, ipcq_off(h), hdr, sizeof hdr); /* each field read once, here */
    if (hdr[1] != header_check(hdr[0], ipcq_off(h)) || hdr[0] > q->max_message ||
        ipcq_record_size(hdr[0]) > used)
        return weft__ipcq_corrupt(q);
    *len = hdr[0];
    return 0;
}

int weft_ipc_queue_get(weft_ipc_queue *q, void *buf, size_t cap, size_t *len, double timeout)
{
    if (!q || !len || (!buf && cap) || weft__timeout_invalid(timeout))
        return -EINVAL;
    int rc = usable(q);
    if (rc != 0)
        return rc;
    weft__deadline d = weft__deadline_in(timeout);
    struct ipcq_shared *sh = q->sh;
    if ((rc = weft__ipcq_lock(&sh->get_lock, timeout)) == -EBUSY)
        rc = busy_side(q, &sh->get_lock, false);
    if (rc != 0)
        return rc;
    /* Relaxed: only get_lock holders store head (see put). */
    uint64_t h = __atomic_load_n(&sh->head, __ATOMIC_RELAXED), used = 0;
    uint32_t n = 0;
    IPCQ_WAIT(q, &sh->not_empty, &d, -WEFT_EEMPTY, has_data(q, h, &used));
    if (rc == 0)
        rc = read_header(q, h, used, &n);
    if (rc == 0 && n > cap) {
        *len = n;
        rc = -EMSGSIZE;
    } else if (rc == 0) {
        ring_read(q, ipcq_off(h) + IPCQ_REC_HDR, buf, n);
        /* Release: our reads of the record happen before a producer that acquires
         * this head reuses its bytes. The commit point of the get. */
        __atomic_store_n(&sh->head,
                         ipcq_word(ipcq_cnt(h) + 1, ipcq_off(h) + ipcq_record_size(n)),
                         __ATOMIC_RELEASE);
        *len = n;
    }
    weft_shared_lock_release(&sh->get_lock);
    if (rc == 0)
        weft__ec_notify_all(&sh->not_full, true);
    return rc;
}
