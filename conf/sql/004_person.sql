-- SPDX-License-Identifier: Apache-2.0
-- CSAM schema, version 4: one account per person, the online procedure,
-- recovery and the helpdesk (DESIGN 2.6-2.8).
--
-- Why:
-- - csam_accounts.nrn_hash: an account is a person's, known by the keyed
--   hash of the national register / BIS number.  A unique index over the
--   accounts that are not disabled makes "never two accounts for one
--   person" the database's rule, whatever races the flows run.
--   csam_accounts.nrn_sealed: the number sealed (AES-256-GCM under its own
--   key, bound to nrn_hash) for CSAM_NATIONAL_NUMBER.
-- - csam_registrations.nrn_sealed: the same, sealed when the registration
--   is made (the only moment the engine holds the clear number), so that
--   the account it makes, or the account it recovers, takes it from there.
-- - Existing databases: nrn_hash comes from each account's registration.
--   Where one person already holds several accounts (the desk let them
--   make a second one), the newest active account is kept (or, with none
--   active, the newest one) and every other one is disabled, its sessions
--   revoked, and an audit row "account.disabled_duplicate" written.  The
--   clear number was never stored, so nrn_sealed stays NULL for accounts
--   made before this version until their person next identifies (a
--   recovery at the desk or online fills it in): CSAM_NATIONAL_NUMBER is
--   absent for them until then.
-- - csam_registrations.procedure: 'desk' (an officer, a document, a link
--   and a paper code) or 'online' (identified by Apache: an eID
--   certificate or an OIDC login; no link, no code, no document; the
--   e-mail address comes later, from the citizen, verified by a code).
--   identity_source says which source vouched ("ssl-client-cert",
--   "env:OIDC_CLAIM_..."); created_by is then that source too.
-- - csam_registrations.account_id: the account this registration recovers
--   (the person had one when it was made); NULL for a new person.
-- - csam_registrations.revoked_by: an officer revoked it (helpdesk); it is
--   also superseded, so that every lookup of live registrations skips it.
-- - csam_flows.step 'email': the online procedure's new person verifies
--   the e-mail address with a code before the key's own code (not needed
--   for the e-mail key, whose code does both).  csam_flows.password_hash:
--   a recovery's new password (a PHC string), set on the account only
--   when the key is confirmed.
-- - csam_challenges.purpose 'email_confirm': that address code.
--
-- Applied by install.sql inside one transaction; idempotent.

ALTER TABLE csam_accounts ADD COLUMN IF NOT EXISTS nrn_hash bytea
    CHECK (octet_length(nrn_hash) = 32);
ALTER TABLE csam_accounts ADD COLUMN IF NOT EXISTS nrn_sealed bytea
    CHECK (octet_length(nrn_sealed) = 39);

UPDATE csam_accounts a SET nrn_hash = r.nrn_hash
  FROM csam_registrations r
 WHERE a.registration_id = r.id AND a.nrn_hash IS NULL;

WITH ranked AS (
    SELECT id, row_number() OVER (
               PARTITION BY nrn_hash
               ORDER BY (status = 'active') DESC, created_at DESC, id DESC)
           AS rank
      FROM csam_accounts
     WHERE status <> 'disabled'
), disabled AS (
    UPDATE csam_accounts a SET status = 'disabled'
      FROM ranked
     WHERE a.id = ranked.id AND ranked.rank > 1
    RETURNING a.id, a.registration_id
), revoked AS (
    UPDATE csam_sessions s SET revoked_at = now()
      FROM disabled
     WHERE s.account_id = disabled.id AND s.revoked_at IS NULL
    RETURNING s.account_id
)
INSERT INTO csam_audit (actor, action, registration_id, account_id, detail)
SELECT 'schema 4', 'account.disabled_duplicate', registration_id, id,
       jsonb_build_object('sessions_revoked',
                          (SELECT count(*) FROM revoked
                            WHERE revoked.account_id = disabled.id))
  FROM disabled;

ALTER TABLE csam_accounts ALTER COLUMN nrn_hash SET NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS csam_accounts_person_key
    ON csam_accounts (nrn_hash) WHERE status <> 'disabled';

ALTER TABLE csam_registrations ADD COLUMN IF NOT EXISTS procedure text
    NOT NULL DEFAULT 'desk' CHECK (procedure IN ('desk', 'online'));
ALTER TABLE csam_registrations ADD COLUMN IF NOT EXISTS identity_source text
    CHECK (octet_length(identity_source) BETWEEN 1 AND 255);
ALTER TABLE csam_registrations ADD COLUMN IF NOT EXISTS account_id bigint
    REFERENCES csam_accounts (id);
ALTER TABLE csam_registrations ADD COLUMN IF NOT EXISTS nrn_sealed bytea
    CHECK (octet_length(nrn_sealed) = 39);
ALTER TABLE csam_registrations ADD COLUMN IF NOT EXISTS revoked_by text
    CHECK (octet_length(revoked_by) BETWEEN 1 AND 255);
ALTER TABLE csam_registrations ALTER COLUMN birth_date DROP NOT NULL;
ALTER TABLE csam_registrations ALTER COLUMN document_type DROP NOT NULL;
ALTER TABLE csam_registrations ALTER COLUMN document_number DROP NOT NULL;
ALTER TABLE csam_registrations ALTER COLUMN email DROP NOT NULL;
ALTER TABLE csam_registrations ALTER COLUMN token_hash DROP NOT NULL;
ALTER TABLE csam_registrations ALTER COLUMN code_hash DROP NOT NULL;
ALTER TABLE csam_registrations DROP CONSTRAINT IF EXISTS
    csam_registrations_procedure_fields;
ALTER TABLE csam_registrations ADD CONSTRAINT
    csam_registrations_procedure_fields CHECK (
        procedure = 'online' AND identity_source IS NOT NULL
                             AND token_hash IS NULL AND code_hash IS NULL
        OR procedure = 'desk' AND birth_date IS NOT NULL
                              AND document_type IS NOT NULL
                              AND document_number IS NOT NULL
                              AND email IS NOT NULL
                              AND token_hash IS NOT NULL
                              AND code_hash IS NOT NULL);
ALTER TABLE csam_registrations DROP CONSTRAINT IF EXISTS
    csam_registrations_revoked_superseded;
ALTER TABLE csam_registrations ADD CONSTRAINT
    csam_registrations_revoked_superseded
    CHECK (revoked_by IS NULL OR superseded_at IS NOT NULL);
CREATE INDEX IF NOT EXISTS csam_registrations_account_idx
    ON csam_registrations (account_id) WHERE account_id IS NOT NULL;

ALTER TABLE csam_flows DROP CONSTRAINT IF EXISTS csam_flows_step_check;
ALTER TABLE csam_flows ADD CONSTRAINT csam_flows_step_check
    CHECK (step IN ('key', 'credentials', 'email', 'confirm', 'done'));
ALTER TABLE csam_flows ADD COLUMN IF NOT EXISTS password_hash text
    CHECK (password_hash LIKE '$argon2id$%');

ALTER TABLE csam_challenges DROP CONSTRAINT IF EXISTS
    csam_challenges_purpose_check;
ALTER TABLE csam_challenges ADD CONSTRAINT csam_challenges_purpose_check
    CHECK (purpose IN ('activation_confirm', 'email_confirm', 'key_confirm',
                       'web_login', 'pam_login'));

INSERT INTO csam_schema_version (version, description)
VALUES (4, 'person: one account per national number, sealed numbers, '
           'the online procedure, recovery, helpdesk revocation')
ON CONFLICT (version) DO NOTHING;
