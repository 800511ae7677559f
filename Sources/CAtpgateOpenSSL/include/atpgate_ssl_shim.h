#ifndef ATPGATE_SSL_SHIM_H
#define ATPGATE_SSL_SHIM_H
#include <stdint.h>
#include <openssl/ssl.h>
#include <openssl/err.h>

/// SSL_CTX_set_min_proto_version (a macro over SSL_CTX_ctrl).
int atpgate_ssl_ctx_set_min_proto_version(SSL_CTX *context, int version);
/// SSL_set_tlsext_host_name (a macro over SSL_ctrl).
int atpgate_ssl_set_tlsext_host_name(SSL *ssl, const char *name);

// TLS contexts and streams (Sources/AtpgateTLS/Stream).

/// SSL_OP_NO_RENEGOTIATION and SSL_OP_NO_TICKET (macros over SSL_OP_BIT), for SSL_CTX_set_options.
uint64_t atpgate_ssl_op_no_renegotiation(void);
uint64_t atpgate_ssl_op_no_ticket(void);
/// SSL_CTX_set_session_cache_mode (a macro over SSL_CTX_ctrl); returns the previous mode.
long atpgate_ssl_ctx_set_session_cache_mode(SSL_CTX *context, long mode);
/// SSL_CTX_set_mode (a macro over SSL_CTX_ctrl); returns the new mode bits.
long atpgate_ssl_ctx_set_mode(SSL_CTX *context, long mode);
/// SSL_add1_chain_cert (a macro over SSL_ctrl): appends `certificate` (a reference is taken) to the
/// chain this connection sends after its own certificate.
int atpgate_ssl_add1_chain_cert(SSL *ssl, X509 *certificate);
/// ERR_GET_LIB / ERR_GET_REASON of an error-queue code (inline functions over bit masks).
int atpgate_err_get_lib(unsigned long code);
int atpgate_err_get_reason(unsigned long code);

#endif
