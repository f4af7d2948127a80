/*
 * download.c - ports the tutorials' "download files one after another, then all
 * at once in threads" program (threading.Thread, with time.sleep standing in for
 * the network).
 *
 * Shows: while one thread waits on I/O the others carry on, so three downloads
 * in threads take about as long as the longest one, not the sum of all three.
 */
#include <time.h>

#include "seed.h"
#include "weft/thread.h"

typedef struct download {
    const char *file;
    double seconds; /* how long the simulated transfer takes */
} download;

static const download files[] = {{"a.zip", 0.2}, {"b.zip", 0.3}, {"c.zip", 0.4}};
#define NFILES (sizeof files / sizeof files[0])



/* The thread body: "download" one file. */
static void *fetch(void *arg)
{
    const download *d = arg;
    seed_sleep(d->seconds);
    return NULL;
}

static double serial(void)
{
    double t0 = seed_now();
    for (size_t i = 0; i < NFILES; i++)
        fetch((void *)&files[i]);
    return seed_now() - t0;
}

/* One thread per file, then wait for all of them. Returns -1 on failure. */
static double threaded(void)
{
    weft_thread *t[NFILES];
    double t0 = seed_now();
    for (size_t i = 0; i < NFILES; i++) {
        int rc = weft_thread_start(&t[i], fetch, (void *)&files[i],
                                   &(weft_thread_opts){.name = files[i].file});
        if (rc != 0) {
            fprintf(stderr, "weft_thread_start: %s\n", weft_strerror(rc));
            for (size_t j = 0; j < i; j++) {
                weft_thread_join(t[j], WEFT_FOREVER, NULL);
                weft_thread_free(t[j]);
            }
            return -1;
        }
    }
    for (size_t i = 0; i < NFILES; i++) {
        weft_thread_join(t[i], WEFT_FOREVER, NULL);
        weft_thread_free(t[i]);
    }
    return seed_now() - t0;
}

WEFT_SEED(download, "three downloads: one after another vs. all at once in threads")
{
    double sum = 0, longest = 0;
    for (size_t i = 0; i < NFILES; i++) {
        sum += files[i].seconds;
        longest = files[i].seconds > longest ? files[i].seconds : longest;
    }

    double s = serial();
    printf("serial:   %zu files in %.2f s (the sum of their times is %.2f s)\n", NFILES, s, sum);
    double t = threaded();
    SEED_CHECK(t >= 0, "could not start the download threads");
    printf("threaded: %zu files in %.2f s (the longest one takes %.2f s)\n", NFILES, t, longest);

    SEED_CHECK(s >= sum, "serial run took %.3f s, less than the sum %.2f s", s, sum);
    SEED_CHECK(t >= longest, "threaded run took %.3f s, less than the longest %.2f s", t, longest);
    SEED_CHECK(t < sum, "threaded run took %.3f s, no faster than serial (%.2f s)", t, sum);
    return 0;
}
