/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam-enrol: register and activate an account through the engine, as a
 * registration desk and then the citizen would, reading the activation
 * link from the mail the engine sent and confirming the chosen key with
 * the code it received (or, for the app, the code of the current step).
 * For the PAM tests (and the demo): the account it leaves is exactly what
 * a real citizen's would be.
 *
 *   csam-enrol [-k email|sms|totp] [-p PHONE] [-s SMSDIR] [-n NRN] [-r]
 *              CSAM.CONF MAILDIR USERNAME EMAIL [LANGUAGE]
 *
 * CSAM.CONF is read without the ownership check (a test tool runs as
 * anyone); MAILDIR is where the SMTP server stores mail (MAILDIR/new/).
 * -k chooses the key (default email); an SMS key needs -p, the phone, and
 * -s, where the test gateway records what it receives (sms_sink.py).
 * -n registers that national number (its birth date follows from it)
 * instead of a random one.  -r recovers the account of the person -n
 * names, as the desk does for someone who lost access (DESIGN 2.7): the
 * registration must open as that person's existing account named
 * USERNAME, which keeps its name and gets a new password and the -k key
 * (EMAIL is the registration's address, where the link and an e-mailed
 * code go).
 * Prints "USERNAME email", "USERNAME sms +E164" or "USERNAME totp SECRET"
 * (the app's base32 secret, for oathtool) on success; exits 1 with a
 * message on stderr otherwise, 2 on bad usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "engine.h"
#include "keytype.h"
#include "log.h"
#include "mail.h"
#include "sms.h"
#include "store.h"
#include "totp.h"
#include "validate.h"

#include "../pam/maildir.h"
#include "../pam/smsdir.h"

#define CSAM_ENROL_WAIT_MS 10000
#define CSAM_ENROL_TOTP_MAX 64 /* bytes of a decoded secret */

/* What the command line asks for besides the positional arguments. */
struct csam_enrol_args {
    enum csam_key_type key;
    const char *phone;  /* sms: as typed by the citizen */
    const char *smsdir; /* sms: the gateway's records */
    const char *nrn;    /* NULL: a random one */
    int recover;        /* -r */
    const char *maildir, *username, *email, *language;
};

static void csam_enrol_log(void *ctx, enum csam_log_level level,
                           const char *message)
{
    (void)ctx;
    if (level <= CSAM_LOG_WARNING)
        fprintf(stderr, "csam-enrol: libcsam: %s\n", message);
}

/* A valid national register number for someone born in the 1970s or
 * 1980s, random enough that two test accounts never share one. */
static int csam_enrol_nrn(char out[CSAM_NRN_SIZE], char birth[11])
{
    unsigned char r[4];
    unsigned year, month, day, serial;
    unsigned long long n;

    if (csam_random_bytes(r, sizeof(r)) != CSAM_OK)
        return -1;
    year = 70 + r[0] % 20;
    month = 1 + r[1] % 12;
    day = 1 + r[2] % 28;
    serial = 1 + (unsigned)((r[3] * 997U) / 256U);
    n = ((unsigned long long)year * 10000 + month * 100 + day) * 1000 + serial;
    snprintf(out, CSAM_NRN_SIZE, "%09llu%02llu", n, 97 - n % 97);
    snprintf(birth, 11, "19%02u-%02u-%02u", year, month, day);
    return 0;
}

/* The number -n gave, and the birth date it encodes. */
static int csam_enrol_given_nrn(const char *in, char out[CSAM_NRN_SIZE],
                                char birth[11])
{
    struct csam_date date;

    if (csam_nrn_parse(in, out, &date) != CSAM_OK) {
        fprintf(stderr, "csam-enrol: not a national number\n");
        return -1;
    }
    snprintf(birth, 11, "%04d-%02d-%02d", date.year,
             date.month ? date.month : 1, date.day ? date.day : 1);
    return 0;
}

static int csam_enrol_fail(const char *step, csam_result res)
{
    fprintf(stderr, "csam-enrol: %s: %s\n", step, csam_result_name(res));
    return 1;
}

/* The code the chosen key received for its confirmation: from the mail,
 * from the gateway's record, or computed from the app's secret for the
 * current 30-second step (as the citizen's app shows it). */
static int csam_enrol_code(const struct csam_enrol_args *a,
                           struct csam_maildir *md, struct csam_smsdir *sd,
                           const char *e164,
                           const struct csam_credentials_outcome *outcome,
                           char *code, size_t codelen)
{
    unsigned char key[CSAM_ENROL_TOTP_MAX];
    size_t keylen = 0;
    csam_result res;

    if (a->key == CSAM_KEY_EMAIL) {
        if (csam_maildir_await(md, a->email, CSAM_MAILDIR_CODE,
                               CSAM_ENROL_WAIT_MS, code, codelen)
            == 0)
            return 0;
        fprintf(stderr, "csam-enrol: no confirmation mail with a code\n");
        return -1;
    }
    if (a->key == CSAM_KEY_SMS) {
        if (csam_smsdir_await(sd, e164, CSAM_ENROL_WAIT_MS, code, codelen) == 0)
            return 0;
        fprintf(stderr, "csam-enrol: no confirmation SMS with a code\n");
        return -1;
    }
    if (outcome->totp_secret == NULL || outcome->otpauth_uri == NULL) {
        fprintf(stderr, "csam-enrol: no TOTP secret returned\n");
        return -1;
    }
    res = csam_base32_decode(outcome->totp_secret, key, sizeof(key), &keylen);
    if (res == CSAM_OK)
        res = csam_hotp(CSAM_TOTP_SHA1, key, keylen, (uint64_t)time(NULL) / 30,
                        6, code, codelen);
    csam_wipe(key, sizeof(key));
    if (res != CSAM_OK) {
        csam_enrol_fail("TOTP code", res);
        return -1;
    }
    return 0;
}

/* -r: the registration must have opened as the person's account, with
 * the name the caller expects. */
static int csam_enrol_is_recovery(csam_engine *engine, const char *handle,
                                  const struct csam_enrol_args *a)
{
    struct csam_activation_state state;
    csam_result res;

    res = csam_engine_activation_state(engine, handle, &state);
    if (res != CSAM_OK)
        return csam_enrol_fail("activation state", res);
    if (!state.existing || strcmp(state.username, a->username) != 0) {
        fprintf(stderr,
                "csam-enrol: not a recovery of %s (existing %d, "
                "username \"%s\")\n",
                a->username, state.existing, state.username);
        return 1;
    }
    return 0;
}

/* The credentials step: a new account takes USERNAME; a recovery keeps
 * the account's own name (none is sent) and sets the new password. */
static csam_result
csam_enrol_credentials(csam_engine *engine, const char *handle,
                       const struct csam_enrol_args *a, const char *password,
                       struct csam_credentials_outcome *outcome)
{
    struct csam_credentials in;

    if (!a->recover)
        return csam_engine_activation_credentials(
            engine, NULL, handle, a->username, password, password, outcome);
    memset(&in, 0, sizeof(in));
    in.password = password;
    in.password_repeat = password;
    return csam_engine_activation_set_credentials(engine, NULL, handle, &in,
                                                  outcome);
}

static int csam_enrol_run(csam_engine *engine, const struct csam_enrol_args *a)
{
    struct csam_maildir md;
    struct csam_smsdir sd;
    struct csam_registration reg;
    struct csam_registration_receipt receipt;
    struct csam_credentials_outcome outcome;
    struct csam_activated activated;
    struct csam_attempts att;
    char nrn[CSAM_NRN_SIZE], birth[11], token[CSAM_TOKEN_SIZE + 8];
    char handle[CSAM_TOKEN_SIZE], password[CSAM_TOKEN_SIZE + 4];
    char code[CSAM_SECURITY_CODE_MAX + 1], e164[CSAM_PHONE_SIZE] = "";
    unsigned key_types = 0;
    csam_result res;
    int rc = 1;

    memset(&outcome, 0, sizeof(outcome));
    if (a->key == CSAM_KEY_SMS) {
        if (csam_phone_normalize(a->phone, e164) != CSAM_OK) {
            fprintf(stderr, "csam-enrol: not a phone number\n");
            return 1;
        }
        if (csam_smsdir_open(&sd, a->smsdir) != 0) {
            fprintf(stderr, "csam-enrol: cannot read %s\n", a->smsdir);
            return 1;
        }
    }
    if (csam_maildir_open(&md, a->maildir) != 0)
        return 1;
    if ((a->nrn ? csam_enrol_given_nrn(a->nrn, nrn, birth)
                : csam_enrol_nrn(nrn, birth))
        != 0)
        goto out;
    memset(&reg, 0, sizeof(reg));
    reg.national_number = nrn;
    reg.first_name = "Test";
    reg.last_name = a->username;
    reg.birth_date = birth;
    reg.document_type = "eid";
    reg.document_number = "592000000123";
    reg.email = a->email;
    reg.language = a->language;
    res = csam_engine_register(engine, "csam-enrol", NULL, &reg, &receipt);
    if (res != CSAM_OK) {
        rc = csam_enrol_fail("register", res);
        goto out;
    }
    if (csam_maildir_await(&md, a->email, CSAM_MAILDIR_TOKEN,
                           CSAM_ENROL_WAIT_MS, token, sizeof(token))) {
        fprintf(stderr, "csam-enrol: no activation mail with a link\n");
        goto out;
    }
    res = csam_engine_activation_open(
        engine, NULL, token, receipt.activation_code, handle, &key_types, &att);
    if (res != CSAM_OK) {
        rc = csam_enrol_fail("activation", res);
        goto out;
    }
    if (a->recover && csam_enrol_is_recovery(engine, handle, a) != 0)
        goto out;
    if ((key_types & (unsigned)a->key) == 0) {
        fprintf(stderr, "csam-enrol: key type %s not offered\n",
                csam_key_type_name(a->key));
        goto out;
    }
    res = csam_engine_activation_key(engine, NULL, handle, a->key, 1,
                                     a->key == CSAM_KEY_SMS ? a->phone : NULL,
                                     "1");
    if (res != CSAM_OK) {
        rc = csam_enrol_fail("key choice", res);
        goto out;
    }
    /* A password nobody will type: the PAM tests use the key alone. */
    if (csam_token_new(password) != CSAM_OK)
        goto out;
    res = csam_enrol_credentials(engine, handle, a, password, &outcome);
    csam_wipe(password, sizeof(password));
    if (res != CSAM_OK) {
        rc = csam_enrol_fail("credentials", res);
        goto out;
    }
    if (csam_enrol_code(a, &md, &sd, e164, &outcome, code, sizeof(code)) != 0)
        goto out;
    res = csam_engine_activation_confirm(engine, NULL, handle, code, &activated,
                                         &att);
    csam_wipe(code, sizeof(code));
    if (res != CSAM_OK) {
        rc = csam_enrol_fail("confirmation", res);
        goto out;
    }
    printf("%s %s", activated.username, csam_key_type_name(activated.key_type));
    if (a->key == CSAM_KEY_SMS)
        printf(" %s", e164);
    else if (a->key == CSAM_KEY_TOTP)
        printf(" %s", outcome.totp_secret);
    printf("\n");
    rc = 0;
out:
    csam_credentials_outcome_free(&outcome);
    csam_maildir_close(&md);
    return rc;
}

static int csam_enrol_usage(void)
{
    fprintf(stderr, "usage: csam-enrol [-k email|sms|totp] [-p PHONE] "
                    "[-s SMSDIR] [-n NRN] [-r] CSAM.CONF MAILDIR USERNAME "
                    "EMAIL [LANGUAGE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct csam_config cfg;
    struct csam_engine_deps deps;
    struct csam_enrol_args a;
    struct csam_smtp smtp;
    struct csam_sms sms;
    csam_secret *secret = NULL;
    csam_store *store = NULL;
    csam_engine *engine = NULL;
    char err[CSAM_CONFIG_ERRLEN];
    csam_result res;
    int rc = 1, opt;

    memset(&a, 0, sizeof(a));
    a.key = CSAM_KEY_EMAIL;
    while ((opt = getopt(argc, argv, "k:p:s:n:r")) != -1) {
        if (opt == 'k'
            && (a.key = csam_key_type_parse(optarg)) != CSAM_KEY_NONE)
            continue;
        if (opt == 'p')
            a.phone = optarg;
        else if (opt == 's')
            a.smsdir = optarg;
        else if (opt == 'n')
            a.nrn = optarg;
        else if (opt == 'r')
            a.recover = 1;
        else
            return csam_enrol_usage();
    }
    if (argc - optind < 4 || argc - optind > 5
        || (a.key == CSAM_KEY_SMS && (a.phone == NULL || a.smsdir == NULL))
        || (a.recover && a.nrn == NULL))
        return csam_enrol_usage();
    a.maildir = argv[optind + 1];
    a.username = argv[optind + 2];
    a.email = argv[optind + 3];
    a.language = argc - optind == 5 ? argv[optind + 4] : NULL;
    if (csam_config_init(&cfg) != CSAM_OK)
        return 1;
    memset(&deps, 0, sizeof(deps));
    deps.logger.fn = csam_enrol_log;
    res = csam_config_load(&cfg, argv[optind], 0, err, sizeof(err));
    if (res == CSAM_OK)
        res = csam_config_check(&cfg, err, sizeof(err));
    if (res == CSAM_OK)
        res = csam_sms_from_config(&cfg, &sms, err, sizeof(err));
    if (res != CSAM_OK) {
        fprintf(stderr, "csam-enrol: %s\n", err);
        goto out;
    }
    res = csam_secret_load(cfg.secret_file, &secret, err, sizeof(err));
    if (res != CSAM_OK) {
        fprintf(stderr, "csam-enrol: %s\n", err);
        goto out;
    }
    res = csam_store_open(cfg.database, &deps.logger, &store);
    if (res != CSAM_OK) {
        rc = csam_enrol_fail("database", res);
        goto out;
    }
    smtp.relay = cfg.mail_relay;
    smtp.from = cfg.mail_from;
    smtp.timeout = cfg.mail_timeout;
    smtp.ca_file = cfg.mail_ca_file;
    deps.config = &cfg;
    deps.secret = secret;
    deps.store = store;
    deps.sender.fn = csam_smtp_sender;
    deps.sender.ctx = &smtp;
    if (sms.transport != CSAM_SMS_NONE) {
        deps.sms.fn = csam_sms_sender;
        deps.sms.ctx = &sms;
    }
    res = csam_engine_new(&deps, &engine);
    if (res != CSAM_OK) {
        rc = csam_enrol_fail("engine", res);
        goto out;
    }
    rc = csam_enrol_run(engine, &a);
out:
    csam_engine_free(engine);
    csam_store_close(store);
    csam_secret_free(secret);
    csam_config_free(&cfg);
    return rc;
}
