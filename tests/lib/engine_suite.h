/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The beginning every engine integration test program shares
 * (tests/integration/test_engine*.c, run under run-with-services): cmocka
 * and the test helpers, the program's context `ctx` (configuration, store,
 * engine on the live SMTP relay), a direct connection `pg` for checks,
 * the cmocka group fixtures `setup` and `teardown`, and the helpers each
 * file used to copy: `sql` and `active_citizen`.
 *
 * It defines static objects, so one program includes it once, from its
 * own .c file, after _POSIX_C_SOURCE.  Before the include, define
 *   CSAM_SUITE_SERIAL       the program's first citizen serial (`serial`
 *                           counts up from it, so that its citizens are
 *                           unique);
 *   CSAM_SUITE_NO_COOLDOWN  (optional) resend_cooldown 0 for every test,
 *                           for programs that send several codes a
 *                           minute to one citizen;
 *   CSAM_SUITE_PAM          (optional) `ctx` plays pam_csam: it connects
 *                           as csam_pam (conf/sql/roles.sql), and a second
 *                           context `web`, as csam_web, registers and
 *                           activates the citizens (active_citizen).
 * Without CSAM_SUITE_PAM, `ctx` plays mod_csam and connects as csam_web.
 * Tests still change ctx.config themselves and put it back.
 */
#ifndef CSAM_TESTS_ENGINE_SUITE_H
#define CSAM_TESTS_ENGINE_SUITE_H

#ifndef CSAM_SUITE_SERIAL
#error "define CSAM_SUITE_SERIAL before including engine_suite.h"
#endif

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_env.h"

static struct csam_test_ctx ctx;
#ifdef CSAM_SUITE_PAM
static struct csam_test_ctx web;
#define CSAM_SUITE_WEB web
#else
#define CSAM_SUITE_WEB ctx
#endif
static PGconn *pg;
static int serial = CSAM_SUITE_SERIAL;

static int setup(void **state)
{
#ifdef CSAM_SUITE_PAM
    struct csam_test_env env;

    (void)state;
    csam_test_env_get(&env);
    csam_test_ctx_open_as(&ctx, 0, env.pg_pam);
    csam_test_ctx_open(&web, 0);
#else
    (void)state;
    csam_test_ctx_open(&ctx, 0);
#endif
#ifdef CSAM_SUITE_NO_COOLDOWN
    ctx.config.resend_cooldown = 0;
    CSAM_SUITE_WEB.config.resend_cooldown = 0;
#endif
    pg = csam_test_pg_connect(&ctx.env);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(pg);
#ifdef CSAM_SUITE_PAM
    csam_test_ctx_close(&web);
#endif
    csam_test_ctx_close(&ctx);
    return 0;
}

/* The first column of the first row the query text returns on pg, with
 * param as $1 (csam_test_pg_value).
 * static inline: a program that does not use a helper is not warned. */
static inline long long sql(const char *text, const char *param)
{
    return csam_test_pg_value(pg, text, param);
}

/* A new citizen of this program, registered and activated with an e-mail
 * key. */
static inline void active_citizen(struct csam_test_citizen *c, const char *tag)
{
    csam_test_citizen_init(c, tag, serial++);
    csam_test_activate(&CSAM_SUITE_WEB, c);
}

#endif
