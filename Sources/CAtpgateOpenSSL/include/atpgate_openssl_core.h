#ifndef ATPGATE_OPENSSL_CORE_H
#define ATPGATE_OPENSSL_CORE_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/bio.h>

/// OPENSSL_VERSION_NUMBER of the library loaded at run time (not the headers').
unsigned long atpgate_openssl_version_number(void);
/// OPENSSL_free (a macro adding file and line).
void atpgate_openssl_free(void *pointer);
/// BIO_get_mem_data (a macro): the bytes a memory BIO holds, and how many.
long atpgate_bio_get_mem_data(BIO *bio, char **data);
/// BIO_set_mem_eof_return (a macro): what reading an empty memory BIO returns (-1: "retry").
long atpgate_bio_set_mem_eof_return(BIO *bio, int value);
/// A new EC key pair on P-256 from OpenSSL's CSPRNG (EVP_EC_gen is a variadic macro); NULL on failure.
EVP_PKEY *atpgate_generate_p256_key(void);
#endif
