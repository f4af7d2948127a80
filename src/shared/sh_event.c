/*
 * Shared Event: multiprocessing.Event. The algorithm of threading.Event
 * (src/sync/event.c, where its no-lost-wake-up argument is) on the same two
 * words, placed in shared memory and slept on with process-shared futexes. A
 * sleeper that dies leaves the count of sleepers one too high: set() then makes
 * a futex call for nobody, harmless.
 */
#include "shared/shared_internal_sync.h"
#include "sync/sync_internal.h"

WEFT_API int weft_shared_event_init(weft_shared_event *e)
{
    if (!e)
        return -EINVAL;
    e->_flag = 0; /* plain: nobody uses it yet */
    e->_waiters = 0;
    return 0;
}

WEFT_API int weft_shared_event_set(weft_shared_event *e)
{
    return e ? weft__event_set_words(&e->_flag, &e->_waiters, true) : -EINVAL;
}

WEFT_API int weft_shared_event_clear(weft_shared_event *e)
{
    if (!e)
        return -EINVAL;
    weft__event_clear_word(&e->_flag);
    return 0;
}

WEFT_API bool weft_shared_event_is_set(const weft_shared_event *e)
{
    return e && weft__event_is_set_word(&e->_flag);
}

WEFT_API int weft_shared_event_wait(weft_shared_event *e, double timeout)
{
    return e ? weft__event_wait_words(&e->_flag, &e->_waiters, timeout, true) : -EINVAL;
}
