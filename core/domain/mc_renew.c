/*
 * mc_renew.c — see mc_renew.h.
 */
#include "mc_renew.h"

#include <string.h>

#include "mc_apply.h"

int mc_ren_id_valid(const char *s, size_t n)
{
    return mc_dated_id_valid("XF", s, n);
}

void mc_ren_id_new(int64_t now, char out[MC_REN_ID_LEN + 1])
{
    mc_dated_id_new("XF", now, out);
}

int64_t mc_ren_fee(int64_t years)
{
    if (years < 1 || years > MC_REN_YEARS_MAX)
        return -1;
    return years * MC_FEE_UNIT;
}

const char *mc_ren_state_now(const char *state, int64_t expires, int64_t now)
{
    if (strcmp(state, "pending_payment") == 0 && now >= expires)
        return "expired";
    return state;
}

int mc_ren_state_open(const char *state_now)
{
    return strcmp(state_now, "pending_payment") == 0 ||
           strcmp(state_now, "pending_extension") == 0;
}

const char *mc_ren_cert_refusal(const char *status, int64_t not_after, int64_t now,
                                int64_t grace, int *http)
{
    *http = 403;
    if (strcmp(status, "revoked") == 0)
        return "cert_revoked";
    if (strcmp(status, "superseded") == 0)
        return "cert_superseded";
    if (strcmp(status, "valid") != 0)
        return "cert_revoked"; /* an unknown status is never renewable */
    if (now > not_after + grace)
        return "cert_expired";
    *http = 0;
    return NULL;
}

int64_t mc_ren_new_not_after(int64_t old_not_after, int64_t years)
{
    return old_not_after + years * MC_REN_YEAR_SECONDS;
}
