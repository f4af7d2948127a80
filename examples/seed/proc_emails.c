/*
 * proc_emails.c - ports the tutorials' "send 10 e-mails, one process each"
 * program: start all ten processes, then join them all (the sending is simulated
 * by a short sleep, as the slow SMTP round trip).
 *
 * Shows: start() returns at once, so the ten sends overlap and take about the time
 * of the slowest one; join() waits for each; every child reports success through
 * its exit code.
 */
#include "seed.h"
#include "weft/process.h"

#define EMAILS 10

typedef struct email {
    int id;
    double send_time;
} email;

static int send_email(void *arg)
{
    const email *e = arg;
    seed_sleep(e->send_time);
    printf("  e-mail %d sent by %s\n", e->id, weft_process_name(weft_current_process()));
    fflush(stdout);
    return 0;
}

WEFT_SEED(proc_emails, "10 e-mails sent by 10 processes, started then joined")
{
    email mail[EMAILS];
    weft_process *p[EMAILS];
    double serial = 0;
    int started = 0, rc = 0;
    double t0 = seed_now();
    for (; started < EMAILS; started++) {
        mail[started] = (email){.id = started, .send_time = 0.1 + 0.01 * (started % 5)};
        serial += mail[started].send_time;
        char name[32];
        snprintf(name, sizeof name, "mailer-%d", started);
        /* the child gets its own copy of the e-mail (copied bytes) */
        rc = weft_process_spawn(&p[started], send_email, NULL,
                                &(weft_process_opts){.name = name,
                                                     .arg_bytes = &mail[started],
                                                     .arg_size = sizeof mail[started]});
        if (rc != 0)
            break;
    }
    int ok = 0;
    for (int i = 0; i < started; i++) {
        int code = -1;
        weft_process_join(p[i], WEFT_FOREVER);
        weft_process_exitcode(p[i], &code);
        ok += code == 0;
        weft_process_free(p[i]);
    }
    double elapsed = seed_now() - t0;
    SEED_CHECK(rc == 0, "weft_process_spawn: %s", weft_strerror(rc));
    printf("%d e-mails sent in %.2f s (one at a time: %.2f s)\n", ok, elapsed, serial);
    SEED_CHECK(ok == EMAILS, "%d of %d senders exited with 0", ok, EMAILS);
    SEED_CHECK(elapsed < serial / 2, "10 processes took %.2f s; one at a time takes %.2f s",
               elapsed, serial);
    return 0;
}
