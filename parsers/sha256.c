/*
 * sha256.c — SHA-256 through nettle, behind helpgate's own type (see sha256.h).
 */
#include "helpgate/sha256.h"

#include <nettle/sha2.h>

#include <assert.h>
#include <stdint.h>

static_assert(sizeof(struct sha256_ctx) <= sizeof(((struct hg_sha256 *)0)->opaque),
              "struct hg_sha256 is too small for nettle's sha256_ctx");
static_assert(_Alignof(struct sha256_ctx) <= 16, "struct hg_sha256 is not aligned enough");

static struct sha256_ctx *nettle_ctx(struct hg_sha256 *ctx)
{
    return (struct sha256_ctx *)(void *)ctx->opaque;
}

void hg_sha256_init(struct hg_sha256 *ctx)
{
    sha256_init(nettle_ctx(ctx));
}

void hg_sha256_update(struct hg_sha256 *ctx, const void *data, size_t len)
{
    sha256_update(nettle_ctx(ctx), len, data);
}

void hg_sha256_final(struct hg_sha256 *ctx, unsigned char digest[HG_SHA256_SIZE])
{
    sha256_digest(nettle_ctx(ctx), HG_SHA256_SIZE, digest);
}

void hg_sha256_final_hex(struct hg_sha256 *ctx, char hex[HG_SHA256_HEX_SIZE])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char digest[HG_SHA256_SIZE];
    hg_sha256_final(ctx, digest);
    for (size_t i = 0; i < HG_SHA256_SIZE; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 0x0F];
    }
    hex[2 * HG_SHA256_SIZE] = '\0';
}

void hg_sha256_hex(const void *data, size_t len, char hex[HG_SHA256_HEX_SIZE])
{
    struct hg_sha256 ctx;
    hg_sha256_init(&ctx);
    hg_sha256_update(&ctx, data, len);
    hg_sha256_final_hex(&ctx, hex);
}
