/*
 * proc_isolation.c - ports the tutorials' "processes do not share data" program:
 * a global num = 100; a child process adds to it and prints its own copy; the
 * parent, after join(), still sees 100.
 *
 * Shows: a child created by fork gets a copy of the parent's memory, not the
 * memory itself - unlike threads, which share globals (compare bank_balance).
 * Sharing between processes takes shared memory (weft/shared.h) or messages.
 */
#include "seed.h"
#include "weft/process.h"

static int num = 100;

static int work(void *arg)
{
    int add = *(const int *)arg;
    num += add;
    printf("  child %s: num = %d\n", weft_process_name(weft_current_process()), num);
    return num == 100 + add ? 0 : 1;
}

WEFT_SEED(proc_isolation, "a child changes its copy of num; the parent's stays 100")
{
    int add = 50;
    weft_process *p;
    int rc = weft_process_spawn(&p, work, &add, &(weft_process_opts){.name = "adder"});
    SEED_CHECK(rc == 0, "weft_process_spawn: %s", weft_strerror(rc));
    int code = -1;
    weft_process_join(p, WEFT_FOREVER);
    weft_process_exitcode(p, &code);
    weft_process_free(p);
    printf("parent: num = %d\n", num);
    SEED_CHECK(code == 0, "the child saw num %s", "change wrongly");
    SEED_CHECK(num == 100, "the parent's num is %d, not 100", num);
    return 0;
}
