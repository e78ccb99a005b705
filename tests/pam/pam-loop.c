/*
 * pam-loop: a PAM application that authenticates one user N times in one
 * process, answering each prompt with the code mailed for that round, as a
 * long-running host (sshd's monitor, a display manager) would.  Each round
 * is a whole pam_start .. pam_end, so the module is loaded and unloaded
 * N times.  Built with the sanitizers, LeakSanitizer checks at exit that
 * nothing leaked; in every build it checks that no file descriptor was
 * left open and that the resident set did not grow without bound.
 *
 *   pam-loop CONFDIR SERVICE USER MAILDIR EMAIL N
 *
 * CONFDIR holds the service file (pam_start_confdir: nothing in /etc).
 * Prints one summary line; exits 0 when every round returned PAM_SUCCESS
 * with one prompt each, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
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
                               loop->code, sizeof(loop->code)) != 0) {
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
    if (status == PAM_SUCCESS && loop->prompts != 1)
        return PAM_CONV_ERR;
    return status;
}

int main(int argc, char **argv)
{
    static struct csam_loop loop;
    long n, i, failures = 0, warm = 0;
    long rss_after_warmup = -1, rss_end, slack = CSAM_LOOP_RSS_SLACK_KB;
    const char *env_slack = getenv("CSAM_LOOP_RSS_SLACK_KB");
    int fds_before, fds_after, first_failure = PAM_SUCCESS;
    double t0, elapsed;

    if (argc != 7 || (n = strtol(argv[6], NULL, 10)) <= 0 || n > 1000000) {
        fprintf(stderr, "usage: pam-loop CONFDIR SERVICE USER MAILDIR EMAIL "
                        "N\n");
        return 2;
    }
    /* ASan's quarantine holds freed memory on purpose: sanitizer runs
     * rely on LeakSanitizer instead and widen this check. */
    if (env_slack != NULL)
        slack = strtol(env_slack, NULL, 10);
    if (csam_maildir_open(&loop.md, argv[4]) != 0)
        return 1;
    loop.email = argv[5];

    /* A few rounds first, so one-time initialisation (libraries loaded
     * once, OpenSSL's and libcurl's global state) is not taken for a
     * leak; then the measured rounds. */
    warm = n < 10 ? 1 : 10;
    for (i = 0; i < warm; i++)
        if (csam_loop_round(argv[1], argv[2], argv[3], &loop) != PAM_SUCCESS)
            failures++;
    fds_before = csam_loop_count_fds();
    rss_after_warmup = csam_loop_rss_kb();
    t0 = csam_loop_now();
    for (i = 0; i < n; i++) {
        int status = csam_loop_round(argv[1], argv[2], argv[3], &loop);

        if (status != PAM_SUCCESS) {
            if (failures == 0)
                first_failure = status;
            failures++;
        }
    }
    elapsed = csam_loop_now() - t0;
    fds_after = csam_loop_count_fds();
    rss_end = csam_loop_rss_kb();
    csam_maildir_close(&loop.md);

    printf("pam-loop: %ld rounds (+%ld warm-up), %ld failed%s%s, %ld reused "
           "a pending code, %.2f ms per round, fds %d -> %d, rss %ld -> %ld "
           "kB\n",
           n, warm, failures, failures ? ", first: " : "",
           failures ? pam_strerror(NULL, first_failure) : "", (long)loop.reused,
           elapsed * 1000.0 / (double)n, fds_before, fds_after,
           rss_after_warmup, rss_end);
    if (failures != 0 || fds_before < 0 || fds_after != fds_before)
        return 1;
    if (rss_after_warmup < 0 || rss_end < 0 ||
        rss_end - rss_after_warmup > slack) {
        fprintf(stderr, "pam-loop: resident set grew by %ld kB\n",
                rss_end - rss_after_warmup);
        return 1;
    }
    return 0;
}
