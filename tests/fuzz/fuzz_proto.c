/*
 * fuzz_proto.c — libFuzzer target for the untrusted-msgpack decoders of
 * core/proto/mc_proto.c.
 *
 * Why: every byte a phone sends reaches mc_response_decode; the pre-check
 * (mc_mp_check) is what keeps msgpack-c from reserving gigabytes or
 * recursing deep. A fuzzer finds the frames unit tests do not think of.
 *
 * Design: one input is fed to mc_mp_check and every decoder (response,
 * view with and without sign / renew storage, error, result, the renew
 * reply, documents, inbox, the enroll request and reply).
 * Besides "no crash / no sanitizer report", it checks these properties and
 * aborts if one breaks:
 *   1. if mc_mp_check accepts, msgpack_unpack_next parses the same bytes to
 *      SUCCESS with offset == size (the pre-check is never looser than the
 *      parser);
 *   2. no decoder succeeds on bytes mc_mp_check rejects;
 *   3. whatever a decoder accepts re-encodes to bytes that decode to the
 *      same fields (encode/decode agree), for every message;
 *   4. mc_docs_decode accepts only canonical bytes: its output re-encodes
 *      to exactly the input (the TBS carries those bytes);
 *   5. a view decoded without sign storage is never a sign view; decoded
 *      with it, the storage is filled only for a sign view (else zero);
 *      the same for renew storage and a renew view;
 *   6. a response carries csr iff its purpose is renew (and a reject's is
 *      empty); a renew reply carries fp and chain iff it is approved.
 *
 * Built and run by tests/fuzz/run.sh (clang -fsanitize=fuzzer), which ctest
 * runs as the "fuzz" test; CMake does not build it as a normal target.
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_enroll_proto.h"
#include "mc_proto.h"
#include "mc_results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "fuzz_proto: property failed: %s (line %d)\n", \
                    #cond, __LINE__);                                     \
            abort();                                                      \
        }                                                                 \
    } while (0)

static void check_response_doc_sigs(const mc_response *r, const mc_response *d)
{
    FUZZ_CHECK(d->ndoc_sigs == r->ndoc_sigs);
    for (size_t i = 0; i < r->ndoc_sigs; i++)
        FUZZ_CHECK(d->doc_sigs[i].len == r->doc_sigs[i].len &&
                   memcmp(d->doc_sigs[i].ptr, r->doc_sigs[i].ptr, r->doc_sigs[i].len) == 0);
}

static void check_response_round_trip(const mc_response *r)
{
    mc_buf b = {0};
    mc_response d;
    mc_err err;
    mc_response_encode(r, &b);
    FUZZ_CHECK(mc_response_decode(b.ptr, b.len, &d, &err) == 0);
    FUZZ_CHECK(d.v == r->v && d.number == r->number && d.nchain == r->nchain);
    FUZZ_CHECK(strcmp(d.sid, r->sid) == 0 && strcmp(d.purpose, r->purpose) == 0);
    FUZZ_CHECK(strcmp(d.origin, r->origin) == 0);
    FUZZ_CHECK(strcmp(d.decision, r->decision) == 0);
    for (size_t i = 0; i < r->nchain; i++)
        FUZZ_CHECK(d.chain[i].len == r->chain[i].len &&
                   memcmp(d.chain[i].ptr, r->chain[i].ptr, r->chain[i].len) == 0);
    FUZZ_CHECK(d.sig.len == r->sig.len &&
               memcmp(d.sig.ptr, r->sig.ptr, r->sig.len) == 0);
    check_response_doc_sigs(r, &d);
    FUZZ_CHECK(d.has_csr == r->has_csr && d.csr.len == r->csr.len &&
               (r->csr.len == 0 || memcmp(d.csr.ptr, r->csr.ptr, r->csr.len) == 0));
    mc_buf_free(&b);
}

/* v->sign and v->renew are NULL or the storage v was decoded with. */
static void check_view_round_trip(const mc_session_view *v)
{
    mc_buf b = {0};
    mc_sign_info dsi;
    mc_renew_info dri;
    mc_session_view d = {.sign = v->sign != NULL ? &dsi : NULL,
                         .renew = v->renew != NULL ? &dri : NULL};
    mc_err err;
    mc_view_encode(v, &b);
    FUZZ_CHECK(mc_view_decode(b.ptr, b.len, &d, &err) == 0);
    /* both zeroed, then filled */
    FUZZ_CHECK(memcmp(&d.s, &v->s, sizeof(d.s)) == 0);
    FUZZ_CHECK(memcmp(d.requester_name, v->requester_name, sizeof(d.requester_name)) == 0);
    FUZZ_CHECK(memcmp(d.org_name, v->org_name, sizeof(d.org_name)) == 0);
    if (v->sign != NULL)
        FUZZ_CHECK(memcmp(&dsi, v->sign, sizeof(dsi)) == 0);
    if (v->renew != NULL)
        FUZZ_CHECK(memcmp(&dri, v->renew, sizeof(dri)) == 0);
    mc_buf_free(&b);
}

static void check_renew_result_round_trip(const mc_renew_result *r)
{
    mc_buf b = {0};
    mc_renew_result d;
    mc_err err;
    FUZZ_CHECK(mc_result_renew_encode(r->state, r->account, r->fp, r->chain, r->nchain, &b) ==
               0);
    FUZZ_CHECK(mc_result_renew_decode(b.ptr, b.len, &d, &err) == 0);
    FUZZ_CHECK(strcmp(d.state, r->state) == 0 && strcmp(d.account, r->account) == 0 &&
               strcmp(d.fp, r->fp) == 0 && d.nchain == r->nchain);
    for (size_t i = 0; i < r->nchain; i++)
        FUZZ_CHECK(d.chain[i].len == r->chain[i].len &&
                   memcmp(d.chain[i].ptr, r->chain[i].ptr, r->chain[i].len) == 0);
    mc_buf_free(&b);
}

static void check_docs_round_trip(const uint8_t *data, size_t size, const mc_sign_info *si)
{
    mc_buf b = {0};
    FUZZ_CHECK(si->ndocs >= 1 && si->ndocs <= MC_DOCS_MAX);
    mc_docs_encode(si, &b);
    FUZZ_CHECK(b.len == size && memcmp(b.ptr, data, size) == 0);
    mc_buf_free(&b);
}

static void check_inbox_round_trip(int64_t now, const mc_inbox_entry *e, size_t count)
{
    static mc_inbox_entry d[MC_INBOX_MAX];
    mc_buf entries = {0}, b = {0};
    mc_err err;
    int64_t now2;
    size_t count2;
    for (size_t i = 0; i < count; i++)
        mc_inbox_entry_encode(&e[i], &entries);
    mc_inbox_reply_encode(now, entries.ptr, entries.len, count, &b);
    FUZZ_CHECK(mc_inbox_decode(b.ptr, b.len, &now2, d, MC_INBOX_MAX, &count2, &err) == 0);
    FUZZ_CHECK(now2 == now && count2 == count);
    for (size_t i = 0; i < count; i++)
        FUZZ_CHECK(memcmp(&d[i], &e[i], sizeof(d[i])) == 0); /* zeroed, then filled */
    mc_buf_free(&entries);
    mc_buf_free(&b);
}

/* code/msg as mc_error_decode filled them (msg fits mc_err.msg). */
static void check_error_round_trip(const char *code, const char *msg)
{
    mc_buf b = {0};
    mc_err e;
    char c2[160], m2[160];
    mc_err_clear(&e);
    FUZZ_CHECK(strlen(msg) < sizeof(e.msg));
    e.code = code;
    memcpy(e.msg, msg, strlen(msg) + 1);
    mc_error_encode(&e, &b);
    FUZZ_CHECK(mc_error_decode(b.ptr, b.len, c2, sizeof(c2), m2, sizeof(m2)) == 0);
    FUZZ_CHECK(strcmp(c2, code) == 0 && strcmp(m2, msg) == 0);
    mc_buf_free(&b);
}

static void check_result_round_trip(const char *state, const char *account)
{
    mc_buf b = {0};
    mc_err err;
    char s2[160], a2[160];
    mc_result_encode(state, account, &b);
    FUZZ_CHECK(mc_result_decode(b.ptr, b.len, s2, sizeof(s2), a2, sizeof(a2), &err) == 0);
    FUZZ_CHECK(strcmp(s2, state) == 0 && strcmp(a2, account) == 0);
    mc_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mc_err err;
    int ok = mc_mp_check(data, size, MC_PHONE_BODY_MAX, &err) == 0;

    if (ok) {
        msgpack_unpacked u;
        size_t off = 0;
        msgpack_unpacked_init(&u);
        msgpack_unpack_return rc =
            msgpack_unpack_next(&u, (const char *)data, size, &off);
        FUZZ_CHECK(rc == MSGPACK_UNPACK_SUCCESS && off == size);
        msgpack_unpacked_destroy(&u);
    }

    mc_response r;
    if (mc_response_decode(data, size, &r, &err) == 0) {
        FUZZ_CHECK(ok);
        check_response_round_trip(&r);
    }

    /* a sign response carries doc_sigs, no other one does */
    if (mc_response_decode(data, size, &r, &err) == 0 && strcmp(r.purpose, "sign") != 0)
        FUZZ_CHECK(r.ndoc_sigs == 0);
    /* a renew response carries csr (empty for a reject), no other one does */
    if (mc_response_decode(data, size, &r, &err) == 0) {
        FUZZ_CHECK(r.has_csr == (strcmp(r.purpose, "renew") == 0));
        FUZZ_CHECK(r.csr.len <= MC_RENEW_CSR_MAX);
        FUZZ_CHECK(r.csr.len == 0 || strcmp(r.decision, "approve") == 0);
    }

    mc_session_view v = {.sign = NULL};
    if (mc_view_decode(data, size, &v, &err) == 0) {
        FUZZ_CHECK(ok);
        FUZZ_CHECK(v.s.purpose != MC_PURPOSE_SIGN && v.sign == NULL);
        FUZZ_CHECK(v.s.purpose != MC_PURPOSE_RENEW && v.renew == NULL);
        check_view_round_trip(&v);
    }
    static mc_renew_info ri;
    static const mc_renew_info zero_ri;
    mc_session_view rv = {.sign = NULL, .renew = &ri};
    if (mc_view_decode(data, size, &rv, &err) == 0) {
        FUZZ_CHECK(ok);
        FUZZ_CHECK(rv.renew == &ri && rv.s.purpose != MC_PURPOSE_SIGN);
        if (rv.s.purpose != MC_PURPOSE_RENEW)
            FUZZ_CHECK(memcmp(&ri, &zero_ri, sizeof(ri)) == 0);
        else
            FUZZ_CHECK(ri.years >= 1 && ri.years <= MC_RENEW_YEARS_MAX &&
                       strlen(ri.renewal) == MC_RENEWAL_ID_LEN && ri.new_not_after > 0);
        check_view_round_trip(&rv);
    }
    static mc_sign_info si;
    static const mc_sign_info zero_si;
    v.sign = &si;
    if (mc_view_decode(data, size, &v, &err) == 0) {
        FUZZ_CHECK(ok);
        FUZZ_CHECK(v.sign == &si);
        if (v.s.purpose != MC_PURPOSE_SIGN)
            FUZZ_CHECK(memcmp(&si, &zero_si, sizeof(si)) == 0);
        else
            FUZZ_CHECK(si.ndocs >= 1 && si.ndocs <= MC_DOCS_MAX);
        check_view_round_trip(&v);
    }

    static mc_sign_info docs;
    if (mc_docs_decode(data, size, &docs, &err) == 0) {
        FUZZ_CHECK(ok);
        check_docs_round_trip(data, size, &docs);
    }

    /* the enroll messages (mc_enroll_proto.c): accepted only where the
     * pre-check accepts, and what is accepted re-encodes to the same */
    mc_enroll_req er;
    if (mc_enroll_req_decode(data, size, &er, &err) == 0) {
        FUZZ_CHECK(ok);
        mc_buf b = {0};
        mc_enroll_req d;
        mc_enroll_req_encode(&er, &b);
        FUZZ_CHECK(mc_enroll_req_decode(b.ptr, b.len, &d, &err) == 0);
        FUZZ_CHECK(strcmp(d.app, er.app) == 0 && strcmp(d.code, er.code) == 0 &&
                   strcmp(d.sid, er.sid) == 0 && d.csr.len == er.csr.len &&
                   memcmp(d.csr.ptr, er.csr.ptr, er.csr.len) == 0);
        mc_buf_free(&b);
    }
    mc_enroll_reply ey;
    if (mc_enroll_reply_decode(data, size, &ey, &err) == 0) {
        FUZZ_CHECK(ok);
        mc_buf b = {0};
        mc_enroll_reply d;
        mc_enroll_reply_encode(ey.app, ey.fp, ey.chain, ey.nchain, &b);
        FUZZ_CHECK(mc_enroll_reply_decode(b.ptr, b.len, &d, &err) == 0);
        FUZZ_CHECK(strcmp(d.app, ey.app) == 0 && strcmp(d.fp, ey.fp) == 0 &&
                   d.nchain == ey.nchain);
        for (size_t i = 0; i < ey.nchain; i++)
            FUZZ_CHECK(d.chain[i].len == ey.chain[i].len &&
                       memcmp(d.chain[i].ptr, ey.chain[i].ptr, ey.chain[i].len) == 0);
        mc_buf_free(&b);
    }

    static mc_inbox_entry entries[MC_INBOX_MAX];
    int64_t now;
    size_t count;
    if (mc_inbox_decode(data, size, &now, entries, MC_INBOX_MAX, &count, &err) == 0) {
        FUZZ_CHECK(ok && count <= MC_INBOX_MAX);
        check_inbox_round_trip(now, entries, count);
    }

    /* b holds what mc_err.msg can (160 with the NUL), so a decoded message
     * always fits back into an mc_err. */
    char a[160], b[sizeof(err.msg)];
    if (mc_error_decode(data, size, a, sizeof(a), b, sizeof(b)) == 0) {
        FUZZ_CHECK(ok);
        check_error_round_trip(a, b);
    }
    if (mc_result_decode(data, size, a, sizeof(a), b, sizeof(b), &err) == 0) {
        FUZZ_CHECK(ok);
        check_result_round_trip(a, b);
    }
    mc_renew_result rr;
    if (mc_result_renew_decode(data, size, &rr, &err) == 0) {
        FUZZ_CHECK(ok);
        FUZZ_CHECK((strcmp(rr.state, "approved") == 0) == (rr.nchain > 0));
        FUZZ_CHECK(rr.nchain > 0 ? strlen(rr.fp) == 64 : rr.fp[0] == '\0');
        check_renew_result_round_trip(&rr);
    }
    return 0;
}
