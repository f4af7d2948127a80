/* Lock-order checker: switch and environment. The order graph and reports are
 * being written (issue 2); until then the hooks record nothing. */
#include <stdlib.h>
#include <string.h>

#include "internal/lockdep.h"
#include "weft/sync.h"

int weft__lockdep_on;

__attribute__((constructor)) static void lockdep_from_env(void)
{
    const char *v = getenv("WEFT_LOCKDEP");
    if (v && *v && strcmp(v, "0") != 0)
        __atomic_store_n(&weft__lockdep_on, 1, __ATOMIC_RELAXED);
}

WEFT_API bool weft_lockdep_enable(bool on)
{
    return __atomic_exchange_n(&weft__lockdep_on, on ? 1 : 0, __ATOMIC_RELAXED) != 0;
}

WEFT_API bool weft_lockdep_enabled(void)
{
    return weft__lockdep_active();
}

void weft__lockdep_before(const void *lock, const char *name, const char *file, int line)
{
}
void weft__lockdep_acquired(const void *lock, const char *name, const char *file, int line)
{
}
void weft__lockdep_released(const void *lock)
{
}
void weft__lockdep_forget(const void *lock)
{
}
