/*
 * csam-enrol: register and activate an e-mail-key account through the
 * engine, as a registration desk and then the citizen would, reading the
 * activation link and the confirmation code from the mail the engine sent.
 * For the PAM tests (and the demo): the account it leaves is exactly what
 * a real citizen's would be.
 *
 *   csam-enrol CSAM.CONF MAILDIR USERNAME EMAIL [LANGUAGE]
 *
 * CSAM.CONF is read without the ownership check (a test tool runs as
 * anyone); MAILDIR is where the SMTP server stores mail (MAILDIR/new/).
 * Prints "USERNAME email" on success; exits 1 with a message on stderr
 * otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto.h"
#include "engine.h"
#include "keytype.h"
#include "log.h"
#include "mail.h"
#include "store.h"

#include "../pam/maildir.h"

#define CSAM_ENROL_WAIT_MS 10000

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
    serial = 1 + (unsigned)((r[3] * 997u) / 256u);
    n = ((unsigned long long)year * 10000 + month * 100 + day) * 1000 + serial;
    snprintf(out, CSAM_NRN_SIZE, "%09llu%02llu", n, 97 - n % 97);
    snprintf(birth, 11, "19%02u-%02u-%02u", year, month, day);
    return 0;
}

static int csam_enrol_fail(const char *step, csam_result res)
{
    fprintf(stderr, "csam-enrol: %s: %s\n", step, csam_result_name(res));
    return 1;
}

static int csam_enrol_run(csam_engine *engine, const char *maildir,
                          const char *username, const char *email,
                          const char *language)
{
    struct csam_maildir md;
    struct csam_registration reg;
    struct csam_registration_receipt receipt;
    struct csam_credentials_outcome outcome;
    struct csam_activated activated;
    struct csam_attempts att;
    char nrn[CSAM_NRN_SIZE], birth[11], token[CSAM_TOKEN_SIZE + 8];
    char handle[CSAM_TOKEN_SIZE], password[CSAM_TOKEN_SIZE + 4];
    char code[CSAM_SECURITY_CODE_MAX + 1];
    unsigned key_types = 0;
    csam_result res;
    int rc = 1;

    memset(&outcome, 0, sizeof(outcome));
    if (csam_maildir_open(&md, maildir) != 0)
        return 1;
    if (csam_enrol_nrn(nrn, birth) != 0)
        goto out;
    memset(&reg, 0, sizeof(reg));
    reg.national_number = nrn;
    reg.first_name = "Test";
    reg.last_name = username;
    reg.birth_date = birth;
    reg.document_type = "eid";
    reg.document_number = "592000000123";
    reg.email = email;
    reg.language = language;
    res = csam_engine_register(engine, "csam-enrol", NULL, &reg, &receipt);
    if (res != CSAM_OK) {
        rc = csam_enrol_fail("register", res);
        goto out;
    }
    if (csam_maildir_await(&md, email, CSAM_MAILDIR_TOKEN, CSAM_ENROL_WAIT_MS,
                           token, sizeof(token))) {
        fprintf(stderr, "csam-enrol: no activation mail with a link\n");
        goto out;
    }
    res = csam_engine_activation_open(
        engine, NULL, token, receipt.activation_code, handle, &key_types, &att);
    if (res != CSAM_OK) {
        rc = csam_enrol_fail("activation", res);
        goto out;
    }
    res = csam_engine_activation_key(engine, NULL, handle, CSAM_KEY_EMAIL, 1,
                                     NULL, "1");
    if (res != CSAM_OK) {
        rc = csam_enrol_fail("key choice", res);
        goto out;
    }
    /* A password nobody will type: the PAM tests use the key alone. */
    if (csam_token_new(password) != CSAM_OK)
        goto out;
    res = csam_engine_activation_credentials(engine, NULL, handle, username,
                                             password, password, &outcome);
    csam_wipe(password, sizeof(password));
    if (res != CSAM_OK) {
        rc = csam_enrol_fail("credentials", res);
        goto out;
    }
    if (csam_maildir_await(&md, email, CSAM_MAILDIR_CODE, CSAM_ENROL_WAIT_MS,
                           code, sizeof(code))) {
        fprintf(stderr, "csam-enrol: no confirmation mail with a code\n");
        goto out;
    }
    res = csam_engine_activation_confirm(engine, NULL, handle, code, &activated,
                                         &att);
    if (res != CSAM_OK) {
        rc = csam_enrol_fail("confirmation", res);
        goto out;
    }
    printf("%s %s\n", activated.username,
           csam_key_type_name(activated.key_type));
    rc = 0;
out:
    csam_credentials_outcome_free(&outcome);
    csam_maildir_close(&md);
    return rc;
}

int main(int argc, char **argv)
{
    struct csam_config cfg;
    struct csam_engine_deps deps;
    struct csam_smtp smtp;
    csam_secret *secret = NULL;
    csam_store *store = NULL;
    csam_engine *engine = NULL;
    char err[CSAM_CONFIG_ERRLEN];
    csam_result res;
    int rc = 1;

    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: csam-enrol CSAM.CONF MAILDIR USERNAME EMAIL "
                        "[LANGUAGE]\n");
        return 2;
    }
    if (csam_config_init(&cfg) != CSAM_OK)
        return 1;
    memset(&deps, 0, sizeof(deps));
    deps.logger.fn = csam_enrol_log;
    res = csam_config_load(&cfg, argv[1], 0, err, sizeof(err));
    if (res == CSAM_OK)
        res = csam_config_check(&cfg, err, sizeof(err));
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
    deps.config = &cfg;
    deps.secret = secret;
    deps.store = store;
    deps.sender.fn = csam_smtp_sender;
    deps.sender.ctx = &smtp;
    res = csam_engine_new(&deps, &engine);
    if (res != CSAM_OK) {
        rc = csam_enrol_fail("engine", res);
        goto out;
    }
    rc = csam_enrol_run(engine, argv[2], argv[3], argv[4],
                        argc == 6 ? argv[5] : NULL);
out:
    csam_engine_free(engine);
    csam_store_close(store);
    csam_secret_free(secret);
    csam_config_free(&cfg);
    return rc;
}
