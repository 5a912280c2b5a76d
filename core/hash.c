/* core/hash.c — see hash.h. */
#include "core/hash.h"

#include <openssl/evp.h>
#include <stdio.h>

void ragd_sha256_hex(const void *data, size_t n, char hex[RAGD_SHA256_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < len && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[64] = '\0';
}
