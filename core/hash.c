/* core/hash.c — see hash.h. */
#include "core/hash.h"

#include <openssl/evp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ragd_sha256_hex(const void *data, size_t n, char hex[RAGD_SHA256_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len && i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

ragd_status ragd_sha256_stream(FILE *fp, char hex[RAGD_SHA256_HEX], int64_t *bytes, ragd_error *err)
{
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!buf || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        free(buf);
        EVP_MD_CTX_free(ctx);
        return ragd_error_set(err, RAGD_ENOMEM, "cannot start SHA-256");
    }
    int64_t total = 0;
    size_t n;
    while ((n = fread(buf, 1, CHUNK, fp)) > 0) {
        EVP_DigestUpdate(ctx, buf, n);
        total += (int64_t)n;
    }
    int bad = ferror(fp);
    int e = errno;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    free(buf);
    if (bad) return ragd_error_set(err, RAGD_EIO, "read error: %s", strerror(e));
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len && i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    if (bytes) *bytes = total;
    return RAGD_OK;
}
