/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pam_csam's module arguments (DESIGN 3.4) and its one map from libcsam
 * results to PAM return values: what is accepted, what is refused, and
 * that only success and "no account with nullok" let a login through.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_modules.h>

#include "keytype.h"
#include "options.h"
#include "status.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_options_defaults(void **state)
{
    struct csam_options opts;
    char err[CSAM_OPTIONS_ERRLEN];

    (void)state;
    assert_int_equal(csam_options_parse(0, NULL, &opts, err, sizeof(err)),
                     CSAM_OK);
    assert_string_equal(opts.config, "/etc/csam/csam.conf");
    assert_int_equal(opts.keys, CSAM_KEY_ALL);
    assert_int_equal(opts.nullok, 0);
    assert_int_equal(opts.debug, 0);
    assert_null(opts.prompt);
    assert_string_equal(err, "");
}

static void test_options_all(void **state)
{
    const char *argv[] = {"config=/srv/csam/csam.conf", "key=email", "nullok",
                          "debug", "prompt=Code de sécurité : "};
    struct csam_options opts;

    (void)state;
    assert_int_equal(csam_options_parse(ARGC(argv), argv, &opts, NULL, 0),
                     CSAM_OK);
    assert_string_equal(opts.config, "/srv/csam/csam.conf");
    assert_int_equal(opts.keys, CSAM_KEY_EMAIL);
    assert_int_equal(opts.nullok, 1);
    assert_int_equal(opts.debug, 1);
    assert_string_equal(opts.prompt, "Code de sécurité : ");
}

static void test_options_keys(void **state)
{
    static const struct {
        const char *arg;
        unsigned keys;
    } cases[] = {{"key=email", CSAM_KEY_EMAIL},
                 {"key=sms", CSAM_KEY_SMS},
                 {"key=totp", CSAM_KEY_TOTP},
                 {"key=any", CSAM_KEY_ALL}};
    struct csam_options opts;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *argv[1] = {cases[i].arg};

        assert_int_equal(csam_options_parse(1, argv, &opts, NULL, 0), CSAM_OK);
        assert_int_equal(opts.keys, cases[i].keys);
    }
}

/* Every refusal is CSAM_ERR_CONFIG with a message naming the argument;
 * nothing is skipped, so a typo never weakens the stack. */
static void test_options_refused(void **state)
{
    static const char *const bad[] = {
        "nulok",  /* typo */
        "NULLOK", /* no case folding */
        "nullok=1",        "debug=yes",
        "config=",         "config=relative/csam.conf",
        "config",          "key=",
        "key=EMAIL",       "key=password",
        "key=email,totp",  "prompt=",
        "prompt=Code\n: ", "prompt=\x1b[2JCode: ",
        "prompt=\xff\xfe", /* not UTF-8 */
        "try_first_pass",  "",
    };
    struct csam_options opts;
    char err[CSAM_OPTIONS_ERRLEN];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[2] = {"debug", bad[i]};

        err[0] = '\0';
        assert_int_equal(csam_options_parse(2, argv, &opts, err, sizeof(err)),
                         CSAM_ERR_CONFIG);
        assert_non_null(strstr(err, "module argument '"));
        /* The message is fit for syslog: printable ASCII only. */
        for (size_t j = 0; err[j] != '\0'; j++)
            assert_true(err[j] >= 0x20 && err[j] < 0x7f);
    }
}

static void test_options_twice(void **state)
{
    const char *a1[] = {"key=email", "key=totp"};
    const char *a2[] = {"nullok", "nullok"};
    const char *a3[] = {"config=/a", "debug", "config=/b"};
    struct csam_options opts;
    char err[CSAM_OPTIONS_ERRLEN];

    (void)state;
    assert_int_equal(csam_options_parse(2, a1, &opts, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_non_null(strstr(err, "given twice"));
    assert_int_equal(csam_options_parse(2, a2, &opts, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_int_equal(csam_options_parse(3, a3, &opts, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_non_null(strstr(err, "'config=/b'"));
}

static void test_options_long_values(void **state)
{
    char prompt[CSAM_OPTIONS_PROMPT_MAX + 8];
    char path[CSAM_OPTIONS_PATH_MAX + 8];
    const char *argv[1];
    struct csam_options opts;
    char err[CSAM_OPTIONS_ERRLEN];

    (void)state;
    /* The longest prompt accepted, then one byte more. */
    memcpy(prompt, "prompt=", 7);
    memset(prompt + 7, 'x', CSAM_OPTIONS_PROMPT_MAX - 1);
    prompt[7 + CSAM_OPTIONS_PROMPT_MAX - 1] = '\0';
    argv[0] = prompt;
    assert_int_equal(csam_options_parse(1, argv, &opts, err, sizeof(err)),
                     CSAM_OK);
    prompt[7 + CSAM_OPTIONS_PROMPT_MAX - 1] = 'x';
    prompt[7 + CSAM_OPTIONS_PROMPT_MAX] = '\0';
    assert_int_equal(csam_options_parse(1, argv, &opts, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    /* Only the start of a long argument is quoted back. */
    assert_non_null(strstr(err, "'prompt=xxxxxxxxxxxxxxxxxxxxxxxxx...'"));
    assert_true(strlen(err) < CSAM_OPTIONS_ERRLEN - 1);

    memcpy(path, "config=/", 8);
    memset(path + 8, 'p', CSAM_OPTIONS_PATH_MAX);
    path[8 + CSAM_OPTIONS_PATH_MAX - 1] = '\0';
    argv[0] = path;
    assert_int_equal(csam_options_parse(1, argv, &opts, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
}

static void test_options_null_argument(void **state)
{
    const char *argv[2] = {"debug", NULL};
    struct csam_options opts;

    (void)state;
    assert_int_equal(csam_options_parse(2, argv, &opts, NULL, 0),
                     CSAM_ERR_CONFIG);
    assert_int_equal(csam_options_parse(1, NULL, &opts, NULL, 0),
                     CSAM_ERR_CONFIG);
}

/* What the engine says of the attempts: nothing, or a lock with a time. */
static const struct csam_attempts csam_test_no_att = {-1, 0};
static const struct csam_attempts csam_test_lock_att = {-1, 900};

/* DESIGN 3.4's table, stage by stage. */
static void test_status_contract(void **state)
{
    (void)state;
    assert_int_equal(csam_status_map(CSAM_STATUS_VERIFY, CSAM_OK,
                                     &csam_test_no_att, 0),
                     PAM_SUCCESS);
    assert_int_equal(csam_status_map(CSAM_STATUS_VERIFY, CSAM_ERR_BAD_CODE,
                                     &csam_test_no_att, 0),
                     PAM_AUTH_ERR);
    assert_int_equal(csam_status_map(CSAM_STATUS_VERIFY, CSAM_ERR_EXPIRED,
                                     &csam_test_no_att, 0),
                     PAM_AUTH_ERR);
    assert_int_equal(csam_status_map(CSAM_STATUS_VERIFY, CSAM_ERR_LOCKED,
                                     &csam_test_no_att, 0),
                     PAM_MAXTRIES);
    /* Locked for a while before the prompt: attempts exhausted.  Locked
     * with no time: the account is disabled, which exhausted nothing. */
    assert_int_equal(csam_status_map(CSAM_STATUS_BEGIN, CSAM_ERR_LOCKED,
                                     &csam_test_lock_att, 0),
                     PAM_MAXTRIES);
    assert_int_equal(csam_status_map(CSAM_STATUS_BEGIN, CSAM_ERR_LOCKED,
                                     &csam_test_no_att, 0),
                     PAM_AUTH_ERR);
    assert_int_equal(csam_status_map(CSAM_STATUS_BEGIN, CSAM_ERR_LOCKED,
                                     &csam_test_no_att, 1),
                     PAM_AUTH_ERR);
    assert_true(csam_status_disabled(CSAM_STATUS_BEGIN, CSAM_ERR_LOCKED,
                                     &csam_test_no_att));
    assert_true(csam_status_disabled(CSAM_STATUS_ACCOUNT, CSAM_ERR_LOCKED,
                                     &csam_test_no_att));
    assert_false(csam_status_disabled(CSAM_STATUS_VERIFY, CSAM_ERR_LOCKED,
                                      &csam_test_no_att));
    assert_false(csam_status_disabled(CSAM_STATUS_BEGIN, CSAM_ERR_LOCKED,
                                      &csam_test_lock_att));
    assert_int_equal(csam_status_map(CSAM_STATUS_BEGIN, CSAM_ERR_NOT_FOUND,
                                     &csam_test_no_att, 0),
                     PAM_USER_UNKNOWN);
    assert_int_equal(csam_status_map(CSAM_STATUS_BEGIN, CSAM_ERR_NOT_FOUND,
                                     &csam_test_no_att, 1),
                     PAM_IGNORE);
    assert_int_equal(csam_status_map(CSAM_STATUS_BEGIN, CSAM_ERR_MAIL,
                                     &csam_test_no_att, 0),
                     PAM_AUTHINFO_UNAVAIL);
    assert_int_equal(csam_status_map(CSAM_STATUS_BEGIN, CSAM_ERR_DB,
                                     &csam_test_no_att, 0),
                     PAM_AUTHINFO_UNAVAIL);
    assert_int_equal(csam_status_map(CSAM_STATUS_SETUP, CSAM_ERR_INSECURE,
                                     &csam_test_no_att, 0),
                     PAM_AUTHINFO_UNAVAIL);
    assert_int_equal(csam_status_map(CSAM_STATUS_SETUP, CSAM_ERR_CONFIG,
                                     &csam_test_no_att, 0),
                     PAM_AUTHINFO_UNAVAIL);
    assert_int_equal(csam_status_map(CSAM_STATUS_SETUP, CSAM_ERR_IO,
                                     &csam_test_no_att, 0),
                     PAM_AUTHINFO_UNAVAIL);
    assert_int_equal(csam_status_map(CSAM_STATUS_SETUP, CSAM_ERR_SCHEMA,
                                     &csam_test_no_att, 0),
                     PAM_AUTHINFO_UNAVAIL);
    assert_int_equal(csam_status_map(CSAM_STATUS_SETUP, CSAM_ERR_USERNAME,
                                     &csam_test_no_att, 0),
                     PAM_USER_UNKNOWN);
    assert_int_equal(csam_status_map(CSAM_STATUS_ACCOUNT, CSAM_OK,
                                     &csam_test_no_att, 0),
                     PAM_SUCCESS);
    assert_int_equal(csam_status_map(CSAM_STATUS_ACCOUNT, CSAM_ERR_LOCKED,
                                     &csam_test_no_att, 0),
                     PAM_PERM_DENIED);
    assert_int_equal(csam_status_map(CSAM_STATUS_ACCOUNT, CSAM_ERR_EXPIRED,
                                     &csam_test_no_att, 0),
                     PAM_ACCT_EXPIRED);
    assert_int_equal(csam_status_map(CSAM_STATUS_ACCOUNT, CSAM_ERR_NOT_FOUND,
                                     &csam_test_no_att, 0),
                     PAM_USER_UNKNOWN);
    assert_int_equal(csam_status_map(CSAM_STATUS_ACCOUNT, CSAM_ERR_NOT_FOUND,
                                     &csam_test_no_att, 1),
                     PAM_IGNORE);
    /* An account whose keys are all of types key= excludes (call.h):
     * the service cannot reach its second factor, and nullok does not
     * skip it. */
    assert_int_equal(csam_status_map(CSAM_STATUS_BEGIN, CSAM_ERR_STATE,
                                     &csam_test_no_att, 0),
                     PAM_AUTHINFO_UNAVAIL);
    assert_int_equal(csam_status_map(CSAM_STATUS_BEGIN, CSAM_ERR_STATE,
                                     &csam_test_no_att, 1),
                     PAM_AUTHINFO_UNAVAIL);
    assert_int_equal(csam_status_map(CSAM_STATUS_ACCOUNT, CSAM_ERR_STATE,
                                     &csam_test_no_att, 0),
                     PAM_PERM_DENIED);
    assert_int_equal(csam_status_map(CSAM_STATUS_ACCOUNT, CSAM_ERR_STATE,
                                     &csam_test_no_att, 1),
                     PAM_PERM_DENIED);
}

/* Fail closed: over every result and stage, with and without nullok,
 * success comes only from CSAM_OK and PAM_IGNORE only from "no account"
 * with nullok; nullok changes nothing else. */
static void test_status_fails_closed(void **state)
{
    enum csam_status_stage stage;
    int r;

    (void)state;
    for (stage = CSAM_STATUS_SETUP; stage <= CSAM_STATUS_ACCOUNT; stage++) {
        for (r = CSAM_OK; r <= CSAM_ERR_INSECURE + 1; r++) {
            int plain = csam_status_map(stage, (csam_result)r,
                                        &csam_test_no_att, 0);
            int nullok = csam_status_map(stage, (csam_result)r,
                                         &csam_test_no_att, 1);

            if (r == CSAM_OK) {
                assert_int_equal(plain, PAM_SUCCESS);
                assert_int_equal(nullok, PAM_SUCCESS);
                continue;
            }
            assert_int_not_equal(plain, PAM_SUCCESS);
            assert_int_not_equal(plain, PAM_IGNORE);
            assert_int_not_equal(nullok, PAM_SUCCESS);
            if (r == CSAM_ERR_NOT_FOUND && stage != CSAM_STATUS_VERIFY)
                assert_int_equal(nullok, PAM_IGNORE);
            else
                assert_int_equal(nullok, plain);
        }
    }
    /* A name that cannot be a CSAM username never gets nullok. */
    assert_int_equal(csam_status_map(CSAM_STATUS_SETUP, CSAM_ERR_USERNAME,
                                     &csam_test_no_att, 1),
                     PAM_USER_UNKNOWN);
    /* Nor does a challenge that vanished after the prompt. */
    assert_int_equal(csam_status_map(CSAM_STATUS_VERIFY, CSAM_ERR_NOT_FOUND,
                                     &csam_test_no_att, 1),
                     PAM_AUTH_ERR);
}

/* conf/ is the administrator's reference (STYLE.md): every argument and
 * its default appear in the pam.d recipe (csam-2fa, which the service
 * examples include) and in pam_csam(8). */
static char *csam_test_slurp(const char *rel)
{
    const char *srcdir = getenv("CSAM_SRCDIR");
    char path[4096];
    char *buf;
    size_t n;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", srcdir != NULL ? srcdir : ".", rel);
    fp = fopen(path, "r");
    assert_non_null(fp);
    buf = malloc(1 << 20);
    assert_non_null(buf);
    n = fread(buf, 1, (1 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void test_options_documented(void **state)
{
    static const char *const sshd_words[] = {"config=/etc/csam/csam.conf",
                                             "key=any",
                                             "email | sms | totp | any",
                                             "nullok",
                                             "(off)",
                                             "debug",
                                             "[prompt=TEXT]"};
    static const char *const man_words[] = {"config=", "/etc/csam/csam.conf",
                                            "key=",    "nullok",
                                            "debug",   "prompt=",
                                            "Default", "sms_transport",
                                            "totp",    "PAM_AUTHINFO_UNAVAIL"};
    char *sshd = csam_test_slurp("conf/pam.d/csam-2fa");
    char *sudo = csam_test_slurp("conf/pam.d/sudo");
    char *man = csam_test_slurp("pam_csam/pam_csam.8");
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(sshd_words) / sizeof(sshd_words[0]); i++)
        assert_non_null(strstr(sshd, sshd_words[i]));
    for (i = 0; i < sizeof(man_words) / sizeof(man_words[0]); i++)
        assert_non_null(strstr(man, man_words[i]));
    assert_non_null(strstr(sshd, "pam_csam.so"));
    assert_non_null(strstr(sudo, "@include csam-2fa"));
    /* The default the code applies is the one documented. */
    assert_non_null(strstr(sshd, CSAM_OPTIONS_DEFAULT_CONFIG));
    free(sshd);
    free(sudo);
    free(man);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_defaults),
        cmocka_unit_test(test_options_all),
        cmocka_unit_test(test_options_keys),
        cmocka_unit_test(test_options_refused),
        cmocka_unit_test(test_options_twice),
        cmocka_unit_test(test_options_long_values),
        cmocka_unit_test(test_options_null_argument),
        cmocka_unit_test(test_status_contract),
        cmocka_unit_test(test_status_fails_closed),
        cmocka_unit_test(test_options_documented),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
