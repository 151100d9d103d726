/*
 * mc_crypto.h — the signature algorithms mcert accepts, and the small
 * encodings around them.
 *
 * Two device-key algorithms exist, and only two:
 *   MC_ALG_SM2  — SM2 signature with SM3, distinguishing ID "1234567812345678"
 *                 (GM/T 0009 default), set explicitly on every sign and verify
 *                 (OpenSSL 3.0's own default is the empty ID).
 *   MC_ALG_P256 — ECDSA on prime256v1 with SHA-256.
 * Signatures are DER (SEQUENCE{r,s}) in both cases. Any other key type or
 * curve is "unknown" and rejected (error code "unsupported_key").
 *
 * Non-goals: no RSA, no raw (r||s) signatures, no pre-hashed API here (the
 * cosign issue adds that). Randomness comes only from RAND_bytes (OS CSPRNG).
 *
 * Ownership: EVP_PKEY results are owned by the caller (EVP_PKEY_free).
 */
#ifndef MC_CRYPTO_H
#define MC_CRYPTO_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_err.h"

typedef enum mc_alg {
    MC_ALG_NONE = 0,
    MC_ALG_SM2 = 1,
    MC_ALG_P256 = 2,
} mc_alg;

#define MC_SM2_ID "1234567812345678"
#define MC_SM2_ID_LEN 16
#define MC_SIG_MAX 80 /* DER ECDSA/SM2 signature over a 256-bit curve is <= 72 */

/* "sm2" / "p256" <-> enum. mc_alg_parse returns MC_ALG_NONE if unknown. */
const char *mc_alg_name(mc_alg alg);
mc_alg mc_alg_parse(const char *name);

/* Which of our algorithms this key is for: SM2 keys (EVP_PKEY_is_a "SM2"),
 * EC keys on prime256v1. Anything else (incl. EC on the SM2 curve, RSA,
 * P-384) is MC_ALG_NONE. */
mc_alg mc_pkey_alg(const EVP_PKEY *pkey);

/* New private key. NULL on failure (err set). */
EVP_PKEY *mc_keygen(mc_alg alg, mc_err *err);

/* Sign msg with key (SM2: SM3 + MC_SM2_ID; P-256: SHA-256). sig must hold
 * MC_SIG_MAX bytes; *siglen receives the DER length. 0 / -1. */
int mc_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t *sig,
            size_t *siglen, mc_err *err);

/* Verify. 0 if valid; -1 otherwise with err "bad_signature" (403) for a
 * wrong or malformed signature, "unsupported_key" (400) for a key we do
 * not accept. */
int mc_verify(EVP_PKEY *pub, const uint8_t *msg, size_t len,
              const uint8_t *sig, size_t siglen, mc_err *err);

/* Sign through OpenSSL's own structures (X509_sign_ctx): a digest-sign
 * context set up exactly as mc_sign's (SM2: SM3 + MC_SM2_ID; P-256:
 * SHA-256). Owned by the caller (EVP_MD_CTX_free). NULL with err set:
 * "unsupported_key" (400) as mc_sign, "internal" (500). */
EVP_MD_CTX *mc_sign_ctx_new(EVP_PKEY *key, mc_err *err);

/* Digests. Never fail (abort on an OpenSSL internal error).
 * mc_sha256_parts hashes the concatenation of parts[0..n) without copying. */
void mc_sha256(const void *p, size_t n, uint8_t out[32]);
void mc_sha256_parts(const mc_slice *parts, size_t n, uint8_t out[32]);
void mc_sm3(const void *p, size_t n, uint8_t out[32]);

/* OS CSPRNG. Aborts if RAND_bytes fails (no safe way to continue). */
void mc_random(void *out, size_t n);

/* Uniform random integer in [0, bound), bound > 0 (rejection sampling). */
uint32_t mc_random_below(uint32_t bound);

/* Constant-time equality of two equal-length byte strings: 1 equal, 0 not. */
int mc_ct_eq(const void *a, const void *b, size_t n);

/* Lower-case hex. out must hold 2*n+1; always NUL-terminates. */
void mc_hex(const uint8_t *p, size_t n, char *out);
/* Parse exactly 2*n hex chars (either case) from s (len slen) into out.
 * 0 / -1 (wrong length or non-hex). */
int mc_unhex(const char *s, size_t slen, uint8_t *out, size_t n);

/* Base64 (standard alphabet, padded) into an owned, NUL-terminated
 * string (caller frees with free()). Aborts on OOM. */
char *mc_base64(const uint8_t *p, size_t n);
/* Base64url without padding; out must hold 4*((n+2)/3)+1. */
void mc_base64url(const uint8_t *p, size_t n, char *out);

/* Crockford-style base32 (upper case; fits QR alphanumeric mode). Session
 * ids are written in it (mc_sid_valid checks against the same alphabet).
 * out must hold (n*8+4)/5 + 1. */
#define MC_BASE32_ALPHABET "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
void mc_base32(const uint8_t *p, size_t n, char *out);

/* scrypt password hashing (OpenSSL EVP_KDF "SCRYPT").
 * Encoded form: "scrypt$N$r$p$<salt b64url>$<hash b64url>", N=2^15 r=8 p=1,
 * 16-byte salt, 32-byte output. out must hold MC_PWHASH_MAX.
 * The N field holds log2(N), so new hashes read "scrypt$15$8$1$...$...";
 * salt and hash are unpadded base64url. Verification accepts log2(N) 1..20,
 * r 1..32, p 1..16 but refuses parameters needing more than 64 MiB.
 * mc_password_verify compares in constant time; 0 = match, -1 = no match
 * or malformed. Cost: ~32 MiB and tens of ms per call. */
#define MC_PWHASH_MAX 160
int mc_password_hash(const char *pw, size_t pwlen, char *out, mc_err *err);
int mc_password_verify(const char *pw, size_t pwlen, const char *encoded);

#endif
