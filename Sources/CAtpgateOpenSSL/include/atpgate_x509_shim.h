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
// Building certificates (the inspection CA and minted leaves). Each returns 1 on success and 0 on failure,
// with OpenSSL's reasons on its error queue.

/// One extension in OpenSSL's configuration syntax ("critical,CA:TRUE,pathlen:0"), added to `certificate`:
/// X509V3_set_ctx_nodb is a macro and the X509V3_CTX is a struct best kept on the C side. For values that
/// need no issuer or configuration database (basicConstraints, keyUsage, extendedKeyUsage).
int atpgate_x509_add_conf_extension(X509 *certificate, int nid, const char *value);
/// A subjectAltName of one name: a DNS name (type GEN_DNS, ASCII bytes) or an IP address (GEN_IPADD, 4 or
/// 16 bytes); sk_GENERAL_NAME_push is a macro. `critical` as RFC 5280 wants it when the subject is empty.
int atpgate_x509_add_subject_alt_name(X509 *certificate, int type, const unsigned char *bytes, int length, int critical);
/// A subjectKeyIdentifier of `key_id` (the caller hashes the certificate's own public key).
int atpgate_x509_add_subject_key_id(X509 *certificate, const unsigned char *key_id, int length);
/// An authorityKeyIdentifier holding the key identifier only (no issuer name and serial), built directly so
/// that it is exactly `key_id` (the issuer's subjectKeyIdentifier) whatever the configuration defaults.
int atpgate_x509_add_authority_key_id(X509 *certificate, const unsigned char *key_id, int length);
/// A critical nameConstraints: `count` permitted DNS subtrees (`names`, ASCII), and, when
/// `exclude_all_ip` is 1, excluded subtrees for every IPv4 and IPv6 address (constraints only bind names of
/// their own type, so a DNS-only list would leave IP addresses unconstrained). sk_GENERAL_SUBTREE_push is
/// a macro.
int atpgate_x509_add_dns_name_constraints(X509 *certificate, const char *const *names, int count, int exclude_all_ip);
#endif
