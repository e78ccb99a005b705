-- SPDX-License-Identifier: Apache-2.0
-- CSAM schema, version 2: known devices, codes bound to one login, and
-- locks that grow.
--
-- Why (DESIGN 4):
-- - csam_login_devices: OWASP "device cookies".  A browser that completed
--   a login for an account holds a csam_device cookie naming one of these
--   rows (the database keeps only the keyed hash of its token).  Its
--   failures, wrong passwords and wrong codes alike, count on its row and
--   nowhere else, and neither the name's lock nor the account's lock stops
--   it: attacks from elsewhere never lock the citizen's own browser out.
-- - csam_flows.device_id: the known device a login started from, so that
--   its code failures count on that device.
-- - csam_challenges.flow_id: a web login code belongs to exactly one live
--   login flow; a new login of the account with the same key takes the
--   pending code over (no second message, the old flow is superseded).
-- - csam_password_failures.locks: consecutive locks of a login name; each
--   one lasts twice as long as the one before (at most a day), so that
--   guessing does not start afresh every lockout_duration.
--
-- Applied by install.sql inside one transaction; idempotent.

CREATE TABLE IF NOT EXISTS csam_login_devices (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      bigint NOT NULL
                    REFERENCES csam_accounts (id) ON DELETE CASCADE,
    device_hash     bytea NOT NULL CHECK (octet_length(device_hash) = 32),
    failures        integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at timestamptz,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE UNIQUE INDEX IF NOT EXISTS csam_login_devices_hash_key
    ON csam_login_devices (device_hash);
CREATE INDEX IF NOT EXISTS csam_login_devices_account_idx
    ON csam_login_devices (account_id);
CREATE INDEX IF NOT EXISTS csam_login_devices_expires_idx
    ON csam_login_devices (expires_at);

ALTER TABLE csam_flows ADD COLUMN IF NOT EXISTS device_id bigint
    REFERENCES csam_login_devices (id) ON DELETE SET NULL;
CREATE INDEX IF NOT EXISTS csam_flows_device_idx
    ON csam_flows (device_id) WHERE device_id IS NOT NULL;

ALTER TABLE csam_challenges ADD COLUMN IF NOT EXISTS flow_id bigint
    REFERENCES csam_flows (id) ON DELETE SET NULL;
CREATE INDEX IF NOT EXISTS csam_challenges_flow_idx
    ON csam_challenges (flow_id) WHERE flow_id IS NOT NULL;

ALTER TABLE csam_password_failures ADD COLUMN IF NOT EXISTS locks integer
    NOT NULL DEFAULT 0 CHECK (locks >= 0);

INSERT INTO csam_schema_version (version, description)
VALUES (2, 'login devices, web codes bound to their login flow, '
           'growing name locks')
ON CONFLICT (version) DO NOTHING;
