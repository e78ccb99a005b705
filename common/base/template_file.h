/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where templates come from (mails, SMS texts, pages): each file is looked
 * for first in the administrator's directory (templates_dir, by default
 * $(sysconfdir)/csam/templates, i.e. /etc/csam/templates), then in the
 * package's (<data_dir>/templates).  An upgrade replaces the package's
 * directory and never touches the administrator's, so branding made there
 * survives it file by file: one page or one mail in one language
 * overridden, every other file still the shipped, upgraded one.
 *
 * The administrator's files are configuration, checked as csam.conf is:
 * owned by root (or by the user the process runs as, for a test or a
 * checkout run by hand), writable by nobody else, in directories that
 * neither a group nor others can write.  A file that fails is refused,
 * never quietly replaced by the shipped one.
 */
#ifndef CSAM_COMMON_TEMPLATE_FILE_H
#define CSAM_COMMON_TEMPLATE_FILE_H

#include <stddef.h>

#include "result.h"

struct csam_template_dirs {
    const char *own;      /* the administrator's directory (templates_dir);
                             NULL or absent on disk: nothing overridden */
    const char *data_dir; /* the shipped files are <data_dir>/templates/ */
};

/* Which directory a file is taken from, or may be. */
enum csam_template_origin {
    CSAM_TEMPLATE_ANY = 0, /* the administrator's, else the shipped one */
    CSAM_TEMPLATE_OWN,
    CSAM_TEMPLATE_SHIPPED
};

/* Read a whole template file (at most 256 KiB, no NUL byte) into a
 * malloc'd string.  Errors: CSAM_ERR_IO, CSAM_ERR_NOMEM. */
csam_result csam_template_read(const char *path, char **out);

/* Read the template rel, a path under templates/ such as
 * "mail/fr/code.txt" or "pages/parts/code_resend.html" (only [a-z0-9._-]
 * and '/', no "..", at most 128 bytes), from where (CSAM_TEMPLATE_ANY:
 * the administrator's directory when it holds that file, else the shipped
 * one).  *out is malloc'd, owned by the caller; *found (may be NULL) says
 * where it came from, or on an error which directory the error is in
 * (CSAM_TEMPLATE_ANY: none, the name was refused).  err (may be NULL) names the
 * file and the reason. Errors: CSAM_ERR_NOT_FOUND (in no directory asked for),
 * CSAM_ERR_INSECURE (the administrator's file fails the checks above),
 * CSAM_ERR_IO (there but unreadable, not a regular file, too big),
 * CSAM_ERR_INVALID, CSAM_ERR_NOMEM. */
csam_result csam_template_load(const struct csam_template_dirs *dirs,
                               enum csam_template_origin where, const char *rel,
                               char **out, enum csam_template_origin *found,
                               char *err, size_t errlen);

/* At startup: the administrator's directory, when it exists, is a
 * directory whose every directory and file (four levels deep at most;
 * symbolic links judged by their target) passes the checks above, and
 * the directories above it too (csam_file_check_dirs).  Absent: CSAM_OK,
 * nothing is overridden.  Errors: CSAM_ERR_INSECURE, CSAM_ERR_IO, with a
 * message naming the offending path in err. */
csam_result csam_template_dirs_check(const struct csam_template_dirs *dirs,
                                     char *err, size_t errlen);

#endif
