/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hiding the process environment from the libraries libcsam calls while
 * they decide where and how to connect.
 *
 * libpq reads PGHOST, PGHOSTADDR, PGPORT, PGSERVICE, PGSERVICEFILE,
 * PGSYSCONFDIR, PGOPTIONS, PGSSLMODE, PGPASSFILE, PGTZ, PGDATESTYLE, HOME
 * (for ~/.pgpass, ~/.pg_service.conf, ~/.postgresql/) and more whenever it
 * connects, the Kerberos library it may call reads KRB5CCNAME, and
 * libcurl's global initialisation opens SSLKEYLOGFILE.  A setuid PAM host
 * such as su(1) keeps its caller's environment, so each of these would
 * let any local user steer the module (DESIGN 3.4).  Conninfo keywords
 * cannot block them all: an empty value stands for "not given", service
 * files add what the conninfo omits, and PGTZ, PGDATESTYLE and PGGEQO go
 * into every startup packet whatever the conninfo says.  So the library
 * runs with no environment at all while it connects.
 *
 * Between csam_environ_hide() and csam_environ_restore() the process's
 * `environ` is an empty list.  The calls nest and may come from several
 * threads at once (mod_csam's pool connects from worker threads): the
 * first hide saves the real list and the last restore puts it back; a
 * mutex guards only that count, so connections in different threads do
 * not wait for one another.  Other threads see an empty environment for
 * that time; the real list is never changed or freed, so what they read
 * stays valid.  Nothing may set or unset variables meanwhile, which POSIX
 * already forbids while other threads may read the environment.
 */
#ifndef CSAM_COMMON_ENVIRON_H
#define CSAM_COMMON_ENVIRON_H

/* Start hiding the environment (or count one more user of the hiding). */
void csam_environ_hide(void);

/* End one csam_environ_hide(); the last one puts the environment back. */
void csam_environ_restore(void);

#endif
