#ifndef ATPGATE_X509_SHIM_H
#define ATPGATE_X509_SHIM_H
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/// sk_X509_num / sk_X509_value / sk_X509_pop_free (macros over OPENSSL_sk_*).
int atpgate_sk_X509_num(const STACK_OF(X509) *stack);
X509 *atpgate_sk_X509_value(const STACK_OF(X509) *stack, int index);
void atpgate_sk_X509_pop_free(STACK_OF(X509) *stack);
/// sk_GENERAL_NAME_num / sk_GENERAL_NAME_value / GENERAL_NAMES_free of a subjectAltName.
int atpgate_sk_GENERAL_NAME_num(const GENERAL_NAMES *names);
GENERAL_NAME *atpgate_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int index);
/// XN_FLAG_RFC2253 (a macro of several flags), for X509_NAME_print_ex.
unsigned long atpgate_xn_flag_rfc2253(void);
#endif
