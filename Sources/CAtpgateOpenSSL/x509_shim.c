#include "atpgate_x509_shim.h"
#include <string.h>

int atpgate_sk_X509_num(const STACK_OF(X509) *stack) {
    return sk_X509_num(stack);
}

X509 *atpgate_sk_X509_value(const STACK_OF(X509) *stack, int index) {
    return sk_X509_value(stack, index);
}

void atpgate_sk_X509_pop_free(STACK_OF(X509) *stack) {
    sk_X509_pop_free(stack, X509_free);
}

int atpgate_sk_GENERAL_NAME_num(const GENERAL_NAMES *names) {
    return sk_GENERAL_NAME_num(names);
}

GENERAL_NAME *atpgate_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int index) {
    return sk_GENERAL_NAME_value(names, index);
}

unsigned long atpgate_xn_flag_rfc2253(void) {
    return XN_FLAG_RFC2253;
}

int atpgate_x509_add_conf_extension(X509 *certificate, int nid, const char *value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, certificate, certificate, NULL, NULL, 0);
    X509_EXTENSION *extension = X509V3_EXT_nconf_nid(NULL, &context, nid, value);
    if (extension == NULL) return 0;
    int added = X509_add_ext(certificate, extension, -1);
    X509_EXTENSION_free(extension);
    return added == 1;
}

/// A GENERAL_NAME of `type` (GEN_DNS or GEN_IPADD) holding a copy of `bytes`; NULL on failure.
static GENERAL_NAME *atpgate_general_name(int type, const unsigned char *bytes, int length) {
    ASN1_STRING *value = type == GEN_DNS ? ASN1_IA5STRING_new() : ASN1_OCTET_STRING_new();
    GENERAL_NAME *name = GENERAL_NAME_new();
    if (value == NULL || name == NULL || !ASN1_STRING_set(value, bytes, length)) {
        ASN1_STRING_free(value);
        GENERAL_NAME_free(name);
        return NULL;
    }
    GENERAL_NAME_set0_value(name, type, value);
    return name;
}

int atpgate_x509_add_subject_alt_name(X509 *certificate, int type, const unsigned char *bytes, int length, int critical) {
    GENERAL_NAMES *names = GENERAL_NAMES_new();
    GENERAL_NAME *name = atpgate_general_name(type, bytes, length);
    int ok = names != NULL && name != NULL && sk_GENERAL_NAME_push(names, name) > 0;
    if (!ok) GENERAL_NAME_free(name);
    ok = ok && X509_add1_ext_i2d(certificate, NID_subject_alt_name, names, critical, X509V3_ADD_APPEND) == 1;
    GENERAL_NAMES_free(names);
    return ok;
}

int atpgate_x509_add_subject_key_id(X509 *certificate, const unsigned char *key_id, int length) {
    ASN1_OCTET_STRING *identifier = ASN1_OCTET_STRING_new();
    int ok = identifier != NULL && ASN1_OCTET_STRING_set(identifier, key_id, length)
        && X509_add1_ext_i2d(certificate, NID_subject_key_identifier, identifier, 0, X509V3_ADD_APPEND) == 1;
    ASN1_OCTET_STRING_free(identifier);
    return ok;
}

int atpgate_x509_add_authority_key_id(X509 *certificate, const unsigned char *key_id, int length) {
    AUTHORITY_KEYID *authority = AUTHORITY_KEYID_new();
    if (authority == NULL) return 0;
    authority->keyid = ASN1_OCTET_STRING_new();
    int ok = authority->keyid != NULL && ASN1_OCTET_STRING_set(authority->keyid, key_id, length)
        && X509_add1_ext_i2d(certificate, NID_authority_key_identifier, authority, 0, X509V3_ADD_APPEND) == 1;
    AUTHORITY_KEYID_free(authority);
    return ok;
}

/// Appends a subtree whose base is a GENERAL_NAME of `type` over `bytes` to `subtrees`.
static int atpgate_push_subtree(STACK_OF(GENERAL_SUBTREE) *subtrees, int type, const unsigned char *bytes, int length) {
    GENERAL_SUBTREE *subtree = GENERAL_SUBTREE_new();
    if (subtree == NULL) return 0;
    // GENERAL_SUBTREE_new fills `base` with an empty name; it is replaced, not leaked.
    GENERAL_NAME_free(subtree->base);
    subtree->base = atpgate_general_name(type, bytes, length);
    if (subtree->base == NULL || sk_GENERAL_SUBTREE_push(subtrees, subtree) <= 0) {
        GENERAL_SUBTREE_free(subtree);
        return 0;
    }
    return 1;
}

int atpgate_x509_add_dns_name_constraints(X509 *certificate, const char *const *names, int count, int exclude_all_ip) {
    // An iPAddress constraint is an address followed by its mask: all zeros is "every address".
    static const unsigned char any_ipv4[8] = {0};
    static const unsigned char any_ipv6[32] = {0};
    NAME_CONSTRAINTS *constraints = NAME_CONSTRAINTS_new();
    if (constraints == NULL) return 0;
    int ok = (constraints->permittedSubtrees = sk_GENERAL_SUBTREE_new_null()) != NULL;
    for (int index = 0; ok && index < count; index++) {
        ok = atpgate_push_subtree(constraints->permittedSubtrees, GEN_DNS, (const unsigned char *)names[index],
                                  (int)strlen(names[index]));
    }
    if (ok && exclude_all_ip) {
        ok = (constraints->excludedSubtrees = sk_GENERAL_SUBTREE_new_null()) != NULL
            && atpgate_push_subtree(constraints->excludedSubtrees, GEN_IPADD, any_ipv4, sizeof any_ipv4)
            && atpgate_push_subtree(constraints->excludedSubtrees, GEN_IPADD, any_ipv6, sizeof any_ipv6);
    }
    ok = ok && X509_add1_ext_i2d(certificate, NID_name_constraints, constraints, 1, X509V3_ADD_APPEND) == 1;
    NAME_CONSTRAINTS_free(constraints);
    return ok;
}
