/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_csam internals shared between its files: the server configuration,
 * the run-time state built from it at startup, and the entry points each
 * file offers the others.  Nothing here is visible outside the module
 * (only csam_module is exported).
 */
#ifndef CSAM_MOD_CSAM_H
#define CSAM_MOD_CSAM_H

#include "httpd.h"
#include "http_config.h"

#include "apr_reslist.h"
#include "apr_tables.h"

/* engine.h brings common/base/config.h: naming it here would pick the build's
 * autoconf config.h instead. */
#include "engine.h"

extern module AP_MODULE_DECLARE_DATA csam_module;

/* Request bodies (JSON and forms) are read up to this many bytes. */
#define CSAM_MOD_BODY_MAX (64 * 1024)

/* The longest return path the login page takes or a redirect to it
 * carries (return.c). */
#define CSAM_MOD_RETURN_MAX 1024

/* The four page languages; index 0 is the fallback. */
#define CSAM_MOD_NLANG 4
extern const char *const csam_mod_languages[CSAM_MOD_NLANG];

/* ---- configuration (config.c) ----------------------------------------- */

/* What the directives of one server said.  Every field starts unset (NULL
 * or empty); defaults come from csam_config_init() when the run-time state
 * is built, never from here. */
struct csam_mod_server {
    apr_table_t *settings;       /* csam.conf key -> value, from directives */
    apr_table_t *origins;        /* csam.conf key -> directive name (errors) */
    const char *config_file;     /* CSAMConfigFile */
    const char *terms_version;   /* CSAMTermsVersion */
    int session_cache_ttl;       /* CSAMSessionCacheTTL, -1 unset */
    int cookie_secure;           /* CSAMCookieSecure, -1 unset */
    int pool_max;                /* CSAMPoolMax, -1 unset */
    int argon2_max;              /* CSAMArgon2Max, -1 unset */
    const char *argon2_slots;    /* CSAMArgon2Slots, NULL unset */
    int inherits;                /* a virtual host that set nothing itself */
    struct csam_mod_runtime *rt; /* built by csam_runtime_check_config() */
};

/* Where the online procedure takes a person's national number from
 * (CSAMIdentitySource; identity.c). */
enum csam_mod_identity_source {
    CSAM_MOD_IDENTITY_UNSET = 0,
    CSAM_MOD_IDENTITY_CERT, /* ssl-client-cert: mod_ssl's verified client
                               certificate, subject serialNumber */
    CSAM_MOD_IDENTITY_ENV   /* env NAME: the authentication module's
                               environment variable NAME */
};

/* The longest environment variable name CSAMIdentitySource env and
 * CSAMIdentityNames take. */
#define CSAM_MOD_IDENTITY_ENV_MAX 128

/* What the directives of one directory or location said (-1, 0 or NULL:
 * unset). */
struct csam_mod_dir {
    int identity_headers;                          /* CSAMIdentityHeaders */
    enum csam_mod_identity_source identity_source; /* CSAMIdentitySource */
    const char *identity_env;    /* its NAME, with CSAM_MOD_IDENTITY_ENV */
    const char *identity_given;  /* CSAMIdentityNames GIVEN_VAR */
    const char *identity_family; /* CSAMIdentityNames FAMILY_VAR */
    int expose_national_number;  /* CSAMExposeNationalNumber */
};

/* Defaults applied when the values are read. */
#define CSAM_MOD_SESSION_CACHE_TTL_DEFAULT 5
#define CSAM_MOD_SESSION_CACHE_TTL_MAX 300
/* Database connections one child keeps for one configuration, at most
 * (never more than its threads): mod_dbd's DBDMax default. */
#define CSAM_MOD_POOL_MAX_DEFAULT 10
#define CSAM_MOD_POOL_MAX_MAX 1024
/* Concurrent Argon2id runs per child and configuration: each holds
 * argon2_m_cost (19 MiB by default) while it runs. */
#define CSAM_MOD_ARGON2_MAX_DEFAULT 4
#define CSAM_MOD_ARGON2_MAX_MAX 1024
/* How long a password check waits for a free run before 503. */
#define CSAM_MOD_ARGON2_WAIT apr_time_from_sec(2)

extern const command_rec csam_config_cmds[];
/* The directive that sets csam.conf key `key` ("public_url" ->
 * "CSAMPublicURL"), or NULL. */
const char *csam_config_directive_of(const char *key);
/* A core configuration message with every csam.conf key in it replaced by
 * its directive, for administrators who wrote directives (in p). */
const char *csam_config_explain(apr_pool_t *p, const char *msg);
void *csam_config_create_server(apr_pool_t *p, server_rec *s);
void *csam_config_merge_server(apr_pool_t *p, void *basev, void *addv);
void *csam_config_create_dir(apr_pool_t *p, char *dir);
void *csam_config_merge_dir(apr_pool_t *p, void *basev, void *addv);

/* ---- run-time state (runtime.c) ---------------------------------------- */

struct csam_page_set;
struct csam_session_cache;
struct csam_pool_gate;

/* Everything a request needs, built once per configured server at startup
 * in pconf (read-only afterwards, so shared by all threads), plus the
 * per-child connection pool. */
struct csam_mod_runtime {
    server_rec *server;
    struct csam_config config; /* effective settings */
    /* The secret, the mail relay, the SMS gateway (none: the SMS key is
     * not offered) and the word lists, from config. */
    csam_services *services;
    csam_secret *secret; /* the services' */
    const char *terms_version;
    unsigned char cookie_key[CSAM_KEY_LEN]; /* seals the flow cookies */
    /* The same under the previous secret while the secret is replaced
     * (has_cookie_key_previous): cookies sealed before still open. */
    unsigned char cookie_key_previous[CSAM_KEY_LEN];
    int has_cookie_key_previous;
    int secure_cookies;            /* public_url https, or
                                      CSAMCookieSecure On */
    long session_cache_ttl;        /* seconds, 0: no cache */
    int pool_max;                  /* CSAMPoolMax, default applied */
    int argon2_max;                /* CSAMArgon2Max, default applied */
    const char *argon2_slots_file; /* CSAMArgon2Slots, NULL: anonymous */
    /* Shared by the children (gate.c): where password checks run. */
    struct csam_argon2_slots *argon2_slots;
    /* Per child (session.c), NULL when off or not yet made. */
    struct csam_session_cache *session_cache;
    struct csam_page_set *pages; /* templates, texts, stylesheet */
    apr_reslist_t *stores;       /* per child (pool.c) */
    /* Until this second (apr_atomic), requests get 503 without trying to
     * connect: set after a connection attempt that hung (pool.c). */
    volatile apr_uint32_t db_backoff_until;
};

/* The check_config hook: builds every configured server's run-time state
 * in pconf, or fails the start (and `apachectl -t`) naming the directive. */
int csam_runtime_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s);

/* The post_config hook: libcurl's one-time initialisation (before any
 * thread exists) and the sessions' node-wide state. */
int csam_runtime_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s);

/* The run-time state of the request's server, or NULL when that server has
 * no CSAM configuration. */
struct csam_mod_runtime *csam_runtime_get(const request_rec *r);

/* ---- password-check slots (gate.c) ------------------------------------ */

/* The post_config hook: maps each configuration's slots (CSAMArgon2Max of
 * them, in CSAMArgon2Slots or anonymous memory) for the children to
 * share; fails the start when it cannot. */
int csam_gate_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s);

/* The engine's way through the request's configuration's slots. */
struct csam_gate csam_gate_for(request_rec *r, struct csam_mod_runtime *rt);

/* ---- database pool (pool.c) -------------------------------------------- */

void csam_pool_child_init(apr_pool_t *pchild, server_rec *s);

/* An engine over the request's pooled store connection, made once per
 * request and freed with r->pool.  APR_SUCCESS or an error when no
 * connection could be had (the caller answers 503). */
apr_status_t csam_pool_engine(request_rec *r, csam_engine **out);

/* The request's pooled store connection alone (a session check needs no
 * more), taken once per request and given back with r->pool; the engine
 * of csam_pool_engine shares it.  APR_SUCCESS or an error when no
 * connection could be had (the caller answers 503). */
apr_status_t csam_pool_store(request_rec *r, csam_store **out);

/* ---- dispatch (handler.c) ---------------------------------------------- */

int csam_handler(request_rec *r);

/* ---- shared HTTP helpers (http.c) -------------------------------------- */

/* The post_read_request hook: removes every X-CSAM-* request header (and
 * its X_CSAM_ spelling), which only mod_csam may set, so no client can
 * pose as an authenticated user to a backend or a script. */
int csam_http_strip_identity(request_rec *r);

/* The fixups hook of an internal redirect (ErrorDocument, a CGI's local
 * Location:): httpd hands the redirected request the first one's
 * environment as REDIRECT_* and the same request headers, so a location
 * that does not expose the national number would get the one that did.
 * Removes REDIRECT_CSAM_NATIONAL_NUMBER, and X-CSAM-National-Number
 * unless this request itself exposes it. */
int csam_http_redirect_identity(request_rec *r);

/* Headers every response of the handler carries (CSP, nosniff, ...). */
void csam_http_security_headers(request_rec *r, int no_store);

/* Read the whole request body, at most CSAM_MOD_BODY_MAX bytes, into a
 * NUL-terminated buffer wiped when r->pool goes.  Returns OK,
 * HTTP_REQUEST_ENTITY_TOO_LARGE or HTTP_BAD_REQUEST. */
int csam_http_read_body(request_rec *r, char **body, apr_size_t *len);

/* 1 if the request's Content-Type is `type` (parameters allowed; a
 * charset other than utf-8 is refused). */
int csam_http_content_type_is(const request_rec *r, const char *type);

/* The request's client address for the audit trail. */
const char *csam_http_source(const request_rec *r);

/* A struct csam_logger writing to the request's error log. */
struct csam_logger csam_http_logger(request_rec *r);

/* ---- return paths (return.c) ------------------------------------------ */

/* Whether value is a local absolute path that is safe to redirect to and
 * to show: one leading "/" (not "//" nor "/\"), at most
 * CSAM_MOD_RETURN_MAX bytes of the characters of RFC 3986 URI references
 * (no control, space, backslash, quote or angle bracket, no non-ASCII
 * byte). */
int csam_return_safe(const char *value);

/* value when csam_return_safe, otherwise <handler>/keys.  In r->pool. */
const char *csam_return_clean(request_rec *r, struct csam_mod_runtime *rt,
                              const char *value);

/* The request's own path and query when csam_return_safe, else NULL (the
 * login page then goes to its default).  In r->pool. */
const char *csam_return_of_request(request_rec *r);

/* The login page's URL for return path ret (already clean; NULL: none),
 * its query string percent-encoded.  In r->pool. */
const char *csam_return_login_url(request_rec *r, struct csam_mod_runtime *rt,
                                  const char *ret);

/* ---- sessions (session.c) ---------------------------------------------- */

/* Give the browser the new session's cookie csam_session (HttpOnly,
 * SameSite=Lax, Path=/, Secure with an https CSAMPublicURL or
 * CSAMCookieSecure On), on every response including redirects. */
void csam_session_cookie_set(request_rec *r, struct csam_mod_runtime *rt,
                             const struct csam_session_ticket *t);

/* Expire the csam_session cookie in the browser. */
void csam_session_cookie_clear(request_rec *r, struct csam_mod_runtime *rt);

/* The request's csam_session cookie value when it has a token's shape,
 * else NULL (in r->pool or the request's headers). */
const char *csam_session_cookie_get(request_rec *r);

/* The request's session: 1 and *out filled when it carries a live one
 * (from the child's cache when validated less than CSAMSessionCacheTTL
 * ago, otherwise checked in the database, its last use moved to now),
 * with its subject, out->national_number ""; 0 when none or dead; -1
 * when the database cannot say (answer 503).  Memoised for the
 * request. */
int csam_session_current(request_rec *r, struct csam_mod_runtime *rt,
                         struct csam_session_info *out);

/* As csam_session_current() with out->national_number filled ("" for an
 * account that has none stored): for a location with
 * CSAMExposeNationalNumber On only.  -1 also when the stored number does
 * not open (logged). */
int csam_session_current_national(request_rec *r, struct csam_mod_runtime *rt,
                                  struct csam_session_info *out);

/* As csam_session_current() but always asking the database (for
 * changes to the account: a session ended on another node a moment ago
 * must not act). */
int csam_session_fresh(request_rec *r, struct csam_mod_runtime *rt,
                       struct csam_session_info *out);

/* End the request's session in the database and in every child's cache
 * of this node at once, then expire the cookie (kept when the database
 * failed, so the client can try again).  CSAM_OK or CSAM_ERR_DB. */
csam_result csam_session_end(request_rec *r, struct csam_mod_runtime *rt);

/* Forget every cached session of this node (all children): after a
 * password change ends an account's other sessions. */
void csam_session_cache_flush(struct csam_mod_runtime *rt);

/* post_config: the node-wide generation counter the caches obey. */
int csam_session_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                   apr_pool_t *ptemp, server_rec *s);
/* child_init: each configured server's cache. */
void csam_session_cache_child_init(apr_pool_t *pchild, server_rec *s);

/* ---- AuthType CSAM, Require csam-key (auth.c) -------------------------- */

void csam_auth_register(apr_pool_t *p);

/* Who an officer endpoint may act for (DESIGN 3.1).  The administrator's
 * own authentication names the officer; a request authenticated by
 * AuthType CSAM is a citizen's, never an officer's, whatever Require the
 * location has. */
enum csam_officer {
    CSAM_OFFICER_OK,     /* r->user is the officer */
    CSAM_OFFICER_NONE,   /* no authenticated user */
    CSAM_OFFICER_CITIZEN /* the user comes from a CSAM session */
};

/* Decide for r; CSAM_OFFICER_CITIZEN also when AuthType CSAM is the
 * location's, or when any request r was made from (subrequest, internal
 * redirect) was authenticated by it.  Logs nothing. */
enum csam_officer csam_auth_officer(request_rec *r);

/* ---- the online procedure's identity (identity.c) ---------------------- */

/* The person the location's CSAMIdentitySource vouches for: 1 and *who
 * filled (its strings live as long as r->pool) when the source names one;
 * 0 when it does not (no source on this location, no certificate mod_ssl
 * verified, no serialNumber, no user authenticated by another module than
 * CSAM, no variable), logged at NOTICE with why (never the number): the
 * caller answers 403.  The number is as the source gave it: the engine
 * checks it. */
int csam_identity_get(request_rec *r, struct csam_identity *who);

/* ---- secrets out of the logs (redact.c) -------------------------------- */

/* Hooks that rewrite the request line, unparsed URI and query of the
 * activation link and of the helpdesk's search to t=redacted,
 * national_number=redacted before any logger reads them. */
void csam_redact_register(apr_pool_t *p);

/* The query of the activation page, or of the helpdesk's search, as the
 * client sent it (the logs see only t=redacted, national_number=redacted),
 * or NULL when it had none.  Lives as long as r->pool. */
const char *csam_redact_activation_query(request_rec *r);

/* ---- JSON API (api.c routes, api_util.c) ------------------------------- */

int csam_api_handle(request_rec *r, struct csam_mod_runtime *rt,
                    const char *path);

/* The header_parser hook: on the API's paths, errors that httpd or other
 * modules answer (the officer's authentication, request limits) are sent
 * to the API's error endpoint, so the API never answers with an HTML
 * page. */
int csam_api_claim_errors(request_rec *r);

/* The HTTP status and API error code for a result: the one mapping. */
int csam_api_status(csam_result res, const char **error);

/* ---- cookies, CSRF (cookie.c) ------------------------------------------ */

/* The per-browser id (from the csam_b cookie when this server issued it,
 * or a new one that is set on the response when create is 1; else NULL).
 * Binds CSRF tokens and flow cookies to the browser. */
const char *csam_cookie_browser(request_rec *r, struct csam_mod_runtime *rt,
                                int create);

/* A new per-browser id, set on the response, for the rest of this request
 * too: at login, so that an id planted before it (session fixation of the
 * CSRF anchor) is worth nothing afterwards.  Cookies sealed to the old id
 * no longer open.  NULL when no id could be made. */
const char *csam_cookie_browser_renew(request_rec *r,
                                      struct csam_mod_runtime *rt);

/* The CSRF token for forms shown to this browser. */
const char *csam_csrf_token(request_rec *r, struct csam_mod_runtime *rt,
                            const char *browser);

/* 1 if `token` is the CSRF token of `browser` (constant time). */
int csam_csrf_check(request_rec *r, struct csam_mod_runtime *rt,
                    const char *browser, const char *token);

/* Seal a small JSON text into cookie `name` (AES-256-GCM under a key
 * derived from the cookie-signing key, bound to name and browser), valid
 * max_age seconds, HttpOnly, SameSite=Strict, Path = the handler path. */
void csam_cookie_set(request_rec *r, struct csam_mod_runtime *rt,
                     const char *name, const char *browser,
                     const char *json_text, long max_age);

/* Open cookie `name` sealed for browser; NULL when absent, tampered,
 * bound to another browser or expired.  The text is in r->pool. */
char *csam_cookie_get(request_rec *r, struct csam_mod_runtime *rt,
                      const char *name, const char *browser);

/* Expire cookie `name` in the browser. */
void csam_cookie_clear(request_rec *r, struct csam_mod_runtime *rt,
                       const char *name);

/* ---- known devices (device.c) ----------------------------------------- */

/* The known-device token this browser's csam_device cookie holds for
 * username, or NULL (no cookie, tampered, expired, another account's). */
const char *csam_device_token(request_rec *r, struct csam_mod_runtime *rt,
                              const char *username);

/* Give the browser the csam_device cookie of a completed login (sealed,
 * HttpOnly, SameSite=Strict, Path = the handler's, CSAM_LOGIN_DEVICE_TTL),
 * replacing the one of any other account. */
void csam_device_set(request_rec *r, struct csam_mod_runtime *rt,
                     const char *username, const char *token);

/* ---- HTML pages (page.c, page_registration.c, page_activate.c) --------- */

/* Load the page templates, texts and stylesheet of every language from
 * pages/ in dirs: each file the administrator's (CSAMTemplatesDir) when it
 * is there, else the shipped one (<data_dir>/templates); messages.txt the
 * shipped one with the administrator's texts on top, key by key.  An
 * error message (in p, naming the directive) or NULL. */
const char *csam_page_load(apr_pool_t *p, const struct csam_template_dirs *dirs,
                           struct csam_page_set **out);

int csam_page_stylesheet(request_rec *r, struct csam_mod_runtime *rt);
int csam_page_registration(request_rec *r, struct csam_mod_runtime *rt,
                           const char *path);
int csam_page_activate(request_rec *r, struct csam_mod_runtime *rt);

#endif
