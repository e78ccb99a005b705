/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam-admin secret rekey (ROLLOVER): what the previous secret made and
 * lives long moves to the current one, table by table, batch by batch.
 * The order of the tables matters: accounts first, taking every
 * registration of their person along (the helpdesk and a recovery reach
 * an account through a registration with the same hash), then TOTP keys,
 * then the registrations no account took (new persons, not yet active).
 *
 * A batch reads its page without a lock, does the crypto outside any
 * transaction, then in one transaction takes the persons' registration
 * locks and runs one guarded UPDATE per row to move: a row that changed
 * since it was read (a login, a recovery) is left for the next run, never
 * overwritten.  A row the current secret opens is done, which makes a
 * rerun resume where an interrupted one stopped.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "engine.h"
#include "engine_internal.h"
#include "person.h"
#include "rekey.h"
#include "totp_key.h"

static double csam_rekey_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What one row becomes; the crypto done before the batch's transaction. */
struct csam_rekey_plan {
    int move;    /* 1: under the previous secret, moves */
    int subject; /* 1: an unsealed account's subject to store */
    unsigned char new_hash[CSAM_HASH_LEN];
    unsigned char new_sealed[CSAM_STORE_REKEY_SEALED_KEY_MAX];
    size_t new_len;
    char subj[CSAM_SUBJECT_SIZE];
    int with_subject;
};

struct csam_rekey_run {
    csam_engine *engine;
    const csam_secret *secret;
    const csam_secret *previous;
    size_t batch;
    csam_admin_rekey_progress progress;
    void *ctx;
    struct csam_admin_rekey *out;
    struct csam_rekey_plan *plans;
    unsigned char (*locks)[CSAM_HASH_LEN];
};

/* An account or a registration: open its sealed number under either
 * secret; under the previous one, hash and seal it again under the
 * current one and, for an account without a stored subject, keep the
 * subject its old hash gave. */
static csam_result
csam_rekey_plan_person(struct csam_rekey_run *run,
                       const struct csam_store_rekey_person *r, int account,
                       struct csam_rekey_plan *plan)
{
    char nrn[CSAM_NRN_SIZE];
    int by_previous = 0;
    csam_result res;

    memset(plan, 0, sizeof(*plan));
    if (!r->sealed) {
        /* Older than sealed numbers, hence than the secret being
         * replaced: the previous secret made its hash (person.h). */
        if (account && !r->has_subject) {
            res = csam_person_subject(run->previous, r->nrn_hash, plan->subj);
            if (res != CSAM_OK)
                return res;
            plan->subject = 1;
        }
        run->out->unsealed++;
        return CSAM_OK;
    }
    res = csam_person_open_any(run->secret, r->nrn_sealed,
                               sizeof(r->nrn_sealed), r->nrn_hash, nrn,
                               &by_previous);
    if (res == CSAM_ERR_CRYPTO) {
        run->out->left++;
        csam_log(&run->engine->deps.logger, CSAM_LOG_ERR,
                 "secret rekey: the sealed national number of %s %lld opens "
                 "under neither secret: left as it is",
                 account ? "account" : "registration", (long long)r->id);
        return CSAM_OK;
    }
    if (res != CSAM_OK)
        return res;
    if (!by_previous) {
        csam_wipe(nrn, sizeof(nrn));
        run->out->done++;
        return CSAM_OK;
    }
    if (account && !r->has_subject) {
        res = csam_person_subject(run->previous, r->nrn_hash, plan->subj);
        plan->with_subject = res == CSAM_OK;
    }
    if (res == CSAM_OK)
        res = csam_engine_hash(run->engine, CSAM_PURPOSE_NATIONAL_NUMBER,
                               "national_number", 0, nrn, plan->new_hash);
    if (res == CSAM_OK)
        res = csam_person_seal(run->secret, nrn, plan->new_hash,
                               plan->new_sealed);
    csam_wipe(nrn, sizeof(nrn));
    if (res != CSAM_OK)
        return res;
    plan->new_len = CSAM_PERSON_SEALED_LEN;
    plan->move = 1;
    return CSAM_OK;
}

/* A TOTP key: the previous secret alone first (what opens there is
 * its), then the current one (done). */
static csam_result csam_rekey_plan_key(struct csam_rekey_run *run,
                                       const struct csam_store_rekey_key *k,
                                       struct csam_rekey_plan *plan)
{
    unsigned char key[CSAM_TOTP_KEY_LEN];
    csam_result res;

    memset(plan, 0, sizeof(*plan));
    res = csam_totp_key_open(run->previous, k->id, k->sealed, k->len, key);
    if (res == CSAM_OK) {
        res = csam_totp_key_seal(run->secret, k->id, key, plan->new_sealed);
        csam_wipe(key, sizeof(key));
        if (res != CSAM_OK)
            return res;
        plan->new_len = CSAM_TOTP_KEY_SEALED_LEN;
        plan->move = 1;
        return CSAM_OK;
    }
    res = csam_totp_key_open(run->secret, k->id, k->sealed, k->len, key);
    csam_wipe(key, sizeof(key));
    if (res == CSAM_OK) {
        run->out->done++;
        return CSAM_OK;
    }
    run->out->left++;
    csam_log(&run->engine->deps.logger, CSAM_LOG_ERR,
             "secret rekey: the sealed secret of TOTP key %lld opens under "
             "neither secret: left as it is",
             (long long)k->id);
    return CSAM_OK;
}

/* Run one batch's moves in one transaction. */
static csam_result csam_rekey_apply(struct csam_rekey_run *run,
                                    const char *table, const void *rows,
                                    size_t n)
{
    const struct csam_store_rekey_person *persons = rows;
    const struct csam_store_rekey_key *keys = rows;
    csam_store *store = run->engine->deps.store;
    struct csam_admin_rekey *out = run->out;
    int64_t accounts = 0, regs = 0;
    int is_keys = strcmp(table, "keys") == 0;
    int is_accounts = strcmp(table, "accounts") == 0;
    size_t i, nlocks = 0;
    csam_result res;

    for (i = 0; i < n; i++)
        if (run->plans[i].move && !is_keys)
            memcpy(run->locks[nlocks++], run->plans[i].new_hash, CSAM_HASH_LEN);
    res = csam_store_begin(store);
    if (res != CSAM_OK)
        return res;
    res = csam_store_rekey_lock_persons(store, run->locks, nlocks);
    for (i = 0; i < n && res == CSAM_OK; i++) {
        const struct csam_rekey_plan *p = &run->plans[i];
        struct csam_store_rekey_move m;
        int moved = 0, flag = 0;

        if (!p->move && !p->subject)
            continue;
        memset(&m, 0, sizeof(m));
        if (is_keys) {
            m.id = keys[i].id;
            m.old_sealed = keys[i].sealed;
            m.old_len = keys[i].len;
        } else {
            m.id = persons[i].id;
            m.old_hash = persons[i].nrn_hash;
            m.old_sealed = persons[i].nrn_sealed;
            m.old_len = sizeof(persons[i].nrn_sealed);
            m.new_hash = p->new_hash;
        }
        m.new_sealed = p->new_sealed;
        m.new_len = p->new_len;
        if (is_accounts && p->subject) {
            res = csam_store_rekey_account_subject(
                store, m.id, persons[i].nrn_hash, p->subj, &moved);
            out->subjects += moved;
        } else if (is_accounts) {
            m.subject = p->with_subject ? p->subj : NULL;
            res = csam_store_rekey_account_move(store, &m, &accounts, &regs,
                                                &flag);
            out->accounts += accounts;
            out->registrations += regs;
            out->subjects += accounts > 0 && p->with_subject;
            out->taken += flag;
            if (accounts == 0)
                out->left++;
            if (flag)
                csam_log(&run->engine->deps.logger, CSAM_LOG_WARNING,
                         "secret rekey: account %lld stays under the "
                         "previous secret: another account of the same "
                         "person holds the new hash (disable one)",
                         (long long)m.id);
        } else if (is_keys) {
            res = csam_store_rekey_key_move(store, &m, &moved);
            out->keys += moved;
            out->left += !moved;
        } else {
            res = csam_store_rekey_registration_move(store, &m, &moved, &flag);
            out->registrations += moved;
            /* held: it stays with its account, which moved it or could
             * not move (counted there). */
            out->left += !moved && !flag;
        }
    }
    if (res != CSAM_OK) {
        csam_store_rollback(store);
        return res;
    }
    return csam_store_commit(store);
}

/* Every batch of one table. */
static csam_result csam_rekey_table(struct csam_rekey_run *run,
                                    const char *table)
{
    struct csam_store_rekey_person *persons = NULL;
    struct csam_store_rekey_key *keys = NULL;
    csam_store *store = run->engine->deps.store;
    int is_keys = strcmp(table, "keys") == 0;
    int is_accounts = strcmp(table, "accounts") == 0;
    csam_result res = CSAM_OK;
    int64_t after = 0;
    size_t n, i;

    if (is_keys)
        keys = calloc(run->batch, sizeof(*keys));
    else
        persons = calloc(run->batch, sizeof(*persons));
    if (keys == NULL && persons == NULL)
        return CSAM_ERR_NOMEM;
    for (;;) {
        if (is_keys)
            res = csam_store_rekey_keys(store, after, keys, run->batch, &n);
        else if (is_accounts)
            res = csam_store_rekey_accounts(store, after, persons, run->batch,
                                            &n);
        else
            res = csam_store_rekey_registrations(store, after, persons,
                                                 run->batch, &n);
        if (res != CSAM_OK || n == 0)
            break;
        for (i = 0; i < n && res == CSAM_OK; i++)
            res = is_keys ? csam_rekey_plan_key(run, &keys[i], &run->plans[i])
                          : csam_rekey_plan_person(run, &persons[i],
                                                   is_accounts, &run->plans[i]);
        if (res == CSAM_OK)
            res = csam_rekey_apply(run, table,
                                   is_keys ? (void *)keys : (void *)persons, n);
        csam_wipe(run->plans, run->batch * sizeof(*run->plans));
        if (res != CSAM_OK)
            break;
        run->out->batches++;
        after = is_keys ? keys[n - 1].id : persons[n - 1].id;
        if (run->progress != NULL && run->progress(run->ctx, table, run->out)) {
            run->out->stopped = 1;
            break;
        }
        if (n < run->batch)
            break;
    }
    if (keys != NULL)
        csam_wipe(keys, run->batch * sizeof(*keys));
    if (persons != NULL)
        csam_wipe(persons, run->batch * sizeof(*persons));
    free(keys);
    free(persons);
    return res;
}

/* The database must be the previous secret's (a rekey pending or under
 * way) or already the current one's (a rerun: rows made by a node that
 * still had the previous secret); a database with no fingerprint yet is
 * taken as the previous secret's, which is recorded. */
static csam_result csam_rekey_installation(struct csam_rekey_run *run,
                                           const char *actor,
                                           unsigned char fp[CSAM_HASH_LEN],
                                           unsigned char prev_fp[CSAM_HASH_LEN])
{
    struct csam_store_installation row;
    csam_store *store = run->engine->deps.store;
    int recorded = 0;
    csam_result res;

    res = csam_secret_fingerprint(run->secret, fp);
    if (res == CSAM_OK)
        res = csam_secret_fingerprint(run->previous, prev_fp);
    if (res != CSAM_OK)
        return res;
    res = csam_store_installation_get(store, &row);
    if (res == CSAM_ERR_NOT_FOUND) {
        res = csam_store_installation_record(store, prev_fp, actor, &recorded);
        if (res == CSAM_OK)
            res = csam_store_installation_get(store, &row);
    }
    if (res != CSAM_OK)
        return res;
    if (csam_ct_equal(row.fingerprint, fp, CSAM_HASH_LEN))
        return CSAM_OK;
    if (!csam_ct_equal(row.fingerprint, prev_fp, CSAM_HASH_LEN))
        return CSAM_ERR_STATE;
    return csam_store_rekey_start(store, prev_fp);
}

csam_result csam_engine_admin_secret_rekey(csam_engine *engine,
                                           const char *actor, long batch,
                                           csam_admin_rekey_progress progress,
                                           void *ctx,
                                           struct csam_admin_rekey *out)
{
    static const char *const tables[] = {"accounts", "keys", "registrations"};
    unsigned char fp[CSAM_HASH_LEN], prev_fp[CSAM_HASH_LEN];
    struct csam_rekey_run run;
    char detail[256];
    double start = csam_rekey_now();
    int recorded = 0;
    csam_result res;
    size_t t;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (engine == NULL || actor == NULL
        || csam_text_check(actor, 255) != CSAM_OK || batch < 1
        || batch > CSAM_ADMIN_REKEY_BATCH_MAX)
        return CSAM_ERR_INVALID;
    memset(&run, 0, sizeof(run));
    run.engine = engine;
    run.secret = engine->deps.secret;
    run.previous = csam_secret_previous(run.secret);
    if (run.previous == NULL)
        return CSAM_ERR_CONFIG;
    run.batch = (size_t)batch;
    run.progress = progress;
    run.ctx = ctx;
    run.out = out;
    res = csam_rekey_installation(&run, actor, fp, prev_fp);
    if (res != CSAM_OK)
        return res;
    run.plans = calloc(run.batch, sizeof(*run.plans));
    run.locks = calloc(run.batch, sizeof(*run.locks));
    if (run.plans == NULL || run.locks == NULL)
        res = CSAM_ERR_NOMEM;
    for (t = 0; t < sizeof(tables) / sizeof(tables[0]) && res == CSAM_OK
                && !out->stopped;
         t++)
        res = csam_rekey_table(&run, tables[t]);
    free(run.plans);
    free(run.locks);
    if (res == CSAM_OK && !out->stopped && out->left == 0) {
        csam_store *store = engine->deps.store;

        snprintf(detail, sizeof(detail),
                 "{\"accounts\": %lld, \"registrations\": %lld, "
                 "\"keys\": %lld, \"subjects\": %lld, \"unsealed\": %lld}",
                 (long long)out->accounts, (long long)out->registrations,
                 (long long)out->keys, (long long)out->subjects,
                 (long long)out->unsealed);
        res = csam_store_begin(store);
        if (res == CSAM_OK)
            res = csam_store_rekey_finish(store, fp, prev_fp, actor, &recorded);
        if (res == CSAM_OK && recorded)
            res = csam_audit_write(store, actor, "secret.rekeyed", 0, 0, NULL,
                                   detail);
        if (res == CSAM_OK)
            res = csam_store_commit(store);
        else
            csam_store_rollback(store);
        out->complete = res == CSAM_OK;
        if (res == CSAM_OK && recorded)
            csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
                     "admin: %s: secret.rekeyed %s", actor, detail);
    }
    out->seconds = csam_rekey_now() - start;
    return res;
}
