/* core/hash.h — SHA-256 content hashes (OpenSSL libcrypto).
 * Thread-safety: reentrant. */
#ifndef RAGD_CORE_HASH_H
#define RAGD_CORE_HASH_H

#include <stddef.h>

#define RAGD_SHA256_HEX 65 /* 64 hex digits + NUL */

/* Write the lowercase hex SHA-256 of data[0..n) into hex (65 bytes). */
void ragd_sha256_hex(const void *data, size_t n, char hex[RAGD_SHA256_HEX]);

#endif
