/*
 * Mappings shared with fork children: page rounding and anonymous MAP_SHARED
 * memory, used by anonymous blocks, Values and Arrays.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shared/mem_internal.h"

bool weft__shm_round_pages(size_t len, size_t *out)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (len > SIZE_MAX - (page - 1))
        return false;
    *out = (len + page - 1) / page * page;
    return true;
}

int weft__shm_map_anon(size_t len, void **out)
{
    /* MAP_SHARED: a fork child shares the pages instead of copying them on
     * write. Anonymous memory is zero-filled by the kernel. */
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    *out = p;
    return 0;
}
