/*
 * mc_phone_keys.c — the phone's key history (PROTOCOL.md §10.7): the
 * current certificate and every archived one, and the key of any of them.
 *
 * Why: a renewal with a new key (rekey) must not make old bids unreadable
 * or old signatures unprovable (the manual warns of exactly that). The
 * phone keeps every key it ever had, next to its certificate, and finds it
 * by what an old document carries: the certificate's fingerprint, or a CMS
 * SignerInfo's / RecipientInfo's identifier (issuerAndSerialNumber or
 * subjectKeyIdentifier).
 *
 * Design: the archive is the directory keys/ of the store: keys/<fp>.crt
 * (the chain that was chain.pem, leaf first) and keys/<fp>.key (the key
 * that was key.pem, still under the PIN), written by mc_phone_renew.c and
 * never deleted. A lookup reads every certificate (no index: a phone holds
 * a handful) and decrypts only the one key that matches. An archive file
 * whose leaf's fingerprint is not its name is refused (bad_store): the
 * name is what the lookup by fingerprint trusts.
 *
 * Non-goals: decrypting or verifying CMS itself (the caller has the key
 * and certificate then), keys of other phones, deleting old keys.
 */
#include "mc_phone_int.h"

#include <dirent.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARCHIVE_DIR "keys"

/* 1 if name is "<64 lower-case hex>.crt"; fp_hex gets the hex. */
static int crt_name(const char *name, char fp_hex[65])
{
    if (strlen(name) != 68 || strcmp(name + 64, ".crt") != 0)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return 0;
    memcpy(fp_hex, name, 64);
    fp_hex[64] = '\0';
    return 1;
}

/* The leaf of store file `name` (a chain PEM). Caller frees. */
static X509 *read_leaf(const char *dir, const char *name, mc_phone_err *err)
{
    mc_buf pem = {0};
    X509 *xs[MC_CHAIN_MAX];
    size_t n = 0;
    X509 *leaf = NULL;
    if (mc_phone_store_read(dir, name, &pem, NULL, err) == 0 &&
        mc_phone_chain_parse(pem.ptr, pem.len, xs, &n, err) == 0) {
        leaf = xs[0];
        for (size_t i = 1; i < n; i++)
            X509_free(xs[i]);
    } else if (err != NULL) {
        snprintf(err->code, sizeof(err->code), "bad_store");
    }
    mc_buf_free(&pem);
    return leaf;
}

/* The store's certificates: the current leaf (if any) as ents[0] with
 * current = 1, then the archive's, with their X509 in xs[] (caller frees
 * xs[0..*n)). At most max. */
static int load_all(const char *dir, X509 **xs, mc_phone_keyent *ents, size_t max, size_t *n,
                    mc_phone_err *err)
{
    char path[4200];
    DIR *d = NULL;
    mc_err e = {0};
    int rc = -1, missing = 0;
    mc_buf probe = {0};

    *n = 0;
    /* the current one: chain.pem, if imported */
    if (mc_phone_store_read(dir, MC_PHONE_CHAIN_FILE, &probe, &missing, err) != 0) {
        if (!missing)
            goto done;
        mc_phone_err_clear(err);
    } else if (max > 0) {
        X509 *x = read_leaf(dir, MC_PHONE_CHAIN_FILE, err);
        if (x == NULL)
            goto done;
        xs[*n] = x;
        ents[*n].current = 1;
        if (mc_cert_info_of(x, &ents[*n].leaf, &e) != 0) {
            (*n)++;
            mc_phone_err_from(err, &e);
            goto done;
        }
        (*n)++;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, ARCHIVE_DIR);
    d = opendir(path);
    if (d == NULL) {
        rc = 0; /* no archive yet */
        goto done;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL && *n < max) {
        char fp_hex[65], name[128];
        if (!crt_name(de->d_name, fp_hex))
            continue;
        snprintf(name, sizeof(name), "%s/%s.crt", ARCHIVE_DIR, fp_hex);
        X509 *x = read_leaf(dir, name, err);
        if (x == NULL)
            goto done;
        xs[*n] = x;
        ents[*n].current = 0;
        if (mc_cert_info_of(x, &ents[*n].leaf, &e) != 0) {
            (*n)++;
            mc_phone_err_from(err, &e);
            goto done;
        }
        (*n)++;
        if (strcmp(ents[*n - 1].leaf.fp_hex, fp_hex) != 0) {
            mc_phone_fail(err, 400, "bad_store", "%s is not the certificate %s", name, fp_hex);
            goto done;
        }
    }
    rc = 0;
done:
    if (d != NULL)
        closedir(d);
    mc_buf_free(&probe);
    ERR_clear_error();
    return rc;
}

/* Archived ones newest notAfter first (the current one stays first). */
static int by_not_after_desc(const void *a, const void *b)
{
    const mc_phone_keyent *x = a, *y = b;
    if (x->current != y->current)
        return y->current - x->current;
    return x->leaf.not_after < y->leaf.not_after ? 1 : x->leaf.not_after > y->leaf.not_after ? -1
                                                                                               : 0;
}

int mc_phone_keys(const char *dir, mc_phone_keyent *out, size_t max, size_t *count,
                  mc_phone_err *err)
{
    X509 *xs[MC_PHONE_KEYS_MAX];
    size_t n = 0;
    mc_phone_err_clear(err);
    *count = 0;
    if (max > MC_PHONE_KEYS_MAX)
        max = MC_PHONE_KEYS_MAX;
    int rc = load_all(dir, xs, out, max, &n, err);
    for (size_t i = 0; i < n; i++)
        X509_free(xs[i]);
    if (rc != 0)
        return -1;
    qsort(out, n, sizeof(*out), by_not_after_desc);
    *count = n;
    return 0;
}

/* 1 if x is the certificate id names. */
static int matches(X509 *x, const mc_cert_info *info, const mc_phone_keyid *id)
{
    if (id->fp != NULL)
        return CRYPTO_memcmp(info->fp, id->fp, 32) == 0;
    if (id->issuer != NULL && id->serial != NULL)
        return X509_NAME_cmp(X509_get_issuer_name(x), id->issuer) == 0 &&
               ASN1_INTEGER_cmp(X509_get0_serialNumber(x), id->serial) == 0;
    if (id->ski != NULL) {
        const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
        return ski != NULL && ASN1_OCTET_STRING_cmp(ski, id->ski) == 0;
    }
    return 0;
}

EVP_PKEY *mc_phone_find_key(const char *dir, const char *pin, const mc_phone_keyid *id,
                            X509 **cert, int *current, mc_phone_err *err)
{
    X509 *xs[MC_PHONE_KEYS_MAX];
    mc_phone_keyent ents[MC_PHONE_KEYS_MAX]; /* about 40 KiB of stack */
    size_t n = 0, hit = 0;
    EVP_PKEY *key = NULL;
    int found = 0;

    mc_phone_err_clear(err);
    if (cert != NULL)
        *cert = NULL;
    if (current != NULL)
        *current = 0;
    if (id == NULL || (id->fp == NULL && (id->issuer == NULL || id->serial == NULL) &&
                       id->ski == NULL)) {
        mc_phone_fail(err, 400, "bad_request", "no fingerprint, issuer+serial or SKI given");
        return NULL;
    }
    if (load_all(dir, xs, ents, MC_PHONE_KEYS_MAX, &n, err) != 0)
        goto done;
    for (size_t i = 0; i < n && !found; i++)
        if (matches(xs[i], &ents[i].leaf, id)) {
            found = 1;
            hit = i;
        }
    if (!found) {
        mc_phone_fail(err, 404, "not_found", "this phone never held that certificate");
        goto done;
    }
    char name[128];
    if (ents[hit].current)
        snprintf(name, sizeof(name), "%s", MC_PHONE_KEY_FILE);
    else
        snprintf(name, sizeof(name), "%s/%s.key", ARCHIVE_DIR, ents[hit].leaf.fp_hex);
    key = mc_phone_store_key(dir, name, pin, err);
    if (key == NULL)
        goto done;
    if (EVP_PKEY_eq(X509_get0_pubkey(xs[hit]), key) != 1) {
        EVP_PKEY_free(key);
        key = NULL;
        mc_phone_fail(err, 400, "bad_store", "%s is not the key of its certificate", name);
        goto done;
    }
    if (current != NULL)
        *current = ents[hit].current;
    if (cert != NULL) {
        *cert = xs[hit];
        xs[hit] = NULL;
    }
done:
    ERR_clear_error();
    for (size_t i = 0; i < n; i++)
        X509_free(xs[i]);
    return key;
}
