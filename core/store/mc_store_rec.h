/*
 * mc_store_rec.h — the durable records (organisations, accounts,
 * certificates, bindings) and the audit stream, over mc_store.
 *
 * Keys (all under the hash tag "{mc}", so that every multi-key function
 * stays in one cluster slot; sharding by organisation is future work):
 *   {mc}:org:<uscc>        hash   organisation (mc_org)
 *   {mc}:acct:<login>      hash   account (mc_account; password hash, role,
 *                                bound certificate, bind_gen)
 *   {mc}:orgaccts:<uscc>   set    logins of an organisation
 *   {mc}:cert:<fp>         hash   certificate record (mc_cert_rec)
 *   {mc}:audit             stream who/what/when/from, one entry per change
 *
 * Each struct's members are named as the hash fields, and one table per
 * struct (mc_store_rec.c) maps a reply to it: no hand-written parser per
 * hash. Strings are NUL-terminated fixed arrays (longer values truncate).
 *
 * Every call here is async on an async store (see mc_store.h): `out` and
 * privdata must live until cb runs. Errors are the wire codes listed with
 * each call, or 503 store_unavailable.
 */
#ifndef MC_STORE_REC_H
#define MC_STORE_REC_H

#include <stddef.h>
#include <stdint.h>

#include "mc_crypto.h"
#include "mc_session.h"
#include "mc_store.h"
#include "mc_x509.h"

#define MC_EVENTS_CHANNEL "{mc}:events"

typedef struct mc_org {
    char uscc[MC_USCC_LEN + 1];
    char name[129];
    int64_t created;
} mc_org;

typedef struct mc_account {
    char login[MC_ACCOUNT_MAX + 1];
    char name[129];
    char org[MC_USCC_LEN + 1];
    char role[12];                /* "admin" | "staff" | "operator" */
    char pw[MC_PWHASH_MAX];       /* scrypt encoding, see mc_crypto.h */
    char cert[65];                /* fingerprint hex of the bound cert, "" if none */
    char bound_by[MC_ACCOUNT_MAX + 1];
    int64_t bound_at;
    int64_t bind_gen;             /* counts binds and unbinds of this account */
    int64_t created;
} mc_account;

typedef struct mc_cert_rec {
    char fp[65];                  /* "" when no record was found */
    char serial[41];
    char uscc[MC_USCC_LEN + 1];
    char cn[129];
    char org_name[129];
    char issuer[129];
    char alg[8];
    char status[12];              /* "valid" | "revoked" | "superseded" */
    char account[MC_ACCOUNT_MAX + 1]; /* bound account or "" */
    int64_t not_before, not_after;
    int64_t revoked_at;           /* 0 unless revoked */
    int64_t superseded_at;        /* 0 unless a renewal replaced it (a
                                     superseded record revoked later keeps
                                     it: PROTOCOL.md §8.8, §9.8) */
    /* writes only: the certificate's DER (borrowed), kept in the record so
     * that a phone can prove its key to the inbox (§8.4); {NULL, 0} when
     * unknown. Reads leave it empty (mc_store_sign.h reads it). */
    mc_slice der;
} mc_cert_rec;

/* Who does a change and from where, for the audit stream. */
typedef struct mc_actor {
    const char *who;              /* account login, "mcertctl", "phone:<fp>" */
    const char *from;             /* client address or "cli" */
} mc_actor;

/* The record of a certificate that passed mc_cert_verify_chain or that
 * mcertctl issued (status "valid", no account). */
void mc_cert_rec_from_info(const mc_cert_info *ci, mc_cert_rec *c);

/* --- organisations and accounts --- */
/* org_exists (409). */
void mc_store_org_create(mc_store *st, const mc_org *o, const mc_actor *a, mc_store_cb cb,
                         void *privdata);
/* not_found (404). */
void mc_store_org_get(mc_store *st, const char *uscc, mc_org *out, mc_store_cb cb,
                      void *privdata);
/* not_found (404: no such organisation), account_exists (409). */
void mc_store_account_create(mc_store *st, const mc_account *acc, const mc_actor *a,
                             mc_store_cb cb, void *privdata);
/* not_found (404). */
void mc_store_account_get(mc_store *st, const char *login, mc_account *out, mc_store_cb cb,
                          void *privdata);
/* An account's organisation and bound certificate, in one round trip
 * (either may be missing: its first field is then ""). */
typedef struct mc_acct_view {
    mc_org org;
    mc_cert_rec cert;
} mc_acct_view;
void mc_store_account_view(mc_store *st, const char *uscc, const char *fp, mc_acct_view *out,
                           mc_store_cb cb, void *privdata);

/* Every account of an organisation (sorted by login, at most
 * MC_ORG_LIST_MAX) with its bound certificate's record. Three round trips
 * whatever the count. out->accs / out->certs are malloc'd by the call; free
 * them with mc_org_list_free (also after an error). */
#define MC_ORG_LIST_MAX 2000
typedef struct mc_org_list {
    mc_account *accs;
    mc_cert_rec *certs;           /* certs[i].fp "" if unbound or unrecorded */
    size_t n;
    /* internal state of the three steps */
    mc_store *st;
    mc_store_cb cb;
    void *privdata;
    char (*logins)[MC_ACCOUNT_MAX + 1];
} mc_org_list;
void mc_store_org_list(mc_store *st, const char *uscc, mc_org_list *out, mc_store_cb cb,
                       void *privdata);
void mc_org_list_free(mc_org_list *l);

/* --- certificates and bindings --- */
/* cert_exists (409). */
void mc_store_cert_put(mc_store *st, const mc_cert_rec *c, const mc_actor *a, mc_store_cb cb,
                       void *privdata);
/* A missing record is not an error: out->fp is then "". */
void mc_store_cert_get(mc_store *st, const char *fp, mc_cert_rec *out, mc_store_cb cb,
                       void *privdata);
/* Revocation (with its reason, the CRL, the serial index): mc_store_ca.h. */
/* Unbind account `login` from cert `fp` (both sides); the web sessions
 * that certificate made for the account stop authenticating. Errors:
 * not_found, not_bound (not bound to fp). */
void mc_store_unbind(mc_store *st, const char *login, const char *fp, const mc_actor *a,
                     mc_store_cb cb, void *privdata);

/* --- audit (blocking stores only: mcertctl and tests) --- */
/* The newest `count` entries, newest first: cb gets the entry id and its
 * field/value strings (valid only during the call). 0 / -1. */
typedef void (*mc_audit_cb)(void *privdata, const char *id, const char *const *kv, size_t nkv);
int mc_store_audit_each(mc_store *st, size_t count, mc_audit_cb cb, void *privdata, mc_err *err);
int mc_store_audit_len(mc_store *st, long long *n, mc_err *err);

#endif
