// The system OpenSSL 3 (libssl-dev), as the TLS-inspection module uses it. Macros Swift cannot
// import are wrapped in the CAtpgateOpenSSL target.
#ifndef ATPGATE_COPENSSL_H
#define ATPGATE_COPENSSL_H
#include <openssl/opensslv.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/ssl.h>
#endif
