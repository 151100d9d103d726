/*
 * mc_fsm.h — the lookups of a state table, written once for every family
 * that has one (applications, PROTOCOL.md §9.2; invoices, §11.2): a
 * state's name and label, an event's name, the state an event leads to, an
 * event's target and the states it may start from.
 *
 * Design: a family keeps its enums and its table (mc_apply.c,
 * mc_invoice.c), describes them in one read-only mc_fsm, and wraps these
 * functions in typed ones (mc_app_next, mc_inv_next, ...). States and
 * events are the family's enum values as ints; -1 (MC_FSM_NONE) is "none",
 * as the families' *_NONE are. No I/O, no allocation.
 *
 * Cost: O(rows) per lookup, O(states) per parse; the tables have at most
 * ~15 rows. Non-goal: who may do what beyond the table (the family says,
 * e.g. through the from_mask of mc_fsm_from_list).
 */
#ifndef MC_FSM_H
#define MC_FSM_H

#include <stddef.h>

#define MC_FSM_NONE (-1)

/* One row of a table: `event` in state `from` leads to `to`. */
typedef struct mc_fsm_row {
    int from, event, to;
} mc_fsm_row;

/* A state's wire name ("requested") and its label for people ("待开票"). */
typedef struct mc_fsm_state {
    const char *name, *label;
} mc_fsm_state;

/* A family's machine: all borrowed, static tables. */
typedef struct mc_fsm {
    const mc_fsm_state *states; /* [nstates], indexed by state */
    int nstates;
    const char *const *events;  /* [nevents], indexed by event */
    int nevents;
    const mc_fsm_row *rows;     /* [nrows] */
    size_t nrows;
} mc_fsm;

/* "" for a state or event out of range. */
const char *mc_fsm_state_name(const mc_fsm *m, int s);
const char *mc_fsm_state_label(const mc_fsm *m, int s);
const char *mc_fsm_event_name(const mc_fsm *m, int e);
/* The state named s, or MC_FSM_NONE. */
int mc_fsm_state_parse(const mc_fsm *m, const char *s);
/* The state `event` leads to from `from`, or MC_FSM_NONE. */
int mc_fsm_next(const mc_fsm *m, int from, int event);
/* The first row's target for `event`, or MC_FSM_NONE. */
int mc_fsm_target(const mc_fsm *m, int event);
/* The states `event` may start from, those of from_mask (bit 1 << state)
 * only, as "a,b" into out (cut short when out is). Returns out. */
char *mc_fsm_from_list(const mc_fsm *m, int event, unsigned from_mask, char *out,
                       size_t size);

#endif
