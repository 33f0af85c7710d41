/*
 * sha256.h — SHA-256 (FIPS 180-4) digests, one-shot or incremental.
 *
 * A thin wrapper over nettle so that no nettle type leaks into helpgate's
 * headers: struct hg_sha256 is opaque storage sized for nettle's context.
 * Pure, no allocation, cannot fail. Hex digests are 64 lower-case hex digits
 * plus a NUL, written into the caller's buffer.
 */
#ifndef HELPGATE_SHA256_H
#define HELPGATE_SHA256_H

#include <stddef.h>

#define HG_SHA256_SIZE 32
#define HG_SHA256_HEX_SIZE 65 /* 64 hex digits and the NUL */

struct hg_sha256 {
    _Alignas(16) unsigned char opaque[128];
};

void hg_sha256_init(struct hg_sha256 *ctx);
void hg_sha256_update(struct hg_sha256 *ctx, const void *data, size_t len);
/* Writes the digest and leaves CTX ready for a new message. */
void hg_sha256_final(struct hg_sha256 *ctx, unsigned char digest[HG_SHA256_SIZE]);
void hg_sha256_final_hex(struct hg_sha256 *ctx, char hex[HG_SHA256_HEX_SIZE]);

/* The digest of LEN bytes at DATA, as hex. */
void hg_sha256_hex(const void *data, size_t len, char hex[HG_SHA256_HEX_SIZE]);

#endif
