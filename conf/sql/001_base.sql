-- SPDX-License-Identifier: Apache-2.0
-- CSAM schema, version 1: registrations, accounts, keys, flows, challenges,
-- sessions, failure counters and the audit trail.
--
-- Applied by install.sql inside one transaction.  Every statement is
-- idempotent (IF NOT EXISTS, ON CONFLICT DO NOTHING), so running the file on
-- a database that already has it changes nothing.
--
-- Secrets never reach this database in clear: codes, link tokens, flow
-- handles, session ids and national numbers are stored as HMAC-SHA-256
-- keyed hashes (32 bytes) under the secret file; passwords as Argon2id PHC
-- strings; TOTP secrets sealed with AES-256-GCM.  Every time is the
-- database's clock (now()), never a node's.

CREATE TABLE IF NOT EXISTS csam_schema_version (
    version     integer PRIMARY KEY CHECK (version > 0),
    description text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per registration made at a desk.  A citizen registered again gets
-- a new row and the earlier unused one is superseded; at most one row per
-- national number is live (neither used nor superseded).
CREATE TABLE IF NOT EXISTS csam_registrations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    nrn_hash        bytea NOT NULL CHECK (octet_length(nrn_hash) = 32),
    first_name      text NOT NULL
                    CHECK (octet_length(first_name) BETWEEN 1 AND 100),
    last_name       text NOT NULL
                    CHECK (octet_length(last_name) BETWEEN 1 AND 100),
    birth_date      date NOT NULL,
    document_type   text NOT NULL CHECK (document_type IN
                    ('eid', 'passport', 'residence_card', 'foreign_id')),
    document_number text NOT NULL
                    CHECK (octet_length(document_number) BETWEEN 1 AND 32),
    email           text NOT NULL
                    CHECK (octet_length(email) BETWEEN 3 AND 254
                           AND email LIKE '%_@_%'),
    language        text NOT NULL CHECK (language IN ('fr', 'nl', 'de', 'en')),
    token_hash      bytea NOT NULL CHECK (octet_length(token_hash) = 32),
    code_hash       bytea NOT NULL CHECK (octet_length(code_hash) = 32),
    attempts        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    superseded_at   timestamptz,
    created_by      text NOT NULL
                    CHECK (octet_length(created_by) BETWEEN 1 AND 255),
    created_from    text CHECK (octet_length(created_from) <= 255),
    CHECK (attempts BETWEEN 0 AND max_attempts),
    CHECK (expires_at > created_at),
    CHECK (used_at IS NULL OR superseded_at IS NULL)
);
CREATE UNIQUE INDEX IF NOT EXISTS csam_registrations_token_key
    ON csam_registrations (token_hash);
CREATE UNIQUE INDEX IF NOT EXISTS csam_registrations_live_nrn_key
    ON csam_registrations (nrn_hash)
    WHERE used_at IS NULL AND superseded_at IS NULL;
CREATE INDEX IF NOT EXISTS csam_registrations_nrn_idx
    ON csam_registrations (nrn_hash);

-- A citizen's account.  It is created 'pending' at the credentials step of
-- an activation and becomes 'active' once its first key is confirmed.
-- failures counts wrong codes from the web and PAM together (wrong
-- passwords count apart, in csam_password_failures: a right password never
-- resets this one); reaching the threshold sets locked_until, a temporary
-- lock only.
CREATE TABLE IF NOT EXISTS csam_accounts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        text NOT NULL
                    CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    password_hash   text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    registration_id bigint NOT NULL REFERENCES csam_registrations (id),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'active', 'disabled')),
    language        text NOT NULL CHECK (language IN ('fr', 'nl', 'de', 'en')),
    email           text NOT NULL
                    CHECK (octet_length(email) BETWEEN 3 AND 254
                           AND email LIKE '%_@_%'),
    failures        integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    activated_at    timestamptz,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'active' OR activated_at IS NOT NULL)
);
CREATE UNIQUE INDEX IF NOT EXISTS csam_accounts_username_key
    ON csam_accounts (username);
CREATE UNIQUE INDEX IF NOT EXISTS csam_accounts_registration_key
    ON csam_accounts (registration_id);

-- Digital keys.  At most one active key of each type per account.
CREATE TABLE IF NOT EXISTS csam_keys (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      bigint NOT NULL
                    REFERENCES csam_accounts (id) ON DELETE CASCADE,
    type            text NOT NULL CHECK (type IN ('email', 'sms', 'totp')),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'active', 'inactive')),
    phone           text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    totp_secret     bytea CHECK (octet_length(totp_secret) BETWEEN 29 AND 4124),
    totp_last_step  bigint,
    terms_version   text CHECK (octet_length(terms_version) <= 64),
    created_at      timestamptz NOT NULL DEFAULT now(),
    activated_at    timestamptz,
    deactivated_at  timestamptz,
    CHECK ((type = 'sms') = (phone IS NOT NULL)),
    CHECK ((type = 'totp') = (totp_secret IS NOT NULL)),
    CHECK (type = 'totp' OR totp_last_step IS NULL),
    CHECK (status <> 'active' OR activated_at IS NOT NULL)
);
CREATE UNIQUE INDEX IF NOT EXISTS csam_keys_active_type_key
    ON csam_keys (account_id, type) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS csam_keys_account_idx
    ON csam_keys (account_id);

-- Multi-step handles (activation, login): the browser holds a token,
-- the database its keyed hash and where the flow stands.
CREATE TABLE IF NOT EXISTS csam_flows (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handle_hash     bytea NOT NULL CHECK (octet_length(handle_hash) = 32),
    kind            text NOT NULL CHECK (kind IN ('activation', 'login')),
    step            text NOT NULL
                    CHECK (step IN ('key', 'credentials', 'confirm', 'done')),
    registration_id bigint REFERENCES csam_registrations (id),
    account_id      bigint REFERENCES csam_accounts (id) ON DELETE SET NULL,
    key_type        text CHECK (key_type IN ('email', 'sms', 'totp')),
    phone           text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    terms_version   text CHECK (octet_length(terms_version) <= 64),
    terms_accepted_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    done_at         timestamptz,
    superseded_at   timestamptz,
    CHECK (expires_at > created_at),
    CHECK (kind <> 'activation' OR registration_id IS NOT NULL),
    CHECK (step IN ('key', 'credentials') OR key_type IS NOT NULL),
    -- An activation's key comes with the terms; a login's key is one the
    -- account already has, accepted then.
    CHECK (kind <> 'activation' OR key_type IS NULL
           OR terms_accepted_at IS NOT NULL),
    CHECK (kind <> 'login' OR step IN ('key', 'confirm', 'done')),
    CHECK ((step = 'done') = (done_at IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS csam_flows_handle_key
    ON csam_flows (handle_hash);
CREATE INDEX IF NOT EXISTS csam_flows_live_registration_idx
    ON csam_flows (registration_id)
    WHERE done_at IS NULL AND superseded_at IS NULL;
CREATE INDEX IF NOT EXISTS csam_flows_account_idx
    ON csam_flows (account_id) WHERE account_id IS NOT NULL;

-- Security codes sent to a key (or, later, a registration), bound to one
-- purpose.  A new code for the same owner and purpose supersedes the
-- pending one; only the newest live code is ever checked.
CREATE TABLE IF NOT EXISTS csam_challenges (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      bigint REFERENCES csam_accounts (id) ON DELETE CASCADE,
    registration_id bigint REFERENCES csam_registrations (id),
    purpose         text NOT NULL CHECK (purpose IN
                    ('activation_confirm', 'key_confirm', 'web_login',
                     'pam_login')),
    key_id          bigint REFERENCES csam_keys (id) ON DELETE CASCADE,
    key_type        text NOT NULL CHECK (key_type IN ('email', 'sms', 'totp')),
    code_hash       bytea NOT NULL CHECK (octet_length(code_hash) = 32),
    attempts        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    superseded_at   timestamptz,
    source          text CHECK (octet_length(source) <= 255),
    CHECK (num_nonnulls(account_id, registration_id) = 1),
    CHECK (attempts BETWEEN 0 AND max_attempts),
    CHECK (expires_at > created_at),
    CHECK (used_at IS NULL OR superseded_at IS NULL)
);
CREATE INDEX IF NOT EXISTS csam_challenges_live_account_idx
    ON csam_challenges (account_id, purpose, created_at DESC, id DESC)
    WHERE used_at IS NULL AND superseded_at IS NULL;
CREATE INDEX IF NOT EXISTS csam_challenges_live_registration_idx
    ON csam_challenges (registration_id, purpose, created_at DESC, id DESC)
    WHERE used_at IS NULL AND superseded_at IS NULL;
-- The newest code of an owner and purpose, whatever its state (resend
-- cooldown, PAM reuse): an index walk, however many codes it ever had.
CREATE INDEX IF NOT EXISTS csam_challenges_account_idx
    ON csam_challenges (account_id, purpose, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS csam_challenges_key_idx
    ON csam_challenges (key_id);

-- Web sessions (used by mod_csam's login): the cookie's keyed hash, an idle
-- and an absolute expiry, revoked at logout on every node.
CREATE TABLE IF NOT EXISTS csam_sessions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_hash    bytea NOT NULL CHECK (octet_length(session_hash) = 32),
    account_id      bigint NOT NULL
                    REFERENCES csam_accounts (id) ON DELETE CASCADE,
    key_type        text NOT NULL CHECK (key_type IN ('email', 'sms', 'totp')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    idle_timeout    interval NOT NULL CHECK (idle_timeout > interval '0'),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    source          text CHECK (octet_length(source) <= 255),
    CHECK (expires_at > created_at)
);
CREATE UNIQUE INDEX IF NOT EXISTS csam_sessions_hash_key
    ON csam_sessions (session_hash);
CREATE INDEX IF NOT EXISTS csam_sessions_live_account_idx
    ON csam_sessions (account_id) WHERE revoked_at IS NULL;
-- Deleting an account (a pending one, superseded by a new registration)
-- checks its sessions through this one, not with a scan.
CREATE INDEX IF NOT EXISTS csam_sessions_account_idx
    ON csam_sessions (account_id);

-- Wrong passwords per login name, whether or not an account has that name,
-- so that delays and locks look the same for a known and an unknown name.
-- name_hash is the keyed hash of the name typed (never the name itself: it
-- may be a password typed in the wrong field).  Each try is counted before
-- the password is checked, so parallel guesses cannot outrun the delays; a
-- right password then takes its try back.  A try while delay_until is in
-- the future is refused unchecked; locked_until refuses a right password.
CREATE TABLE IF NOT EXISTS csam_password_failures (
    name_hash       bytea PRIMARY KEY CHECK (octet_length(name_hash) = 32),
    failures        integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    delay_until     timestamptz,
    locked_until    timestamptz
);
-- Rows of names nobody tried for a long time are purged through this.
CREATE INDEX IF NOT EXISTS csam_password_failures_last_idx
    ON csam_password_failures (last_failure_at);

-- Wrong codes per client address on the web, in a window of
-- lockout_duration; reaching the threshold locks that address for a while.
CREATE TABLE IF NOT EXISTS csam_source_failures (
    source          text PRIMARY KEY CHECK (octet_length(source) <= 255),
    failures        integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_start    timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz
);

-- One row per state change.  detail never holds a code, a password, a
-- token or a national number.
CREATE TABLE IF NOT EXISTS csam_audit (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text CHECK (octet_length(actor) <= 255),
    action          text NOT NULL CHECK (action ~ '^[a-z_.]{1,64}$'),
    registration_id bigint,
    account_id      bigint,
    source          text CHECK (octet_length(source) <= 255),
    detail          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS csam_audit_at_idx ON csam_audit (at);
CREATE INDEX IF NOT EXISTS csam_audit_account_idx
    ON csam_audit (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS csam_audit_registration_idx
    ON csam_audit (registration_id) WHERE registration_id IS NOT NULL;

INSERT INTO csam_schema_version (version, description)
VALUES (1, 'base: registrations, accounts, keys, flows, challenges, '
           'sessions, password and source failures, audit')
ON CONFLICT (version) DO NOTHING;
