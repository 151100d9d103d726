/*
 * mc_invoice.h — the pure rules of invoices (发票, PROTOCOL.md §11): the
 * record, its states and transitions, the checks of a title (发票抬头) and of
 * the receiver, the goods line an order gives, the invoice number, and the
 * amount in words (价税合计（大写）). No I/O: server/api/invoice.c and
 * mcertctl follow it, and the Redis Functions (core/store/lua/invoice.lua)
 * are handed the from-states and targets of the table as arguments, so that
 * the table is written once (as mc_apply.h does for applications).
 *
 * From the source manual (申领CA证书后申请发票): an invoice is asked for a
 * paid order; the title is an enterprise's (抬头类型 企业) with its name and
 * 企业税号 (the 统一社会信用代码, checked by mc_uscc_valid), optionally its
 * registered address, phone, bank and account; the invoice is an electronic
 * ordinary VAT invoice (电子增值税普通发票) sent to the receiver's email; an
 * organisation keeps at most 5 titles.
 *
 * Non-goals: VAT special invoices (专票), personal titles, tax computation
 * (the e-invoice shows the amount with tax included; 税率 and 税额 are the tax
 * office's business), red-letter (红冲) invoices: a wrong invoice is voided
 * (作废) and asked for again.
 */
#ifndef MC_INVOICE_H
#define MC_INVOICE_H

#include <stddef.h>
#include <stdint.h>

#include "mc_fsm.h"

#define MC_INV_ID_LEN 20          /* "FP" + YYYYMMDD (UTC+8) + 10 random digits */
#define MC_INV_TID_LEN 16         /* a saved title's id: 16 lower-case hex */
#define MC_INV_TITLES_MAX 5       /* saved titles per organisation */
#define MC_INV_REASON_MAX 512     /* a rejection's or a voiding's reason, bytes */
#define MC_INV_LIST_MAX 200       /* rows of a list */

/* Title limits, in characters (UTF-8 code points) unless said. */
#define MC_INV_NAME_CHARS 100     /* 发票抬头（企业名称）: 1..100, required */
#define MC_INV_ADDRESS_CHARS 100  /* 注册地址: 0..100 */
#define MC_INV_BANK_CHARS 100     /* 开户银行: 0..100 */
#define MC_INV_PHONE_MAX 20       /* 注册电话: 0..20 bytes of 0-9 + - ( ) space */
#define MC_INV_ACCOUNT_MAX 40     /* 开户账户: 0..40 bytes of 0-9 - space */

/* A title (发票抬头) as saved and as put on an invoice. Strings are
 * NUL-terminated UTF-8; the arrays hold the longest valid value. */
typedef struct mc_inv_title {
    char id[MC_INV_TID_LEN + 1];  /* "" on an invoice (a copy, not a link) */
    char name[4 * MC_INV_NAME_CHARS + 1];
    char tax_id[19];
    char address[4 * MC_INV_ADDRESS_CHARS + 1];
    char phone[MC_INV_PHONE_MAX + 1];
    char bank[4 * MC_INV_BANK_CHARS + 1];
    char account[MC_INV_ACCOUNT_MAX + 1];
} mc_inv_title;

/* The goods line (商品信息) of an invoice, from its order. */
typedef struct mc_inv_goods {
    char name[32];                /* 商品名称: 移动证书 | 移动证书续费 */
    char spec[16];                /* 规格型号: 移动版 */
    char unit[8];                 /* 单位: 个 (an application) | 年 (a renewal) */
    int64_t qty;                  /* 数量 */
    int64_t price;                /* 单价, fen */
    int64_t amount;               /* 金额, fen: the order's amount */
} mc_inv_goods;

/* The invoice as stored ({mc}:inv:<oid>): each member named as its hash
 * field. One per order; a new request replaces a rejected or voided one. */
typedef struct mc_invoice {
    char id[MC_INV_ID_LEN + 1];
    char order[MC_INV_ID_LEN + 1];
    char kind[16];                /* app | renewal (the order's) */
    char ref[33];                 /* the application id or the renewal id */
    char uscc[19];                /* the order's organisation */
    char owner[65];               /* the login that owns the order */
    int64_t amount;               /* fen */
    char state[16];               /* requested | issued | rejected | voided */
    char title_name[sizeof(((mc_inv_title *)0)->name)];
    char title_tax_id[19];
    char title_address[sizeof(((mc_inv_title *)0)->address)];
    char title_phone[MC_INV_PHONE_MAX + 1];
    char title_bank[sizeof(((mc_inv_title *)0)->bank)];
    char title_account[MC_INV_ACCOUNT_MAX + 1];
    char receiver_phone[12];
    char receiver_email[129];
    char goods_name[32];
    char goods_spec[16];
    char goods_unit[8];
    int64_t goods_qty, goods_price, goods_amount;
    char reason[MC_INV_REASON_MAX + 1];
    char pdf[65];                 /* blob id of the PDF once issued, "" */
    char pdf_source[12];          /* generated | upload, "" */
    int64_t requested_at, issued_at, ended_at;
    char requester[65];           /* login that asked */
    char by[65];                  /* who issued, rejected or voided it */
    int64_t gen;
} mc_invoice;

/* ---- states (PROTOCOL.md §11.2) ---- */

typedef enum mc_inv_state {
    MC_INV_REQUESTED,
    MC_INV_ISSUED,
    MC_INV_REJECTED,
    MC_INV_VOIDED,
    MC_INV_NSTATES,
    MC_INV_NONE = -1,
} mc_inv_state;

typedef enum mc_inv_event {
    MC_INV_EV_ISSUE,              /* operator: the PDF made or uploaded */
    MC_INV_EV_REJECT,             /* operator, with a reason */
    MC_INV_EV_VOID,               /* operator (requested or issued); the requester's side
                                     (requested only: withdrawn) */
    MC_INV_NEVENTS,
} mc_inv_event;

const char *mc_inv_state_name(mc_inv_state s);   /* "requested", ...; "" */
mc_inv_state mc_inv_state_parse(const char *s);  /* MC_INV_NONE if unknown */
const char *mc_inv_state_label(mc_inv_state s);  /* "待开票", ... */
const char *mc_inv_event_name(mc_inv_event e);
/* The state `event` leads to from `from`, or MC_INV_NONE (409 bad_transition). */
mc_inv_state mc_inv_next(mc_inv_state from, mc_inv_event event);
mc_inv_state mc_inv_target(mc_inv_event event);
/* The states `event` may start from as "a,b" into out (for the Redis
 * Function's re-check); operator = 0 keeps only what the requester's side
 * may do (void of a requested invoice). Returns out. */
char *mc_inv_from_list(mc_inv_event event, int operator, char *out, size_t size);
/* 1 while an invoice in state s holds its order's money (requested,
 * issued): a refund of the order is refused (409 invoice_open), a new
 * request too (409 invoice_exists). The Lua side is mcert.lua's
 * invoice_holds; keep both in step. */
int mc_inv_holds(const char *state);

/* ---- checks ---- */

/* The first bad field of t, in the form's order (name, tax_id, address,
 * phone, bank, account), with a short reason in *why; NULL if none. */
const char *mc_inv_title_check(const mc_inv_title *t, const char **why);
/* receiver_phone: a mainland mobile number (mc_mobile_valid, mc_apply.h);
 * receiver_email: mc_email_valid (email NULL: not checked, so that a
 * handler checks the phone before it reads the email). The field's name or
 * NULL. */
const char *mc_inv_receiver_check(const char *phone, const char *email, const char **why);
/* UTF-8 code points in s (n bytes), or (size_t)-1 if s is not UTF-8. */
size_t mc_utf8_chars(const char *s, size_t n);

/* ---- from an order ---- */

/* The goods line of an order of kind ("app", "renewal"; "" = app) and
 * amount (fen, > 0): an application's is 移动证书 / 移动版 / 个 × 1; a
 * renewal's 移动证书续费 / 移动版 / 年 × years, years = amount / unit when
 * that divides (the fee table: unit fen a year), else 1. 0, or -1 for an
 * unknown kind or an amount <= 0. */
int mc_inv_goods_of(const char *kind, int64_t amount, int64_t unit, mc_inv_goods *out);

/* ---- numbers ---- */

/* A new invoice number for time t (unix s): mc_dated_id_new's "FP" +
 * the date in UTC+8 + 10 digits from the CSPRNG (mc_pay.h). */
void mc_inv_id_new(int64_t t, char out[MC_INV_ID_LEN + 1]);
int mc_inv_id_valid(const char *s, size_t n);
void mc_inv_tid_new(char out[MC_INV_TID_LEN + 1]);
int mc_inv_tid_valid(const char *s, size_t n);

/* fen as yuan with two decimals: 20000 -> "200.00" (out >= 24 bytes). */
char *mc_inv_yuan(int64_t fen, char *out, size_t size);
/* 价税合计（大写）: fen in Chinese capital numerals, as invoices print them:
 * 20000 -> "贰佰圆整", 12345 -> "壹佰贰拾叁圆肆角伍分", 100000 -> "壹仟圆整",
 * 1000001 -> "壹万圆零壹分". 0 <= fen < 10^14; out >= 128 bytes. Returns out. */
char *mc_inv_amount_words(int64_t fen, char *out, size_t size);

/* The email the receiver is sent when the invoice is issued (the sandbox
 * gateway's {mc}:outbox, kind email): its subject and text. */
void mc_inv_email(const mc_invoice *inv, char *subject, size_t ssize, char *text, size_t tsize);

/* Put title t on inv (title_* members), and back. */
void mc_inv_set_title(mc_invoice *inv, const mc_inv_title *t);
void mc_inv_get_title(const mc_invoice *inv, mc_inv_title *t);
void mc_inv_set_goods(mc_invoice *inv, const mc_inv_goods *g);

#endif
