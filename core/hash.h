/* core/hash.h — SHA-256 content hashes (OpenSSL libcrypto), and the 64-bit
 * mixer the in-memory hash tables share.
 * Thread-safety: reentrant. */
#ifndef RAGD_CORE_HASH_H
#define RAGD_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

#define RAGD_SHA256_HEX 65 /* 64 hex digits + NUL */

/* Write the lowercase hex SHA-256 of data[0..n) into hex (65 bytes). */
void ragd_sha256_hex(const void *data, size_t n, char hex[RAGD_SHA256_HEX]);

/* Hash the open file fp from its current position to its end (streaming,
 * 1 MiB at a time) into hex; *bytes (optional) receives the length hashed.
 * The file position is left at the end. RAGD_EIO on a read error. */
ragd_status ragd_sha256_stream(FILE *fp, char hex[RAGD_SHA256_HEX], int64_t *bytes,
                               ragd_error *err);

/* MurmurHash3's 64-bit finalizer (fmix64): every input bit reaches every
 * output bit, so a weak hash's (FNV's) low bits can index a table. Part of
 * the local embedder's model (provider/local.c): never change it. */
static inline uint64_t ragd_fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDULL;
    k ^= k >> 33;
    k *= 0xC4CEB9FE1A85EC53ULL;
    k ^= k >> 33;
    return k;
}

#endif
