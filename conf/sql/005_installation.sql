-- SPDX-License-Identifier: Apache-2.0
-- CSAM schema, version 5: the installation's secret fingerprint, and the
-- indexes csam-admin purge walks.
--
-- Why:
-- - csam_installation: one row, the fingerprint of the secret file the
--   database was made with (HMAC-SHA-256 of a fixed label under a key
--   derived from the secret for this purpose alone: it tells nothing of
--   the secret).  Every keyed hash, seal and cookie in the database
--   depends on that secret; a node or a restored backup given another one
--   matches no code, opens no sealed number, and says only "expired".
--   `csam-admin secret check` compares the secret file with this row.
--   The row is recorded by the first desk registration (the first data
--   made with the secret, at most installations) or by the first
--   `csam-admin secret check`, whichever comes first; it is never overwritten (an
--   administrator who really changes the secret deletes the row, knowing
--   that every stored hash dies with the old one).
-- - Expiry indexes: csam-admin purge deletes expired rows in batches
--   (DELETE ... WHERE id IN (SELECT ... LIMIT n)); without an index on the
--   expiry each batch would scan the whole table.  The registrations'
--   and challenges' registration_id indexes let it tell, without a scan,
--   that nothing still points to a registration it deletes.
--
-- Building the indexes locks writes to each table for the time it takes
-- (seconds for millions of rows): upgrade in a quiet hour.
--
-- Applied by install.sql inside one transaction; idempotent.

CREATE TABLE IF NOT EXISTS csam_installation (
    one                 boolean PRIMARY KEY DEFAULT true CHECK (one),
    secret_fingerprint  bytea NOT NULL
                        CHECK (octet_length(secret_fingerprint) = 32),
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    recorded_by         text NOT NULL
                        CHECK (octet_length(recorded_by) BETWEEN 1 AND 255)
);

CREATE INDEX IF NOT EXISTS csam_challenges_expires_idx
    ON csam_challenges (expires_at);
CREATE INDEX IF NOT EXISTS csam_challenges_registration_idx
    ON csam_challenges (registration_id) WHERE registration_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS csam_flows_expires_idx
    ON csam_flows (expires_at);
CREATE INDEX IF NOT EXISTS csam_flows_registration_idx
    ON csam_flows (registration_id) WHERE registration_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS csam_sessions_expires_idx
    ON csam_sessions (expires_at);
CREATE INDEX IF NOT EXISTS csam_registrations_unused_expires_idx
    ON csam_registrations (expires_at) WHERE used_at IS NULL;

INSERT INTO csam_schema_version (version, description)
VALUES (5, 'installation: the secret''s fingerprint; expiry indexes for '
           'csam-admin purge')
ON CONFLICT (version) DO NOTHING;
