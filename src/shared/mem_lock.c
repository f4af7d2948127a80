/*
 * The process-shared recursive lock of Values and Arrays (see mem_internal.h):
 * weft_shared_rlock, so a holder that dies (even by SIGKILL) hands the lock on
 * with -EOWNERDEAD instead of leaving it held for ever.
 */
#include "shared/mem_internal.h"

int weft__shm_lock(weft__shm_mutex *m, double timeout)
{
    return weft_shared_rlock_acquire(&m->r, timeout);
}

int weft__shm_unlock(weft__shm_mutex *m)
{
    return weft_shared_rlock_release(&m->r);
}

int weft__shm_consistent(weft__shm_mutex *m)
{
    return weft_shared_rlock_consistent(&m->r);
}
