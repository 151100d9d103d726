/*
 * mc_apply.c — see mc_apply.h. Everything here is table-driven data and
 * pure checks; the tables (provinces, fees, transitions) are the ones
 * PROTOCOL.md §9 prints, keep both in step.
 */
#include "mc_apply.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mc_crypto.h"
#include "mc_session.h"
#include "mc_x509.h"

/* ---- ID number (GB 11643-1999) ---- */

static const int ID_WEIGHTS[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
static const char ID_CHECK[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};

char mc_idnum_check_char(const char *s17)
{
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        if (s17[i] < '0' || s17[i] > '9')
            return 0;
        sum += (s17[i] - '0') * ID_WEIGHTS[i];
    }
    return ID_CHECK[sum % 11];
}

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static int real_date(int y, int m, int d)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1800 || y > 2199 || m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

int mc_idnum_valid(const char *s, size_t n)
{
    if (n != 18 || !digits(s, 17) || !mc_province_valid(s))
        return 0;
    if (!real_date(num(s + 6, 4), num(s + 10, 2), num(s + 12, 2)))
        return 0;
    return s[17] == mc_idnum_check_char(s);
}

/* ---- mobile, email ---- */

int mc_mobile_valid(const char *s, size_t n)
{
    return n == 11 && digits(s, 11) && s[0] == '1' && s[1] >= '3' && s[1] <= '9';
}

static int alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int mc_email_valid(const char *s, size_t n)
{
    if (n < 3 || n > 128)
        return 0;
    const char *at = memchr(s, '@', n);
    if (at == NULL || memchr(at + 1, '@', n - (size_t)(at - s) - 1) != NULL)
        return 0;
    size_t ln = (size_t)(at - s), dn = n - ln - 1;
    if (ln < 1 || ln > 64 || dn < 4 || s[0] == '.' || s[ln - 1] == '.')
        return 0;
    for (size_t i = 0; i < ln; i++) {
        char c = s[i];
        if (!alnum(c) && c != '.' && c != '_' && c != '%' && c != '+' && c != '-')
            return 0;
        if (c == '.' && i > 0 && s[i - 1] == '.')
            return 0;
    }
    const char *d = at + 1;
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= dn; i++) {
        if (i < dn && d[i] != '.') {
            if (!alnum(d[i]) && d[i] != '-')
                return 0;
            continue;
        }
        size_t len = i - start;
        if (len < 1 || len > 63 || d[start] == '-' || d[i - 1] == '-')
            return 0;
        labels++;
        if (i == dn) { /* the top-level label: letters only, 2+ */
            if (len < 2)
                return 0;
            for (size_t k = start; k < i; k++)
                if (!((d[k] >= 'a' && d[k] <= 'z') || (d[k] >= 'A' && d[k] <= 'Z')))
                    return 0;
        }
        start = i + 1;
    }
    return labels >= 2;
}

/* ---- regions (GB/T 2260) ---- */

/* The 34 provincial-level divisions: 23 provinces, 5 autonomous regions,
 * 4 municipalities, 2 special administrative regions (71 台湾). */
static const char *const PROVINCES[34] = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
    "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
    "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
};

int mc_province_valid(const char *p2)
{
    for (size_t i = 0; i < 34; i++)
        if (p2[0] == PROVINCES[i][0] && p2[1] == PROVINCES[i][1])
            return 1;
    return 0;
}

int mc_region_valid(const char *s, size_t n)
{
    if (n != 6 || !digits(s, 6) || !mc_province_valid(s))
        return 0;
    return s[4] == '0' && s[5] == '0'; /* XX0000, or XXYY00 with YY != 00 */
}

/* ---- org types, labels ---- */

static const struct {
    const char *name, *label;
} ORG_TYPES[] = {
    {"legal_person", "法人单位"}, {"individual", "个体工商户"}, {"other", "其他"},
};

int mc_org_type_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(ORG_TYPES) / sizeof(ORG_TYPES[0]); i++)
        if (strlen(ORG_TYPES[i].name) == n && memcmp(ORG_TYPES[i].name, s, n) == 0)
            return 1;
    return 0;
}

const char *mc_org_type_label(const char *t)
{
    for (size_t i = 0; i < sizeof(ORG_TYPES) / sizeof(ORG_TYPES[0]); i++)
        if (strcmp(ORG_TYPES[i].name, t) == 0)
            return ORG_TYPES[i].label;
    return "";
}

int mc_app_text_valid(const char *s, size_t n, size_t max)
{
    if (n < 1 || n > max)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    int visible = 0;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            if (p[i] < 0x20 || p[i] == 0x7f)
                return 0;
            visible |= p[i] != ' ';
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = mc_utf8_seq(p + i, n - i, &cp);
        if (len == 0 || (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
            (cp >= 0x2066 && cp <= 0x2069))
            return 0;
        visible |= cp != 0x3000;
        i += len;
    }
    return visible;
}

int mc_blob_id_valid(const char *s, size_t n)
{
    if (n != MC_BLOB_ID_HEX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* ---- the whole application ---- */

static int is(const char *s, const char *want)
{
    return strcmp(s, want) == 0;
}

const char *mc_app_check(const mc_app *a, int whole, int face_ok, const char *const *providers,
                         const char **why)
{
    const char *w = "";
#define BAD(field, reason)  \
    do {                    \
        w = (reason);       \
        *why = w;           \
        return (field);     \
    } while (0)
#define GIVEN(s) (whole || (s)[0] != '\0')
    if (GIVEN(a->provider)) {
        int ok = 0;
        for (size_t i = 0; providers && providers[i]; i++)
            ok |= is(a->provider, providers[i]);
        if (!ok)
            BAD("provider", "not a CA provider of this server");
    }
    if (GIVEN(a->kind) && !is(a->kind, "mobile"))
        BAD("kind", "only mobile (移动证书) is offered");
    if ((whole || a->quantity != 0) && a->quantity != 1)
        BAD("quantity", "a mobile certificate is applied for one at a time (1)");
    if (GIVEN(a->org_name) && !mc_app_text_valid(a->org_name, strlen(a->org_name), 128))
        BAD("org_name", "1..128 bytes of printable UTF-8");
    if (GIVEN(a->org_type) && !mc_org_type_valid(a->org_type, strlen(a->org_type)))
        BAD("org_type", "legal_person, individual or other");
    if (GIVEN(a->uscc) && !mc_uscc_valid(a->uscc, strlen(a->uscc)))
        BAD("uscc", "not a 统一社会信用代码 with a valid check character (GB 32100)");
    if (GIVEN(a->region) && !mc_region_valid(a->region, strlen(a->region)))
        BAD("region", "not a GB/T 2260 province or prefecture code");
    if (GIVEN(a->licence) && !mc_blob_id_valid(a->licence, strlen(a->licence)))
        BAD("licence", "not an upload id");
    if (GIVEN(a->holder_name) && !mc_app_text_valid(a->holder_name, strlen(a->holder_name), 64))
        BAD("holder_name", "1..64 bytes of printable UTF-8");
    if (GIVEN(a->holder_id) && !mc_idnum_valid(a->holder_id, strlen(a->holder_id)))
        BAD("holder_id", "not a 身份证号码 with a valid check digit (GB 11643)");
    if (GIVEN(a->mobile) && !mc_mobile_valid(a->mobile, strlen(a->mobile)))
        BAD("mobile", "not an 11-digit mobile number");
    if (GIVEN(a->email) && !mc_email_valid(a->email, strlen(a->email)))
        BAD("email", "not an email address");
    if (GIVEN(a->id_scan) && !mc_blob_id_valid(a->id_scan, strlen(a->id_scan)))
        BAD("id_scan", "not an upload id");
    if (GIVEN(a->auth_letter) && !mc_blob_id_valid(a->auth_letter, strlen(a->auth_letter)))
        BAD("auth_letter", "not an upload id");
    if (GIVEN(a->alg) && !is(a->alg, "sm2") && !is(a->alg, "p256"))
        BAD("alg", "sm2 or p256");
    if (GIVEN(a->delivery) && !is(a->delivery, "online"))
        BAD("delivery", "a mobile certificate is delivered online");
    if (GIVEN(a->identity)) {
        int ok = is(a->identity, "paper") || is(a->identity, "on_site") ||
                 (face_ok && is(a->identity, "face_passed")) ||
                 (!whole && is(a->identity, "none"));
        if (!ok)
            BAD("identity", whole ? "the identity is not verified (face check, paper or on site)"
                                  : "none, paper or on_site (face_passed is set by the check)");
    }
#undef GIVEN
#undef BAD
    *why = NULL;
    return NULL;
}

/* ---- uploads ---- */

int mc_upload_type_known(const char *type)
{
    return is(type, "image/jpeg") || is(type, "image/png") || is(type, "application/pdf");
}

const char *mc_upload_check(const char *type, const uint8_t *p, size_t n)
{
    if (n == 0)
        return "the upload is empty";
    if (is(type, "image/jpeg")) {
        if (n < 6 || p[0] != 0xff || p[1] != 0xd8 || p[2] != 0xff)
            return "not a JPEG (no FF D8 FF start of image)";
        if (p[n - 2] != 0xff || p[n - 1] != 0xd9)
            return "not a whole JPEG (no FF D9 end of image)";
        return NULL;
    }
    if (is(type, "image/png")) {
        static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
        if (n < 8 + 25 + 12 || memcmp(p, sig, 8) != 0 || memcmp(p + 12, "IHDR", 4) != 0)
            return "not a PNG (no signature and IHDR)";
        if (memcmp(p + n - 12, iend, 12) != 0)
            return "not a whole PNG (no IEND chunk at the end)";
        return NULL;
    }
    if (is(type, "application/pdf")) {
        if (n < 16 || memcmp(p, "%PDF-", 5) != 0 || (p[5] != '1' && p[5] != '2') || p[6] != '.')
            return "not a PDF (no %PDF-1. or %PDF-2. header)";
        size_t from = n > 1024 ? n - 1024 : 0;
        for (size_t i = from; i + 5 <= n; i++)
            if (memcmp(p + i, "%%EOF", 5) == 0)
                return NULL;
        return "not a whole PDF (no %%EOF near the end)";
    }
    return "not an accepted type (image/jpeg, image/png, application/pdf)";
}

/* ---- order numbers ---- */

void mc_app_id_make(int64_t t, uint32_t random8, char out[MC_APP_ID_LEN + 1])
{
    time_t local = (time_t)(t + 8 * 3600); /* UTC+8, with no tz database */
    struct tm tm;
    gmtime_r(&local, &tm);
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "SQ%04d%02d%02d%08u", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, (unsigned)(random8 % 100000000u));
    memcpy(out, tmp, MC_APP_ID_LEN);
    out[MC_APP_ID_LEN] = '\0';
}

int mc_app_number_valid(const char *s, size_t n)
{
    return n == MC_APP_ID_LEN && s[0] == 'S' && s[1] == 'Q' && digits(s + 2, 16);
}

void mc_app_activation_new(const char *id, char code_hash[65], char *sms, size_t smssize)
{
    char code[9];
    snprintf(code, sizeof(code), "%08u", (unsigned)mc_random_below(100000000u));
    mc_app_code_hash(id, code, code_hash);
    snprintf(sms, smssize,
             "【mcert】您的移动证书申领（订单编号 %s）已审核通过。激活码 %s，72小时内有效，"
             "请在手机证书应用中输入以领取证书。请勿告诉他人。",
             id, code);
    OPENSSL_cleanse(code, sizeof(code));
}

/* ---- fees ---- */

int mc_fee_first_free(const char *org_type)
{
    return is(org_type, "legal_person") || is(org_type, "individual");
}

int64_t mc_app_fee(const char *org_type, int64_t quantity, int first)
{
    if (quantity < 1)
        return 0;
    int64_t paying = quantity - (first && mc_fee_first_free(org_type) ? 1 : 0);
    return paying * MC_APP_YEARS * MC_FEE_UNIT;
}

/* ---- states ---- */

static const mc_fsm_state STATES[MC_APP_NSTATES] = {
    [MC_APP_DRAFT] = {"draft", "草稿"},
    [MC_APP_PENDING_PAYMENT] = {"pending_payment", "待支付"},
    [MC_APP_PENDING_REVIEW] = {"pending_review", "待审核"},
    [MC_APP_APPROVED] = {"approved_pending_issue", "审核通过,待制证"},
    [MC_APP_ISSUED] = {"issued", "审核通过,已发证"},
    [MC_APP_REJECTED] = {"rejected", "审核未通过"},
    [MC_APP_WITHDRAWN] = {"withdrawn", "已撤销"},
};

static const char *const EVENTS[MC_APP_NEVENTS] = {
    [MC_APP_EV_EDIT] = "edit",       [MC_APP_EV_SUBMIT_FREE] = "submit",
    [MC_APP_EV_SUBMIT_FEE] = "submit", [MC_APP_EV_PAID] = "pay",
    [MC_APP_EV_APPROVE] = "approve", [MC_APP_EV_REJECT] = "reject",
    [MC_APP_EV_ISSUE] = "issue",     [MC_APP_EV_WITHDRAW] = "withdraw",
};

/* §9.2, row by row. Every pair not here is 409 bad_transition. */
static const mc_fsm_row ROWS[] = {
    {MC_APP_DRAFT, MC_APP_EV_EDIT, MC_APP_DRAFT},
    {MC_APP_REJECTED, MC_APP_EV_EDIT, MC_APP_REJECTED},
    {MC_APP_DRAFT, MC_APP_EV_SUBMIT_FREE, MC_APP_PENDING_REVIEW},
    {MC_APP_REJECTED, MC_APP_EV_SUBMIT_FREE, MC_APP_PENDING_REVIEW},
    {MC_APP_DRAFT, MC_APP_EV_SUBMIT_FEE, MC_APP_PENDING_PAYMENT},
    {MC_APP_REJECTED, MC_APP_EV_SUBMIT_FEE, MC_APP_PENDING_PAYMENT},
    {MC_APP_PENDING_PAYMENT, MC_APP_EV_PAID, MC_APP_PENDING_REVIEW},
    {MC_APP_PENDING_REVIEW, MC_APP_EV_APPROVE, MC_APP_APPROVED},
    {MC_APP_PENDING_REVIEW, MC_APP_EV_REJECT, MC_APP_REJECTED},
    {MC_APP_APPROVED, MC_APP_EV_ISSUE, MC_APP_ISSUED},
    {MC_APP_DRAFT, MC_APP_EV_WITHDRAW, MC_APP_WITHDRAWN},
    {MC_APP_PENDING_PAYMENT, MC_APP_EV_WITHDRAW, MC_APP_WITHDRAWN},
    {MC_APP_PENDING_REVIEW, MC_APP_EV_WITHDRAW, MC_APP_WITHDRAWN},
    {MC_APP_REJECTED, MC_APP_EV_WITHDRAW, MC_APP_WITHDRAWN},
};
#define NROWS (sizeof(ROWS) / sizeof(ROWS[0]))

static const mc_fsm APP = {STATES, MC_APP_NSTATES, EVENTS, MC_APP_NEVENTS,
                           ROWS, NROWS};

const char *mc_app_state_name(mc_app_state s)
{
    return mc_fsm_state_name(&APP, s);
}

const char *mc_app_state_label(mc_app_state s)
{
    return mc_fsm_state_label(&APP, s);
}

mc_app_state mc_app_state_parse(const char *s)
{
    return (mc_app_state)mc_fsm_state_parse(&APP, s);
}

const char *mc_app_event_name(mc_app_event e)
{
    return mc_fsm_event_name(&APP, e);
}

mc_app_state mc_app_next(mc_app_state from, mc_app_event event)
{
    return (mc_app_state)mc_fsm_next(&APP, from, event);
}

mc_app_state mc_app_target(mc_app_event event)
{
    return (mc_app_state)mc_fsm_target(&APP, event);
}

char *mc_app_from_list(mc_app_event event, char *out, size_t size)
{
    return mc_fsm_from_list(&APP, event, ~0u, out, size);
}
