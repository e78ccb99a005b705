/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logins: counting password tries, the web login flows, the account a
 * PAM login reads.  Each statement next to the function that runs it,
 * its columns read by name.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */

#include <stdlib.h>
#include <string.h>

#include "statement.h"
#include "delay.h"
#include "logins.h"

/* ---- counting a password try ------------------------------------------ */

/* The name's failures before this try: those of a row whose last failure
 * is older than lockout_duration ($4) no longer count. */
/* clang-format off */
#define CSAM_STORE_LOGIN_PREV                                                  \
    "(CASE WHEN pf.last_failure_at < now() - make_interval(secs => "           \
    "$4::integer) THEN 0 ELSE pf.failures END)"
/* clang-format on */

/* How long a name remembers its locks (and the longest lock): a day, or
 * lockout_duration when that is longer. */
#define CSAM_STORE_LOGIN_MEMORY "greatest($4::integer, 86400)"

/* The name's locks in a row before this try, forgotten after a quiet
 * CSAM_STORE_LOGIN_MEMORY. */
/* clang-format off */
#define CSAM_STORE_LOGIN_LOCKS                                                 \
    "(CASE WHEN pf.last_failure_at < now() - make_interval(secs => "           \
    CSAM_STORE_LOGIN_MEMORY ") THEN 0 ELSE pf.locks END)"
/* clang-format on */

/* Seconds left of a timestamp column, NULL when past. */
/* clang-format off */
#define CSAM_STORE_LOGIN_LEFT(col)                                             \
    "CASE WHEN " col " > now() THEN greatest(1, ceil(extract(epoch FROM "      \
    col " - now())))::bigint END"
/* clang-format on */

/*
 * $1 the name typed, $2 its keyed hash, $3 lockout threshold, $4 lockout
 * duration (s), $5 failures after which each one adds a growing delay
 * (delay.h), $6 the keyed hash of the browser's device token (NULL:
 * none), $7 the source counted on the web (NULL: not counted), $8 the
 * source's threshold, $9 the longest growing delay (s), $10 and $11 the
 * name's and the device token's keyed hashes under the previous secret
 * while the secret is replaced (NULL: none).
 *
 * acc is the active account of that name; dev the known device the
 * browser holds for that account, if any.  A known device's try counts on
 * its own row (dch), nowhere else, and only its own lock refuses it.  Any
 * other browser's try counts first on the source (sc), then on the name
 * (ch); a name or an account that is locked, or a name inside its delay,
 * refuses it before either is counted, and so does a locked source (sc
 * then returns nothing, and ch does not run).  Each INSERT ... ON
 * CONFLICT ... WHERE runs on the newest version of its row, under its
 * lock: concurrent tries are counted one after the other, and no more
 * than a threshold of them get past a counter.  The try that reaches the
 * name's threshold locks the name for lockout_duration times two to the
 * power of the locks before it (at most CSAM_STORE_LOGIN_MEMORY), so a
 * lock that ends does not give the guessing a fresh start.  purge drops a
 * few rows nobody tried for long (they count nothing any more), so names
 * sprayed by a script do not pile up.
 *
 * While the secret is replaced, a device stored under the previous
 * secret's hash is still known (device_previous: the engine then moves it
 * to the current hash), and the name's row under the previous secret's
 * hash stands in for a current one that does not exist yet: its delay and
 * its lock still refuse the try, so that replacing the secret lifts no
 * lock.  The first try it lets through starts the current row, counting
 * afresh (the previous row's failures and its count of locks are not
 * carried over: at worst a guesser gets one threshold more, after a lock
 * that had to end anyway).
 *
 * One statement, one round trip, is the point: its text is longer than
 * the 4095 bytes ISO C requires compilers to take in one literal (GCC and
 * Clang take any length).
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
/* clang-format off */
static const struct csam_store_stmt csam_store_login_stmt_charge = {
    "csam_login_charge",
    "WITH acc AS ("
    "   SELECT a.id, a.password_hash,"
    "     " CSAM_STORE_LOGIN_LEFT("a.locked_until") " AS code_lock,"
    "     coalesce((SELECT string_agg(k.type, ',') FROM csam_keys k"
    "       WHERE k.account_id = a.id AND k.status = 'active'), '') AS keys"
    "   FROM csam_accounts a"
    "   WHERE a.username = $1::text AND a.status = 'active'),"
    " dev AS ("
    "   SELECT d.id, " CSAM_STORE_LOGIN_LEFT("d.locked_until") " AS lock,"
    "     d.device_hash <> $6::bytea AS previous"
    "   FROM csam_login_devices d JOIN acc ON d.account_id = acc.id"
    "   WHERE d.device_hash IN ($6::bytea, coalesce($11::bytea, $6::bytea))"
    "     AND d.expires_at > now()"
    "   ORDER BY d.device_hash = $6::bytea DESC LIMIT 1),"
    " old AS ("
    "   SELECT " CSAM_STORE_LOGIN_LEFT("delay_until") " AS delay,"
    "     " CSAM_STORE_LOGIN_LEFT("locked_until") " AS lock, locked_until"
    "   FROM csam_password_failures"
    "   WHERE name_hash IN ($2::bytea, coalesce($10::bytea, $2::bytea))"
    "   ORDER BY name_hash = $2::bytea DESC LIMIT 1),"
    " refused AS ("
    "   SELECT 1 FROM old WHERE delay IS NOT NULL OR lock IS NOT NULL"
    "   UNION ALL SELECT 1 FROM acc WHERE code_lock IS NOT NULL),"
    " src AS ("
    "   SELECT " CSAM_STORE_LOGIN_LEFT("locked_until") " AS lock"
    "   FROM csam_source_failures WHERE source = $7::text),"
    " dch AS ("
    "   UPDATE csam_login_devices d SET"
    "     failures = CASE WHEN d.failures + 1 >= $3::integer THEN 0"
    "       ELSE d.failures + 1 END,"
    "     last_failure_at = now(),"
    "     locked_until = CASE WHEN d.failures + 1 >= $3::integer"
    "       THEN now() + make_interval(secs => $4::integer)"
    "       ELSE d.locked_until END"
    "   FROM dev WHERE d.id = dev.id"
    "     AND (d.locked_until IS NULL OR d.locked_until <= now())"
    "   RETURNING d.failures = 0 AS locked_now),"
    " sc AS ("
    "   INSERT INTO csam_source_failures AS sf"
    "     (source, failures, window_start, locked_until)"
    "   SELECT $7::text, 1, now(), CASE WHEN $8::integer <= 1"
    "     THEN now() + make_interval(secs => $4::integer) END"
    "   WHERE $7::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dev)"
    "     AND NOT EXISTS (SELECT 1 FROM refused)"
    "   ON CONFLICT (source) DO UPDATE SET"
    "     failures = CASE WHEN sf.window_start"
    "       < now() - make_interval(secs => $4::integer) THEN 1"
    "       ELSE sf.failures + 1 END,"
    "     window_start = CASE WHEN sf.window_start"
    "       < now() - make_interval(secs => $4::integer) THEN now()"
    "       ELSE sf.window_start END,"
    "     locked_until = CASE WHEN (CASE WHEN sf.window_start"
    "       < now() - make_interval(secs => $4::integer) THEN 1"
    "       ELSE sf.failures + 1 END) >= $8::integer"
    "       THEN now() + make_interval(secs => $4::integer)"
    "       ELSE sf.locked_until END"
    "   WHERE sf.locked_until IS NULL OR sf.locked_until <= now()"
    "   RETURNING sf.locked_until > now() AS locked_now),"
    " ch AS ("
    "   INSERT INTO csam_password_failures AS pf"
    "     (name_hash, failures, last_failure_at, locked_until, locks)"
    "   SELECT $2::bytea, CASE WHEN $3::integer <= 1 THEN 0 ELSE 1 END,"
    "     now(), CASE WHEN $3::integer <= 1"
    "       THEN now() + make_interval(secs => $4::integer) END,"
    "     CASE WHEN $3::integer <= 1 THEN 1 ELSE 0 END"
    "   WHERE NOT EXISTS (SELECT 1 FROM dev)"
    "     AND NOT EXISTS (SELECT 1 FROM refused)"
    "     AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM sc))"
    "   ON CONFLICT (name_hash) DO UPDATE SET"
    "     failures = CASE WHEN " CSAM_STORE_LOGIN_PREV " + 1 >= $3::integer"
    "       THEN 0 ELSE " CSAM_STORE_LOGIN_PREV " + 1 END,"
    "     last_failure_at = now(),"
    "     delay_until = CASE WHEN " CSAM_STORE_LOGIN_PREV " + 1 < $3::integer"
    "       AND " CSAM_STORE_LOGIN_PREV " + 1 > $5::integer"
    "       THEN now() + make_interval(secs => "
    CSAM_STORE_DELAY_SQL(CSAM_STORE_LOGIN_PREV, "$5::integer", "$9::integer")
    ") END,"
    "     locked_until = CASE WHEN " CSAM_STORE_LOGIN_PREV " + 1 >= $3::integer"
    "       THEN now() + make_interval(secs => least($4::integer * power(2, "
    CSAM_STORE_LOGIN_LOCKS "), " CSAM_STORE_LOGIN_MEMORY "))"
    "       ELSE pf.locked_until END,"
    "     locks = CASE WHEN " CSAM_STORE_LOGIN_PREV " + 1 >= $3::integer"
    "       THEN " CSAM_STORE_LOGIN_LOCKS " + 1"
    "       ELSE " CSAM_STORE_LOGIN_LOCKS " END"
    "   WHERE (pf.delay_until IS NULL OR pf.delay_until <= now())"
    "     AND (pf.locked_until IS NULL OR pf.locked_until <= now())"
    "   RETURNING greatest(0, ceil(extract(epoch FROM"
    "     coalesce(pf.delay_until, now()) - now())))::bigint AS wait,"
    "     coalesce(pf.locked_until > now(), false) AS locked_now),"
    " purge AS ("
    "   DELETE FROM csam_password_failures WHERE name_hash IN ("
    "     SELECT name_hash FROM csam_password_failures"
    "     WHERE last_failure_at < now() - make_interval(secs => greatest("
    "       2 * $4::integer, " CSAM_STORE_LOGIN_MEMORY "))"
    "       AND (locked_until IS NULL OR locked_until < now())"
    "       AND name_hash <> $2::bytea"
    "     ORDER BY last_failure_at LIMIT 4))"
    " SELECT (SELECT id FROM acc) AS account_id,"
    "   (SELECT password_hash FROM acc) AS password_hash,"
    "   (SELECT code_lock FROM acc) AS account_lock,"
    "   (SELECT keys FROM acc) AS keys,"
    "   (SELECT count(*) FROM ch) AS name_counted,"
    "   (SELECT delay FROM old) AS name_delay,"
    "   (SELECT lock FROM old) AS name_lock,"
    "   (SELECT wait FROM ch) AS name_wait,"
    "   coalesce((SELECT locked_now FROM ch), false) AS name_locked_now,"
    "   (SELECT id FROM dev) AS device_id,"
    "   (SELECT lock FROM dev) AS device_lock,"
    "   coalesce((SELECT previous FROM dev), false) AS device_previous,"
    "   (SELECT count(*) FROM dch) AS device_counted,"
    "   (SELECT locked_now FROM dch) AS device_locked_now,"
    "   (SELECT lock FROM src) AS source_lock,"
    "   (SELECT count(*) FROM sc) AS source_counted,"
    "   (SELECT locked_now FROM sc) AS source_locked_now",
    11, 0};
/* clang-format on */
#pragma GCC diagnostic pop

/* A lock or delay column: seconds, 0 for none (NULL); at least 1. */
static long csam_store_login_left(const csam_store_rows *rows,
                                  const char *column)
{
    long left;

    if (csam_store_get(rows, 0, column) == NULL)
        return 0;
    left = (long)csam_store_get_int64(rows, 0, column, 1);
    return left < 1 ? 1 : left;
}

static csam_result
csam_store_login_tally_read(const csam_store_rows *rows,
                            struct csam_store_login_tally *out)
{
    const char *phc = csam_store_get(rows, 0, "password_hash");

    out->account_id = csam_store_get_int64(rows, 0, "account_id", 0);
    out->keys = csam_key_type_mask(csam_store_get(rows, 0, "keys"));
    out->account_lock = csam_store_login_left(rows, "account_lock");
    out->name_delay = csam_store_login_left(rows, "name_delay");
    out->name_lock = csam_store_login_left(rows, "name_lock");
    out->name_counted = csam_store_get_int64(rows, 0, "name_counted", 0) != 0;
    out->name_wait = (long)csam_store_get_int64(rows, 0, "name_wait", 0);
    out->name_locked_now = csam_store_get_bool(rows, 0, "name_locked_now");
    out->device_id = csam_store_get_int64(rows, 0, "device_id", 0);
    out->device_lock = csam_store_login_left(rows, "device_lock");
    out->device_previous = csam_store_get_bool(rows, 0, "device_previous");
    out->device_counted = csam_store_get_int64(rows, 0, "device_counted", 0)
                          != 0;
    out->device_locked_now = csam_store_get_bool(rows, 0, "device_locked_now");
    out->source_lock = csam_store_login_left(rows, "source_lock");
    out->source_counted = csam_store_get_int64(rows, 0, "source_counted", 0)
                          != 0;
    out->source_locked_now = csam_store_get_bool(rows, 0, "source_locked_now");
    if (out->account_id != 0 && phc != NULL
        && (out->password_hash = strdup(phc)) == NULL)
        return CSAM_ERR_NOMEM;
    return CSAM_OK;
}

csam_result csam_store_login_charge(csam_store *store,
                                    const struct csam_store_login_try *in,
                                    struct csam_store_login_tally *out)
{
    const struct csam_store_limits *lim = in->limits;
    char thr[CSAM_STORE_INT_SIZE], dur[CSAM_STORE_INT_SIZE];
    char after[CSAM_STORE_INT_SIZE], sthr[CSAM_STORE_INT_SIZE];
    char max[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[11];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    if (lim == NULL || in->name_hash == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_text(in->username);
    p[1] = csam_store_bytes(in->name_hash, CSAM_HASH_LEN);
    p[2] = csam_store_int(lim->threshold, thr);
    p[3] = csam_store_int(lim->duration, dur);
    p[4] = csam_store_int(lim->delay_after, after);
    p[5] = in->device_hash != NULL
               ? csam_store_bytes(in->device_hash, CSAM_HASH_LEN)
               : csam_store_text(NULL);
    p[6] = csam_store_text(in->source);
    p[7] = csam_store_int(lim->source_threshold, sthr);
    p[8] = csam_store_int(lim->delay_max, max);
    p[9] = in->name_hash_previous != NULL
               ? csam_store_bytes(in->name_hash_previous, CSAM_HASH_LEN)
               : csam_store_text(NULL);
    p[10] = in->device_hash != NULL && in->device_hash_previous != NULL
                ? csam_store_bytes(in->device_hash_previous, CSAM_HASH_LEN)
                : csam_store_text(NULL);
    res = csam_store_exec(store, &csam_store_login_stmt_charge, p, &rows);
    if (res != CSAM_OK)
        return res;
    res = csam_store_nrows(rows) == 1 ? csam_store_login_tally_read(rows, out)
                                      : CSAM_ERR_DB;
    csam_store_rows_free(rows);
    return res;
}

/* Take the try back and audit: $1 the name's hash, $2 its lock before the
 * try or NULL (the row goes, or only its lock stays; untouched for a
 * known device), $3 action, $4 account, $5 source, $6 actor, $7 the known
 * device (NULL: none) and $8 whether the try locked it, $9 the threshold,
 * $10 the source the try was counted on (NULL: none) and $11 whether the
 * try locked it. */
/* clang-format off */
#define CSAM_STORE_LOGIN_SETTLE_SQL                                            \
    "WITH r AS ("                                                              \
    "   UPDATE csam_password_failures"                                         \
    "   SET failures = 0, delay_until = NULL, locked_until = $2::timestamptz"  \
    "   WHERE name_hash = $1::bytea AND $2::timestamptz IS NOT NULL"           \
    "     AND $7::bigint IS NULL"                                              \
    "   RETURNING 1),"                                                         \
    " d AS ("                                                                  \
    "   DELETE FROM csam_password_failures WHERE name_hash = $1::bytea"        \
    "     AND $2::timestamptz IS NULL AND $7::bigint IS NULL"                  \
    "   RETURNING 1),"                                                         \
    " dr AS ("                                                                 \
    "   UPDATE csam_login_devices SET last_used_at = now(),"                   \
    "     failures = CASE WHEN $8::boolean THEN greatest($9::integer - 1, 0)"  \
    "       ELSE greatest(failures - 1, 0) END,"                               \
    "     locked_until = CASE WHEN $8::boolean THEN NULL"                      \
    "       ELSE locked_until END"                                             \
    "   WHERE id = $7::bigint RETURNING 1),"                                   \
    " sr AS ("                                                                 \
    "   UPDATE csam_source_failures SET"                                       \
    "     failures = greatest(failures - 1, 0),"                               \
    "     locked_until = CASE WHEN $11::boolean THEN NULL"                     \
    "       ELSE locked_until END"                                             \
    "   WHERE source = $10::text RETURNING 1),"                                \
    " l AS ("                                                                  \
    "   INSERT INTO csam_audit (actor, action, account_id, source)"            \
    "   VALUES ($6::text, $3::text, $4::bigint, $5::text) RETURNING 1)"
/* clang-format on */

/* clang-format off */
static const struct csam_store_stmt csam_store_login_stmt_settle = {
    "csam_login_settle",
    CSAM_STORE_LOGIN_SETTLE_SQL
    " SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM d)"
    "   + (SELECT count(*) FROM dr) + (SELECT count(*) FROM sr) AS settled",
    11, 0};
/* clang-format on */

/* The same, and the login flow ($12 its handle's hash, $13 its lifetime;
 * it remembers the known device $7 its codes count on). */
/* clang-format off */
static const struct csam_store_stmt csam_store_login_stmt_open = {
    "csam_login_open",
    CSAM_STORE_LOGIN_SETTLE_SQL ","
    " f AS ("
    "   INSERT INTO csam_flows (handle_hash, kind, step, account_id,"
    "     expires_at, device_id)"
    "   VALUES ($12::bytea, 'login', 'key', $4::bigint,"
    "     now() + make_interval(secs => $13::integer), $7::bigint)"
    "   RETURNING id)"
    " SELECT (SELECT count(*) FROM f) AS flows",
    13, 0};
/* clang-format on */

/* The settle statement's parameters $1..$11. */
struct csam_store_login_settle_args {
    char acc[CSAM_STORE_INT_SIZE], dev[CSAM_STORE_INT_SIZE];
    char thr[CSAM_STORE_INT_SIZE];
};

static void
csam_store_login_settle_params(const struct csam_store_login_settle *in,
                               struct csam_store_login_settle_args *a,
                               struct csam_store_param p[11])
{
    p[0] = csam_store_bytes(in->name_hash, CSAM_HASH_LEN);
    p[1] = csam_store_text(in->prev_lock);
    p[2] = csam_store_text(in->action);
    p[3] = csam_store_int(in->account_id, a->acc);
    p[4] = csam_store_text(in->source);
    p[5] = csam_store_text(in->actor);
    p[6] = in->device_id > 0 ? csam_store_int(in->device_id, a->dev)
                             : csam_store_text(NULL);
    p[7] = csam_store_text(in->device_locked_now ? "true" : "false");
    p[8] = csam_store_int(in->threshold, a->thr);
    p[9] = csam_store_text(in->counted_source);
    p[10] = csam_store_text(in->source_locked_now ? "true" : "false");
}

csam_result csam_store_login_settle(csam_store *store,
                                    const struct csam_store_login_settle *in)
{
    struct csam_store_login_settle_args args;
    struct csam_store_param p[11];

    csam_store_login_settle_params(in, &args, p);
    return csam_store_exec(store, &csam_store_login_stmt_settle, p, NULL);
}

csam_result csam_store_login_open(csam_store *store,
                                  const struct csam_store_login_settle *in,
                                  const unsigned char *handle_hash, long ttl)
{
    char ttltext[CSAM_STORE_INT_SIZE];
    struct csam_store_login_settle_args args;
    struct csam_store_param p[13];
    csam_store_rows *rows = NULL;
    csam_result res;

    csam_store_login_settle_params(in, &args, p);
    p[11] = csam_store_bytes(handle_hash, CSAM_HASH_LEN);
    p[12] = csam_store_int(ttl, ttltext);
    res = csam_store_exec(store, &csam_store_login_stmt_open, p, &rows);
    if (res == CSAM_OK && csam_store_get_int64(rows, 0, "flows", 0) != 1)
        res = CSAM_ERR_DB;
    csam_store_rows_free(rows);
    return res;
}

/* ---- the login flow ---------------------------------------------------- */

/* The live login flow of a handle ($1 its hash), locked, with what a code
 * message needs; key_id is the active key of the type $2. */
/* clang-format off */
static const struct csam_store_stmt csam_store_login_stmt_flow = {
    "csam_login_flow",
    "SELECT f.id, a.id AS account_id, a.username, a.email, a.language,"
    "   r.first_name,"
    "   coalesce((SELECT string_agg(k.type, ',') FROM csam_keys k"
    "     WHERE k.account_id = a.id AND k.status = 'active'), '') AS keys,"
    "   (SELECT k.id FROM csam_keys k WHERE k.account_id = a.id"
    "     AND k.type = $2 AND k.status = 'active') AS key_id,"
    "   CASE WHEN a.locked_until > now()"
    "     THEN ceil(extract(epoch FROM a.locked_until - now()))::bigint"
    "     ELSE 0 END AS locked_for,"
    "   f.step, coalesce(f.key_type, '') AS chosen,"
    "   (SELECT k.phone FROM csam_keys k WHERE k.account_id = a.id"
    "     AND k.type = 'sms' AND k.status = 'active') AS phone,"
    "   f.device_id"
    " FROM csam_flows f JOIN csam_accounts a ON a.id = f.account_id"
    "   JOIN csam_registrations r ON r.id = a.registration_id"
    " WHERE f.handle_hash = $1 AND f.kind = 'login'"
    "   AND f.done_at IS NULL AND f.superseded_at IS NULL"
    "   AND f.expires_at > now() AND a.status = 'active'"
    " FOR UPDATE OF f",
    2, 0};
/* clang-format on */

static void csam_store_login_flow_read(const csam_store_rows *rows,
                                       struct csam_store_login_flow *out)
{
    const char *step = csam_store_get(rows, 0, "step");

    out->id = csam_store_get_int64(rows, 0, "id", 0);
    out->account_id = csam_store_get_int64(rows, 0, "account_id", 0);
    csam_store_get_copy(rows, 0, "username", out->username,
                        sizeof(out->username));
    csam_store_get_copy(rows, 0, "email", out->email, sizeof(out->email));
    csam_store_get_copy(rows, 0, "language", out->language,
                        sizeof(out->language));
    csam_store_get_copy(rows, 0, "first_name", out->first_name,
                        sizeof(out->first_name));
    out->keys = csam_key_type_mask(csam_store_get(rows, 0, "keys"));
    out->key_id = csam_store_get_int64(rows, 0, "key_id", 0);
    out->locked_for = (long)csam_store_get_int64(rows, 0, "locked_for", 0);
    out->confirm = step != NULL && strcmp(step, "confirm") == 0;
    out->chosen = csam_key_type_parse(csam_store_get(rows, 0, "chosen"));
    csam_store_get_copy(rows, 0, "phone", out->phone, sizeof(out->phone));
    out->device_id = csam_store_get_int64(rows, 0, "device_id", 0);
}

csam_result csam_store_login_flow_lock(csam_store *store,
                                       const unsigned char *handle_hash,
                                       const char *key_type,
                                       struct csam_store_login_flow *out)
{
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    p[0] = csam_store_bytes(handle_hash, CSAM_HASH_LEN);
    p[1] = csam_store_text(key_type);
    res = csam_store_exec(store, &csam_store_login_stmt_flow, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) == 1)
        csam_store_login_flow_read(rows, out);
    else
        res = CSAM_ERR_NOT_FOUND;
    csam_store_rows_free(rows);
    return res;
}

/* clang-format off */
static const struct csam_store_stmt csam_store_login_stmt_choose = {
    "csam_login_choose",
    "UPDATE csam_flows SET key_type = $2, step = 'confirm' WHERE id = $1", 2,
    0};
/* clang-format on */

csam_result csam_store_login_choose(csam_store *store, int64_t flow_id,
                                    const char *key_type)
{
    char id[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];

    p[0] = csam_store_int(flow_id, id);
    p[1] = csam_store_text(key_type);
    return csam_store_exec(store, &csam_store_login_stmt_choose, p, NULL);
}

/* The account's newest web login code (every column NULL when it never
 * had one), and the database clock. */
/* clang-format off */
static const struct csam_store_stmt csam_store_login_stmt_pending = {
    "csam_login_pending",
    "SELECT floor(extract(epoch FROM now() - c.created_at))::bigint AS age,"
    "   c.key_type,"
    "   c.used_at IS NULL AND c.superseded_at IS NULL"
    "     AND c.expires_at > now() AND c.attempts < c.max_attempts AS usable,"
    "   c.used_at IS NOT NULL AS used,"
    "   floor(extract(epoch FROM c.created_at))::bigint AS created,"
    "   floor(extract(epoch FROM now()))::bigint AS now"
    " FROM (SELECT 1) AS one LEFT JOIN LATERAL ("
    "   SELECT * FROM csam_challenges"
    "   WHERE account_id = $1::bigint AND purpose = 'web_login'"
    "   ORDER BY created_at DESC, id DESC LIMIT 1) AS c ON true",
    1, 0};
/* clang-format on */

csam_result csam_store_login_pending(csam_store *store, int64_t account_id,
                                     struct csam_store_login_pending *out)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    out->age = -1;
    p[0] = csam_store_int(account_id, acc);
    res = csam_store_exec(store, &csam_store_login_stmt_pending, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) == 1)
        out->now = csam_store_get_int64(rows, 0, "now", 0);
    if (csam_store_nrows(rows) == 1 && csam_store_get(rows, 0, "age") != NULL) {
        out->age = (long)csam_store_get_int64(rows, 0, "age", 0);
        if (out->age < 0)
            out->age = 0;
        out->type = csam_key_type_parse(csam_store_get(rows, 0, "key_type"));
        out->usable = csam_store_get_bool(rows, 0, "usable");
        out->used = csam_store_get_bool(rows, 0, "used");
        out->created = csam_store_get_int64(rows, 0, "created", 0);
    }
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* The account's ($2) live web login code becomes the flow's ($1). */
/* clang-format off */
static const struct csam_store_stmt csam_store_login_stmt_adopt = {
    "csam_login_adopt",
    "WITH pick AS ("
    "   SELECT id, flow_id FROM csam_challenges"
    "   WHERE account_id = $2::bigint AND purpose = 'web_login'"
    "     AND used_at IS NULL AND superseded_at IS NULL"
    "   ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE),"
    " c AS ("
    "   UPDATE csam_challenges ch SET flow_id = $1::bigint FROM pick"
    "   WHERE ch.id = pick.id RETURNING ch.id),"
    " o AS ("
    "   UPDATE csam_flows SET superseded_at = now()"
    "   WHERE id = (SELECT flow_id FROM pick) AND id <> $1::bigint"
    "     AND done_at IS NULL AND superseded_at IS NULL"
    "   RETURNING id)"
    " SELECT (SELECT count(*) FROM c) AS adopted,"
    "   (SELECT count(*) FROM o) AS superseded",
    2, 0};
/* clang-format on */

csam_result csam_store_login_adopt(csam_store *store, int64_t flow_id,
                                   int64_t account_id)
{
    char fid[CSAM_STORE_INT_SIZE], acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    p[0] = csam_store_int(flow_id, fid);
    p[1] = csam_store_int(account_id, acc);
    res = csam_store_exec(store, &csam_store_login_stmt_adopt, p, &rows);
    if (res == CSAM_OK && csam_store_get_int64(rows, 0, "adopted", 0) != 1)
        res = CSAM_ERR_DB; /* the code just issued or found is gone */
    csam_store_rows_free(rows);
    return res;
}

/* ---- PAM ----------------------------------------------------------------- */

/* clang-format off */
static const struct csam_store_stmt csam_store_login_stmt_account = {
    "csam_pam_account",
    "SELECT a.id, a.status = 'active' AS active,"
    "   a.status = 'disabled' AS disabled, a.language, a.email,"
    "   r.first_name,"
    "   CASE WHEN a.locked_until > now()"
    "     THEN ceil(extract(epoch FROM a.locked_until - now()))::bigint"
    "     ELSE 0 END AS locked_for,"
    "   coalesce((SELECT string_agg(k.type, ',') FROM csam_keys k"
    "     WHERE k.account_id = a.id AND k.status = 'active'), '') AS keys,"
    "   coalesce((SELECT k.phone FROM csam_keys k WHERE k.account_id = a.id"
    "     AND k.type = 'sms' AND k.status = 'active'), '') AS phone"
    " FROM csam_accounts a"
    "   JOIN csam_registrations r ON r.id = a.registration_id"
    " WHERE a.username = $1",
    1, CSAM_STORE_RETRY};
/* clang-format on */

csam_result csam_store_login_account(csam_store *store, const char *username,
                                     struct csam_store_login_account *out)
{
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    p[0] = csam_store_text(username);
    res = csam_store_exec(store, &csam_store_login_stmt_account, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        csam_store_rows_free(rows);
        return CSAM_ERR_NOT_FOUND;
    }
    out->id = csam_store_get_int64(rows, 0, "id", 0);
    out->active = csam_store_get_bool(rows, 0, "active");
    out->disabled = csam_store_get_bool(rows, 0, "disabled");
    csam_store_get_copy(rows, 0, "language", out->language,
                        sizeof(out->language));
    csam_store_get_copy(rows, 0, "email", out->email, sizeof(out->email));
    csam_store_get_copy(rows, 0, "first_name", out->first_name,
                        sizeof(out->first_name));
    out->locked_for = (long)csam_store_get_int64(rows, 0, "locked_for", 0);
    out->keys = csam_key_type_mask(csam_store_get(rows, 0, "keys"));
    csam_store_get_copy(rows, 0, "phone", out->phone, sizeof(out->phone));
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* clang-format off */
static const struct csam_store_stmt csam_store_login_stmt_account_lock = {
    "csam_pam_lock", "SELECT 1 FROM csam_accounts WHERE id = $1 FOR UPDATE", 1,
    0};
/* clang-format on */

csam_result csam_store_login_account_lock(csam_store *store, int64_t account_id)
{
    char id[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[1];

    p[0] = csam_store_int(account_id, id);
    return csam_store_exec(store, &csam_store_login_stmt_account_lock, p, NULL);
}

/* $1 the known device, $2 the hash it is stored under, $3 the hash it
 * moves to. */
static const struct csam_store_stmt csam_store_login_stmt_device_rehash = {
    "csam_login_device_rehash",
    "UPDATE csam_login_devices SET device_hash = $3"
    " WHERE id = $1::bigint AND device_hash = $2",
    3, CSAM_STORE_RETRY};

csam_result csam_store_login_device_rehash(csam_store *store, int64_t device_id,
                                           const unsigned char *from,
                                           const unsigned char *to)
{
    char id[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[3];

    if (store == NULL || device_id <= 0 || from == NULL || to == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(device_id, id);
    p[1] = csam_store_bytes(from, CSAM_HASH_LEN);
    p[2] = csam_store_bytes(to, CSAM_HASH_LEN);
    return csam_store_exec(store, &csam_store_login_stmt_device_rehash, p,
                           NULL);
}
