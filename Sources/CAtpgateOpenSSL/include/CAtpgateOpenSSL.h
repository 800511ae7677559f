// Small C functions around OpenSSL macros and variadic calls Swift cannot import. One header per
// concern; each function says which macro it stands for.
#ifndef ATPGATE_OPENSSL_SHIM_H
#define ATPGATE_OPENSSL_SHIM_H
#include "atpgate_openssl_core.h"
#include "atpgate_x509_shim.h"
#include "atpgate_ssl_shim.h"
#endif
