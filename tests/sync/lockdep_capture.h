/* The lockdep tests' reporter: captures reports instead of printing them. */
#ifndef WEFT_TEST_LOCKDEP_CAPTURE_H
#define WEFT_TEST_LOCKDEP_CAPTURE_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "weft/sync.h"

/* Reports captured so far (guarded by cap_mu): the first CAP_MAX kept. */
#define CAP_MAX 8
static pthread_mutex_t cap_mu = PTHREAD_MUTEX_INITIALIZER;
static char *cap_text[CAP_MAX];
static int cap_n;

static void capture(const char *text, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cap_mu);
    if (cap_n < CAP_MAX)
        cap_text[cap_n] = strdup(text);
    cap_n++;
    pthread_mutex_unlock(&cap_mu);
}

static void cap_clear(void)
{
    pthread_mutex_lock(&cap_mu);
    for (int i = 0; i < CAP_MAX; i++) {
        free(cap_text[i]);
        cap_text[i] = NULL;
    }
    cap_n = 0;
    pthread_mutex_unlock(&cap_mu);
}

/* cmocka setup/teardown: checking on, a clean graph, reports captured. */
static int setup(void **state)
{
    (void)state;
    weft_lockdep_enable(true);
    weft_lockdep_reset();
    weft_lockdep_set_reporter(capture, NULL);
    cap_clear();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    weft_lockdep_set_reporter(NULL, NULL);
    cap_clear();
    return 0;
}

static bool has(const char *text, const char *what)
{
    return text && strstr(text, what) != NULL;
}

#endif
