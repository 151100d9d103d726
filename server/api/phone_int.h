/*
 * phone_int.h — what api/phone.c shares with api/phone_renew.c: the
 * context of one phone answer (POST /m/v1/sessions/:sid/response) and the
 * steps both use. Private to those two files.
 *
 * Why split: an extension's answer (purpose renew, PROTOCOL.md §10.4) has
 * its own chain check (a grace after expiry), its own TBS and its own
 * worker step (the CA issues); phone.c stays the common path of every
 * purpose and hands a renew answer over after the checks they share
 * (message, sid, session, purpose, origin).
 */
#ifndef MC_PHONE_INT_H
#define MC_PHONE_INT_H

#include <openssl/x509.h>
#include <string.h>

#include "mc_api.h"
#include "mc_proto.h"
#include "mc_results.h"
#include "mc_store_enroll.h"
#include "mc_store_sess.h"

typedef struct answer_ctx {
    mc_response m;                /* slices point into r->body */
    char answer[65];              /* SHA-256 hex of the whole message */
    char fp[65];                  /* the leaf's fingerprint, "-" if unparsable */
    mc_answer_ctx c;
    mc_answer_res res;
    mc_cert_rec rec;
    char who[80];
    /* sign sessions */
    mc_sign_info si;              /* the documents, from the record */
    mc_cert_info ci;
    EVP_PKEY *pub;                /* the leaf's key, for the worker */
    int bad_doc;                  /* worker: index of a failing document signature, or -1 */
    mc_err werr;                  /* worker: another failure */
    mc_buf cms[MC_DOCS_MAX];      /* worker: one SignedData per document */
    mc_buf results;
    /* renew sessions (phone_renew.c) */
    mc_buf newder;                /* worker: the new certificate's DER */
    mc_cert_info nci;             /* worker: what it holds */
    mc_sess_poll poll;            /* a repeated approval: the session's certificate */
    mc_enroll_cert again;         /* ... and its DER */
} answer_ctx;

/* The result body of an applied answer (also of one applied before):
 * inline here so that both files use it and neither depends on the other
 * (phone.c hands renew answers down to phone_renew.c). */
static inline void mc_phone_answer_reply(mc_req *r, const char *result, const char *account)
{
    if (strcmp(result, "wrong_number") == 0) {
        mc_reply_errf(r, 409, "wrong_number",
                      "the number picked is not the one on the web page; the session has ended");
        return;
    }
    mc_buf out = {0};
    mc_result_encode(result, account, &out);
    mc_reply_msgpack(r, 200, &out);
    mc_buf_free(&out);
}

/* A renew session's answer, after phone.c's checks (§10.4 steps 0-7′:
 * message, session, chain within the grace, TBS, the certificate being
 * renewed; x->ci is the leaf's): answers r. */
void mc_phone_renew_answer(mc_req *r);
/* The same answer applied before (x->c.dup): its first result again, with
 * the certificate it produced. */
void mc_phone_renew_again(mc_req *r);

#endif
