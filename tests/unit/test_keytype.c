/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key types' names on the wire and the mask of a stored list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "keytype.h"

static void test_names_round_trip(void **state)
{
    const enum csam_key_type all[] = {CSAM_KEY_EMAIL, CSAM_KEY_SMS,
                                      CSAM_KEY_TOTP};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        assert_int_equal(csam_key_type_parse(csam_key_type_name(all[i])),
                         all[i]);
    assert_null(csam_key_type_name(CSAM_KEY_NONE));
    assert_null(csam_key_type_name(CSAM_KEY_ALL));
    assert_int_equal(csam_key_type_parse(NULL), CSAM_KEY_NONE);
    assert_int_equal(csam_key_type_parse("EMAIL"), CSAM_KEY_NONE);
    assert_int_equal(csam_key_type_parse("e-mail"), CSAM_KEY_NONE);
    assert_int_equal(csam_key_type_parse(""), CSAM_KEY_NONE);
}

static void test_mask_of_lists(void **state)
{
    (void)state;
    assert_int_equal(csam_key_type_mask(NULL), 0);
    assert_int_equal(csam_key_type_mask(""), 0);
    assert_int_equal(csam_key_type_mask("email"), CSAM_KEY_EMAIL);
    assert_int_equal(csam_key_type_mask("totp,email"),
                     CSAM_KEY_TOTP | CSAM_KEY_EMAIL);
    assert_int_equal(csam_key_type_mask("email,sms,totp"), CSAM_KEY_ALL);
    /* repeats, empty items, unknown and over-long names count for nothing */
    assert_int_equal(csam_key_type_mask("sms,,sms,"), CSAM_KEY_SMS);
    assert_int_equal(csam_key_type_mask("fax,totp"), CSAM_KEY_TOTP);
    assert_int_equal(csam_key_type_mask("emailemailemailemail,sms"),
                     CSAM_KEY_SMS);
    assert_int_equal(csam_key_type_mask(" email"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_mask_of_lists),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
