/*
 * api/views.c — how records look to the web, shared by the handlers that
 * show them (one place, so that /me, /bindings, the sign poll and the
 * history say the same thing the same way), and the facts the
 * authorisation rules take from an account; the one 409 bad_transition
 * answer of the state tables.
 */
#include <string.h>

#include "mc_api.h"
#include "mc_crypto.h"
#include "mc_fsm.h"
#include "mc_proto.h"

mc_principal mc_api_principal(const mc_account *a)
{
    return (mc_principal){a->login, a->org, a->role};
}

json_t *mc_api_account_json(const mc_account *a, const mc_cert_rec *c)
{
    json_t *cert;
    if (a->cert[0] == '\0')
        cert = json_null();
    else if (c == NULL || c->fp[0] == '\0')
        cert = json_pack("{s:s}", "fp", a->cert);
    else
        cert = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "fp", c->fp, "serial",
                         c->serial, "cn", c->cn, "org_name", c->org_name, "issuer", c->issuer,
                         "alg", c->alg, "not_before", (json_int_t)c->not_before, "not_after",
                         (json_int_t)c->not_after, "status", c->status);
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:s}", "account", a->login, "name",
                     a->name, "role", a->role, "org", a->org, "cert", cert, "bound_at",
                     (json_int_t)a->bound_at, "bound_by", a->bound_by);
}

int mc_api_transition_ok(mc_req *r, int next, const char *event, const char *state)
{
    if (next != MC_FSM_NONE)
        return 0;
    mc_reply_errf(r, 409, "bad_transition", "%s is not possible in state %s", event, state);
    return -1;
}

json_t *mc_api_docs_json(const mc_sign_info *si)
{
    json_t *a = json_array();
    for (size_t i = 0; i < si->ndocs; i++) {
        char hex[2 * MC_DIGEST_LEN + 1];
        mc_hex(si->docs[i].digest, MC_DIGEST_LEN, hex);
        json_array_append_new(a, json_pack("{s:s, s:I, s:s, s:s}", "name", si->docs[i].name,
                                           "size", (json_int_t)si->docs[i].size, "alg",
                                           si->docs[i].alg, "digest", hex));
    }
    return a;
}
