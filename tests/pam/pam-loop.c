/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pam-loop: a PAM application that authenticates one user N times in one
 * process, answering each prompt with the code mailed for that round, as a
 * long-running host (sshd's monitor, a display manager) would.  Each round
 * is a whole pam_start .. pam_end, so the module is loaded and unloaded
 * N times.  Built with the sanitizers, LeakSanitizer checks at exit that
 * nothing leaked; in every build it checks that no file descriptor was
 * left open and that the resident set did not grow without bound.
 *
 *   pam-loop CONFDIR SERVICE USER MAILDIR EMAIL N [THREADS]
 *
 * With THREADS, that many threads do it at once, thread i as USER<i> with
 * the address <i>.EMAIL: a threaded host (a display manager, a PAM-using
 * daemon) calling the module concurrently.
 *
 * CONFDIR holds the service file (pam_start_confdir: nothing in /etc).
 * Prints one summary line; exits 0 when every round returned PAM_SUCCESS
 * with one prompt each, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <security/pam_appl.h>

#include "maildir.h"

#define CSAM_LOOP_CODE_WAIT_MS 10000
/* Resident growth allowed over the whole run: the allocator's arenas and
 * the libraries' one-time state settle in the first rounds; a per-round
 * leak of even a few hundred bytes over 1,000 rounds shows beyond it. */
#define CSAM_LOOP_RSS_SLACK_KB 2048

struct csam_loop {
    struct csam_maildir md;
    const char *email;
    char code[16];
    int prompts; /* hidden prompts answered this round */
    int reused;  /* rounds that reused the previous code */
};

/* The code of the mail this round sent; when the module reused a pending
 * code (no new mail), the previous one. */
static int csam_loop_conv(int n, const struct pam_message **msg,
                          struct pam_response **resp, void *arg)
{
    struct csam_loop *loop = arg;
    struct pam_response *r;
    int i;

    if (n <= 0 || n > PAM_MAX_NUM_MSG)
        return PAM_CONV_ERR;
    r = calloc((size_t)n, sizeof(*r));
    if (r == NULL)
        return PAM_BUF_ERR;
    for (i = 0; i < n; i++) {
        if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF)
            continue;
        if (csam_maildir_await(&loop->md, loop->email, CSAM_MAILDIR_CODE,
                               loop->code[0] == '\0' ? CSAM_LOOP_CODE_WAIT_MS
                                                     : 200,
                               loop->code, sizeof(loop->code))
            != 0) {
            if (loop->code[0] == '\0') {
                free(r);
                return PAM_CONV_ERR;
            }
            loop->reused++;
        }
        loop->prompts++;
        r[i].resp = strdup(loop->code);
        if (r[i].resp == NULL) {
            while (i-- > 0)
                free(r[i].resp);
            free(r);
            return PAM_BUF_ERR;
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

static int csam_loop_count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    if (dir == NULL)
        return -1;
    while ((de = readdir(dir)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

static long csam_loop_rss_kb(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;

    if (fp == NULL)
        return -1;
    while (fgets(line, sizeof(line), fp) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(fp);
    return kb;
}

static double csam_loop_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One whole PAM transaction; returns pam_authenticate's result. */
static int csam_loop_round(const char *confdir, const char *service,
                           const char *user, struct csam_loop *loop)
{
    struct pam_conv conv = {csam_loop_conv, loop};
    pam_handle_t *pamh = NULL;
    int status;

    loop->prompts = 0;
    status = pam_start_confdir(service, user, &conv, confdir, &pamh);
    if (status != PAM_SUCCESS)
        return status;
    status = pam_authenticate(pamh, 0);
    pam_end(pamh, status);
    /* cppcheck-suppress knownConditionTrueFalse ; csam_loop_conv, called
     * by pam_authenticate, counts the prompts */
    if (status == PAM_SUCCESS && loop->prompts != 1)
        return PAM_CONV_ERR;
    return status;
}

/* One thread's share: its own user, mailbox address and rounds. */
struct csam_loop_thread {
    struct csam_loop loop;
    char user[128];
    char email[256];
    const char *confdir, *service;
    long rounds, failures;
    int first_failure;
    pthread_t tid;
};

static void *csam_loop_run(void *arg)
{
    struct csam_loop_thread *t = arg;
    long i;

    for (i = 0; i < t->rounds; i++) {
        int status = csam_loop_round(t->confdir, t->service, t->user, &t->loop);

        if (status != PAM_SUCCESS) {
            if (t->failures == 0)
                t->first_failure = status;
            t->failures++;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct csam_loop_thread *threads;
    long n, i, nthreads = 1, failures = 0, reused = 0, warm = 0;
    long rss_after_warmup = -1, rss_end, slack = CSAM_LOOP_RSS_SLACK_KB;
    const char *env_slack = getenv("CSAM_LOOP_RSS_SLACK_KB");
    int fds_before, fds_after, first_failure = PAM_SUCCESS;
    double t0, elapsed;

    if (argc < 7 || argc > 8 || (n = strtol(argv[6], NULL, 10)) <= 0
        || n > 1000000
        || (argc == 8
            && ((nthreads = strtol(argv[7], NULL, 10)) < 1 || nthreads > 64))) {
        fprintf(stderr, "usage: pam-loop CONFDIR SERVICE USER MAILDIR EMAIL "
                        "N [THREADS]\n");
        return 2;
    }
    /* ASan's quarantine holds freed memory on purpose: sanitizer runs
     * rely on LeakSanitizer instead and widen this check. */
    if (env_slack != NULL)
        slack = strtol(env_slack, NULL, 10);
    threads = calloc((size_t)nthreads, sizeof(*threads));
    if (threads == NULL)
        return 1;
    /* With THREADS, thread i logs in as USER<i> with the mail address
     * <i>.EMAIL, all at once in one process. */
    for (i = 0; i < nthreads; i++) {
        struct csam_loop_thread *t = &threads[i];

        if (nthreads == 1) {
            snprintf(t->user, sizeof(t->user), "%s", argv[3]);
            snprintf(t->email, sizeof(t->email), "%s", argv[5]);
        } else {
            snprintf(t->user, sizeof(t->user), "%s%ld", argv[3], i);
            snprintf(t->email, sizeof(t->email), "%ld.%s", i, argv[5]);
        }
        t->confdir = argv[1];
        t->service = argv[2];
        t->rounds = n;
        t->loop.email = t->email;
        if (csam_maildir_open(&t->loop.md, argv[4]) != 0)
            return 1;
    }

    /* A few rounds first, so one-time initialisation (libraries loaded
     * once, OpenSSL's and libcurl's global state) is not taken for a
     * leak; then the measured rounds. */
    warm = n < 10 ? 1 : 10;
    for (i = 0; i < warm; i++)
        if (csam_loop_round(argv[1], argv[2], threads[0].user, &threads[0].loop)
            != PAM_SUCCESS)
            failures++;
    fds_before = csam_loop_count_fds();
    rss_after_warmup = csam_loop_rss_kb();
    t0 = csam_loop_now();
    if (nthreads == 1) {
        csam_loop_run(&threads[0]);
    } else {
        for (i = 0; i < nthreads; i++)
            if (pthread_create(&threads[i].tid, NULL, csam_loop_run,
                               &threads[i])
                != 0)
                return 1;
        for (i = 0; i < nthreads; i++)
            pthread_join(threads[i].tid, NULL);
    }
    elapsed = csam_loop_now() - t0;
    fds_after = csam_loop_count_fds();
    rss_end = csam_loop_rss_kb();
    for (i = 0; i < nthreads; i++) {
        if (threads[i].failures != 0 && failures == 0)
            first_failure = threads[i].first_failure;
        failures += threads[i].failures;
        reused += threads[i].loop.reused;
        csam_maildir_close(&threads[i].loop.md);
    }
    free(threads);

    printf("pam-loop: %ld rounds x %ld thread(s) (+%ld warm-up), %ld failed"
           "%s%s, %ld reused a pending code, %.2f ms per round, fds %d -> %d,"
           " rss %ld -> %ld kB\n",
           n, nthreads, warm, failures, failures ? ", first: " : "",
           failures ? pam_strerror(NULL, first_failure) : "", reused,
           elapsed * 1000.0 / (double)(n * nthreads), fds_before, fds_after,
           rss_after_warmup, rss_end);
    if (failures != 0 || fds_before < 0 || fds_after != fds_before)
        return 1;
    if (rss_after_warmup < 0 || rss_end < 0
        || rss_end - rss_after_warmup > slack) {
        fprintf(stderr, "pam-loop: resident set grew by %ld kB\n",
                rss_end - rss_after_warmup);
        return 1;
    }
    return 0;
}
