/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed settings shared by mod_csam and pam_csam, and the csam.conf parser
 * (DESIGN 3.5).  A struct csam_config owns every string in it (malloc'd);
 * csam_config_free() releases them.
 *
 * Keys (csam.conf) and their defaults are listed in conf/csam.conf; the
 * Apache directives map onto the same keys through csam_config_set(), so a
 * value is validated by the same code whichever way it arrives.
 */
#ifndef CSAM_COMMON_CONFIG_H
#define CSAM_COMMON_CONFIG_H

#include <stddef.h>

#include "result.h"

#define CSAM_CONFIG_ERRLEN 512

/* A table: each key's default is right-aligned in its comment. */
/* clang-format off */
struct csam_config {
    char *database;         /* libpq conninfo                 ("service=csam") */
    long db_connect_timeout;   /* s to connect, per address       (2) */
    long db_statement_timeout; /* s one statement may take, and what
                                  the statements of one request or PAM
                                  step may wait in all              (2) */
    char *secret_file;      /*                     ("/etc/csam/secret.key") */
    char *secret_group;     /* group that may read secret_file besides
                               root's (NULL: none) */
    char *previous_secret_file; /* the secret secret_file replaces, while
                               a rollover lasts (NULL: none) */
    char *public_url;       /* absolute http(s) URL, no trailing '/'  (NULL) */
    char *mail_relay;       /* smtp:// or smtps:// URL ("smtp://127.0.0.1:25") */
    char *mail_from;        /* RFC 5322 mailbox, may have a display name
                               (NULL: no default, must be set) */
    char *data_dir;         /* templates/ and common-passwords.txt
                               (CSAM_PKGDATADIR, i.e. $(pkgdatadir)) */
    char *templates_dir;    /* the administrator's templates, each file
                               looked for here before <data_dir>/templates
                               (CSAM_SYSCONFDIR "/csam/templates") */
    char *handler_path;     /* URL path of the csam handler        ("/csam") */

    long activation_ttl;    /* paper code + link lifetime, s   (2592000 = 30 d) */
    long flow_ttl;          /* activation/login handle lifetime, s     (1800) */
    long code_ttl;          /* e-mailed/SMS security code lifetime, s   (600) */
    long code_attempts;     /* attempts per code                          (5) */
    long resend_cooldown;   /* minimum seconds between two codes sent    (60) */
    long lockout_threshold; /* account failures before a temporary lock (10) */
    long lockout_duration;  /* seconds a temporary lock lasts           (900) */
    long delay_max;         /* longest growing delay after failures, s  (60) */
    long session_idle;      /* session idle timeout, s                  (1800) */
    long session_absolute;  /* session absolute lifetime, s            (43200) */
    long password_min;      /* minimum password length, >= 8             (12) */
    long password_max;      /* maximum password length, <= 1024         (128) */
    long argon2_t_cost;     /* Argon2id iterations                        (2) */
    long argon2_m_cost;     /* Argon2id memory in KiB                 (19456) */
    long argon2_parallelism;/* Argon2id lanes                             (1) */
    long mail_timeout;      /* SMTP timeout, s                           (30) */
    char *mail_ca_file;     /* PEM file of the CAs a TLS relay's certificate
                               must chain to (NULL: the system store) */
    long reauth_after;      /* session age, s, after which adding a key asks
                               for the password again                 (300) */
    char *reserved_usernames; /* administrator's file of further names no
                               citizen may take, added to data_dir's
                               reserved-usernames.txt                 (NULL) */

    /* SMS key (sms.h): transport and gateway */
    char *sms_transport;    /* "none", "http" or "command"           ("none") */
    char *sms_url;          /* gateway URL for http                    (NULL) */
    char *sms_body;         /* POST body template with {{to}}, {{text}}
                               ({"to":"{{to}}","text":"{{text}}"}) */
    char *sms_content_type; /* body encoding        ("application/json") */
    char *sms_auth;         /* "bearer TOKEN" or "basic user:pass"; secret
                               (NULL: none) */
    char *sms_command;      /* absolute path for command               (NULL) */
    long sms_timeout;       /* seconds for one SMS                       (10) */
    char *sms_countries;    /* country calling codes SMS may go to, spaced
                               (CSAM_PHONE_COUNTRIES_DEFAULT: EU/EEA) */

    /* Administration (csam-admin) */
    long audit_retention;   /* days csam-admin purge keeps audit rows;
                               0: for ever                           (400) */

    /* Mobile-app key (totp_key.h) */
    char *totp_issuer;      /* name the app shows, no ':'           ("CSAM") */
};
/* clang-format on */

/* Fill every field with its default (strings are strdup'd).
 * Errors: CSAM_ERR_NOMEM. */
csam_result csam_config_init(struct csam_config *cfg);

/* Release the strings held by cfg and zero it. */
void csam_config_free(struct csam_config *cfg);

/* Set one key from its textual value, validating it.  Unknown key or bad
 * value: CSAM_ERR_CONFIG with a message in err (key and reason, never the
 * value of secret-bearing keys).  err may be NULL. */
csam_result csam_config_set(struct csam_config *cfg, const char *key,
                            const char *value, char *err, size_t errlen);

/* Parse a csam.conf file into cfg (on top of what it holds).
 * With require_secure, refuse a file not owned by root or writable by
 * group/others (CSAM_ERR_INSECURE), as pam_csam must.  Always refuse
 * (CSAM_ERR_INSECURE) a file in a directory that its group or others can
 * write (csam_file_check_dirs), and a file readable by
 * others that sets a credential: a database password, a mail_relay with a
 * password, sms_auth, or an sms_url with a query (gateways take their key
 * there).  Errors name the file and line: "/etc/csam/csam.conf:12:
 * unknown key 'foo'".
 * Errors: CSAM_ERR_IO, CSAM_ERR_INSECURE, CSAM_ERR_CONFIG, CSAM_ERR_NOMEM. */
csam_result csam_config_load(struct csam_config *cfg, const char *path,
                             int require_secure, char *err, size_t errlen);

/* Check cross-field constraints once everything is set (password_min <=
 * password_max, public_url present when required, ...).
 * Errors: CSAM_ERR_CONFIG with a message. */
csam_result csam_config_check(const struct csam_config *cfg, char *err,
                              size_t errlen);

/* The name of the index-th csam.conf key (0, 1, ...), NULL past the last:
 * lets a host or a test walk every key without a copy of the list. */
const char *csam_config_key_name(size_t index);

/* csam_config_check() plus what a server making links needs: public_url
 * set (links in e-mails are never built from a request's Host: header).
 * mail_from has no default: both checks require it.
 * Errors: CSAM_ERR_CONFIG with a message. */
csam_result csam_config_check_web(const struct csam_config *cfg, char *err,
                                  size_t errlen);

#endif
