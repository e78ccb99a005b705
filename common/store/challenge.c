/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Security codes and the failure counters around them: each statement
 * next to the function that runs it, its columns read by name.
 *
 * A verification is one statement, so that two submissions of one code
 * racing each other cannot both win and so that it costs one round trip
 * (DESIGN 5).  Its five callers (by account, by name, the app's code, a
 * web login's code, a web login's app code) run the same text with
 * different parameters set: the counting rules are written once.
 */
#include <string.h>

#include "statement.h"
#include "challenge.h"
#include "delay.h"

/* ---- issuing ----------------------------------------------------------- */

/* The newest pending code of the same owner and purpose is superseded by
 * the one inserted in the same statement. */
/* clang-format off */
static const struct csam_store_stmt csam_store_challenge_stmt_issue = {
    "csam_challenge_issue",
    "WITH old AS ("
    "  UPDATE csam_challenges SET superseded_at = now()"
    "  WHERE account_id = $1 AND purpose = $2"
    "    AND used_at IS NULL AND superseded_at IS NULL"
    "  RETURNING id)"
    " INSERT INTO csam_challenges (account_id, purpose, key_id, key_type,"
    "   code_hash, max_attempts, expires_at, source)"
    " SELECT $1, $2, NULLIF($3::bigint, 0), $4, $5, $6::integer,"
    "   now() + make_interval(secs => $7::integer), $8"
    " FROM (SELECT count(*) FROM old) AS superseded"
    " RETURNING id",
    8, 0};
/* clang-format on */

csam_result csam_store_challenge_issue(csam_store *store,
                                       const struct csam_store_challenge_new *c)
{
    char acc[CSAM_STORE_INT_SIZE], key[CSAM_STORE_INT_SIZE];
    char max[CSAM_STORE_INT_SIZE], ttl[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[8];

    if (c == NULL || c->code_hash == NULL || c->purpose == NULL
        || c->key_type == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(c->account_id, acc);
    p[1] = csam_store_text(c->purpose);
    p[2] = csam_store_int(c->key_id, key);
    p[3] = csam_store_text(c->key_type);
    p[4] = csam_store_bytes(c->code_hash, CSAM_HASH_LEN);
    p[5] = csam_store_int(c->max_attempts, max);
    p[6] = csam_store_int(c->ttl, ttl);
    p[7] = csam_store_text(c->source);
    return csam_store_exec(store, &csam_store_challenge_stmt_issue, p, NULL);
}

/* clang-format off */
static const struct csam_store_stmt csam_store_challenge_stmt_age = {
    "csam_challenge_age",
    "SELECT floor(extract(epoch FROM now() - created_at))::bigint AS age,"
    "   used_at IS NULL AND superseded_at IS NULL AND expires_at > now()"
    "     AND attempts < max_attempts AS usable,"
    "   used_at IS NOT NULL AS used"
    " FROM csam_challenges WHERE account_id = $1 AND purpose = $2"
    " ORDER BY created_at DESC, id DESC LIMIT 1",
    2, CSAM_STORE_RETRY};
/* clang-format on */

csam_result csam_store_challenge_age(csam_store *store, int64_t account_id,
                                     const char *purpose,
                                     struct csam_store_challenge_age *out)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    out->age = -1;
    out->usable = 0;
    out->used = 0;
    p[0] = csam_store_int(account_id, acc);
    p[1] = csam_store_text(purpose);
    res = csam_store_exec(store, &csam_store_challenge_stmt_age, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) == 1) {
        out->age = (long)csam_store_get_int64(rows, 0, "age", 0);
        if (out->age < 0)
            out->age = 0;
        out->usable = csam_store_get_bool(rows, 0, "usable");
        out->used = csam_store_get_bool(rows, 0, "used");
    }
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* $1 account (0: none), $2 purpose, $3 registration (0: none), $4 the
 * cooldown: the seconds it still runs, or no row. */
/* clang-format off */
static const struct csam_store_stmt csam_store_challenge_stmt_cooldown = {
    "csam_challenge_cooldown",
    "SELECT ceil(extract(epoch FROM max(c.created_at)"
    "   + make_interval(secs => $4::integer) - now()))::bigint AS wait"
    " FROM csam_challenges c"
    " WHERE c.purpose = $2 AND c.key_type <> 'totp'"
    "   AND c.account_id IN (SELECT a.id FROM csam_accounts a"
    "     WHERE a.id = $1::bigint OR a.registration_id = $3::bigint)"
    " HAVING max(c.created_at) + make_interval(secs => $4::integer) > now()",
    4, CSAM_STORE_RETRY};
/* clang-format on */

csam_result csam_store_challenge_cooldown(csam_store *store, int64_t account_id,
                                          int64_t registration_id,
                                          const char *purpose, long cooldown,
                                          long *retry_after)
{
    char acc[CSAM_STORE_INT_SIZE], reg[CSAM_STORE_INT_SIZE];
    char wait[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[4];
    csam_store_rows *rows = NULL;
    csam_result res;

    *retry_after = 0;
    p[0] = csam_store_int(account_id, acc);
    p[1] = csam_store_text(purpose);
    p[2] = csam_store_int(registration_id, reg);
    p[3] = csam_store_int(cooldown, wait);
    res = csam_store_exec(store, &csam_store_challenge_stmt_cooldown, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) == 1) {
        *retry_after = (long)csam_store_get_int64(rows, 0, "wait", 1);
        if (*retry_after < 1)
            *retry_after = 1;
    }
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* ---- verification ------------------------------------------------------ */

/*
 * The verification: one statement for every owner and every kind of code,
 * so that the counting rules are written once.  Parameters:
 *
 *   $1  the owner's account id (NULL: by name or by login handle)
 *   $2  purpose
 *   $3  the typed code's keyed hash (NULL for the app's code)
 *   $4  lockout threshold          $5  lockout duration (s)
 *   $6  the source the failure counts on (NULL: none)
 *   $7  the source's threshold     $8  failures before the growing delay
 *   $9  the source the audit row names
 *   $10 the growing delay's cap (s: delay_max)
 *   $11 the owner's username and $12 the key type it must have active
 *       (NULL: not by name)
 *   $13 the app's key and $14 the step the typed code matched (NULL: a
 *       sent code; $14 NULL: the code matched no step)
 *   $15 a login handle's hash (NULL: no web login), $16 the session's
 *       cookie hash, $17 its idle timeout and $18 its lifetime (s), $19 the
 *       browser's device token hash (NULL: none) and $20 a known device's
 *       lifetime (s)
 *
 * fl: the live login flow of the handle, its account active.
 * who: the owner, one row or none: its account (id), the login flow a web
 *   login code must belong to (flow), and the known device the login came
 *   from (dev), whose row then counts the failures instead of the
 *   account's and the source's.  A login's flow must have chosen a key
 *   that is still active, and of the kind this call checks.
 * acct, src: the owner's and the source's lock before the statement (for
 *   a known device, acct is the device's lock and src is empty).
 * pick: the owner's newest live code of the purpose.
 * t: the app's code: its step stored as the key's last step only if newer
 *   than the stored one, so two submissions of one code cannot both win.
 * c: marks the code used when it is right (its hash, or t), or counts the
 *   attempt on it.  When another transaction used the code first, c's row
 *   lock waits for it and then finds used_at set: c is empty and the
 *   answer is "expired".
 * a / ad: counts (or clears) the account's failures / the known device's,
 *   with the growing delay (delay.h) and the lock; s counts the source's
 *   (never for a known device); log writes the audit row.
 * f, sess, slog, nd, xd: a web login's success: the handle used up (only
 *   once: a second success racing this one finds done_at set and gets no
 *   session), the session created and audited, the browser recorded as a
 *   known device unless it came from one with a long life left, and a few
 *   expired devices dropped.
 * tk: for a login waiting for the app's code, what checking it needs (the
 *   call for a sent code finds no owner; the call for the app's code
 *   follows, the sealed secret opening in between).
 *
 * The hashes are compared by the server: they are keyed, so an attacker
 * who cannot compute them learns nothing from how long that takes.
 *
 * It may run again after a reconnection (outside a transaction: the store
 * never retries inside one).  The usual case is a connection that died
 * while idle (a server restart): the statement never ran.  Even if it had
 * committed and only the answer was lost, running it again cannot let a
 * code through twice: a used code is "expired", and at worst one wrong
 * attempt counts twice.  Failing closed, never open.
 *
 * Its text is longer than the 4095 bytes ISO C requires compilers to take
 * in one literal; GCC and Clang take any length, and one statement is the
 * point (one round trip per verification, DESIGN 5).
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
/* clang-format off */
static const struct csam_store_stmt csam_store_challenge_stmt_verify = {
    "csam_challenge_verify",
    "WITH fl AS ("
    "   SELECT f.id, f.account_id, f.step, f.key_type, a.username,"
    "     f.device_id, (SELECT d.expires_at FROM csam_login_devices d"
    "       WHERE d.id = f.device_id) AS device_expires"
    "   FROM csam_flows f JOIN csam_accounts a ON a.id = f.account_id"
    "   WHERE f.handle_hash IN ($15::bytea, coalesce($22::bytea, $15::bytea))"
    "     AND f.kind = 'login'"
    "     AND f.done_at IS NULL AND f.superseded_at IS NULL"
    "     AND f.expires_at > now() AND a.status = 'active'),"
    " who AS ("
    "   SELECT $1::bigint AS id, NULL::bigint AS flow, NULL::bigint AS dev"
    "   WHERE $1::bigint IS NOT NULL"
    "   UNION ALL"
    "   SELECT a.id, NULL, NULL FROM csam_accounts a"
    "   WHERE a.username = $11::text AND a.status = 'active'"
    "     AND EXISTS (SELECT 1 FROM csam_keys k WHERE k.account_id = a.id"
    "       AND k.type = $12::text AND k.status = 'active')"
    "   UNION ALL"
    "   SELECT fl.account_id, fl.id, fl.device_id FROM fl"
    "   WHERE fl.step = 'confirm'"
    "     AND (fl.key_type = 'totp') = ($13::bigint IS NOT NULL)"
    "     AND EXISTS (SELECT 1 FROM csam_keys k"
    "       WHERE k.account_id = fl.account_id AND k.type = fl.key_type"
    "         AND k.status = 'active')),"
    " acct AS ("
    "   SELECT ceil(extract(epoch FROM locked_until - now()))::bigint AS wait"
    "   FROM csam_accounts"
    "   WHERE id = (SELECT id FROM who) AND locked_until > now()"
    "     AND (SELECT dev FROM who) IS NULL"
    "   UNION ALL"
    "   SELECT ceil(extract(epoch FROM locked_until - now()))::bigint"
    "   FROM csam_login_devices"
    "   WHERE id = (SELECT dev FROM who) AND locked_until > now()),"
    " src AS ("
    "   SELECT ceil(extract(epoch FROM locked_until - now()))::bigint AS wait"
    "   FROM csam_source_failures"
    "   WHERE (SELECT dev FROM who) IS NULL"
    "     AND source = $6::text AND locked_until > now()),"
    " pick AS ("
    "   SELECT id, attempts >= max_attempts AS exhausted,"
    "     expires_at <= now() AS expired"
    "   FROM csam_challenges"
    "   WHERE account_id = (SELECT id FROM who) AND purpose = $2::text"
    "     AND used_at IS NULL AND superseded_at IS NULL"
    "     AND flow_id IS NOT DISTINCT FROM (SELECT flow FROM who)"
    "   ORDER BY created_at DESC, id DESC LIMIT 1),"
    " t AS ("
    "   UPDATE csam_keys k SET totp_last_step = $14::bigint"
    "   WHERE k.id = $13::bigint AND k.account_id = (SELECT id FROM who)"
    "     AND k.type = 'totp' AND k.status <> 'inactive'"
    "     AND $14::bigint IS NOT NULL"
    "     AND (k.totp_last_step IS NULL OR k.totp_last_step < $14::bigint)"
    "     AND EXISTS (SELECT 1 FROM pick WHERE NOT exhausted AND NOT expired)"
    "     AND NOT EXISTS (SELECT 1 FROM acct)"
    "     AND NOT EXISTS (SELECT 1 FROM src)"
    "   RETURNING k.id),"
    " m AS ("
    "   SELECT CASE WHEN $13::bigint IS NULL"
    "     THEN h.code_hash IN ($3::bytea, coalesce($21::bytea, $3::bytea))"
    "     ELSE EXISTS (SELECT 1 FROM t) END AS matched"
    "   FROM csam_challenges h JOIN pick ON h.id = pick.id),"
    " c AS ("
    "   UPDATE csam_challenges ch"
    "   SET used_at = CASE WHEN m.matched THEN now() END,"
    "     attempts = ch.attempts + CASE WHEN m.matched THEN 0 ELSE 1 END"
    "   FROM pick, m"
    "   WHERE ch.id = pick.id AND NOT pick.exhausted AND NOT pick.expired"
    "     AND NOT EXISTS (SELECT 1 FROM acct)"
    "     AND NOT EXISTS (SELECT 1 FROM src)"
    "     AND ch.used_at IS NULL AND ch.superseded_at IS NULL"
    "     AND ch.attempts < ch.max_attempts AND ch.expires_at > now()"
    "   RETURNING ch.id, ch.used_at IS NOT NULL AS ok,"
    "     ch.max_attempts - ch.attempts AS left_over),"
    " a AS ("
    "   UPDATE csam_accounts acc SET"
    "     failures = CASE WHEN c.ok OR acc.failures + 1 >= $4::integer"
    "       THEN 0 ELSE acc.failures + 1 END,"
    "     locked_until = CASE WHEN c.ok THEN NULL"
    "       WHEN acc.failures + 1 >= $4::integer"
    "       THEN now() + make_interval(secs => $5::integer)"
    "       WHEN acc.failures + 1 > $8::integer"
    "       THEN now() + make_interval(secs => "
    CSAM_STORE_DELAY_SQL("acc.failures", "$8::integer", "$10::integer") ")"
    "       ELSE acc.locked_until END"
    "   FROM c"
    "   WHERE acc.id = (SELECT id FROM who)"
    "     AND (c.ok OR (SELECT dev FROM who) IS NULL)"
    "   RETURNING greatest(0, ceil(extract(epoch FROM"
    "     coalesce(acc.locked_until, now()) - now())))::bigint AS wait,"
    "     acc.failures),"
    " ad AS ("
    "   UPDATE csam_login_devices d SET"
    "     failures = CASE WHEN c.ok OR d.failures + 1 >= $4::integer"
    "       THEN 0 ELSE d.failures + 1 END,"
    "     last_failure_at = CASE WHEN c.ok THEN d.last_failure_at"
    "       ELSE now() END,"
    "     locked_until = CASE WHEN c.ok THEN NULL"
    "       WHEN d.failures + 1 >= $4::integer"
    "       THEN now() + make_interval(secs => $5::integer)"
    "       WHEN d.failures + 1 > $8::integer"
    "       THEN now() + make_interval(secs => "
    CSAM_STORE_DELAY_SQL("d.failures", "$8::integer", "$10::integer") ")"
    "       ELSE d.locked_until END"
    "   FROM c"
    "   WHERE d.id = (SELECT dev FROM who)"
    "   RETURNING greatest(0, ceil(extract(epoch FROM"
    "     coalesce(d.locked_until, now()) - now())))::bigint AS wait,"
    "     d.failures),"
    " s AS ("
    "   INSERT INTO csam_source_failures AS sf"
    "     (source, failures, window_start)"
    "   SELECT $6::text, 1, now() FROM c"
    "   WHERE NOT c.ok AND $6::text IS NOT NULL"
    "     AND (SELECT dev FROM who) IS NULL"
    "   ON CONFLICT (source) DO UPDATE SET"
    "     failures = CASE WHEN sf.window_start"
    "       < now() - make_interval(secs => $5::integer) THEN 1"
    "       ELSE sf.failures + 1 END,"
    "     window_start = CASE WHEN sf.window_start"
    "       < now() - make_interval(secs => $5::integer) THEN now()"
    "       ELSE sf.window_start END,"
    "     locked_until = CASE WHEN sf.window_start"
    "       >= now() - make_interval(secs => $5::integer)"
    "       AND sf.failures + 1 >= $7::integer"
    "       THEN now() + make_interval(secs => $5::integer)"
    "       ELSE sf.locked_until END"
    "   RETURNING 1),"
    " log AS ("
    "   INSERT INTO csam_audit (action, account_id, source, detail)"
    "   SELECT CASE WHEN c.ok THEN 'challenge.passed'"
    "     ELSE 'challenge.failed' END, (SELECT id FROM who), $9::text,"
    "     jsonb_build_object('purpose', $2::text, 'challenge', c.id)"
    "   FROM c RETURNING 1),"
    " f AS ("
    "   UPDATE csam_flows fw SET step = 'done', done_at = now()"
    "   FROM c WHERE c.ok AND fw.id = (SELECT id FROM fl)"
    "     AND fw.done_at IS NULL"
    "   RETURNING fw.id),"
    " sess AS ("
    "   INSERT INTO csam_sessions (session_hash, account_id, key_type,"
    "     idle_timeout, expires_at, source)"
    "   SELECT $16::bytea, fl.account_id, fl.key_type,"
    "     make_interval(secs => $17::integer),"
    "     now() + make_interval(secs => $18::integer), $9::text"
    "   FROM f, fl"
    "   RETURNING id,"
    "     floor(extract(epoch FROM created_at))::bigint AS auth,"
    "     floor(extract(epoch FROM expires_at))::bigint AS ends,"
    "     floor(extract(epoch FROM least(last_seen_at + idle_timeout,"
    "       expires_at)))::bigint AS idle_ends),"
    " slog AS ("
    "   INSERT INTO csam_audit (actor, action, account_id, source, detail)"
    "   SELECT fl.username, 'session.created', fl.account_id, $9::text,"
    "     jsonb_build_object('session', sess.id, 'key_type', fl.key_type,"
    "       'flow', fl.id)"
    "   FROM sess, fl RETURNING 1),"
    " nd AS ("
    "   INSERT INTO csam_login_devices (account_id, device_hash, expires_at)"
    "   SELECT fl.account_id, $19::bytea,"
    "     now() + make_interval(secs => $20::integer)"
    "   FROM f, fl"
    "   WHERE $19::bytea IS NOT NULL AND (fl.device_expires IS NULL"
    "     OR fl.device_expires"
    "       < now() + make_interval(secs => $20::integer / 6))"
    "   RETURNING id),"
    " xd AS ("
    "   DELETE FROM csam_login_devices WHERE $15::bytea IS NOT NULL"
    "     AND id IN (SELECT id FROM csam_login_devices"
    "       WHERE expires_at < now() ORDER BY expires_at LIMIT 4)"
    "   RETURNING 1),"
    " tk AS ("
    "   SELECT k.id, encode(k.totp_secret, 'hex') AS sealed,"
    "     coalesce(k.totp_last_step, -1) AS last"
    "   FROM csam_keys k JOIN fl ON k.account_id = fl.account_id"
    "   WHERE fl.step = 'confirm' AND fl.key_type = 'totp'"
    "     AND k.type = 'totp' AND k.status = 'active')"
    " SELECT (SELECT count(*) FROM who) AS owner_found,"
    "   (SELECT wait FROM acct) AS account_lock,"
    "   (SELECT wait FROM src) AS source_lock,"
    "   (SELECT count(*) FROM pick) AS code_found,"
    "   (SELECT exhausted FROM pick) AS exhausted,"
    "   (SELECT expired FROM pick) AS expired,"
    "   (SELECT ok FROM c) AS ok,"
    "   (SELECT left_over FROM c) AS attempts_left,"
    "   coalesce((SELECT wait FROM ad), (SELECT wait FROM a)) AS wait,"
    "   coalesce((SELECT failures FROM ad), (SELECT failures FROM a))"
    "     AS failures,"
    "   (SELECT count(*) FROM s) + (SELECT count(*) FROM log) AS written,"
    "   (SELECT count(*) FROM fl) AS flow_found,"
    "   (SELECT step FROM fl) AS step,"
    "   (SELECT key_type FROM fl) AS key_type,"
    "   (SELECT username FROM fl) AS username,"
    "   (SELECT auth FROM sess) AS auth_time,"
    "   (SELECT ends FROM sess) AS expires_at,"
    "   (SELECT idle_ends FROM sess) AS idle_expires_at,"
    "   (SELECT count(*) FROM slog) AS session_made,"
    "   (SELECT count(*) FROM nd) AS device_made,"
    "   (SELECT id FROM tk) AS totp_key_id,"
    "   (SELECT sealed FROM tk) AS totp_sealed,"
    "   (SELECT last FROM tk) AS totp_last_step,"
    "   floor(extract(epoch FROM now()))::bigint AS now",
    22, CSAM_STORE_RETRY};
/* clang-format on */
#pragma GCC diagnostic pop

/*
 * PAM's verification: the statement above without what only the web
 * does (a login handle, a known device, a counted source, a session), so
 * that csam_pam needs no privilege on csam_flows, csam_sessions,
 * csam_login_devices or csam_source_failures: PostgreSQL checks every
 * table a statement names, even in steps that touch no row.  It runs
 * for every verification that counts no source and ends no web login
 * (csam_store_verify_run), which is every one of PAM's: the same steps
 * and rules, the same columns out but the web's.  Its parameters are the
 * general statement's without the web's ones, in the same order:
 *
 *   $1  account id ($1)      $2  purpose ($2)       $3  code hash ($3)
 *   $4  threshold ($4)       $5  duration ($5)      $6  delay after ($8)
 *   $7  audit source ($9)    $8  delay cap ($10)    $9  username ($11)
 *   $10 key type ($12)       $11 the app's key ($13)
 *   $12 its step ($14)       $13 the code hash under the previous secret ($21)
 */
/* clang-format off */
static const struct csam_store_stmt csam_store_challenge_stmt_verify_pam = {
    "csam_challenge_verify_pam",
    "WITH who AS ("
    "   SELECT $1::bigint AS id WHERE $1::bigint IS NOT NULL"
    "   UNION ALL"
    "   SELECT a.id FROM csam_accounts a"
    "   WHERE a.username = $9::text AND a.status = 'active'"
    "     AND EXISTS (SELECT 1 FROM csam_keys k WHERE k.account_id = a.id"
    "       AND k.type = $10::text AND k.status = 'active')),"
    " acct AS ("
    "   SELECT ceil(extract(epoch FROM locked_until - now()))::bigint AS wait"
    "   FROM csam_accounts"
    "   WHERE id = (SELECT id FROM who) AND locked_until > now()),"
    " pick AS ("
    "   SELECT id, attempts >= max_attempts AS exhausted,"
    "     expires_at <= now() AS expired"
    "   FROM csam_challenges"
    "   WHERE account_id = (SELECT id FROM who) AND purpose = $2::text"
    "     AND used_at IS NULL AND superseded_at IS NULL AND flow_id IS NULL"
    "   ORDER BY created_at DESC, id DESC LIMIT 1),"
    " t AS ("
    "   UPDATE csam_keys k SET totp_last_step = $12::bigint"
    "   WHERE k.id = $11::bigint AND k.account_id = (SELECT id FROM who)"
    "     AND k.type = 'totp' AND k.status <> 'inactive'"
    "     AND $12::bigint IS NOT NULL"
    "     AND (k.totp_last_step IS NULL OR k.totp_last_step < $12::bigint)"
    "     AND EXISTS (SELECT 1 FROM pick WHERE NOT exhausted AND NOT expired)"
    "     AND NOT EXISTS (SELECT 1 FROM acct)"
    "   RETURNING k.id),"
    " m AS ("
    "   SELECT CASE WHEN $11::bigint IS NULL"
    "     THEN h.code_hash IN ($3::bytea, coalesce($13::bytea, $3::bytea))"
    "     ELSE EXISTS (SELECT 1 FROM t) END AS matched"
    "   FROM csam_challenges h JOIN pick ON h.id = pick.id),"
    " c AS ("
    "   UPDATE csam_challenges ch"
    "   SET used_at = CASE WHEN m.matched THEN now() END,"
    "     attempts = ch.attempts + CASE WHEN m.matched THEN 0 ELSE 1 END"
    "   FROM pick, m"
    "   WHERE ch.id = pick.id AND NOT pick.exhausted AND NOT pick.expired"
    "     AND NOT EXISTS (SELECT 1 FROM acct)"
    "     AND ch.used_at IS NULL AND ch.superseded_at IS NULL"
    "     AND ch.attempts < ch.max_attempts AND ch.expires_at > now()"
    "   RETURNING ch.id, ch.used_at IS NOT NULL AS ok,"
    "     ch.max_attempts - ch.attempts AS left_over),"
    " a AS ("
    "   UPDATE csam_accounts acc SET"
    "     failures = CASE WHEN c.ok OR acc.failures + 1 >= $4::integer"
    "       THEN 0 ELSE acc.failures + 1 END,"
    "     locked_until = CASE WHEN c.ok THEN NULL"
    "       WHEN acc.failures + 1 >= $4::integer"
    "       THEN now() + make_interval(secs => $5::integer)"
    "       WHEN acc.failures + 1 > $6::integer"
    "       THEN now() + make_interval(secs => "
    CSAM_STORE_DELAY_SQL("acc.failures", "$6::integer", "$8::integer") ")"
    "       ELSE acc.locked_until END"
    "   FROM c"
    "   WHERE acc.id = (SELECT id FROM who)"
    "   RETURNING greatest(0, ceil(extract(epoch FROM"
    "     coalesce(acc.locked_until, now()) - now())))::bigint AS wait,"
    "     acc.failures),"
    " log AS ("
    "   INSERT INTO csam_audit (action, account_id, source, detail)"
    "   SELECT CASE WHEN c.ok THEN 'challenge.passed'"
    "     ELSE 'challenge.failed' END, (SELECT id FROM who), $7::text,"
    "     jsonb_build_object('purpose', $2::text, 'challenge', c.id)"
    "   FROM c RETURNING 1)"
    " SELECT (SELECT count(*) FROM who) AS owner_found,"
    "   (SELECT wait FROM acct) AS account_lock,"
    "   (SELECT count(*) FROM pick) AS code_found,"
    "   (SELECT exhausted FROM pick) AS exhausted,"
    "   (SELECT expired FROM pick) AS expired,"
    "   (SELECT ok FROM c) AS ok,"
    "   (SELECT left_over FROM c) AS attempts_left,"
    "   (SELECT wait FROM a) AS wait,"
    "   (SELECT failures FROM a) AS failures,"
    "   (SELECT count(*) FROM log) AS written",
    13, CSAM_STORE_RETRY};
/* clang-format on */

/* The statement's parameters, every one NULL until a caller sets it. */
struct csam_store_verify_params {
    struct csam_store_param p[22];
    char acc[CSAM_STORE_INT_SIZE], thr[CSAM_STORE_INT_SIZE];
    char dur[CSAM_STORE_INT_SIZE], sthr[CSAM_STORE_INT_SIZE];
    char after[CSAM_STORE_INT_SIZE], max[CSAM_STORE_INT_SIZE];
    char key[CSAM_STORE_INT_SIZE], step[CSAM_STORE_INT_SIZE];
    char idle[CSAM_STORE_INT_SIZE], life[CSAM_STORE_INT_SIZE];
    char dttl[CSAM_STORE_INT_SIZE];
};

/* $2..$10 from ck, $13 and $14 for the app's code (key_id > 0), the rest
 * NULL. */
static csam_result
csam_store_verify_params_init(const struct csam_store_challenge_check *ck,
                              int64_t key_id,
                              struct csam_store_verify_params *v)
{
    const struct csam_store_limits *lim = ck->limits;
    size_t i;

    if (lim == NULL || ck->purpose == NULL
        || (key_id <= 0 && ck->code_hash == NULL))
        return CSAM_ERR_INVALID;
    for (i = 0; i < sizeof(v->p) / sizeof(v->p[0]); i++)
        v->p[i] = csam_store_text(NULL);
    v->p[1] = csam_store_text(ck->purpose);
    if (key_id <= 0)
        v->p[2] = csam_store_bytes(ck->code_hash, CSAM_HASH_LEN);
    if (key_id <= 0 && ck->code_hash_previous != NULL)
        v->p[20] = csam_store_bytes(ck->code_hash_previous, CSAM_HASH_LEN);
    v->p[3] = csam_store_int(lim->threshold, v->thr);
    v->p[4] = csam_store_int(lim->duration, v->dur);
    v->p[5] = csam_store_text(ck->counted_source);
    v->p[6] = csam_store_int(lim->source_threshold, v->sthr);
    v->p[7] = csam_store_int(lim->delay_after, v->after);
    v->p[8] = csam_store_text(ck->audit_source);
    v->p[9] = csam_store_int(lim->delay_max, v->max);
    if (key_id > 0) {
        v->p[12] = csam_store_int(key_id, v->key);
        if (ck->totp_step >= 0)
            v->p[13] = csam_store_int(ck->totp_step, v->step);
    }
    return CSAM_OK;
}

/* A lock's seconds: 0 for none (NULL), at least 1 for one. */
static long csam_store_verify_lock(const csam_store_rows *rows,
                                   const char *column)
{
    long wait;

    if (csam_store_get(rows, 0, column) == NULL)
        return 0;
    wait = (long)csam_store_get_int64(rows, 0, column, 1);
    return wait < 1 ? 1 : wait;
}

static void csam_store_verdict_read(const csam_store_rows *rows,
                                    struct csam_store_verdict *out)
{
    memset(out, 0, sizeof(*out));
    out->owner_found = csam_store_get_int64(rows, 0, "owner_found", 0) != 0;
    out->account_lock = csam_store_verify_lock(rows, "account_lock");
    out->source_lock = csam_store_verify_lock(rows, "source_lock");
    out->code_found = csam_store_get_int64(rows, 0, "code_found", 0) != 0;
    out->exhausted = csam_store_get_bool(rows, 0, "exhausted");
    out->expired = csam_store_get_bool(rows, 0, "expired");
    out->counted = csam_store_get(rows, 0, "ok") != NULL;
    out->ok = csam_store_get_bool(rows, 0, "ok");
    out->attempts_left = (long)csam_store_get_int64(rows, 0, "attempts_left",
                                                    0);
    out->wait = (long)csam_store_get_int64(rows, 0, "wait", 0);
    out->failures = (long)csam_store_get_int64(rows, 0, "failures", 0);
}

/* A web login's own columns. */
static void csam_store_login_verdict_read(const csam_store_rows *rows,
                                          struct csam_store_login_verdict *out)
{
    const char *step = csam_store_get(rows, 0, "step");

    out->flow_found = csam_store_get_int64(rows, 0, "flow_found", 0) != 0;
    out->confirm = step != NULL && strcmp(step, "confirm") == 0;
    out->key_type = csam_key_type_parse(csam_store_get(rows, 0, "key_type"));
    /* A value that does not fit is no value: cut, it could mean another
     * (a name, a sealed key). */
    if (!csam_store_get_copy(rows, 0, "username", out->username,
                             sizeof(out->username)))
        out->username[0] = '\0';
    out->session_made = csam_store_get_int64(rows, 0, "session_made", 0) == 1;
    out->device_made = csam_store_get_int64(rows, 0, "device_made", 0) > 0;
    out->auth_time = csam_store_get_int64(rows, 0, "auth_time", 0);
    out->expires_at = csam_store_get_int64(rows, 0, "expires_at", 0);
    out->idle_expires_at = csam_store_get_int64(rows, 0, "idle_expires_at", 0);
    out->totp_key_id = csam_store_get_int64(rows, 0, "totp_key_id", 0);
    if (!csam_store_get_copy(rows, 0, "totp_sealed", out->totp_sealed,
                             sizeof(out->totp_sealed)))
        out->totp_sealed[0] = '\0';
    out->totp_last_step = csam_store_get_int64(rows, 0, "totp_last_step", -1);
    out->now = csam_store_get_int64(rows, 0, "now", 0);
}

/* Run the statement; the verdict read, and a login's columns with login.
 * Without a counted source ($6) or a login handle ($15), none of the web's
 * steps can run: PAM's statement does the same with its parameters. */
static csam_result csam_store_verify_run(
    csam_store *store, const struct csam_store_verify_params *v,
    struct csam_store_verdict *out, struct csam_store_login_verdict *login)
{
    /* the general statement's $n for each of PAM's, in order */
    static const int pam[] = {1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 21};
    struct csam_store_param p[sizeof(pam) / sizeof(pam[0])];
    const struct csam_store_stmt *stmt = &csam_store_challenge_stmt_verify;
    const struct csam_store_param *params = v->p;
    csam_store_rows *rows = NULL;
    csam_result res;
    size_t i;

    if (v->p[5].value == NULL && v->p[14].value == NULL) {
        for (i = 0; i < sizeof(pam) / sizeof(pam[0]); i++)
            p[i] = v->p[pam[i] - 1];
        stmt = &csam_store_challenge_stmt_verify_pam;
        params = p;
    }
    res = csam_store_exec(store, stmt, params, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) == 1) {
        csam_store_verdict_read(rows, out);
        if (login != NULL)
            csam_store_login_verdict_read(rows, login);
    } else {
        res = CSAM_ERR_DB;
    }
    csam_store_rows_free(rows);
    return res;
}

csam_result
csam_store_challenge_verify(csam_store *store, int64_t account_id,
                            const struct csam_store_challenge_check *ck,
                            struct csam_store_verdict *out)
{
    struct csam_store_verify_params v;
    csam_result res;

    if (account_id <= 0)
        return CSAM_ERR_INVALID;
    res = csam_store_verify_params_init(ck, 0, &v);
    if (res != CSAM_OK)
        return res;
    v.p[0] = csam_store_int(account_id, v.acc);
    return csam_store_verify_run(store, &v, out, NULL);
}

csam_result csam_store_challenge_verify_name(
    csam_store *store, const char *username, const char *key_type,
    const struct csam_store_challenge_check *ck, struct csam_store_verdict *out)
{
    struct csam_store_verify_params v;
    csam_result res;

    if (username == NULL || key_type == NULL)
        return CSAM_ERR_INVALID;
    res = csam_store_verify_params_init(ck, 0, &v);
    if (res != CSAM_OK)
        return res;
    v.p[10] = csam_store_text(username);
    v.p[11] = csam_store_text(key_type);
    return csam_store_verify_run(store, &v, out, NULL);
}

csam_result csam_store_challenge_verify_totp(
    csam_store *store, int64_t account_id, int64_t key_id,
    const struct csam_store_challenge_check *ck, struct csam_store_verdict *out)
{
    struct csam_store_verify_params v;
    csam_result res;

    if (account_id <= 0 || key_id <= 0)
        return CSAM_ERR_INVALID;
    res = csam_store_verify_params_init(ck, key_id, &v);
    if (res != CSAM_OK)
        return res;
    v.p[0] = csam_store_int(account_id, v.acc);
    return csam_store_verify_run(store, &v, out, NULL);
}

/* A web login: key_id 0 for a sent code, the app's key otherwise. */
static csam_result csam_store_verify_login(
    csam_store *store, const struct csam_store_login_verify *in, int64_t key_id,
    const struct csam_store_challenge_check *ck,
    struct csam_store_login_verdict *out)
{
    struct csam_store_verify_params v;
    csam_result res;

    memset(out, 0, sizeof(*out));
    if (in == NULL || in->handle_hash == NULL || in->session_hash == NULL)
        return CSAM_ERR_INVALID;
    res = csam_store_verify_params_init(ck, key_id, &v);
    if (res != CSAM_OK)
        return res;
    v.p[14] = csam_store_bytes(in->handle_hash, CSAM_HASH_LEN);
    if (in->handle_hash_previous != NULL)
        v.p[21] = csam_store_bytes(in->handle_hash_previous, CSAM_HASH_LEN);
    v.p[15] = csam_store_bytes(in->session_hash, CSAM_HASH_LEN);
    v.p[16] = csam_store_int(in->session_idle, v.idle);
    v.p[17] = csam_store_int(in->session_life, v.life);
    if (in->device_hash != NULL)
        v.p[18] = csam_store_bytes(in->device_hash, CSAM_HASH_LEN);
    v.p[19] = csam_store_int(in->device_ttl, v.dttl);
    return csam_store_verify_run(store, &v, &out->verdict, out);
}

csam_result
csam_store_challenge_verify_login(csam_store *store,
                                  const struct csam_store_login_verify *in,
                                  const struct csam_store_challenge_check *ck,
                                  struct csam_store_login_verdict *out)
{
    return csam_store_verify_login(store, in, 0, ck, out);
}

csam_result csam_store_challenge_verify_login_totp(
    csam_store *store, const struct csam_store_login_verify *in, int64_t key_id,
    const struct csam_store_challenge_check *ck,
    struct csam_store_login_verdict *out)
{
    if (key_id <= 0)
        return CSAM_ERR_INVALID;
    return csam_store_verify_login(store, in, key_id, ck, out);
}

/* ---- the app's key ------------------------------------------------------ */

/* clang-format off */
static const struct csam_store_stmt csam_store_challenge_stmt_totp_key = {
    "csam_totp_fetch",
    "SELECT k.id AS key_id, k.account_id,"
    "   encode(k.totp_secret, 'hex') AS sealed,"
    "   coalesce(k.totp_last_step, -1) AS last_step,"
    "   floor(extract(epoch FROM now()))::bigint AS now"
    " FROM csam_keys k"
    " WHERE k.account_id = $1 AND k.type = 'totp' AND k.status = $2"
    " ORDER BY k.id DESC LIMIT 1",
    2, CSAM_STORE_RETRY};
/* clang-format on */

/* clang-format off */
static const struct csam_store_stmt csam_store_challenge_stmt_totp_named = {
    "csam_totp_fetch_named",
    "SELECT k.id AS key_id, a.id AS account_id,"
    "   encode(k.totp_secret, 'hex') AS sealed,"
    "   coalesce(k.totp_last_step, -1) AS last_step,"
    "   floor(extract(epoch FROM now()))::bigint AS now"
    " FROM csam_accounts a JOIN csam_keys k ON k.account_id = a.id"
    " WHERE a.username = $1 AND a.status = 'active'"
    "   AND k.type = 'totp' AND k.status = 'active'",
    1, CSAM_STORE_RETRY};
/* clang-format on */

static csam_result csam_store_totp_key_run(csam_store *store,
                                           const struct csam_store_stmt *stmt,
                                           const struct csam_store_param *p,
                                           struct csam_store_totp_key *out)
{
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    out->last_step = -1;
    res = csam_store_exec(store, stmt, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        csam_store_rows_free(rows);
        return CSAM_ERR_NOT_FOUND;
    }
    out->key_id = csam_store_get_int64(rows, 0, "key_id", 0);
    out->account_id = csam_store_get_int64(rows, 0, "account_id", 0);
    if (!csam_store_get_copy(rows, 0, "sealed", out->sealed,
                             sizeof(out->sealed)))
        out->sealed[0] = '\0';
    out->last_step = csam_store_get_int64(rows, 0, "last_step", -1);
    out->now = csam_store_get_int64(rows, 0, "now", 0);
    csam_store_rows_free(rows);
    return CSAM_OK;
}

csam_result csam_store_challenge_totp_key(csam_store *store, int64_t account_id,
                                          const char *status,
                                          struct csam_store_totp_key *out)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];

    p[0] = csam_store_int(account_id, acc);
    p[1] = csam_store_text(status);
    return csam_store_totp_key_run(store, &csam_store_challenge_stmt_totp_key,
                                   p, out);
}

csam_result csam_store_challenge_totp_key_named(csam_store *store,
                                                const char *username,
                                                struct csam_store_totp_key *out)
{
    struct csam_store_param p[1];

    p[0] = csam_store_text(username);
    return csam_store_totp_key_run(store, &csam_store_challenge_stmt_totp_named,
                                   p, out);
}

/* clang-format off */
static const struct csam_store_stmt csam_store_challenge_stmt_totp_reserve = {
    "csam_totp_nextval",
    "SELECT nextval(pg_get_serial_sequence('csam_keys', 'id')) AS id", 0, 0};
/* clang-format on */

csam_result csam_store_challenge_totp_reserve(csam_store *store,
                                              int64_t *key_id)
{
    csam_store_rows *rows = NULL;
    csam_result res;

    *key_id = 0;
    res = csam_store_exec(store, &csam_store_challenge_stmt_totp_reserve, NULL,
                          &rows);
    if (res != CSAM_OK)
        return res;
    *key_id = csam_store_get_int64(rows, 0, "id", 0);
    csam_store_rows_free(rows);
    return *key_id > 0 ? CSAM_OK : CSAM_ERR_DB;
}

/* clang-format off */
static const struct csam_store_stmt csam_store_challenge_stmt_totp_insert = {
    "csam_totp_insert",
    "INSERT INTO csam_keys (id, account_id, type, terms_version, totp_secret)"
    " OVERRIDING SYSTEM VALUE VALUES ($1, $2, 'totp', NULLIF($3, ''), $4)",
    4, 0};
/* clang-format on */

csam_result csam_store_challenge_totp_insert(csam_store *store, int64_t key_id,
                                             int64_t account_id,
                                             const char *terms_version,
                                             const unsigned char *sealed,
                                             size_t sealed_len)
{
    char id[CSAM_STORE_INT_SIZE], acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[4];

    p[0] = csam_store_int(key_id, id);
    p[1] = csam_store_int(account_id, acc);
    p[2] = csam_store_text(terms_version != NULL ? terms_version : "");
    p[3] = csam_store_bytes(sealed, sealed_len);
    return csam_store_exec(store, &csam_store_challenge_stmt_totp_insert, p,
                           NULL);
}

/* ---- failures per source address ---------------------------------------- */

/* clang-format off */
static const struct csam_store_stmt csam_store_challenge_stmt_source_lock = {
    "csam_source_check",
    "SELECT ceil(extract(epoch FROM locked_until - now()))::bigint AS wait"
    " FROM csam_source_failures WHERE source = $1 AND locked_until > now()",
    1, CSAM_STORE_RETRY};
/* clang-format on */

csam_result csam_store_challenge_source_lock(csam_store *store,
                                             const char *source, long *wait)
{
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    *wait = 0;
    p[0] = csam_store_text(source);
    res = csam_store_exec(store, &csam_store_challenge_stmt_source_lock, p,
                          &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) == 1)
        *wait = csam_store_verify_lock(rows, "wait");
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* $2 the window and the lock's length, $3 the failures that lock. */
/* clang-format off */
static const struct csam_store_stmt csam_store_challenge_stmt_source_fail = {
    "csam_source_fail",
    "INSERT INTO csam_source_failures AS sf (source, failures, window_start)"
    " VALUES ($1, 1, now())"
    " ON CONFLICT (source) DO UPDATE SET"
    "   failures = CASE WHEN sf.window_start"
    "     < now() - make_interval(secs => $2::integer) THEN 1"
    "     ELSE sf.failures + 1 END,"
    "   window_start = CASE WHEN sf.window_start"
    "     < now() - make_interval(secs => $2::integer) THEN now()"
    "     ELSE sf.window_start END,"
    "   locked_until = CASE WHEN sf.window_start"
    "     >= now() - make_interval(secs => $2::integer)"
    "     AND sf.failures + 1 >= $3::integer"
    "     THEN now() + make_interval(secs => $2::integer)"
    "     ELSE sf.locked_until END",
    3, 0};
/* clang-format on */

csam_result
csam_store_challenge_source_fail(csam_store *store, const char *source,
                                 const struct csam_store_limits *limits)
{
    char dur[CSAM_STORE_INT_SIZE], thr[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[3];

    p[0] = csam_store_text(source);
    p[1] = csam_store_int(limits->duration, dur);
    p[2] = csam_store_int(limits->source_threshold, thr);
    return csam_store_exec(store, &csam_store_challenge_stmt_source_fail, p,
                           NULL);
}
