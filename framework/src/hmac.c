/*
 * hmac.c - the hash key and HMAC-SHA-256 through libcrypto, see hmac.h.
 * The only file that includes OpenSSL.
 */
#include "hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define SHA256_LEN 32

static const struct herald__key hash_key_keys[] = {
    {.opt = {"hash_key", HERALD_OPT_STRING, NULL, 0, 1, NULL,
             "HMAC key of dedup marks and Message-IDs: the same on every "
             "instance and across restarts"},
     .min = HERALD__HASH_KEY_MIN,
     .example = "${file:/run/secrets/herald_hash_key} holding the output "
                "of `openssl rand -hex 32`"},
    HERALD__KEY_END,
};

const struct herald__section herald__hash_key_section = {
    "", "the deployment's hash key", hash_key_keys, NULL};

struct herald__hash_key {
    unsigned char *bytes; /* NULL: the configured key was refused */
    size_t len;
};

/* Stands for a hash_key that was configured but refused (an error is in
 * the diagnostics already): users of the key do not report it missing
 * too, and it never hashes. */
static struct herald__hash_key *refused(void)
{
    return calloc(1, sizeof(struct herald__hash_key));
}

struct herald__hash_key *herald__hash_key_from(const void *key, size_t len)
{
    struct herald__hash_key *k;

    if (!key || len < HERALD__HASH_KEY_MIN) {
        return NULL;
    }
    k = calloc(1, sizeof *k);
    if (!k) {
        return NULL;
    }
    k->bytes = malloc(len);
    if (!k->bytes) {
        free(k);
        return NULL;
    }
    memcpy(k->bytes, key, len);
    k->len = len;
    return k;
}

struct herald__hash_key *herald__hash_key_new(const struct herald__node *node,
                                              struct herald__diag *d)
{
    struct herald__hash_key *k;
    const char *v;

    if (!node) {
        return NULL;
    }
    if (herald__key_str(node, hash_key_keys, &v, d) != 0) {
        return refused();
    }
    k = herald__hash_key_from(v, strlen(v));
    if (!k) {
        herald__diag_add(d, node, "out of memory");
    }
    return k;
}

void herald__hash_key_destroy(struct herald__hash_key *k)
{
    if (!k) {
        return;
    }
    if (k->bytes) {
        OPENSSL_cleanse(k->bytes, k->len);
    }
    free(k->bytes);
    free(k);
}

int herald__hmac_hex(const struct herald__hash_key *k, const void *data,
                     size_t len, char out[HERALD__HMAC_HEX_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    out[0] = '\0';
    if (!k->bytes) {
        return -1;
    }
    /* HMAC() wants a non-NULL data pointer even for an empty message. */
    if (!HMAC(EVP_sha256(), k->bytes, (int)k->len,
              len ? (const unsigned char *)data : (const unsigned char *)"",
              len, md, &mdlen) ||
        mdlen != SHA256_LEN) {
        return -1;
    }
    for (unsigned int i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * mdlen] = '\0';
    OPENSSL_cleanse(md, sizeof md);
    return 0;
}

char *herald__hmac_hex_dup(const struct herald__hash_key *k, const char *s)
{
    char hex[HERALD__HMAC_HEX_SIZE];

    if (herald__hmac_hex(k, s, strlen(s), hex) != 0) {
        return NULL;
    }
    return strdup(hex);
}

int herald__hmac_is_hex(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return i == 2 * SHA256_LEN;
}
