/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam.conf: defaults, every key through csam_config_set, the file format
 * and its errors, and the refusal of files others can change.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* by path: "config.h" alone finds autoconf's header in the build tree */
#include "../../common/base/config.h"
#include "validate.h"

static char csam_test_dir[] = "/tmp/csam-test-config.XXXXXX";
static unsigned csam_test_seq;

static int csam_test_setup(void **state)
{
    (void)state;
    return mkdtemp(csam_test_dir) == NULL ? -1 : 0;
}

static int csam_test_teardown(void **state)
{
    char cmd[128];
    int rc;

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", csam_test_dir);
    rc = system(cmd) == 0 ? 0 : -1;
    /* The template again, for the next group. */
    memset(csam_test_dir + sizeof(csam_test_dir) - 7, 'X', 6);
    return rc;
}

/* A fresh file holding text (len bytes), mode 0600; the path is static. */
static const char *csam_test_file(const char *text, size_t len)
{
    static char path[256];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/csam-%u.conf", csam_test_dir,
             csam_test_seq++);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, 0600), 0);
    return path;
}

#define CSAM_TEST_FILE(text) csam_test_file(text, sizeof(text) - 1)

static void test_defaults(void **state)
{
    struct csam_config cfg;

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    assert_string_equal(cfg.database, "service=csam");
    assert_string_equal(cfg.secret_file, "/etc/csam/secret.key");
    assert_null(cfg.public_url);
    assert_string_equal(cfg.mail_relay, "smtp://127.0.0.1:25");
    assert_null(cfg.mail_from);
    assert_string_equal(cfg.data_dir, CSAM_PKGDATADIR);
    assert_string_equal(cfg.templates_dir, CSAM_SYSCONFDIR "/csam/templates");
    assert_string_equal(cfg.handler_path, "/csam");
    assert_int_equal(cfg.activation_ttl, 2592000);
    assert_int_equal(cfg.flow_ttl, 1800);
    assert_int_equal(cfg.code_ttl, 600);
    assert_int_equal(cfg.code_attempts, 5);
    assert_int_equal(cfg.resend_cooldown, 60);
    assert_int_equal(cfg.lockout_threshold, 10);
    assert_int_equal(cfg.lockout_duration, 900);
    assert_int_equal(cfg.delay_max, 60);
    assert_int_equal(cfg.session_idle, 1800);
    assert_int_equal(cfg.session_absolute, 43200);
    assert_int_equal(cfg.password_min, 12);
    assert_int_equal(cfg.password_max, 128);
    assert_int_equal(cfg.argon2_t_cost, 2);
    assert_int_equal(cfg.argon2_m_cost, 19456);
    assert_int_equal(cfg.argon2_parallelism, 1);
    assert_int_equal(cfg.mail_timeout, 30);
    assert_string_equal(cfg.sms_transport, "none");
    assert_null(cfg.sms_url);
    assert_string_equal(cfg.sms_body,
                        "{\"to\":\"{{to}}\",\"text\":\"{{text}}\"}");
    assert_string_equal(cfg.sms_content_type, "application/json");
    assert_null(cfg.sms_auth);
    assert_null(cfg.sms_command);
    assert_int_equal(cfg.sms_timeout, 10);
    assert_string_equal(cfg.sms_countries, CSAM_PHONE_COUNTRIES_DEFAULT);
    assert_null(cfg.mail_ca_file);
    assert_string_equal(cfg.totp_issuer, "CSAM");
    csam_config_free(&cfg);
    assert_null(cfg.database);
    csam_config_free(&cfg); /* twice is harmless */
}

static void csam_test_set_ok(struct csam_config *cfg, const char *key,
                             const char *value)
{
    char err[CSAM_CONFIG_ERRLEN] = "";

    if (csam_config_set(cfg, key, value, err, sizeof(err)) != CSAM_OK)
        fail_msg("%s = %s refused: %s", key, value, err);
}

/* Refused with a message that names the key and, for secret-bearing keys,
 * does not contain the value. */
static void csam_test_set_bad(struct csam_config *cfg, const char *key,
                              const char *value)
{
    char err[CSAM_CONFIG_ERRLEN] = "";

    if (csam_config_set(cfg, key, value, err, sizeof(err)) != CSAM_ERR_CONFIG)
        fail_msg("%s = %s accepted", key, value);
    assert_non_null(strstr(err, key));
    if ((strcmp(key, "database") == 0 || strcmp(key, "mail_relay") == 0)
        && value[0] != '\0' && strstr(err, value) != NULL)
        fail_msg("%s: value echoed in '%s'", key, err);
}

static void test_set_strings(void **state)
{
    struct csam_config cfg;

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);

    csam_test_set_ok(&cfg, "database", "host=/run/postgresql dbname=csam");
    assert_string_equal(cfg.database, "host=/run/postgresql dbname=csam");
    csam_test_set_bad(&cfg, "database", "dbname=csam\npassword=x");

    csam_test_set_ok(&cfg, "secret_file", "/etc/csam/other.key");
    assert_string_equal(cfg.secret_file, "/etc/csam/other.key");
    csam_test_set_bad(&cfg, "secret_file", "relative/secret.key");

    csam_test_set_ok(&cfg, "public_url", "https://portal.example.be");
    assert_string_equal(cfg.public_url, "https://portal.example.be");
    csam_test_set_ok(&cfg, "public_url", "http://127.0.0.1:8080");
    csam_test_set_ok(&cfg, "public_url", "https://example.be/portal");
    csam_test_set_ok(&cfg, "public_url", "https://[::1]:8443");
    csam_test_set_bad(&cfg, "public_url", "https://portal.example.be/");
    csam_test_set_bad(&cfg, "public_url", "ftp://portal.example.be");
    csam_test_set_bad(&cfg, "public_url", "portal.example.be");
    csam_test_set_bad(&cfg, "public_url", "https://");
    csam_test_set_bad(&cfg, "public_url", "https://x.be?a=b");
    csam_test_set_bad(&cfg, "public_url", "https://x.be/a#b");
    csam_test_set_bad(&cfg, "public_url", "https://user@x.be");
    csam_test_set_bad(&cfg, "public_url", "https://x.be:99999");
    csam_test_set_bad(&cfg, "public_url", "https://x.be:");
    csam_test_set_bad(&cfg, "public_url", "https://x.be/a/../b");
    csam_test_set_bad(&cfg, "public_url", "https://x.be/a b");
    assert_string_equal(cfg.public_url, "https://[::1]:8443");

    csam_test_set_ok(&cfg, "mail_relay", "smtps://relay.example.be:465");
    csam_test_set_ok(&cfg, "mail_relay",
                     "smtp://user:s3cr%40t@relay.example.be:587");
    assert_string_equal(cfg.mail_relay,
                        "smtp://user:s3cr%40t@relay.example.be:587");
    csam_test_set_bad(&cfg, "mail_relay", "http://relay.example.be");
    csam_test_set_bad(&cfg, "mail_relay", "smtp:///nohost");
    csam_test_set_bad(&cfg, "mail_relay", "smtp://user:hunter22@");
    csam_test_set_bad(&cfg, "mail_relay", "smtp://u:hunter22@h x");
    csam_test_set_bad(&cfg, "mail_relay", "smtp://u:hunter22@h:0");

    csam_test_set_ok(&cfg, "mail_from",
                     "CSAM Mes clés numériques <noreply@example.be>");
    assert_string_equal(cfg.mail_from,
                        "CSAM Mes clés numériques <noreply@example.be>");
    csam_test_set_ok(&cfg, "mail_from", "noreply@example.be");
    csam_test_set_bad(&cfg, "mail_from", "CSAM <noreply>");
    csam_test_set_bad(&cfg, "mail_from", "CSAM <a@example.be> <b@example.be>");
    csam_test_set_bad(&cfg, "mail_from", "noreply@example.be\r\nBcc: x");

    csam_test_set_ok(&cfg, "data_dir", "/usr/share/csam");
    assert_string_equal(cfg.data_dir, "/usr/share/csam");
    csam_test_set_bad(&cfg, "data_dir", "share/csam");
    csam_test_set_ok(&cfg, "templates_dir", "/etc/csam/templates");
    assert_string_equal(cfg.templates_dir, "/etc/csam/templates");
    csam_test_set_bad(&cfg, "templates_dir", "csam/templates");

    csam_test_set_ok(&cfg, "handler_path", "/portal/csam");
    assert_string_equal(cfg.handler_path, "/portal/csam");
    csam_test_set_bad(&cfg, "handler_path", "csam");
    csam_test_set_bad(&cfg, "handler_path", "/csam/");
    csam_test_set_bad(&cfg, "handler_path", "/");
    csam_test_set_bad(&cfg, "handler_path", "/a//b");
    csam_test_set_bad(&cfg, "handler_path", "/a/../b");
    csam_test_set_bad(&cfg, "handler_path", "/csam?x=1");
    csam_test_set_bad(&cfg, "handler_path", "/cs\"am");

    /* empty values and invalid UTF-8 are refused for every string key */
    csam_test_set_bad(&cfg, "database", "");
    csam_test_set_bad(&cfg, "mail_from", "");
    csam_test_set_bad(&cfg, "database", "dbname=\xff\xfe");
    csam_config_free(&cfg);
}

static void test_secret_values_not_echoed(void **state)
{
    struct csam_config cfg;
    char err[CSAM_CONFIG_ERRLEN];

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    assert_int_equal(csam_config_set(&cfg, "mail_relay",
                                     "smtp://bob:Tr0ub4dor@relay/ x", err,
                                     sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_null(strstr(err, "Tr0ub4dor"));
    assert_non_null(strstr(err, "mail_relay"));
    assert_int_equal(csam_config_set(&cfg, "database", "password=Tr0ub4dor\x01",
                                     err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_null(strstr(err, "Tr0ub4dor"));
    csam_config_free(&cfg);
}

static void test_set_numbers(void **state)
{
    static const struct {
        const char *key;
        long min, max;
    } keys[] = {
        {"activation_ttl", 3600, 31536000},
        {"flow_ttl", 60, 86400},
        {"code_ttl", 30, 3600},
        {"code_attempts", 1, 20},
        {"resend_cooldown", 0, 3600},
        {"lockout_threshold", 1, 1000},
        {"lockout_duration", 1, 86400},
        {"session_idle", 60, 86400},
        {"session_absolute", 60, 2592000},
        {"password_min", 8, 1024},
        {"password_max", 8, 1024},
        {"argon2_t_cost", 1, 64},
        {"argon2_m_cost", 1024, 4194304},
        {"argon2_parallelism", 1, 64},
        {"mail_timeout", 1, 600},
        {"delay_max", 1, 3600},
    };
    static const char *const garbage[] = {
        "",    "12abc", "abc",   " 12", "+12",
        "1e3", "0x10",  "12 13", "1.5", "99999999999999999999999",
        "--1", "-"};
    struct csam_config cfg;
    char buf[32];
    size_t i, j;

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(buf, sizeof(buf), "%ld", keys[i].min);
        csam_test_set_ok(&cfg, keys[i].key, buf);
        snprintf(buf, sizeof(buf), "%ld", keys[i].max);
        csam_test_set_ok(&cfg, keys[i].key, buf);
        snprintf(buf, sizeof(buf), "%ld", keys[i].min - 1);
        csam_test_set_bad(&cfg, keys[i].key, buf);
        snprintf(buf, sizeof(buf), "%ld", keys[i].max + 1);
        csam_test_set_bad(&cfg, keys[i].key, buf);
        for (j = 0; j < sizeof(garbage) / sizeof(garbage[0]); j++)
            csam_test_set_bad(&cfg, keys[i].key, garbage[j]);
    }
    csam_test_set_ok(&cfg, "code_ttl", "300");
    assert_int_equal(cfg.code_ttl, 300);
    csam_test_set_ok(&cfg, "resend_cooldown", "0");
    assert_int_equal(cfg.resend_cooldown, 0);
    csam_test_set_ok(&cfg, "argon2_m_cost", "65536");
    assert_int_equal(cfg.argon2_m_cost, 65536);
    csam_test_set_ok(&cfg, "code_attempts", "007");
    assert_int_equal(cfg.code_attempts, 7);
    csam_config_free(&cfg);
}

static void test_unknown_key(void **state)
{
    struct csam_config cfg;
    char err[CSAM_CONFIG_ERRLEN];

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    assert_int_equal(csam_config_set(&cfg, "code_tll", "5", err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_string_equal(err, "unknown key 'code_tll'");
    assert_int_equal(csam_config_set(&cfg, "Code_TTL", "5", err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_int_equal(csam_config_set(&cfg, "a\nb", "5", err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_string_equal(err, "unknown key");
    assert_int_equal(csam_config_set(&cfg, "code_ttl", NULL, NULL, 0),
                     CSAM_ERR_CONFIG);
    csam_config_free(&cfg);
}

static const char csam_test_good[] =
    "# csam.conf for the test\n"
    "\n"
    "   # an indented comment\n"
    "database = \"  host=/run/postgresql dbname=csam \"\n"
    "\tsecret_file\t=\t/etc/csam/secret.key   \n"
    "public_url=https://portal.example.be\n"
    "mail_from = \"CSAM Mes clés numériques <noreply@example.be>\"\n"
    "mail_relay = \"smtp://relay.example.be:587\"\n"
    "handler_path = /csam\r\n"
    "code_ttl = 300\n"
    "code_attempts = 3 \n"
    "password_min = 14"; /* no final newline */

static void test_load_good(void **state)
{
    struct csam_config cfg;
    char err[CSAM_CONFIG_ERRLEN] = "x";
    const char *path;

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    path = CSAM_TEST_FILE(csam_test_good);
    if (csam_config_load(&cfg, path, 0, err, sizeof(err)) != CSAM_OK)
        fail_msg("%s", err);
    assert_string_equal(err, "");
    /* quotes keep the spaces they wrap */
    assert_string_equal(cfg.database, "  host=/run/postgresql dbname=csam ");
    assert_string_equal(cfg.secret_file, "/etc/csam/secret.key");
    assert_string_equal(cfg.mail_relay, "smtp://relay.example.be:587");
    assert_string_equal(cfg.handler_path, "/csam");
    assert_string_equal(cfg.public_url, "https://portal.example.be");
    assert_string_equal(cfg.mail_from,
                        "CSAM Mes clés numériques <noreply@example.be>");
    assert_int_equal(cfg.code_ttl, 300);
    assert_int_equal(cfg.code_attempts, 3);
    assert_int_equal(cfg.password_min, 14);
    /* untouched keys keep their defaults */
    assert_int_equal(cfg.flow_ttl, 1800);
    assert_int_equal(csam_config_check_web(&cfg, err, sizeof(err)), CSAM_OK);
    csam_config_free(&cfg);

    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    path = CSAM_TEST_FILE("mail_from = \"CSAM <noreply@example.be>\"\n"
                          "public_url = https://portal.example.be\n");
    assert_int_equal(csam_config_load(&cfg, path, 0, err, sizeof(err)),
                     CSAM_OK);
    assert_string_equal(cfg.mail_from, "CSAM <noreply@example.be>");
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)), CSAM_OK);
    assert_int_equal(csam_config_check_web(&cfg, err, sizeof(err)), CSAM_OK);
    csam_config_free(&cfg);

    /* an empty file changes nothing */
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    path = csam_test_file("", 0);
    assert_int_equal(csam_config_load(&cfg, path, 0, err, sizeof(err)),
                     CSAM_OK);
    assert_int_equal(cfg.code_ttl, 600);
    csam_config_free(&cfg);
}

/* Loading text fails with CSAM_ERR_CONFIG and "<path>:<line>: <what>". */
static void csam_test_load_bad(const char *text, size_t len, unsigned line,
                               const char *what)
{
    struct csam_config cfg;
    char err[CSAM_CONFIG_ERRLEN];
    char prefix[300];
    const char *path = csam_test_file(text, len);

    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    assert_int_equal(csam_config_load(&cfg, path, 0, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("expected '%s...', got '%s'", prefix, err);
    if (strstr(err, what) == NULL)
        fail_msg("expected '%s' in '%s'", what, err);
    csam_config_free(&cfg);
}

#define CSAM_TEST_LOAD_BAD(text, line, what)                                   \
    csam_test_load_bad(text, sizeof(text) - 1, line, what)

static void test_load_errors(void **state)
{
    char *longline;
    size_t n = 4200;

    (void)state;
    CSAM_TEST_LOAD_BAD("# ok\n\nfoo = 1\n", 3, "unknown key 'foo'");
    CSAM_TEST_LOAD_BAD("code_ttl = 300\njust some words\n", 2,
                       "expected 'key = value'");
    CSAM_TEST_LOAD_BAD("= 300\n", 1, "missing key");
    CSAM_TEST_LOAD_BAD("code_ttl =\n", 1, "empty value");
    CSAM_TEST_LOAD_BAD("code_ttl = 30o\n", 1, "code_ttl");
    CSAM_TEST_LOAD_BAD("code_ttl = 10\n", 1, "from 30 to 3600");
    CSAM_TEST_LOAD_BAD("\n\n\n\ncode_attempts = 0\n", 5, "code_attempts");
    CSAM_TEST_LOAD_BAD("code_ttl = 300\ncode_ttl = 400\n", 2,
                       "already set on line 1");
    CSAM_TEST_LOAD_BAD("mail_from = \"\n", 1, "unterminated quote");
    CSAM_TEST_LOAD_BAD("public_url = https://x.be/\n", 1, "public_url");
    CSAM_TEST_LOAD_BAD("code_ttl = 300 # trailing comment\n", 1, "code_ttl");
    CSAM_TEST_LOAD_BAD("code_ttl = 3\0000\n", 1, "NUL");

    /* a line over 4096 bytes is an error, not two lines */
    longline = malloc(n + 32);
    assert_non_null(longline);
    memcpy(longline, "code_ttl = 300\ndatabase = ", 26);
    memset(longline + 26, 'x', n - 26);
    memcpy(longline + n, "\n", 2);
    csam_test_load_bad(longline, n + 1, 2, "longer than 4096");
    free(longline);
}

static void test_load_io_errors(void **state)
{
    struct csam_config cfg;
    char err[CSAM_CONFIG_ERRLEN];

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    assert_int_equal(csam_config_load(&cfg, "/nonexistent/csam.conf", 0, err,
                                      sizeof(err)),
                     CSAM_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/csam.conf"));
    assert_int_equal(csam_config_load(&cfg, csam_test_dir, 0, err, sizeof(err)),
                     CSAM_ERR_IO);
    csam_config_free(&cfg);
}

/* A file that root does not own is refused whatever its mode: as root,
 * one given to nobody; otherwise our own. */
static void test_load_not_root_owned(void **state)
{
    struct csam_config cfg;
    char err[CSAM_CONFIG_ERRLEN];
    const char *path;

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    path = CSAM_TEST_FILE("code_ttl = 300\n");
    if (geteuid() == 0)
        assert_int_equal(chown(path, 65534, 65534), 0);
    assert_int_equal(csam_config_load(&cfg, path, 1, err, sizeof(err)),
                     CSAM_ERR_INSECURE);
    assert_non_null(strstr(err, "root"));
    assert_int_equal(cfg.code_ttl, 600);
    csam_config_free(&cfg);
}

/* Root only: the modes of a file root owns. */
static void test_load_insecure(void **state)
{
    struct csam_config cfg;
    char err[CSAM_CONFIG_ERRLEN];
    const char *path;
    static const mode_t bad[] = {0620, 0602, 0666, 0660, 0606};
    static const mode_t good[] = {0600, 0640, 0644, 0400, 0444};
    size_t i;

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    path = CSAM_TEST_FILE("code_ttl = 300\n");
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(chmod(path, good[i]), 0);
        assert_int_equal(csam_config_load(&cfg, path, 1, err, sizeof(err)),
                         CSAM_OK);
        csam_config_free(&cfg);
        assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(chmod(path, bad[i]), 0);
        assert_int_equal(csam_config_load(&cfg, path, 1, err, sizeof(err)),
                         CSAM_ERR_INSECURE);
        assert_non_null(strstr(err, "writable"));
        /* nothing was read from an insecure file */
        assert_int_equal(cfg.code_ttl, 600);
        /* without require_secure the same file loads (mod_csam's case) */
        assert_int_equal(csam_config_load(&cfg, path, 0, err, sizeof(err)),
                         CSAM_OK);
        csam_config_free(&cfg);
        assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    }
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(chown(path, 65534, 65534), 0);
    assert_int_equal(csam_config_load(&cfg, path, 1, err, sizeof(err)),
                     CSAM_ERR_INSECURE);
    assert_non_null(strstr(err, "not owned by root"));
    csam_config_free(&cfg);
}

/* A csam.conf others can read must hold no credential: each kind of
 * credential, at mode 0644, is refused naming the file and the key;
 * 0600 and 0640 load; settings that are no credential load at 0644. */
static void test_load_credentials_readable(void **state)
{
    static const char *const credentials[][2] = {
        {"mail_relay = smtps://user:p%40ss@relay.example.be\n", "mail_relay"},
        {"sms_auth = bearer 0123456789abcdef\n", "sms_auth"},
        {"database = host=db dbname=csam password=s3cret\n", "database"},
        {"database = host=db password =s3cret\n", "database"},
        {"database = postgresql://csam:s3cret@db/csam\n", "database"},
        {"database = postgresql://db/csam?password=s3cret\n", "database"},
        {"sms_url = https://sms.example.be/send?key=K3Y\n", "sms_url"},
    };
    static const char *const harmless[] = {
        "mail_relay = smtps://user@relay.example.be\n",
        "mail_relay = smtp://127.0.0.1:25\n",
        "database = host=db dbname=password user=csam\n",
        "database = postgresql://csam@db/csam\n",
        "sms_url = https://sms.example.be/send\n",
        "code_ttl = 300\n",
    };
    struct csam_config cfg;
    char err[CSAM_CONFIG_ERRLEN];
    const char *path;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(credentials) / sizeof(credentials[0]); i++) {
        path = csam_test_file(credentials[i][0], strlen(credentials[i][0]));
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(csam_config_init(&cfg), CSAM_OK);
        if (csam_config_load(&cfg, path, 0, err, sizeof(err))
            != CSAM_ERR_INSECURE)
            fail_msg("0644 with %s loaded", credentials[i][1]);
        assert_non_null(strstr(err, path));
        assert_non_null(strstr(err, credentials[i][1]));
        assert_non_null(strstr(err, "readable by others"));
        /* the message never shows the credential */
        assert_null(strstr(err, "s3cret"));
        assert_null(strstr(err, "K3Y"));
        assert_null(strstr(err, "0123456789abcdef"));
        csam_config_free(&cfg);
        assert_int_equal(chmod(path, 0640), 0);
        assert_int_equal(csam_config_init(&cfg), CSAM_OK);
        if (csam_config_load(&cfg, path, 0, err, sizeof(err)) != CSAM_OK)
            fail_msg("0640 with %s: %s", credentials[i][1], err);
        csam_config_free(&cfg);
    }
    for (i = 0; i < sizeof(harmless) / sizeof(harmless[0]); i++) {
        path = csam_test_file(harmless[i], strlen(harmless[i]));
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(csam_config_init(&cfg), CSAM_OK);
        if (csam_config_load(&cfg, path, 0, err, sizeof(err)) != CSAM_OK)
            fail_msg("0644 with '%s' refused: %s", harmless[i], err);
        csam_config_free(&cfg);
    }
}

/* The directories above csam.conf: one writable by its group or others is
 * refused, naming the file and the directory; a root-owned sticky one is
 * not. */
static void test_load_parent_dirs(void **state)
{
    struct csam_config cfg;
    char err[CSAM_CONFIG_ERRLEN];
    char sub[256], path[300];
    FILE *fp;
    static const mode_t bad[] = {0777, 0770, 0702, 0720};
    size_t i;

    (void)state;
    snprintf(sub, sizeof(sub), "%s/etc-csam", csam_test_dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(path, sizeof(path), "%s/csam.conf", sub);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(fputs("code_ttl = 300\n", fp) >= 0);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    assert_int_equal(csam_config_load(&cfg, path, 0, err, sizeof(err)),
                     CSAM_OK);
    csam_config_free(&cfg);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(chmod(sub, bad[i]), 0);
        assert_int_equal(csam_config_init(&cfg), CSAM_OK);
        assert_int_equal(csam_config_load(&cfg, path, geteuid() == 0, err,
                                          sizeof(err)),
                         CSAM_ERR_INSECURE);
        assert_non_null(strstr(err, path));
        assert_non_null(strstr(err, "directory"));
        assert_non_null(strstr(err, "writable"));
        /* nothing was read */
        assert_int_equal(cfg.code_ttl, 600);
        csam_config_free(&cfg);
    }
    /* a symbolic link from a safe place does not launder an unsafe one */
    {
        char link[300];

        snprintf(link, sizeof(link), "%s/link.conf", csam_test_dir);
        assert_int_equal(symlink(path, link), 0);
        assert_int_equal(csam_config_init(&cfg), CSAM_OK);
        assert_int_equal(csam_config_load(&cfg, link, 0, err, sizeof(err)),
                         CSAM_ERR_INSECURE);
        assert_non_null(strstr(err, sub));
        csam_config_free(&cfg);
    }
    assert_int_equal(chmod(sub, 01777), 0);
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    assert_int_equal(csam_config_load(&cfg, path, 0, err, sizeof(err)),
                     geteuid() == 0 ? CSAM_OK : CSAM_ERR_INSECURE);
    csam_config_free(&cfg);
    assert_int_equal(chmod(sub, 0755), 0);
    if (geteuid() == 0) {
        /* sticky and group-writable, but not root's: refused */
        assert_int_equal(chown(sub, 65534, 0), 0);
        assert_int_equal(chmod(sub, 01777), 0);
        assert_int_equal(csam_config_init(&cfg), CSAM_OK);
        assert_int_equal(csam_config_load(&cfg, path, 1, err, sizeof(err)),
                         CSAM_ERR_INSECURE);
        csam_config_free(&cfg);
        assert_int_equal(chown(sub, 0, 0), 0);
        assert_int_equal(chmod(sub, 0755), 0);
    }
}

static void test_check(void **state)
{
    struct csam_config cfg;
    char err[CSAM_CONFIG_ERRLEN];

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    /* mail_from has no default */
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_non_null(strstr(err, "mail_from"));
    csam_test_set_ok(&cfg, "mail_from", "noreply@example.be");
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)), CSAM_OK);
    /* public_url only where links are made */
    assert_int_equal(csam_config_check_web(&cfg, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_non_null(strstr(err, "public_url"));
    csam_test_set_ok(&cfg, "public_url", "https://portal.example.be");
    assert_int_equal(csam_config_check_web(&cfg, err, sizeof(err)), CSAM_OK);

    csam_test_set_ok(&cfg, "password_min", "200");
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_non_null(strstr(err, "password_min"));
    csam_test_set_ok(&cfg, "password_max", "200");
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)), CSAM_OK);

    csam_test_set_ok(&cfg, "session_idle", "50000");
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_non_null(strstr(err, "session_idle"));
    csam_test_set_ok(&cfg, "session_idle", "1800");

    csam_test_set_ok(&cfg, "argon2_parallelism", "64");
    csam_test_set_ok(&cfg, "argon2_m_cost", "1024");
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)), CSAM_OK);
    csam_test_set_ok(&cfg, "argon2_m_cost", "19456");

    /* fields set directly (as a host may) are checked too */
    cfg.code_attempts = 0;
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_non_null(strstr(err, "code_attempts"));
    cfg.code_attempts = 5;
    free(cfg.handler_path);
    cfg.handler_path = NULL;
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_non_null(strstr(err, "handler_path"));
    csam_config_free(&cfg);
}

/* The shipped reference csam.conf names every key, each commented out with
 * its default value (an administrator reads it; an uncommented copy loads
 * and gives the defaults back). */
/* csam.conf(5) describes every key the parser knows, each as its own
 * paragraph (".BI key " with its argument), so a key added to the table
 * without its manual entry fails here. */
static void test_man_page_keys(void **state)
{
    const char *src = getenv("CSAM_SRCDIR");
    char path[4096];
    char *man;
    const char *name;
    long size;
    size_t i;
    FILE *fp;

    (void)state;
    snprintf(path, sizeof(path), "%s/conf/csam.conf.5", src ? src : ".");
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    size = ftell(fp);
    assert_true(size > 0);
    rewind(fp);
    man = calloc(1, (size_t)size + 1);
    assert_non_null(man);
    assert_int_equal(fread(man, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    for (i = 0; (name = csam_config_key_name(i)) != NULL; i++) {
        char needle[80];

        snprintf(needle, sizeof(needle), "\n.BI %s \"", name);
        if (strstr(man, needle) == NULL)
            fail_msg("conf/csam.conf.5 does not describe '%s'", name);
    }
    free(man);
}

static void test_reference_conf(void **state)
{
    const char *src = getenv("CSAM_SRCDIR");
    char path[4096], line[4200];
    char uncommented[65536] = "";
    struct csam_config cfg, ref;
    char err[CSAM_CONFIG_ERRLEN];
    FILE *fp;
    const char *out;
    size_t keys = 0;

    (void)state;
    snprintf(path, sizeof(path), "%s/conf/csam.conf", src ? src : ".");
    fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        /* "#key = value": a commented-out setting */
        if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z'
            && strstr(line, " = ") != NULL) {
            if (strncmp(line + 1, "data_dir", 8) == 0
                || strncmp(line + 1, "templates_dir", 13) == 0
                || strncmp(line + 1, "public_url", 10) == 0
                || strncmp(line + 1, "mail_from", 9) == 0
                || strncmp(line + 1, "sms_url", 7) == 0
                || strncmp(line + 1, "sms_auth", 8) == 0
                || strncmp(line + 1, "secret_group", 12) == 0
                || strncmp(line + 1, "previous_secret_file", 20) == 0
                || strncmp(line + 1, "sms_command", 11) == 0
                || strncmp(line + 1, "mail_ca_file", 12) == 0
                || strncmp(line + 1, "reserved_usernames", 18) == 0)
                continue; /* build-dependent or without a default */
            strcat(uncommented, line + 1);
            keys++;
        }
    }
    fclose(fp);
    assert_int_equal(keys, 30);

    /* every key the parser knows is documented there, commented out */
    {
        size_t i;
        const char *name;
        char *all;
        long size;

        fp = fopen(path, "r");
        assert_non_null(fp);
        assert_int_equal(fseek(fp, 0, SEEK_END), 0);
        size = ftell(fp);
        rewind(fp);
        all = calloc(1, (size_t)size + 1);
        assert_non_null(all);
        assert_int_equal(fread(all, 1, (size_t)size, fp), (size_t)size);
        fclose(fp);
        for (i = 0; (name = csam_config_key_name(i)) != NULL; i++) {
            char needle[80];

            snprintf(needle, sizeof(needle), "\n#%s = ", name);
            if (strstr(all, needle) == NULL)
                fail_msg("conf/csam.conf does not document '%s'", name);
        }
        assert_int_equal(i, 41);
        free(all);
    }
    out = csam_test_file(uncommented, strlen(uncommented));
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    assert_int_equal(csam_config_init(&ref), CSAM_OK);
    /* start from values that differ from the defaults, so loading must set
     * every one of them back */
    cfg.code_ttl = cfg.flow_ttl = cfg.session_idle = -1;
    cfg.activation_ttl = cfg.code_attempts = cfg.resend_cooldown = -1;
    cfg.lockout_threshold = cfg.lockout_duration = cfg.delay_max = -1;
    cfg.session_absolute = cfg.password_min = cfg.password_max = -1;
    cfg.argon2_t_cost = cfg.argon2_m_cost = cfg.argon2_parallelism = -1;
    cfg.mail_timeout = cfg.sms_timeout = cfg.reauth_after = -1;
    cfg.audit_retention = -1;
    free(cfg.sms_transport);
    free(cfg.sms_body);
    free(cfg.sms_content_type);
    free(cfg.totp_issuer);
    free(cfg.sms_countries);
    cfg.sms_countries = strdup("32");
    cfg.sms_transport = strdup("http");
    cfg.sms_body = strdup("to={{to}}&text={{text}}");
    cfg.sms_content_type = strdup("application/x-www-form-urlencoded");
    cfg.totp_issuer = strdup("other");
    if (csam_config_load(&cfg, out, 0, err, sizeof(err)) != CSAM_OK)
        fail_msg("%s", err);
    assert_string_equal(cfg.database, ref.database);
    assert_string_equal(cfg.secret_file, ref.secret_file);
    assert_string_equal(cfg.mail_relay, ref.mail_relay);
    assert_string_equal(cfg.handler_path, ref.handler_path);
    assert_int_equal(cfg.activation_ttl, ref.activation_ttl);
    assert_int_equal(cfg.flow_ttl, ref.flow_ttl);
    assert_int_equal(cfg.code_ttl, ref.code_ttl);
    assert_int_equal(cfg.code_attempts, ref.code_attempts);
    assert_int_equal(cfg.resend_cooldown, ref.resend_cooldown);
    assert_int_equal(cfg.lockout_threshold, ref.lockout_threshold);
    assert_int_equal(cfg.lockout_duration, ref.lockout_duration);
    assert_int_equal(cfg.delay_max, ref.delay_max);
    assert_int_equal(cfg.session_idle, ref.session_idle);
    assert_int_equal(cfg.session_absolute, ref.session_absolute);
    assert_int_equal(cfg.password_min, ref.password_min);
    assert_int_equal(cfg.password_max, ref.password_max);
    assert_int_equal(cfg.argon2_t_cost, ref.argon2_t_cost);
    assert_int_equal(cfg.argon2_m_cost, ref.argon2_m_cost);
    assert_int_equal(cfg.argon2_parallelism, ref.argon2_parallelism);
    assert_int_equal(cfg.mail_timeout, ref.mail_timeout);
    assert_int_equal(cfg.reauth_after, ref.reauth_after);
    assert_int_equal(cfg.audit_retention, ref.audit_retention);
    assert_string_equal(cfg.sms_transport, ref.sms_transport);
    assert_string_equal(cfg.sms_body, ref.sms_body);
    assert_string_equal(cfg.sms_content_type, ref.sms_content_type);
    assert_int_equal(cfg.sms_timeout, ref.sms_timeout);
    assert_string_equal(cfg.sms_countries, ref.sms_countries);
    assert_string_equal(cfg.sms_countries, CSAM_PHONE_COUNTRIES_DEFAULT);
    assert_null(cfg.mail_ca_file);
    assert_string_equal(cfg.totp_issuer, ref.totp_issuer);
    csam_config_free(&cfg);
    csam_config_free(&ref);
}

/* sms_countries and mail_ca_file, set directly and from a file. */
static void test_delivery_keys(void **state)
{
    static const char *const good_lists[] = {
        "32",          "32 33",
        "+32 +33",     "  32   352  ",
        "1",           "7 44 41",
        "423 420 421", "350 351 352 353 354 355 356 357 358 359",
    };
    static const char *const bad_lists[] = {
        "3",     "35",    "37",   "42",   "0",      "032", "3200",
        "32,33", "32;33", "32 x", "++32", "+",      "32+", "21",
        "100",   "712",   "321",  "441",  "32\t33",
    };
    struct csam_config cfg;
    char err[CSAM_CONFIG_ERRLEN], big[4000];
    const char *path;
    size_t i;

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    for (i = 0; i < sizeof(good_lists) / sizeof(good_lists[0]); i++) {
        if (csam_config_set(&cfg, "sms_countries", good_lists[i], err,
                            sizeof(err))
            != CSAM_OK)
            fail_msg("'%s' refused: %s", good_lists[i], err);
        assert_string_equal(cfg.sms_countries, good_lists[i]);
    }
    for (i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
        if (csam_config_set(&cfg, "sms_countries", bad_lists[i], err,
                            sizeof(err))
            != CSAM_ERR_CONFIG)
            fail_msg("'%s' accepted", bad_lists[i]);
        assert_non_null(strstr(err, "sms_countries"));
    }
    assert_int_equal(csam_config_set(&cfg, "sms_countries", "", err,
                                     sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_int_equal(csam_config_set(&cfg, "sms_countries", "   ", err,
                                     sizeof(err)),
                     CSAM_ERR_CONFIG);
    /* a bounded list: 300 codes, not 301 */
    big[0] = '\0';
    for (i = 0; i < 300; i++)
        strcat(big, "32 ");
    if (csam_config_set(&cfg, "sms_countries", big, err, sizeof(err))
        != CSAM_OK)
        fail_msg("300 codes: %s", err);
    strcat(big, "33");
    assert_int_equal(csam_config_set(&cfg, "sms_countries", big, err,
                                     sizeof(err)),
                     CSAM_ERR_CONFIG);

    assert_int_equal(csam_config_set(&cfg, "mail_ca_file",
                                     "/etc/csam/relay-ca.pem", err,
                                     sizeof(err)),
                     CSAM_OK);
    assert_string_equal(cfg.mail_ca_file, "/etc/csam/relay-ca.pem");
    assert_int_equal(csam_config_set(&cfg, "mail_ca_file", "relay-ca.pem", err,
                                     sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_non_null(strstr(err, "mail_ca_file"));
    assert_int_equal(csam_config_set(&cfg, "mail_from", "noreply@example.be",
                                     err, sizeof(err)),
                     CSAM_OK);
    if (csam_config_check(&cfg, err, sizeof(err)) != CSAM_OK)
        fail_msg("check: %s", err);
    csam_config_free(&cfg);

    /* from csam.conf: the same checks, errors naming the line */
    path = CSAM_TEST_FILE("sms_countries = 32 33 352 354 423 47\n"
                          "mail_ca_file = /etc/ssl/relay.pem\n");
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    if (csam_config_load(&cfg, path, 0, err, sizeof(err)) != CSAM_OK)
        fail_msg("%s", err);
    assert_string_equal(cfg.sms_countries, "32 33 352 354 423 47");
    assert_string_equal(cfg.mail_ca_file, "/etc/ssl/relay.pem");
    csam_config_free(&cfg);
    path = CSAM_TEST_FILE("\nsms_countries = 32 35\n");
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    assert_int_equal(csam_config_load(&cfg, path, 0, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_non_null(strstr(err, ":2: key 'sms_countries'"));
    csam_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_set_strings),
        cmocka_unit_test(test_secret_values_not_echoed),
        cmocka_unit_test(test_set_numbers),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_load_good),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_load_io_errors),
        cmocka_unit_test(test_load_insecure),
        cmocka_unit_test(test_load_credentials_readable),
        cmocka_unit_test(test_load_parent_dirs),
        cmocka_unit_test(test_load_not_root_owned),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_reference_conf),
        cmocka_unit_test(test_man_page_keys),
        cmocka_unit_test(test_delivery_keys),
    };
    /* Files owned by root and by others can only be made as root. */
    const struct CMUnitTest as_root[] = {
        cmocka_unit_test(test_load_insecure),
    };
    int failed = cmocka_run_group_tests(tests, csam_test_setup,
                                        csam_test_teardown);

    if (geteuid() != 0) {
        if (failed != 0)
            return failed;
        /* automake's SKIP, with its reason: not a pass. */
        printf("SKIP: test_load_insecure needs root (files owned by "
               "root and by others)\n");
        return 77;
    }
    return failed
           + cmocka_run_group_tests(as_root, csam_test_setup,
                                    csam_test_teardown);
}
