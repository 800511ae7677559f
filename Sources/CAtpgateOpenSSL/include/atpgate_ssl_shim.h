#ifndef ATPGATE_SSL_SHIM_H
#define ATPGATE_SSL_SHIM_H
#include <openssl/ssl.h>

/// SSL_CTX_set_min_proto_version (a macro over SSL_CTX_ctrl).
int atpgate_ssl_ctx_set_min_proto_version(SSL_CTX *context, int version);
/// SSL_set_tlsext_host_name (a macro over SSL_ctrl).
int atpgate_ssl_set_tlsext_host_name(SSL *ssl, const char *name);
#endif
