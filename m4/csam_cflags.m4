dnl SPDX-License-Identifier: Apache-2.0
# CSAM_CHECK_CFLAG(FLAG, ACTION-IF-OK)
# Try FLAG with -Werror so that a compiler which merely warns about an
# unknown option does not let it through.
AC_DEFUN([CSAM_CHECK_CFLAG], [
    AS_VAR_PUSHDEF([csam_cv], [csam_cv_cflag_$1])
    AC_CACHE_CHECK([whether $CC accepts $1], [csam_cv], [
        csam_save_CFLAGS="$CFLAGS"
        CFLAGS="$CFLAGS -Werror $1"
        AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
            [AS_VAR_SET([csam_cv], [yes])], [AS_VAR_SET([csam_cv], [no])])
        CFLAGS="$csam_save_CFLAGS"])
    AS_VAR_IF([csam_cv], [yes], [$2])
    AS_VAR_POPDEF([csam_cv])
])
