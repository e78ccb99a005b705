-- SPDX-License-Identifier: Apache-2.0
-- Least-privilege roles for the three components (DESIGN 3.7):
--
--     psql -v ON_ERROR_STOP=1 -d <database> -f roles.sql
--
-- run after install.sql, by the schema's owner (a superuser, or the owner
-- of the csam_ tables with CREATEROLE).  Running it again changes nothing;
-- after a schema upgrade, run it again: it first takes back every privilege
-- the three roles hold on the csam_ tables and sequences, then grants what
-- this version of the file lists, in one transaction, so a grant an older
-- version needed and this one does not is gone.
--
-- csam_web, csam_pam and csam_admin are NOLOGIN group roles: they hold the
-- privileges, nobody logs in as them.  The administrator makes a login role
-- for each component and makes it a member, so that how it authenticates
-- (peer over the Unix socket, a password in pg_service.conf, a client
-- certificate) stays the administrator's choice and no credential is ever
-- in this file:
--
--     CREATE ROLE "www-data" LOGIN IN ROLE csam_web;  -- httpd, peer auth
--     CREATE ROLE csam_sshd LOGIN PASSWORD '...' IN ROLE csam_pam;
--     CREATE ROLE csam_ops LOGIN IN ROLE csam_admin;  -- csam-admin, purge
--
-- One login role per node or host if you want the audit of who connected.
--
--   role        who                       may                  never
--   csam_web    mod_csam (httpd)          every web flow;      delete audit
--                                         deletes pending      rows; read
--                                         accounts and keys,   identity
--                                         stale counters and   documents or
--                                         expired devices      birth dates
--   csam_pam    pam_csam (sshd, login...)   an account's keys,   read regis-
--                                         its PAM codes, its   trations, pass-
--                                         failure counters,    word hashes,
--                                         audit rows           national numbers
--   csam_admin  csam-admin (purge, stats, read and purge       read a secret:
--               unlock, sessions revoke,  expired rows, audit  codes, hashes,
--               secret check)             retention, unlock    sealed values
--
-- None of them owns a table: none can ALTER, DROP or TRUNCATE one, create
-- a trigger on it, or grant its privileges on.  `csam-admin schema
-- upgrade`, `csam-admin secret rekey` (it re-hashes and re-seals national
-- numbers and TOTP secrets) and install.sql run as the owner, not as
-- csam_admin.
--
-- The web's and PAM's grants are column by column, derived from the
-- statements in common/store/*.c that each component reaches: mod_csam
-- all of them but the two of engine_pam.c's account lookup; pam_csam only
-- those of engine_pam.c (the account and its keys, the PAM code's issue
-- and verification, TOTP, the audit) and the startup schema check.  A
-- statement that needs a column not granted here fails in the tests with
-- SQLSTATE 42501 (insufficient_privilege), which the test harness shows;
-- `tests/lib/run-with-services scripts/sql-privileges --as csam_web` lists
-- what each statement needs that a role lacks, as PostgreSQL computes it.
-- Rows of identity columns need no sequence privilege (PostgreSQL draws
-- them for the table); the sequences granted below are those a statement
-- draws from itself (nextval), before the row exists.
--
-- PostgreSQL 14 and older let every role create objects in schema public;
-- on them, REVOKE CREATE ON SCHEMA public FROM PUBLIC too (15 does it).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
DO $$
BEGIN
    -- Not interleaved with an upgrade (install.sql takes the same lock,
    -- held until COMMIT).
    PERFORM pg_advisory_xact_lock(4242001);
    IF to_regclass('csam_schema_version') IS NULL
       OR (SELECT max(version) FROM csam_schema_version) < 4 THEN
        RAISE EXCEPTION 'roles.sql: this database has no CSAM schema of '
            'version 4 or newer: run install.sql first';
    END IF;
END
$$;

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['csam_web', 'csam_pam', 'csam_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;

-- Start from nothing: every csam_ table and sequence of the schema that
-- holds the CSAM tables, whatever an earlier version of this file granted
-- (table-level and column-level privileges alike).
DO $$
DECLARE
    rel record;
    ns oid := (SELECT relnamespace FROM pg_class
                WHERE oid = 'csam_schema_version'::regclass);
BEGIN
    FOR rel IN SELECT c.oid::regclass AS name, c.relkind
                 FROM pg_class c
                WHERE c.relnamespace = ns AND c.relname LIKE 'csam\_%'
                  AND c.relkind IN ('r', 'p', 'S', 'v')
    LOOP
        EXECUTE format('REVOKE ALL ON %s %s FROM csam_web, csam_pam, '
                       'csam_admin',
                       CASE WHEN rel.relkind = 'S' THEN 'SEQUENCE'
                            ELSE 'TABLE' END, rel.name);
    END LOOP;
    EXECUTE format('GRANT USAGE ON SCHEMA %s TO csam_web, csam_pam, '
                   'csam_admin', ns::regnamespace);
END
$$;

-- ---- csam_web: mod_csam ------------------------------------------------
--
-- Every web flow: registration at the desk, activation, the online
-- procedure, recovery, login, sessions, keys, the helpdesk.  Its only
-- DELETEs are of rows its own flows make obsolete, said at each one; the
-- purge of expired rows and of the audit trail is csam_admin's.

-- DELETE: a pending account (credentials chosen, never activated) is
-- removed when a new registration of the person, new credentials or an
-- officer's revocation supersedes it (account_new.c, registration.c,
-- helpdesk.c).
GRANT SELECT (created_at, email, failures, id, language, locked_until,
    nrn_hash, nrn_sealed, password_changed_at, password_hash, registration_id,
    status, subject, username) ON csam_accounts TO csam_web;
GRANT INSERT (email, language, nrn_hash, nrn_sealed, password_hash,
    registration_id, username) ON csam_accounts TO csam_web;
GRANT UPDATE (activated_at, email, failures, locked_until, nrn_sealed,
    password_changed_at, password_hash, status) ON csam_accounts TO csam_web;
GRANT DELETE ON csam_accounts TO csam_web;
-- Appended to, never changed: the officer's history reads it (not detail).
GRANT SELECT (account_id, action, actor, at, id, registration_id, source) ON
    csam_audit TO csam_web;
GRANT INSERT (account_id, action, actor, detail, registration_id, source) ON
    csam_audit TO csam_web;
GRANT SELECT (account_id, attempts, code_hash, created_at, expires_at,
    flow_id, id, key_id, key_type, max_attempts, purpose, registration_id,
    source, superseded_at, used_at) ON csam_challenges TO csam_web;
GRANT INSERT (account_id, code_hash, expires_at, key_id, key_type,
    max_attempts, purpose, source) ON csam_challenges TO csam_web;
GRANT UPDATE (attempts, flow_id, superseded_at, used_at) ON csam_challenges TO
    csam_web;
GRANT SELECT (account_id, device_id, done_at, expires_at, handle_hash, id,
    key_type, kind, password_hash, phone, registration_id, step,
    superseded_at, terms_version) ON csam_flows TO csam_web;
GRANT INSERT (account_id, device_id, expires_at, handle_hash, kind,
    registration_id, step) ON csam_flows TO csam_web;
GRANT UPDATE (account_id, done_at, key_type, password_hash, phone, step,
    superseded_at, terms_accepted_at, terms_version) ON csam_flows TO
    csam_web;
-- DELETE: a pending key, never confirmed, replaced or dropped by its
-- citizen (account.c: key_add, key_drop_pending).
GRANT SELECT (account_id, activated_at, created_at, id, phone, status,
    totp_last_step, totp_secret, type) ON csam_keys TO csam_web;
GRANT INSERT (account_id, id, phone, terms_version, totp_secret, type) ON
    csam_keys TO csam_web;
GRANT UPDATE (activated_at, deactivated_at, status, totp_last_step) ON
    csam_keys TO csam_web;
GRANT DELETE ON csam_keys TO csam_web;
-- DELETE: the login that succeeds removes up to four expired devices
-- (challenge.c, the verification's xd step).
GRANT SELECT (account_id, device_hash, expires_at, failures, id,
    last_failure_at, locked_until) ON csam_login_devices TO csam_web;
GRANT INSERT (account_id, device_hash, expires_at) ON csam_login_devices TO
    csam_web;
GRANT UPDATE (device_hash, failures, last_failure_at, last_used_at,
    locked_until) ON csam_login_devices TO csam_web;
GRANT DELETE ON csam_login_devices TO csam_web;
-- DELETE: a right password clears its name's row, and each login
-- removes up to four rows of names nobody tried for long (logins.c).
GRANT SELECT (delay_until, failures, last_failure_at, locked_until, locks,
    name_hash) ON csam_password_failures TO csam_web;
GRANT INSERT (failures, last_failure_at, locked_until, locks, name_hash) ON
    csam_password_failures TO csam_web;
GRANT UPDATE (delay_until, failures, last_failure_at, locked_until, locks) ON
    csam_password_failures TO csam_web;
GRANT DELETE ON csam_password_failures TO csam_web;
-- The desk writes the document's type and number, the birth date and
-- where it was made from; no page reads them back, so the web cannot.
GRANT SELECT (account_id, attempts, code_hash, created_at, created_by, email,
    expires_at, first_name, id, language, last_name, letter_shown_at,
    max_attempts, nrn_hash, nrn_sealed, procedure, revoked_by, superseded_at,
    token_hash, used_at) ON csam_registrations TO csam_web;
GRANT INSERT (account_id, birth_date, code_hash, created_by, created_from,
    document_number, document_type, email, expires_at, first_name, id,
    identity_source, language, last_name, max_attempts, nrn_hash, nrn_sealed,
    procedure, token_hash) ON csam_registrations TO csam_web;
GRANT UPDATE (attempts, email, letter_shown_at, revoked_by, superseded_at,
    token_hash, used_at) ON csam_registrations TO csam_web;
GRANT SELECT (version) ON csam_schema_version TO csam_web;
GRANT SELECT (account_id, created_at, expires_at, id, idle_timeout, key_type,
    last_seen_at, revoked_at, session_hash) ON csam_sessions TO csam_web;
GRANT INSERT (account_id, expires_at, idle_timeout, key_type, session_hash,
    source) ON csam_sessions TO csam_web;
-- UPDATE session_hash, device_hash: a session or known device found under
-- the previous secret moves to the current one (rollover, session.c and
-- logins.c).
GRANT UPDATE (last_seen_at, revoked_at, session_hash) ON csam_sessions TO
    csam_web;
GRANT SELECT (failures, locked_until, source, window_start) ON
    csam_source_failures TO csam_web;
GRANT INSERT (failures, locked_until, source, window_start) ON
    csam_source_failures TO csam_web;
GRANT UPDATE (failures, locked_until, window_start) ON csam_source_failures TO
    csam_web;
-- Identifiers drawn before the row is written: a registration's (its
-- code is bound to it) and a TOTP key's (its sealed secret is bound to it).
GRANT USAGE ON SEQUENCE csam_registrations_id_seq, csam_keys_id_seq
    TO csam_web;

-- ---- csam_pam: pam_csam ------------------------------------------------
--
-- engine_pam.c's paths: the account named like the Linux user and its
-- active keys, the PAM code (issued, mailed or sent, reused, verified),
-- TOTP, the failure counters, the audit.  No registration but its first
-- name, no password hash, no national number, no session or flow it
-- could read back.
--
-- The code's verification is one statement (one round trip, DESIGN 5) of
-- its own, csam_challenge_verify_pam: the web's without the login flow,
-- the session, the known device and the counted source, since PostgreSQL
-- checks every table a statement names, even in steps that touch no row.
-- So csam_pam has nothing on csam_flows, csam_sessions,
-- csam_login_devices or csam_source_failures.

-- No password hash, no national number (nrn_hash, nrn_sealed).
GRANT SELECT (email, failures, id, language, locked_until, registration_id,
    status, username) ON csam_accounts TO csam_pam;
GRANT UPDATE (failures, locked_until) ON csam_accounts TO csam_pam;
GRANT INSERT (account_id, action, actor, detail, registration_id, source) ON
    csam_audit TO csam_pam;
GRANT SELECT (account_id, attempts, code_hash, created_at, expires_at,
    flow_id, id, max_attempts, purpose, superseded_at, used_at) ON
    csam_challenges TO csam_pam;
GRANT INSERT (account_id, code_hash, expires_at, key_id, key_type,
    max_attempts, purpose, source) ON csam_challenges TO csam_pam;
GRANT UPDATE (attempts, superseded_at, used_at) ON csam_challenges TO
    csam_pam;
-- The sealed TOTP secret: the app's key is checked here.
GRANT SELECT (account_id, id, phone, status, totp_last_step, totp_secret,
    type) ON csam_keys TO csam_pam;
GRANT UPDATE (totp_last_step) ON csam_keys TO csam_pam;
-- The first name for the code's message; nothing else of a registration.
GRANT SELECT (first_name, id) ON csam_registrations TO csam_pam;
GRANT SELECT (version) ON csam_schema_version TO csam_pam;

-- The first desk registration records which secret the data is made with
-- (csam_installation, schema 5): insert only, never overwrite (ON CONFLICT
-- reads the key column).
GRANT INSERT (secret_fingerprint, recorded_by) ON csam_installation TO
    csam_web;
GRANT SELECT (one) ON csam_installation TO csam_web;

-- ---- csam_admin: csam-admin --------------------------------------------
--
-- schema status, purge [--dry-run], account show|unlock, sessions revoke,
-- stats (DESIGN 3.7).  It reads everything but secrets (code, token,
-- handle, session and device hashes, password hashes, sealed TOTP secrets
-- and national numbers, identity documents), and it is the only role that
-- deletes expired rows and audit rows.

GRANT SELECT ON csam_schema_version TO csam_admin;
-- secret check: read the recorded fingerprint, record it when absent;
-- the rekey's progress (schema 6).  `secret rekey` itself reads and
-- writes hashes and sealed values: it runs as the schema's owner, never
-- as csam_admin.
GRANT SELECT (one, secret_fingerprint, recorded_at, recorded_by,
    previous_fingerprint, rekey_started_at, rekeyed_at) ON
    csam_installation TO csam_admin;
GRANT INSERT (secret_fingerprint, recorded_by) ON csam_installation TO
    csam_admin;

-- account show, stats, unlock.  DELETE: purge removes a pending account
-- (credentials chosen, never activated) whose registration expired, so
-- that the registration can go too; its keys and codes go with it.
GRANT SELECT (id, username, registration_id, status, language, email,
    failures, locked_until, created_at, activated_at, password_changed_at)
    ON csam_accounts TO csam_admin;
GRANT UPDATE (failures, locked_until) ON csam_accounts TO csam_admin;
GRANT DELETE ON csam_accounts TO csam_admin;

-- account show, stats (keys by type).
GRANT SELECT (id, account_id, type, status, phone, terms_version,
    created_at, activated_at, deactivated_at) ON csam_keys TO csam_admin;

-- purge: registrations superseded, revoked, used long ago or expired;
-- stats: registrations pending.
GRANT SELECT (id, procedure, account_id, language, attempts, max_attempts,
    created_at, created_by, expires_at, used_at, superseded_at, revoked_by,
    letter_shown_at) ON csam_registrations TO csam_admin;
GRANT DELETE ON csam_registrations TO csam_admin;

-- purge: handles (activation and login flows) done, superseded or expired.
GRANT SELECT (id, kind, step, registration_id, account_id, device_id,
    created_at, expires_at, done_at, superseded_at) ON csam_flows
    TO csam_admin;
GRANT DELETE ON csam_flows TO csam_admin;

-- purge: codes used, superseded or expired.
GRANT SELECT (id, account_id, registration_id, flow_id, key_id, purpose,
    key_type, attempts, max_attempts, created_at, expires_at, used_at,
    superseded_at) ON csam_challenges TO csam_admin;
GRANT DELETE ON csam_challenges TO csam_admin;

-- sessions revoke; purge: sessions revoked or expired.
GRANT SELECT (id, account_id, key_type, created_at, last_seen_at,
    idle_timeout, expires_at, revoked_at) ON csam_sessions TO csam_admin;
GRANT UPDATE (revoked_at) ON csam_sessions TO csam_admin;
GRANT DELETE ON csam_sessions TO csam_admin;

-- unlock (the browsers' locks); purge: expired devices.
GRANT SELECT (id, account_id, failures, last_failure_at, locked_until,
    created_at, last_used_at, expires_at) ON csam_login_devices
    TO csam_admin;
GRANT UPDATE (failures, locked_until) ON csam_login_devices TO csam_admin;
GRANT DELETE ON csam_login_devices TO csam_admin;

-- unlock (the name's lock, by its keyed hash); purge: names nobody tried
-- for long.
GRANT SELECT ON csam_password_failures TO csam_admin;
GRANT UPDATE (failures, delay_until, locked_until, locks)
    ON csam_password_failures TO csam_admin;
GRANT DELETE ON csam_password_failures TO csam_admin;

-- purge: source windows long closed.
GRANT SELECT ON csam_source_failures TO csam_admin;
GRANT DELETE ON csam_source_failures TO csam_admin;

-- stats (logins and failures over 24 h), account show's history; its own
-- actions are audited.  DELETE: rows older than audit_retention, the only
-- role that may.
GRANT SELECT ON csam_audit TO csam_admin;
GRANT INSERT (actor, action, registration_id, account_id, source, detail)
    ON csam_audit TO csam_admin;
GRANT DELETE ON csam_audit TO csam_admin;

COMMIT;
