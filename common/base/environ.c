/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An empty process environment while libraries connect (see environ.h
 * for why).
 */
#include <pthread.h>
#include <stddef.h>
#include <unistd.h>

#include "environ.h"

extern char **environ;

static pthread_mutex_t csam_environ_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long csam_environ_users; /* hides not yet restored */
static char **csam_environ_saved;        /* the real list meanwhile */
static char *csam_environ_empty[1];      /* { NULL } */

void csam_environ_hide(void)
{
    pthread_mutex_lock(&csam_environ_lock);
    if (csam_environ_users++ == 0) {
        csam_environ_saved = environ;
        environ = csam_environ_empty;
    }
    pthread_mutex_unlock(&csam_environ_lock);
}

void csam_environ_restore(void)
{
    pthread_mutex_lock(&csam_environ_lock);
    if (csam_environ_users > 0 && --csam_environ_users == 0) {
        environ = csam_environ_saved;
        csam_environ_saved = NULL;
    }
    pthread_mutex_unlock(&csam_environ_lock);
}
