/*
 * thread_local.c - ports the tutorials' threading.local program: every thread
 * stores a student's name in the same "local" object and reads back its own.
 *
 * Shows: one weft_local slot holds a separate value in each thread; a thread
 * sees only what it stored, and its value is destroyed when it ends.
 */
#include <stdlib.h>
#include <string.h>

#include "seed.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define STUDENTS 4

static const char *const names[STUDENTS] = {"Alice", "Bob", "Chiara", "Dmitri"};

static weft_local *student;      /* each thread's own copy of its student's name */
static weft_barrier all_set;     /* nobody reads until everybody has written */
static int destroyed;            /* values freed by the destructor (atomic) */

static void forget_student(void *value)
{
    free(value);
    __atomic_add_fetch(&destroyed, 1, __ATOMIC_RELAXED);
}

/* Store my name, wait for the others to store theirs, read mine back.
 * Returns (void *)1 when the value read back is my own. */
static void *enrol(void *arg)
{
    const char *name = arg;
    weft_local_set(student, strdup(name), NULL);
    weft_barrier_wait(&all_set, NULL);
    const char *mine = weft_local_get(student);
    printf("%s's thread reads back: %s\n", name, mine ? mine : "(nothing)");
    return (void *)(uintptr_t)(mine && strcmp(mine, name) == 0);
}

WEFT_SEED(thread_local, "per-thread student names in one weft_local slot")
{
    int rc = weft_local_new(&student, forget_student);
    SEED_CHECK(rc == 0, "weft_local_new: %s", weft_strerror(rc));
    weft_barrier_init(&all_set, STUDENTS, NULL);

    weft_thread *t[STUDENTS];
    int started = 0;
    for (; started < STUDENTS; started++)
        if ((rc = weft_thread_start(&t[started], enrol, (void *)names[started],
                                    &(weft_thread_opts){.name = names[started]})) != 0)
            break;
    if (rc != 0)
        weft_barrier_abort(&all_set);

    int own = 0;
    for (int i = 0; i < started; i++) {
        void *ok = NULL;
        weft_thread_join(t[i], WEFT_FOREVER, &ok);
        weft_thread_free(t[i]);
        own += ok != NULL;
    }
    int freed = __atomic_load_n(&destroyed, __ATOMIC_RELAXED);
    void *main_value = weft_local_get(student);
    weft_local_free(student);
    printf("%d of %d threads read their own name; %d values destroyed as the threads ended;"
           " main's value: %s\n", own, STUDENTS, freed, main_value ? "set" : "unset");
    SEED_CHECK(rc == 0, "weft_thread_start: %s", weft_strerror(rc));
    SEED_CHECK(own == STUDENTS, "only %d of %d threads read back their own name", own, STUDENTS);
    SEED_CHECK(freed == STUDENTS, "the destructor ran %d times, expected %d", freed, STUDENTS);
    SEED_CHECK(main_value == NULL, "the main thread sees a value it never set");
    return 0;
}
