/*
 * mc_crypto.c — the two signature algorithms mcert accepts (SM2/SM3 with the
 * GM/T 0009 default ID, ECDSA P-256/SHA-256), digests, the CSPRNG, the text
 * encodings used on the wire and in QR codes, and scrypt password hashing.
 *
 * Why one file: these are thin, stateless wrappers over OpenSSL's EVP layer
 * that every other module needs, and keeping the SM2-ID rule in exactly one
 * place (sig_ctx_new, also behind mc_sign_ctx_new for certificate signing)
 * is what stops a forgotten EVP_PKEY_CTX_set1_id from silently producing
 * signatures with OpenSSL 3.0's empty default ID.
 *
 * Design:
 *  - Algorithm selection is by key: mc_pkey_alg() is the only classifier,
 *    and sign/verify refuse anything it calls MC_ALG_NONE.
 *  - EVP objects are created per call (no cached contexts: no mutable
 *    globals, thread-safe by construction). OpenSSL caches the implicit
 *    algorithm fetches itself.
 *  - Encoders are hand-written table lookups so that they are binary-safe,
 *    allocation-free (except mc_base64) and never depend on int-sized
 *    OpenSSL length parameters.
 *
 * Non-goals: RSA, raw r||s signatures, pre-hashed signing, key storage.
 */
#include "mc_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* scrypt parameters of newly made hashes; see mc_crypto.h for the format. */
#define PW_LOG2N 15
#define PW_R 8
#define PW_P 1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32
/* 128*r*N = 32 MiB for the default; allow some headroom for old/other
 * parameters, and refuse anything above (bounds what a stored string can
 * make us allocate). */
#define PW_MAXMEM ((uint64_t)64 * 1024 * 1024)

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b32_alpha[] = MC_BASE32_ALPHABET;

/* ------------------------------------------------------------------ */
/* algorithms and keys                                                 */

const char *mc_alg_name(mc_alg alg)
{
    switch (alg) {
    case MC_ALG_SM2:
        return "sm2";
    case MC_ALG_P256:
        return "p256";
    default:
        return "none";
    }
}

mc_alg mc_alg_parse(const char *name)
{
    if (name == NULL)
        return MC_ALG_NONE;
    if (strcmp(name, "sm2") == 0)
        return MC_ALG_SM2;
    if (strcmp(name, "p256") == 0)
        return MC_ALG_P256;
    return MC_ALG_NONE;
}

mc_alg mc_pkey_alg(const EVP_PKEY *pkey)
{
    char group[64];
    size_t glen = 0;

    if (pkey == NULL)
        return MC_ALG_NONE;
    if (EVP_PKEY_is_a(pkey, "SM2"))
        return MC_ALG_SM2;
    if (!EVP_PKEY_is_a(pkey, "EC"))
        return MC_ALG_NONE;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof(group), &glen) != 1) {
        ERR_clear_error(); /* explicit-parameter keys have no group name */
        return MC_ALG_NONE;
    }
    if (strcmp(group, "prime256v1") == 0)
        return MC_ALG_P256;
    return MC_ALG_NONE;
}

EVP_PKEY *mc_keygen(mc_alg alg, mc_err *err)
{
    EVP_PKEY *k = NULL;

    switch (alg) {
    case MC_ALG_SM2:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
        break;
    case MC_ALG_P256:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
        break;
    default:
        mc_err_set(err, 400, "unsupported_key", "unknown key algorithm");
        return NULL;
    }
    if (k == NULL) {
        ERR_clear_error();
        mc_err_set(err, 500, "internal", "key generation failed");
    }
    return k;
}

/* mc_pkey_alg, or MC_ALG_NONE with err "unsupported_key" (400). */
static mc_alg usable_alg(const EVP_PKEY *key, mc_err *err)
{
    mc_alg alg = mc_pkey_alg(key);
    if (alg == MC_ALG_NONE)
        mc_err_set(err, 400, "unsupported_key", "key is neither SM2 nor P-256");
    return alg;
}

/*
 * A one-shot digest-sign (sign != 0) or digest-verify context for key of
 * algorithm alg (SM2 or P-256, already checked). The one place where the
 * digest and, for SM2, the distinguishing ID are chosen: the ID is set on
 * the EVP_PKEY_CTX right after init, before any data is hashed
 * (Z = SM3(ENTL||ID||a||b||G||P) is computed on the first update).
 * NULL with err "internal" (500) if OpenSSL fails.
 */
static EVP_MD_CTX *sig_ctx_new(EVP_PKEY *key, mc_alg alg, int sign,
                               mc_err *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *dg = alg == MC_ALG_SM2 ? EVP_sm3() : EVP_sha256();

    if (md == NULL ||
        (sign ? EVP_DigestSignInit(md, &pctx, dg, NULL, key)
              : EVP_DigestVerifyInit(md, &pctx, dg, NULL, key)) != 1 ||
        (alg == MC_ALG_SM2 &&
         EVP_PKEY_CTX_set1_id(pctx, MC_SM2_ID, MC_SM2_ID_LEN) != 1)) {
        ERR_clear_error();
        EVP_MD_CTX_free(md);
        mc_err_set(err, 500, "internal", "%s %s setup failed",
                   mc_alg_name(alg), sign ? "signing" : "verify");
        return NULL;
    }
    return md;
}

EVP_MD_CTX *mc_sign_ctx_new(EVP_PKEY *key, mc_err *err)
{
    mc_alg alg = usable_alg(key, err);
    return alg == MC_ALG_NONE ? NULL : sig_ctx_new(key, alg, 1, err);
}

int mc_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t *sig,
            size_t *siglen, mc_err *err)
{
    mc_alg alg = usable_alg(key, err);
    EVP_MD_CTX *md;
    size_t n = MC_SIG_MAX;
    int rc = -1;

    if (alg == MC_ALG_NONE || (md = sig_ctx_new(key, alg, 1, err)) == NULL)
        return -1;
    if (EVP_DigestSign(md, sig, &n, msg, len) != 1) {
        ERR_clear_error();
        mc_err_set(err, 500, "internal", "%s signing failed", mc_alg_name(alg));
    } else {
        *siglen = n;
        rc = 0;
    }
    EVP_MD_CTX_free(md);
    return rc;
}

/* Hot path (once per phone answer): one context allocation, one verify. */
int mc_verify(EVP_PKEY *pub, const uint8_t *msg, size_t len,
              const uint8_t *sig, size_t siglen, mc_err *err)
{
    mc_alg alg = usable_alg(pub, err);
    EVP_MD_CTX *md;
    int rc = -1;

    if (alg == MC_ALG_NONE)
        return -1;
    if (sig == NULL || siglen == 0 || siglen > MC_SIG_MAX)
        return mc_err_set(err, 403, "bad_signature", "signature length %zu",
                          siglen);
    if ((md = sig_ctx_new(pub, alg, 0, err)) == NULL)
        return -1;
    /* 1 = valid; 0 = wrong; <0 = malformed DER or other error. OpenSSL
     * re-encodes (r,s) and rejects non-DER encodings of the signature. */
    if (EVP_DigestVerify(md, sig, siglen, msg, len) != 1) {
        ERR_clear_error();
        mc_err_set(err, 403, "bad_signature", "%s signature does not verify",
                   mc_alg_name(alg));
    } else {
        rc = 0;
    }
    EVP_MD_CTX_free(md);
    return rc;
}

/* ------------------------------------------------------------------ */
/* digests and randomness                                              */

/* One digest over parts[0..n) (concatenated). Aborts on an OpenSSL
 * internal error (there is no answer to return). */
static void digest_or_abort(const EVP_MD *dg, const mc_slice *parts, size_t n,
                            uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int olen = 0;
    int ok = md != NULL && EVP_DigestInit_ex(md, dg, NULL) == 1;

    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(md, parts[i].ptr, parts[i].len) == 1;
    if (!ok || EVP_DigestFinal_ex(md, out, &olen) != 1 || olen != 32) {
        fputs("mc_crypto: digest failed\n", stderr);
        abort();
    }
    EVP_MD_CTX_free(md);
}

void mc_sha256(const void *p, size_t n, uint8_t out[32])
{
    mc_slice s = {p, n};
    digest_or_abort(EVP_sha256(), &s, 1, out);
}

void mc_sha256_parts(const mc_slice *parts, size_t n, uint8_t out[32])
{
    digest_or_abort(EVP_sha256(), parts, n, out);
}

void mc_sm3(const void *p, size_t n, uint8_t out[32])
{
    mc_slice s = {p, n};
    digest_or_abort(EVP_sm3(), &s, 1, out);
}

void mc_random(void *out, size_t n)
{
    uint8_t *p = out;
    while (n > 0) {
        int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(p, chunk) != 1) {
            fputs("mc_crypto: RAND_bytes failed\n", stderr);
            abort();
        }
        p += chunk;
        n -= (size_t)chunk;
    }
}

/* Aborts if bound == 0 (a broken caller invariant: there is no answer). */
uint32_t mc_random_below(uint32_t bound)
{
    uint32_t r;
    uint32_t min;

    if (bound == 0) {
        fputs("mc_random_below: bound 0\n", stderr);
        abort();
    }
    /* 2^32 mod bound: values below it would bias the low residues. */
    min = (uint32_t)(-bound) % bound;
    do {
        mc_random(&r, sizeof(r));
    } while (r < min);
    return r % bound;
}

int mc_ct_eq(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* ------------------------------------------------------------------ */
/* encodings                                                           */

void mc_hex(const uint8_t *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mc_unhex(const char *s, size_t slen, uint8_t *out, size_t n)
{
    if (n > SIZE_MAX / 2 || slen != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_val(s[2 * i]);
        int lo = hex_val(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* Base64 with the given alphabet; pads with '=' if pad. Writes
 * 4*ceil(n/3) (padded) or fewer chars plus NUL; returns chars written. */
static size_t b64_encode(const char *alpha, int pad, const uint8_t *p,
                         size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

char *mc_base64(const uint8_t *p, size_t n)
{
    if (n / 3 >= (SIZE_MAX - 8) / 4) {
        fputs("mc_base64: size overflow\n", stderr);
        abort();
    }
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out == NULL) {
        fputs("mc_base64: out of memory\n", stderr);
        abort();
    }
    b64_encode(b64_std, 1, p, n, out);
    return out;
}

void mc_base64url(const uint8_t *p, size_t n, char *out)
{
    b64_encode(b64_url, 0, p, n, out);
}

static int b64url_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Strict unpadded base64url decode of s[0..slen) into out (cap bytes).
 * Rejects bad characters, a length of 1 mod 4, and non-zero unused bits
 * (so that each byte string has exactly one accepted encoding). Returns
 * the decoded length or -1. */
static long b64url_decode(const char *s, size_t slen, uint8_t *out, size_t cap)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;

    if (slen % 4 == 1)
        return -1;
    for (size_t i = 0; i < slen; i++) {
        int v = b64url_val(s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return -1;
    return (long)o;
}

void mc_base32(const uint8_t *p, size_t n, char *out)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;

    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32_alpha[(acc >> bits) & 31];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0)
        out[o++] = b32_alpha[(acc << (5 - bits)) & 31];
    out[o] = '\0';
}

/* ------------------------------------------------------------------ */
/* scrypt                                                              */

/* Derive outlen bytes; 0 / -1. Fails (without aborting) if the
 * parameters need more than PW_MAXMEM. */
static int scrypt_derive(const char *pw, size_t pwlen, const uint8_t *salt,
                         size_t saltlen, uint64_t n, uint32_t r, uint32_t p,
                         uint8_t *out, size_t outlen)
{
    int rc = -1;
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *kctx = NULL;
    uint64_t maxmem = PW_MAXMEM;
    OSSL_PARAM params[7];
    OSSL_PARAM *q = params;

    /* OSSL_PARAM wants non-const pointers; nothing is written through them. */
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                             (void *)(pwlen ? pw : ""), pwlen);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                             (void *)salt, saltlen);
    *q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    *q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    *q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    *q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
    *q = OSSL_PARAM_construct_end();

    if ((kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL)) == NULL ||
        (kctx = EVP_KDF_CTX_new(kdf)) == NULL ||
        EVP_KDF_derive(kctx, out, outlen, params) != 1) {
        ERR_clear_error();
        goto done;
    }
    rc = 0;
done:
    EVP_KDF_CTX_free(kctx); /* clears its copy of the password */
    EVP_KDF_free(kdf);
    return rc;
}

int mc_password_hash(const char *pw, size_t pwlen, char *out, mc_err *err)
{
    uint8_t salt[PW_SALT_LEN];
    uint8_t hash[PW_HASH_LEN];
    char salt_s[4 * ((PW_SALT_LEN + 2) / 3) + 1];
    char hash_s[4 * ((PW_HASH_LEN + 2) / 3) + 1];
    int rc = -1;

    mc_random(salt, sizeof(salt));
    if (scrypt_derive(pw, pwlen, salt, sizeof(salt), (uint64_t)1 << PW_LOG2N,
                      PW_R, PW_P, hash, sizeof(hash)) != 0) {
        mc_err_set(err, 500, "internal", "scrypt failed");
        goto done;
    }
    mc_base64url(salt, sizeof(salt), salt_s);
    mc_base64url(hash, sizeof(hash), hash_s);
    snprintf(out, MC_PWHASH_MAX, "scrypt$%d$%d$%d$%s$%s", PW_LOG2N, PW_R,
             PW_P, salt_s, hash_s);
    rc = 0;
done:
    OPENSSL_cleanse(hash, sizeof(hash));
    OPENSSL_cleanse(hash_s, sizeof(hash_s));
    return rc;
}

/* Parse a decimal field of at most 2 digits terminated by '$' at *s;
 * advance past the '$'. -1 if malformed. */
static int parse_small(const char **s, const char *end)
{
    const char *p = *s;
    int v = 0, digits = 0;

    while (p < end && *p >= '0' && *p <= '9' && digits < 3) {
        v = v * 10 + (*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || digits > 2 || (digits > 1 && **s == '0') || p >= end ||
        *p != '$')
        return -1;
    *s = p + 1;
    return v;
}

int mc_password_verify(const char *pw, size_t pwlen, const char *encoded)
{
    uint8_t salt[64];
    uint8_t want[64];
    uint8_t got[64];
    long saltlen, wantlen;
    int rc = -1;
    int ln, r, p;
    size_t elen;
    const char *s, *end, *dollar;

    if (encoded == NULL)
        return -1;
    elen = strnlen(encoded, MC_PWHASH_MAX);
    if (elen >= MC_PWHASH_MAX || elen < 7 || memcmp(encoded, "scrypt$", 7) != 0)
        return -1;
    s = encoded + 7;
    end = encoded + elen;
    /* Cost fields: log2(N) 1..20, r 1..32, p 1..16; PW_MAXMEM caps memory. */
    if ((ln = parse_small(&s, end)) < 1 || ln > 20 ||
        (r = parse_small(&s, end)) < 1 || r > 32 ||
        (p = parse_small(&s, end)) < 1 || p > 16)
        return -1;
    if ((dollar = memchr(s, '$', (size_t)(end - s))) == NULL)
        return -1;
    saltlen = b64url_decode(s, (size_t)(dollar - s), salt, sizeof(salt));
    s = dollar + 1;
    wantlen = b64url_decode(s, (size_t)(end - s), want, sizeof(want));
    if (saltlen < 8 || wantlen < 16)
        goto done;
    if (scrypt_derive(pw, pwlen, salt, (size_t)saltlen, (uint64_t)1 << ln,
                      (uint32_t)r, (uint32_t)p, got, (size_t)wantlen) != 0)
        goto done;
    if (CRYPTO_memcmp(got, want, (size_t)wantlen) == 0)
        rc = 0;
done:
    OPENSSL_cleanse(got, sizeof(got));
    OPENSSL_cleanse(want, sizeof(want));
    return rc;
}
