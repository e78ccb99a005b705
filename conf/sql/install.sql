-- SPDX-License-Identifier: Apache-2.0
-- Create or upgrade the CSAM schema (DESIGN 3.6):
--
--     psql -v ON_ERROR_STOP=1 -d <database> -f install.sql
--
-- Applies every numbered migration in order, in one transaction: either the
-- database ends at the newest version or nothing changed.  Each migration
-- is idempotent, so running this file again changes nothing.  A new
-- migration is a new file NNN_name.sql added at the end of the list below;
-- released files are never edited.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
-- Two administrators upgrading at once must not interleave.
SELECT pg_advisory_xact_lock(4242001);
\ir 001_base.sql
\ir 002_login_devices.sql
\ir 003_letter_once.sql
\ir 004_person.sql
\ir 005_installation.sql
\ir 006_rollover.sql
COMMIT;
