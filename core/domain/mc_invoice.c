/*
 * mc_invoice.c — see mc_invoice.h. The state table is the one PROTOCOL.md
 * §11.2 prints; keep both in step. The receiver's mobile number and email
 * are APP's checks (mc_apply.h), the tax id is mc_uscc_valid (mc_x509.h):
 * one rule each, not copies.
 */
#include "mc_invoice.h"

#include "mc_pay.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mc_apply.h"
#include "mc_crypto.h"
#include "mc_session.h"
#include "mc_x509.h"

/* ---- states ---- */

static const mc_fsm_state STATES[MC_INV_NSTATES] = {
    [MC_INV_REQUESTED] = {"requested", "待开票"},
    [MC_INV_ISSUED] = {"issued", "已开票"},
    [MC_INV_REJECTED] = {"rejected", "已驳回"},
    [MC_INV_VOIDED] = {"voided", "已作废"},
};

static const char *const EVENTS[MC_INV_NEVENTS] = {
    [MC_INV_EV_ISSUE] = "issue",
    [MC_INV_EV_REJECT] = "reject",
    [MC_INV_EV_VOID] = "void",
};

/* §11.2, row by row. Every pair not here is 409 bad_transition. */
static const mc_fsm_row ROWS[] = {
    {MC_INV_REQUESTED, MC_INV_EV_ISSUE, MC_INV_ISSUED},
    {MC_INV_REQUESTED, MC_INV_EV_REJECT, MC_INV_REJECTED},
    {MC_INV_REQUESTED, MC_INV_EV_VOID, MC_INV_VOIDED},
    {MC_INV_ISSUED, MC_INV_EV_VOID, MC_INV_VOIDED},
};
#define NROWS (sizeof(ROWS) / sizeof(ROWS[0]))

static const mc_fsm INV = {STATES, MC_INV_NSTATES, EVENTS, MC_INV_NEVENTS,
                           ROWS, NROWS};

const char *mc_inv_state_name(mc_inv_state s)
{
    return mc_fsm_state_name(&INV, s);
}

const char *mc_inv_state_label(mc_inv_state s)
{
    return mc_fsm_state_label(&INV, s);
}

mc_inv_state mc_inv_state_parse(const char *s)
{
    return (mc_inv_state)mc_fsm_state_parse(&INV, s);
}

const char *mc_inv_event_name(mc_inv_event e)
{
    return mc_fsm_event_name(&INV, e);
}

mc_inv_state mc_inv_next(mc_inv_state from, mc_inv_event event)
{
    return (mc_inv_state)mc_fsm_next(&INV, from, event);
}

mc_inv_state mc_inv_target(mc_inv_event event)
{
    return (mc_inv_state)mc_fsm_target(&INV, event);
}

char *mc_inv_from_list(mc_inv_event event, int operator, char *out, size_t size)
{
    /* the requester's side withdraws a request; only operators void an
     * issued invoice (or issue, or reject) */
    unsigned from = operator ? ~0u : event == MC_INV_EV_VOID ? 1u << MC_INV_REQUESTED : 0u;
    return mc_fsm_from_list(&INV, event, from, out, size);
}

int mc_inv_holds(const char *state)
{
    return strcmp(state, "requested") == 0 || strcmp(state, "issued") == 0;
}

/* ---- checks ---- */

size_t mc_utf8_chars(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;
    for (size_t i = 0; i < n; chars++) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = mc_utf8_seq(p + i, n - i, &cp);
        if (len == 0)
            return (size_t)-1;
        i += len;
    }
    return chars;
}

/* 0..max_chars characters of printable UTF-8 (mc_app_text_valid's rule
 * when not empty); required: at least one. */
static int text_ok(const char *s, size_t max_chars, int required)
{
    size_t n = strlen(s);
    if (n == 0)
        return !required;
    size_t c = mc_utf8_chars(s, n);
    return c != (size_t)-1 && c <= max_chars && mc_app_text_valid(s, n, 4 * max_chars);
}

/* 0..max bytes, each a digit or one of `extra`. */
static int chars_ok(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n > max)
        return 0;
    int digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (strchr(extra, s[i]) == NULL)
            return 0;
    }
    return n == 0 || digits > 0;
}

const char *mc_inv_title_check(const mc_inv_title *t, const char **why)
{
    if (!text_ok(t->name, MC_INV_NAME_CHARS, 1)) {
        *why = "1..100 characters of printable UTF-8 (发票抬头, the enterprise's name)";
        return "name";
    }
    if (!mc_uscc_valid(t->tax_id, strlen(t->tax_id))) {
        *why = "not a 统一社会信用代码 with a valid check character (GB 32100)";
        return "tax_id";
    }
    if (!text_ok(t->address, MC_INV_ADDRESS_CHARS, 0)) {
        *why = "0..100 characters of printable UTF-8";
        return "address";
    }
    if (!chars_ok(t->phone, MC_INV_PHONE_MAX, "-+() ")) {
        *why = "0..20 of digits, -, +, ( ) and spaces";
        return "phone";
    }
    if (!text_ok(t->bank, MC_INV_BANK_CHARS, 0)) {
        *why = "0..100 characters of printable UTF-8";
        return "bank";
    }
    if (!chars_ok(t->account, MC_INV_ACCOUNT_MAX, "- ")) {
        *why = "0..40 of digits, - and spaces";
        return "account";
    }
    *why = NULL;
    return NULL;
}

const char *mc_inv_receiver_check(const char *phone, const char *email, const char **why)
{
    if (!mc_mobile_valid(phone, strlen(phone))) {
        *why = "not an 11-digit mobile number";
        return "receiver_phone";
    }
    if (email != NULL && !mc_email_valid(email, strlen(email))) {
        *why = "not an email address";
        return "receiver_email";
    }
    *why = NULL;
    return NULL;
}

/* ---- goods ---- */

int mc_inv_goods_of(const char *kind, int64_t amount, int64_t unit, mc_inv_goods *out)
{
    memset(out, 0, sizeof(*out));
    if (amount <= 0)
        return -1;
    int renewal = strcmp(kind, "renewal") == 0;
    if (!renewal && kind[0] != '\0' && strcmp(kind, "app") != 0)
        return -1;
    snprintf(out->name, sizeof(out->name), "%s", renewal ? "移动证书续费" : "移动证书");
    snprintf(out->spec, sizeof(out->spec), "移动版");
    snprintf(out->unit, sizeof(out->unit), "%s", renewal ? "年" : "个");
    out->qty = 1;
    if (renewal && unit > 0 && amount % unit == 0)
        out->qty = amount / unit;
    out->price = amount / out->qty;
    out->amount = amount;
    return 0;
}

/* ---- numbers ---- */

void mc_inv_id_new(int64_t t, char out[MC_INV_ID_LEN + 1])
{
    mc_dated_id_new("FP", t, out);
}

int mc_inv_id_valid(const char *s, size_t n)
{
    return mc_dated_id_valid("FP", s, n);
}

void mc_inv_tid_new(char out[MC_INV_TID_LEN + 1])
{
    uint8_t b[MC_INV_TID_LEN / 2];
    mc_random(b, sizeof(b));
    mc_hex(b, sizeof(b), out);
    out[MC_INV_TID_LEN] = '\0';
}

int mc_inv_tid_valid(const char *s, size_t n)
{
    if (n != MC_INV_TID_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

char *mc_inv_yuan(int64_t fen, char *out, size_t size)
{
    snprintf(out, size, "%s%lld.%02lld", fen < 0 ? "-" : "",
             (long long)((fen < 0 ? -fen : fen) / 100), (long long)((fen < 0 ? -fen : fen) % 100));
    return out;
}

char *mc_inv_amount_words(int64_t fen, char *out, size_t size)
{
    static const char *const D[10] = {"零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"};
    static const char *const U[4] = {"", "拾", "佰", "仟"};
    static const char *const G[3] = {"", "万", "亿"};
    size_t n = 0;
#define PUT(s) (n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s", (s)))
    out[0] = '\0';
    if (fen < 0 || fen >= 100000000000000LL) {
        PUT("");
        return out;
    }
    int64_t yuan = fen / 100;
    int jiao = (int)(fen / 10 % 10), cent = (int)(fen % 10);
    int groups[3] = {(int)(yuan % 10000), (int)(yuan / 10000 % 10000), (int)(yuan / 100000000)};
    int printed = 0, zero = 0;
    for (int g = 2; g >= 0; g--) {
        int v = groups[g];
        if (v == 0) {
            zero |= printed;
            continue;
        }
        if (printed && (zero || v < 1000))
            PUT("零");
        int inner = 0, gap = 0;
        for (int i = 3; i >= 0; i--) {
            int d = v / (i == 3 ? 1000 : i == 2 ? 100 : i == 1 ? 10 : 1) % 10;
            if (d == 0) {
                gap |= inner;
                continue;
            }
            if (gap)
                PUT("零");
            PUT(D[d]);
            PUT(U[i]);
            inner = 1;
            gap = 0;
        }
        PUT(G[g]);
        printed = 1;
        zero = 0;
    }
    if (yuan > 0)
        PUT("圆");
    if (jiao == 0 && cent == 0) {
        PUT(yuan > 0 ? "整" : "零圆整");
        return out;
    }
    if (jiao > 0) {
        PUT(D[jiao]);
        PUT("角");
    } else if (yuan > 0) {
        PUT("零");
    }
    if (cent > 0) {
        PUT(D[cent]);
        PUT("分");
    }
#undef PUT
    return out;
}

void mc_inv_email(const mc_invoice *inv, char *subject, size_t ssize, char *text, size_t tsize)
{
    char yuan[32];
    mc_inv_yuan(inv->amount, yuan, sizeof(yuan));
    snprintf(subject, ssize, "【mcert】电子发票 %s", inv->id);
    snprintf(text, tsize,
             "您好：mcert 移动证书CA 已为订单 %s 开具电子发票（普通发票），发票号码 %s，"
             "购买方 %s，价税合计 ¥%s 元。发票 PDF 见附件，也可在 CA管理 > 发票 中下载。",
             inv->order, inv->id, inv->title_name, yuan);
}

/* ---- copies ---- */

#define CP(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

void mc_inv_set_title(mc_invoice *inv, const mc_inv_title *t)
{
    CP(inv->title_name, t->name);
    CP(inv->title_tax_id, t->tax_id);
    CP(inv->title_address, t->address);
    CP(inv->title_phone, t->phone);
    CP(inv->title_bank, t->bank);
    CP(inv->title_account, t->account);
}

void mc_inv_get_title(const mc_invoice *inv, mc_inv_title *t)
{
    memset(t, 0, sizeof(*t));
    CP(t->name, inv->title_name);
    CP(t->tax_id, inv->title_tax_id);
    CP(t->address, inv->title_address);
    CP(t->phone, inv->title_phone);
    CP(t->bank, inv->title_bank);
    CP(t->account, inv->title_account);
}

void mc_inv_set_goods(mc_invoice *inv, const mc_inv_goods *g)
{
    CP(inv->goods_name, g->name);
    CP(inv->goods_spec, g->spec);
    CP(inv->goods_unit, g->unit);
    inv->goods_qty = g->qty;
    inv->goods_price = g->price;
    inv->goods_amount = g->amount;
}

#undef CP
