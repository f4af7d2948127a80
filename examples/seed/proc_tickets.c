/*
 * proc_tickets.c - ports the tutorials' train-ticket program: the number of
 * tickets left lives in a JSON file; ten buyer processes each read it, take a
 * moment (the network), and write it back one lower if a ticket was left.
 *
 * Shows: without a lock, every buyer reads "1 left" before anyone writes, and the
 * last ticket is sold many times over; with a process-shared Lock
 * (multiprocessing.Lock) around read-and-write, exactly one buyer gets it; and
 * the same with a lock on the file itself (a FileLock on "ticket.json.lock", as
 * Python's filelock package does), which also works between unrelated programs.
 * The Lock and the sales counter sit in memory shared with the children (a
 * MAP_SHARED mapping made before they start); the buyers all start together when
 * sales open (a process-shared Event).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seed.h"
#include "weft/process.h"
#include "weft/shared.h"

#define BUYERS 10

typedef struct booking_office {
    weft_shared_lock lock;    /* guards the ticket file while taken */
    weft_shared_event open;   /* set when sales open */
    atomic_int sold;          /* tickets handed out, by any buyer */
    int use_lock;             /* 0 none, 1 the shared Lock, 2 a FileLock */
    char path[64];            /* the JSON file */
    char lock_path[80];       /* its lock file */
} booking_office;

static int read_count(const char *path)
{
    int count = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, " {\"count\": %d}", &count) != 1)
            count = 0;
        fclose(f);
    }
    return count;
}

static void write_count(const char *path, int count)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "{\"count\": %d}\n", count);
        fclose(f);
    }
}

static int buy(void *arg)
{
    booking_office *o = arg;
    weft_filelock *fl = NULL;
    /* each buyer opens the lock file itself, as an unrelated program would */
    if (o->use_lock == 2 && weft_filelock_new(&fl, o->lock_path, NULL) != 0)
        return 1;
    weft_shared_event_wait(&o->open, WEFT_FOREVER);
    if (o->use_lock == 1)
        weft_shared_lock_acquire(&o->lock, WEFT_FOREVER);
    else if (o->use_lock == 2)
        weft_filelock_acquire(fl, WEFT_FOREVER);
    int left = read_count(o->path);
    seed_sleep(0.1); /* the round trip to the booking server */
    if (left > 0) {
        write_count(o->path, left - 1);
        atomic_fetch_add(&o->sold, 1);
        printf("  %s bought a ticket (it saw %d left)\n",
               weft_process_name(weft_current_process()), left);
        fflush(stdout);
    }
    if (o->use_lock == 1)
        weft_shared_lock_release(&o->lock);
    else if (o->use_lock == 2)
        weft_filelock_release(fl);
    weft_filelock_free(fl);
    return 0;
}

/* One sale of the last ticket to BUYERS processes; returns the tickets sold. */
static int sale(booking_office *o, int use_lock)
{
    write_count(o->path, 1);
    o->use_lock = use_lock;
    atomic_store(&o->sold, 0);
    weft_shared_event_clear(&o->open);
    weft_process *p[BUYERS];
    int started = 0;
    for (; started < BUYERS; started++) {
        char name[32];
        snprintf(name, sizeof name, "buyer-%d", started);
        if (weft_process_spawn(&p[started], buy, o, &(weft_process_opts){.name = name}) != 0)
            break;
    }
    weft_shared_event_set(&o->open);
    for (int i = 0; i < started; i++) {
        weft_process_join(p[i], WEFT_FOREVER);
        weft_process_free(p[i]);
    }
    return started == BUYERS ? atomic_load(&o->sold) : -1;
}

WEFT_SEED(proc_tickets, "the last train ticket: oversold without a Lock, sold once with it")
{
    booking_office *o = mmap(NULL, sizeof *o, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    SEED_CHECK(o != MAP_FAILED, "mmap failed");
    weft_shared_lock_init(&o->lock);
    weft_shared_event_init(&o->open);
    char dir[] = "/tmp/weft-tickets-XXXXXX";
    SEED_CHECK(mkdtemp(dir) != NULL, "mkdtemp failed");
    snprintf(o->path, sizeof o->path, "%s/ticket.json", dir);

    snprintf(o->lock_path, sizeof o->lock_path, "%s.lock", o->path);

    printf("without a lock:\n");
    int unlocked = sale(o, 0);
    printf("-> %d tickets sold for 1 seat, file says %d left\n", unlocked, read_count(o->path));
    printf("with a Lock:\n");
    int locked = sale(o, 1);
    int left = read_count(o->path);
    printf("-> %d ticket sold, file says %d left\n", locked, left);
    printf("with a FileLock on %s:\n", o->lock_path);
    int filelocked = sale(o, 2);
    int left2 = read_count(o->path);
    printf("-> %d ticket sold, file says %d left\n", filelocked, left2);

    unlink(o->lock_path);
    unlink(o->path);
    rmdir(dir);
    munmap(o, sizeof *o);
    SEED_CHECK(unlocked > 1, "without the lock %d tickets were sold (expected overselling)",
               unlocked);
    SEED_CHECK(locked == 1 && left == 0, "with the lock %d sold, %d left", locked, left);
    SEED_CHECK(filelocked == 1 && left2 == 0, "with the file lock %d sold, %d left", filelocked,
               left2);
    return 0;
}
