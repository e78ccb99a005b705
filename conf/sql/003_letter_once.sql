-- SPDX-License-Identifier: Apache-2.0
-- CSAM schema, version 3: the desk's printable letter is shown once.
--
-- The registration page carries the paper code from the officer's POST to
-- the letter in a sealed cookie; the browser forgot it after the letter,
-- but a copy of the cookie replayed within its five minutes showed the
-- code again.  The one showing is now decided here, on every node: the
-- letter page sets letter_shown_at where it is still NULL, and shows the
-- code only when it did.  NULL for registrations made through the API,
-- whose answer is the only place the code ever appears.
--
-- Idempotent (IF NOT EXISTS, ON CONFLICT DO NOTHING).

ALTER TABLE csam_registrations
    ADD COLUMN IF NOT EXISTS letter_shown_at timestamptz;

INSERT INTO csam_schema_version (version, description)
VALUES (3, 'letter_once: the printable letter shows the paper code once')
ON CONFLICT (version) DO NOTHING;
