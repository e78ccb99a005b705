/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a trusted file lives (csam.conf, the secret file).  A file that
 * only root can write is worth nothing in a directory someone else can
 * write: they rename it away and put their own in its place.
 */
#ifndef CSAM_COMMON_FILE_CHECK_H
#define CSAM_COMMON_FILE_CHECK_H

#include <stddef.h>

#include "result.h"

/* Check every directory above path (symbolic links resolved), up to /:
 * none may be writable by its group or by others, but for a root-owned
 * directory with the sticky bit (/tmp), where nobody but root may remove
 * or rename root's files.  On refusal a
 * message naming path and the directory in err.  Errors: CSAM_ERR_INSECURE,
 * CSAM_ERR_IO (path cannot be resolved). */
csam_result csam_file_check_dirs(const char *path, char *err, size_t errlen);

/* 1 if gid is a group that may read a secret: root's (0), or the group
 * named by group (NULL: none).  0 for any other, or an unknown name. */
int csam_file_group_allowed(unsigned long gid, const char *group);

#endif
