/*
 * mc_fsm.c — see mc_fsm.h: the state-table lookups the families share.
 */
#include "mc_fsm.h"

#include <stdio.h>
#include <string.h>

const char *mc_fsm_state_name(const mc_fsm *m, int s)
{
    return s >= 0 && s < m->nstates ? m->states[s].name : "";
}

const char *mc_fsm_state_label(const mc_fsm *m, int s)
{
    return s >= 0 && s < m->nstates ? m->states[s].label : "";
}

const char *mc_fsm_event_name(const mc_fsm *m, int e)
{
    return e >= 0 && e < m->nevents ? m->events[e] : "";
}

int mc_fsm_state_parse(const mc_fsm *m, const char *s)
{
    for (int i = 0; i < m->nstates; i++)
        if (strcmp(m->states[i].name, s) == 0)
            return i;
    return MC_FSM_NONE;
}

int mc_fsm_next(const mc_fsm *m, int from, int event)
{
    for (size_t i = 0; i < m->nrows; i++)
        if (m->rows[i].from == from && m->rows[i].event == event)
            return m->rows[i].to;
    return MC_FSM_NONE;
}

int mc_fsm_target(const mc_fsm *m, int event)
{
    for (size_t i = 0; i < m->nrows; i++)
        if (m->rows[i].event == event)
            return m->rows[i].to;
    return MC_FSM_NONE;
}

char *mc_fsm_from_list(const mc_fsm *m, int event, unsigned from_mask, char *out,
                       size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < m->nrows; i++) {
        const mc_fsm_row *t = &m->rows[i];
        if (t->event != event || !(from_mask & (1u << t->from)))
            continue;
        int w = snprintf(out + n, size - n, "%s%s", n ? "," : "",
                         mc_fsm_state_name(m, t->from));
        if (w < 0 || (size_t)w >= size - n)
            break;
        n += (size_t)w;
    }
    return out;
}
