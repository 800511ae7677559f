#include "atpgate_ssl_shim.h"

int atpgate_ssl_ctx_set_min_proto_version(SSL_CTX *context, int version) {
    return (int)SSL_CTX_set_min_proto_version(context, version);
}

int atpgate_ssl_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

uint64_t atpgate_ssl_op_no_renegotiation(void) {
    return SSL_OP_NO_RENEGOTIATION;
}

uint64_t atpgate_ssl_op_no_ticket(void) {
    return SSL_OP_NO_TICKET;
}

long atpgate_ssl_ctx_set_session_cache_mode(SSL_CTX *context, long mode) {
    return SSL_CTX_set_session_cache_mode(context, mode);
}

long atpgate_ssl_ctx_set_mode(SSL_CTX *context, long mode) {
    return SSL_CTX_set_mode(context, mode);
}

int atpgate_ssl_add1_chain_cert(SSL *ssl, X509 *certificate) {
    return (int)SSL_add1_chain_cert(ssl, certificate);
}

int atpgate_err_get_lib(unsigned long code) {
    return ERR_GET_LIB(code);
}

int atpgate_err_get_reason(unsigned long code) {
    return ERR_GET_REASON(code);
}
