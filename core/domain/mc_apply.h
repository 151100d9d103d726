/*
 * mc_apply.h — the pure rules of a certificate application (申领,
 * PROTOCOL.md §9.1–§9.5): the record, its field checks, the fee table and
 * the state-transition table. No I/O: the handlers (server/api/apply.c)
 * and the Redis Functions (core/store/lua/apply.lua, which is handed the
 * from-states and targets of this table as arguments, so that the table
 * is written once) both follow it; PAY and ENROLL use it for their own
 * transitions (pay: pending_payment -> pending_review; issue:
 * approved_pending_issue -> issued).
 *
 * Check characters: the 统一社会信用代码 (GB 32100-2015) is mc_uscc_valid
 * (mc_x509.h); the ID number (GB 11643-1999) is here. The region is a
 * GB/T 2260 code of one of the 34 provincial-level divisions, or a
 * prefecture-level code under one of them (its existence is not checked:
 * non-goal, no national table is shipped).
 *
 * Non-goals: no check that the scans show what they claim (the reviewer
 * looks); no postal delivery (the mobile kind is delivered online; the
 * ukey kind is reserved and refused).
 */
#ifndef MC_APPLY_H
#define MC_APPLY_H

#include <openssl/crypto.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mc_crypto.h"
#include "mc_fsm.h"

#define MC_APP_ID_LEN 18          /* "SQ" + yyyymmdd (UTC+8) + 8 random digits */
#define MC_BLOB_ID_HEX 64         /* an upload's id: SHA-256 hex, lower case */
#define MC_APP_REASON_MAX 512     /* a reviewer's reason, bytes */
#define MC_FEE_UNIT 20000         /* fen per certificate-year (200 CNY) */
#define MC_APP_YEARS 1            /* a mobile certificate's term */
#define MC_IDCHECK_PER_DAY 10     /* identity checks per holder_id per day (UTC+8) */
#define MC_ACTIVATION_TTL (72 * 3600)

/* The application as stored: each member named as its hash field of
 * {mc}:app:<id> (see the team's data model). Strings are NUL-terminated;
 * the parsers refuse a value longer than its array so that nothing is ever
 * truncated. */
typedef struct mc_app {
    char id[MC_APP_ID_LEN + 1];
    char provider[33];
    char kind[8];                 /* "mobile" */
    int64_t quantity;             /* 1 */
    char org_name[129];
    char org_type[16];            /* legal_person | individual | other */
    char uscc[19];
    char region[7];
    char licence[MC_BLOB_ID_HEX + 1];
    char holder_name[65];
    char holder_id[19];
    char mobile[12];
    char email[129];
    char id_scan[MC_BLOB_ID_HEX + 1];
    char auth_letter[MC_BLOB_ID_HEX + 1];
    char alg[8];                  /* sm2 | p256 */
    char delivery[8];             /* online */
    char identity[16];            /* none | face_passed | paper | on_site */
    char state[24];
    int64_t fee;                  /* fen */
    char reason[MC_APP_REASON_MAX + 1];
    char applicant[65];           /* login of the account that created it */
    int64_t created, submitted_at, reviewed_at;
    char reviewer[65];
    char order[40];               /* payment order id, "" */
    char paid[2];                 /* "0" | "1" */
    char cert[65];                /* fp once issued, "" */
    int64_t gen;                  /* bumped by every write */
} mc_app;

/* ---- validators (1 valid, 0 not; s is n bytes, not NUL-terminated) ---- */

/* GB 11643-1999: 17 digits (6 region, 8 birth date, 3 sequence) and the
 * check character (ISO 7064 MOD 11-2; 'X' upper case for 10). The region
 * must start with a provincial code, the birth date must be a real date
 * from 1800-01-01 on (the standard's own second example is of 1880). */
int mc_idnum_valid(const char *s, size_t n);
/* The check character of the first 17 digits of s ('0'..'9' or 'X'),
 * or 0 if they are not 17 digits. */
char mc_idnum_check_char(const char *s17);
/* 11 digits: 1, then 3..9, then 9 digits. */
int mc_mobile_valid(const char *s, size_t n);
/* local@domain, <= 128 bytes: local 1..64 of [A-Za-z0-9._%+-] (no dot at
 * either end, no two in a row); domain labels of [A-Za-z0-9-] (not starting
 * or ending with '-'), at least two labels, the last 2..63 letters. */
int mc_email_valid(const char *s, size_t n);
/* 1 if the two digits at p are one of the 34 provincial-level codes. */
int mc_province_valid(const char *p2);
/* "XX0000" (a province) or "XXYY00" with YY 01..99 (a prefecture under
 * it), XX one of the 34. */
int mc_region_valid(const char *s, size_t n);
/* legal_person | individual | other */
int mc_org_type_valid(const char *s, size_t n);
/* The Chinese label of an org type, a state, an identity ("" if unknown). */
const char *mc_org_type_label(const char *t);
/* 1..max bytes of well-formed UTF-8 without control characters (C0, DEL,
 * C1) and not only spaces. */
int mc_app_text_valid(const char *s, size_t n, size_t max);
/* 64 lower-case hex characters. */
int mc_blob_id_valid(const char *s, size_t n);

/* The first bad field of a, by the form's order (provider, kind, quantity,
 * org_name, org_type, uscc, region, licence, holder_name, holder_id,
 * mobile, email, id_scan, auth_letter, alg, delivery, identity), with a
 * short reason in *why; NULL if none. whole = 0 (a draft): empty strings
 * pass (a draft is saved half-filled); whole = 1 (a submission): every
 * field is required, identity may not be "none". providers: the allowed
 * provider ids (NULL-terminated). face_ok = 0: identity face_passed is
 * refused (a caller may not claim it; only the identity check sets it). */
const char *mc_app_check(const mc_app *a, int whole, int face_ok, const char *const *providers,
                         const char **why);

/* ---- uploads (§9.3) ---- */

#define MC_UPLOAD_MAX (5 * 1024 * 1024)
/* 1 if type (a Content-Type without parameters) is one a scan may be:
 * image/jpeg, image/png, application/pdf. */
int mc_upload_type_known(const char *type);
/* Whether the n bytes at p are of `type` by their signatures at BOTH ends:
 * JPEG FF D8 FF ... FF D9 (SOI, EOI); PNG the 8-byte signature, IHDR as the
 * first chunk, the 12-byte IEND chunk last; PDF "%PDF-" then "1." or "2."
 * and "%%EOF" within the last 1024 bytes. NULL if so, else why not. A
 * valid header on garbage fails at the end; what lies between is not
 * decoded (non-goal: the server never renders a scan; the reviewer's
 * viewer does). */
const char *mc_upload_check(const char *type, const uint8_t *p, size_t n);

/* The order number for a creation at unix time t with 8 random digits
 * (0..99999999): "SQ" + date in UTC+8 + the digits. */
void mc_app_id_make(int64_t t, uint32_t random8, char out[MC_APP_ID_LEN + 1]);
int mc_app_number_valid(const char *s, size_t n);

/* An approval's activation: an 8-digit code from the CSPRNG, its record's
 * hash (SHA-256 hex of "<id>:<code>") and the SMS that carries it
 * (sms: at least 320 bytes). The code itself is only in the SMS; the
 * caller wipes sms after use. */
#define MC_SMS_MAX 320
void mc_app_activation_new(const char *id, char code_hash[65], char *sms, size_t smssize);
/* What an activation keeps of its code, the one definition both the approval
 * and the redemption use (mc_enroll_code_hash): SHA-256 of "<id>:<code>",
 * 64 lower-case hex characters (+ NUL). id and code are cut at 32 and 8
 * bytes (longer ones are no order number or code anyway). Inline, so that
 * the phone protocol's decoder (and its fuzz build) needs nothing more. */
static inline void mc_app_code_hash(const char *id, const char *code, char hex[65])
{
    char in[32 + 1 + 8];
    uint8_t h[32];
    size_t a = strnlen(id, 32), c = strnlen(code, 8);
    memcpy(in, id, a);
    in[a] = ':';
    memcpy(in + a + 1, code, c);
    mc_sha256(in, a + 1 + c, h);
    mc_hex(h, 32, hex);
    OPENSSL_cleanse(in, sizeof(in));
}

/* ---- fees (§9.5) ---- */

/* 1 if an organisation of this type gets its first certificate free
 * (legal_person 法人单位, individual 个体工商户). */
int mc_fee_first_free(const char *org_type);
/* The fee in fen of `quantity` certificates of MC_APP_YEARS years for an
 * organisation of org_type; first = 1 when this is its first certificate
 * (no certificate record and no other application counted: §9.5). */
int64_t mc_app_fee(const char *org_type, int64_t quantity, int first);

/* ---- states (§9.2) ---- */

typedef enum mc_app_state {
    MC_APP_DRAFT,
    MC_APP_PENDING_PAYMENT,
    MC_APP_PENDING_REVIEW,
    MC_APP_APPROVED,              /* approved_pending_issue */
    MC_APP_ISSUED,
    MC_APP_REJECTED,
    MC_APP_WITHDRAWN,
    MC_APP_NSTATES,
    MC_APP_NONE = -1,
} mc_app_state;

typedef enum mc_app_event {
    MC_APP_EV_EDIT,               /* save the form (and the identity check) */
    MC_APP_EV_SUBMIT_FREE,        /* submit with nothing to pay (fee 0, or paid) */
    MC_APP_EV_SUBMIT_FEE,         /* submit with a fee to pay */
    MC_APP_EV_PAID,               /* PAY: the order was paid */
    MC_APP_EV_APPROVE,
    MC_APP_EV_REJECT,
    MC_APP_EV_ISSUE,              /* ENROLL: the certificate was issued */
    MC_APP_EV_WITHDRAW,
    MC_APP_NEVENTS,
} mc_app_event;

const char *mc_app_state_name(mc_app_state s);     /* "draft", ...; "" */
mc_app_state mc_app_state_parse(const char *s);    /* MC_APP_NONE if unknown */
const char *mc_app_state_label(mc_app_state s);    /* "草稿", ... */
const char *mc_app_event_name(mc_app_event e);
/* The state `event` leads to from `from`, or MC_APP_NONE (409
 * bad_transition). */
mc_app_state mc_app_next(mc_app_state from, mc_app_event event);
/* The states `event` may start from as "a,b,c" (for the Redis Function's
 * re-check) into out; returns out. */
char *mc_app_from_list(mc_app_event event, char *out, size_t size);
/* The one target of an event (every event of the table has one). */
mc_app_state mc_app_target(mc_app_event event);

#endif
