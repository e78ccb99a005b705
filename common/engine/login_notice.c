/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NOTICE lines of refused web logins and of the locks they make
 * (DESIGN 3.7): what fail2ban and a SIEM read.  One line per refusal, one
 * per lock made, each ending "from ADDRESS" so that a filter needs no
 * particular ErrorLogFormat.  The words before the address are fixed
 * ("web login refused (REASON)", "lock: ...") and the only other text is
 * the name of an existing account, which a username's syntax keeps to
 * [a-z0-9._-]: nothing an attacker typed comes before the address.
 *
 * A name that is no account's is never written: it may be a password
 * typed in the wrong field (the audit row leaves it out for the same
 * reason).  No password, code or token reaches these lines.
 */
#include "engine_internal.h"

static const char *csam_login_notice_from(const char *source)
{
    source = csam_engine_source(source);
    return source != NULL ? source : "-";
}

static void csam_login_notice_refused(csam_engine *engine, const char *reason,
                                      const char *account, const char *source)
{
    csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
             "web login refused (%s)%s%s from %s", reason,
             account != NULL ? " for " : "", account != NULL ? account : "",
             csam_login_notice_from(source));
}

static const char *csam_login_refusal_reason(enum csam_login_refusal why)
{
    switch (why) {
    case CSAM_LOGIN_DELAYED: return "inside the delay";
    case CSAM_LOGIN_NAME_LOCKED: return "name locked";
    case CSAM_LOGIN_ACCOUNT_LOCKED: return "account locked";
    case CSAM_LOGIN_SOURCE_LOCKED: return "source locked";
    case CSAM_LOGIN_DEVICE_LOCKED: return "device locked";
    case CSAM_LOGIN_TRIED: break;
    }
    return "locked";
}

void csam_login_notice_password(csam_engine *engine,
                                const struct csam_login_check *chk,
                                csam_result res, const char *username,
                                const char *source)
{
    const char *account = chk->account_id != 0 ? username : NULL;
    long lock = engine->deps.config->lockout_duration;

    if (res != CSAM_ERR_BAD_CREDENTIALS && res != CSAM_ERR_LOCKED)
        return; /* not a refusal: an outage, a busy child, a bad request */
    if (chk->refusal != CSAM_LOGIN_TRIED) {
        csam_login_notice_refused(
            engine, csam_login_refusal_reason(chk->refusal), account, source);
        return;
    }
    csam_login_notice_refused(engine, "wrong password or unknown name", account,
                              source);
    /* The locks this wrong try made (a right one takes its try back). */
    if (chk->name_locked_now)
        csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
                 "lock: login name%s%s locked (wrong passwords) from %s",
                 account != NULL ? " " : "", account != NULL ? account : "",
                 csam_login_notice_from(source));
    if (chk->source_locked_now)
        csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
                 "lock: source locked for %ld s (wrong passwords and codes) "
                 "from %s",
                 lock, csam_login_notice_from(source));
    if (chk->device_locked_now)
        csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
                 "lock: known device of %s locked for %ld s (wrong "
                 "passwords) from %s",
                 account != NULL ? account : "-", lock,
                 csam_login_notice_from(source));
}

void csam_login_notice_code(csam_engine *engine,
                            const struct csam_store_verdict *v, csam_result res,
                            const char *username, const char *source)
{
    const char *account = username != NULL && username[0] != '\0' ? username
                                                                  : NULL;

    if (res == CSAM_ERR_BAD_CODE) {
        csam_login_notice_refused(engine, "wrong code", account, source);
        return;
    }
    if (res != CSAM_ERR_LOCKED)
        return;
    if (v->account_lock > 0 || v->source_lock > 0) {
        csam_login_notice_refused(
            engine, v->account_lock > 0 ? "account locked" : "source locked",
            account, source);
        return;
    }
    if (v->exhausted) {
        csam_login_notice_refused(engine, "code attempts exhausted", account,
                                  source);
        return;
    }
    csam_login_notice_refused(engine, "wrong code", account, source);
    /* The failure that reached the threshold locked the account (from a
     * known device: that device). */
    if (v->failures == 0 && v->wait > 0)
        csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
                 "lock: account %s locked for %ld s (wrong codes) from %s",
                 account != NULL ? account : "-", v->wait,
                 csam_login_notice_from(source));
}
