/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A client certificate's subject (common/base/certificate.c), on
 * certificates this test makes with OpenSSL: an eID-like one, one without
 * serialNumber, repeated or over-long attributes, control characters,
 * other encodings, and text that is no certificate.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certificate.h"

/* One subject attribute: its short name, value and ASN.1 string type. */
struct csam_test_attr {
    const char *field;
    const char *value;
    int type;
    int len; /* 0: up to the NUL */
};

static EVP_PKEY *csam_test_key;

static int csam_test_setup(void **state)
{
    (void)state;
    csam_test_key = EVP_EC_gen("P-256");
    return csam_test_key == NULL ? -1 : 0;
}

static int csam_test_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(csam_test_key);
    return 0;
}

/* A self-signed certificate with the attributes in the subject, as PEM
 * (malloc'd). */
static char *csam_test_cert(const struct csam_test_attr *attrs)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *pem;
    long len;

    assert_non_null(cert);
    assert_non_null(name);
    assert_non_null(bio);
    for (; attrs->field != NULL; attrs++)
        assert_int_equal(
            X509_NAME_add_entry_by_txt(name, attrs->field, attrs->type,
                                       (const unsigned char *)attrs->value,
                                       attrs->len > 0 ? attrs->len : -1, -1, 0),
            1);
    assert_int_equal(X509_set_version(cert, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(cert), 1), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(cert), 0));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(cert), 3600));
    assert_int_equal(X509_set_subject_name(cert, name), 1);
    assert_int_equal(X509_set_issuer_name(cert, name), 1);
    assert_int_equal(X509_set_pubkey(cert, csam_test_key), 1);
    assert_true(X509_sign(cert, csam_test_key, EVP_sha256()) > 0);
    assert_int_equal(PEM_write_bio_X509(bio, cert), 1);
    len = BIO_get_mem_data(bio, &data);
    pem = malloc((size_t)len + 1);
    assert_non_null(pem);
    memcpy(pem, data, (size_t)len);
    pem[len] = '\0';
    BIO_free(bio);
    X509_NAME_free(name);
    X509_free(cert);
    return pem;
}

static csam_result csam_test_subject(const struct csam_test_attr *attrs,
                                     struct csam_cert_subject *out)
{
    char *pem = csam_test_cert(attrs);
    csam_result res = csam_certificate_subject(pem, strlen(pem), out);

    free(pem);
    return res;
}

static void test_eid_like(void **state)
{
    static const struct csam_test_attr attrs[] = {
        {"C", "BE", MBSTRING_UTF8, 0},
        {"CN", "Marie Dupont (Authentication)", MBSTRING_UTF8, 0},
        {"SN", "Dupont", MBSTRING_UTF8, 0},
        {"GN", "Marie Émilie", MBSTRING_UTF8, 0},
        {"serialNumber", "85073003328", V_ASN1_PRINTABLESTRING, 0},
        {NULL, NULL, 0, 0}};
    struct csam_cert_subject s;

    (void)state;
    assert_int_equal(csam_test_subject(attrs, &s), CSAM_OK);
    assert_string_equal(s.serial_number, "85073003328");
    assert_string_equal(s.given_name, "Marie Émilie");
    assert_string_equal(s.surname, "Dupont");
    /* RFC 2253: the last attribute first, UTF-8 kept. */
    assert_string_equal(s.dn, "serialNumber=85073003328,GN=Marie Émilie,"
                              "SN=Dupont,CN=Marie Dupont (Authentication),"
                              "C=BE");
}

static void test_no_serial_number(void **state)
{
    static const struct csam_test_attr attrs[] = {{"C", "BE", MBSTRING_UTF8, 0},
                                                  {"CN", "Marie Dupont",
                                                   MBSTRING_UTF8, 0},
                                                  {NULL, NULL, 0, 0}};
    struct csam_cert_subject s;

    (void)state;
    assert_int_equal(csam_test_subject(attrs, &s), CSAM_OK);
    assert_string_equal(s.serial_number, "");
    assert_string_equal(s.given_name, "");
    assert_string_equal(s.surname, "");
    assert_string_equal(s.dn, "CN=Marie Dupont,C=BE");
}

/* Which of two numbers would be the person's?  Neither. */
static void test_serial_number_twice(void **state)
{
    static const struct csam_test_attr attrs[] = {
        {"serialNumber", "85073003328", V_ASN1_PRINTABLESTRING, 0},
        {"serialNumber", "90010100123", V_ASN1_PRINTABLESTRING, 0},
        {NULL, NULL, 0, 0}};
    struct csam_cert_subject s;

    (void)state;
    assert_int_equal(csam_test_subject(attrs, &s), CSAM_ERR_INVALID);
    assert_string_equal(s.serial_number, "");
}

static void test_field_bounds(void **state)
{
    char at_max[CSAM_CERT_FIELD_MAX + 1], over[CSAM_CERT_FIELD_MAX + 2];
    struct csam_test_attr attrs[] = {{"GN", at_max, MBSTRING_UTF8, 0},
                                     {NULL, NULL, 0, 0}};
    struct csam_cert_subject s;

    (void)state;
    memset(at_max, 'a', sizeof(at_max) - 1);
    at_max[sizeof(at_max) - 1] = '\0';
    memset(over, 'a', sizeof(over) - 1);
    over[sizeof(over) - 1] = '\0';
    assert_int_equal(csam_test_subject(attrs, &s), CSAM_OK);
    assert_int_equal(strlen(s.given_name), CSAM_CERT_FIELD_MAX);
    attrs[0].value = over;
    assert_int_equal(csam_test_subject(attrs, &s), CSAM_ERR_INVALID);
    assert_string_equal(s.given_name, "");
}

static void test_control_characters(void **state)
{
    static const struct csam_test_attr newline[] = {
        {"SN", "Dupont\nserialNumber=1", MBSTRING_UTF8, 0}, {NULL, NULL, 0, 0}};
    /* "85073003328" after a NUL must not be read as the number. */
    static const struct csam_test_attr nul_in_serial[] = {{"serialNumber",
                                                           "1\0"
                                                           "85073003328",
                                                           V_ASN1_UTF8STRING,
                                                           13},
                                                          {NULL, NULL, 0, 0}};
    static const struct csam_test_attr tab[] = {
        {"GN", "Marie\tDupont", MBSTRING_UTF8, 0}, {NULL, NULL, 0, 0}};
    struct csam_cert_subject s;

    (void)state;
    assert_int_equal(csam_test_subject(newline, &s), CSAM_ERR_INVALID);
    assert_int_equal(csam_test_subject(nul_in_serial, &s), CSAM_ERR_INVALID);
    assert_string_equal(s.serial_number, "");
    assert_int_equal(csam_test_subject(tab, &s), CSAM_ERR_INVALID);
}

/* A BMPString (UTF-16) attribute is read as the same UTF-8 text. */
static void test_bmp_string(void **state)
{
    static const char bmp[] = {0, 'M', 0, 'a', 0, 'r', 0, 'i', 0, 'e'};
    static const struct csam_test_attr attrs[] = {
        {"GN", bmp, V_ASN1_BMPSTRING, 10}, {NULL, NULL, 0, 0}};
    struct csam_cert_subject s;

    (void)state;
    assert_int_equal(csam_test_subject(attrs, &s), CSAM_OK);
    assert_string_equal(s.given_name, "Marie");
}

static void test_not_a_certificate(void **state)
{
    static const char junk[] = "-----BEGIN CERTIFICATE-----\nAAAA\n"
                               "-----END CERTIFICATE-----\n";
    static const struct csam_test_attr attrs[] = {
        {"serialNumber", "85073003328", V_ASN1_PRINTABLESTRING, 0},
        {NULL, NULL, 0, 0}};
    struct csam_cert_subject s;
    char *pem, *big;
    size_t len;

    (void)state;
    assert_int_equal(csam_certificate_subject(junk, strlen(junk), &s),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_certificate_subject("", 0, &s), CSAM_ERR_INVALID);
    assert_int_equal(csam_certificate_subject(NULL, 10, &s), CSAM_ERR_INVALID);
    assert_int_equal(csam_certificate_subject(junk, strlen(junk), NULL),
                     CSAM_ERR_INVALID);
    /* A good certificate in text beyond the bound is not read at all. */
    pem = csam_test_cert(attrs);
    len = strlen(pem);
    big = malloc(CSAM_CERT_PEM_MAX + 2);
    assert_non_null(big);
    memset(big, '\n', CSAM_CERT_PEM_MAX + 1);
    memcpy(big, pem, len);
    big[CSAM_CERT_PEM_MAX + 1] = '\0';
    assert_int_equal(csam_certificate_subject(big, CSAM_CERT_PEM_MAX, &s),
                     CSAM_OK);
    assert_string_equal(s.serial_number, "85073003328");
    assert_int_equal(csam_certificate_subject(big, CSAM_CERT_PEM_MAX + 1, &s),
                     CSAM_ERR_INVALID);
    assert_string_equal(s.serial_number, "");
    free(big);
    free(pem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eid_like),
        cmocka_unit_test(test_no_serial_number),
        cmocka_unit_test(test_serial_number_twice),
        cmocka_unit_test(test_field_bounds),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_bmp_string),
        cmocka_unit_test(test_not_a_certificate),
    };

    return cmocka_run_group_tests(tests, csam_test_setup, csam_test_teardown);
}
