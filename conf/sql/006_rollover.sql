-- SPDX-License-Identifier: Apache-2.0
-- CSAM schema, version 6: the secret replaced without changing who anybody
-- is (csam-admin secret rekey).
--
-- Why:
-- - csam_accounts.subject: CSAM_SUBJECT, the pseudonym applications know
--   a person by, is a keyed hash of the account's nrn_hash: computed, it
--   would change with the secret.  `csam-admin secret rekey` stores the
--   subject a row had before it moves the row's hash and sealed number to
--   the new secret, and every session check prefers the stored one.  NULL:
--   computed, under the secret that made the row's hash (the one that
--   opens nrn_sealed), as before this version.
-- - csam_installation.previous_fingerprint, rekey_started_at, rekeyed_at:
--   a rekey that leaves nothing under the previous secret records the new
--   secret's fingerprint (secret_fingerprint) and keeps the one it
--   replaced; rekey_started_at is when the first batch ran (every node had
--   the new secret by then, so rows made later are the new secret's), from
--   which `csam-admin secret check` says until when the previous secret is
--   still needed (codes, links, sessions and known devices made before it
--   live until their expiry).
--
-- Adding nullable columns rewrites nothing: no lock worth a quiet hour.
--
-- Applied by install.sql inside one transaction; idempotent.

ALTER TABLE csam_accounts ADD COLUMN IF NOT EXISTS subject text
    CHECK (subject ~ '^[A-Za-z0-9_-]{43}$');

ALTER TABLE csam_installation ADD COLUMN IF NOT EXISTS previous_fingerprint
    bytea CHECK (octet_length(previous_fingerprint) = 32);
ALTER TABLE csam_installation ADD COLUMN IF NOT EXISTS rekey_started_at
    timestamptz;
ALTER TABLE csam_installation ADD COLUMN IF NOT EXISTS rekeyed_at
    timestamptz;

INSERT INTO csam_schema_version (version, description)
VALUES (6, 'rollover: the stored subject, the secret a rekey replaced')
ON CONFLICT (version) DO NOTHING;
