/*
 * mc_invoice_pdf.c — see mc_invoice_pdf.h. The page is drawn with a few
 * operators only (re, m, l, S for the frame and rules; BT Tf Td Tj ET for
 * text); every string goes through show(), which encodes it as UCS-2 hex
 * and records the code blocks used, for the ToUnicode CMap written after.
 */
#include "mc_invoice_pdf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mc_session.h"

#define PAGE_W 680
#define PAGE_H 420
#define COL_W 290.0 /* a party's column: 40..330 and 350..640 (the rule at 340) */
#define NOBJ 9 /* 1 catalog, 2 pages, 3 page, 4 content, 5 font, 6 CIDFont,
                  7 descriptor, 8 ToUnicode, 9 info */

typedef struct pdf {
    mc_buf out;                   /* the file */
    mc_buf cs;                    /* the page's content stream */
    size_t off[NOBJ + 1];         /* byte offset of object i */
    uint8_t used[256];            /* high bytes of the UCS-2 codes shown */
} pdf;

static void putf(mc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(mc_buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        mc_buf_append(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* The next code point of s (UTF-8; a malformed byte is U+FFFD). */
static uint32_t next_cp(const unsigned char **s)
{
    const unsigned char *p = *s;
    uint32_t cp = 0xfffd;
    if (p[0] < 0x80) {
        cp = p[0];
        *s = p + 1;
        return cp;
    }
    size_t len = mc_utf8_seq(p, strnlen((const char *)p, 4), &cp);
    *s = p + (len ? len : 1);
    return len ? cp : 0xfffd;
}

/* A string as the UCS-2 codes drawn: beyond the BMP "?", a control a
 * space. At most TEXT_MAX codes (a field is at most 100 characters, a line
 * with its label a few more; the rest is dropped). */
#define TEXT_MAX 512
typedef struct text {
    uint16_t c[TEXT_MAX];
    size_t n;
} text;

static void text_of(const char *s, text *t)
{
    const unsigned char *u = (const unsigned char *)s;
    t->n = 0;
    while (*u != '\0' && t->n < TEXT_MAX) {
        uint32_t cp = next_cp(&u);
        if (cp > 0xffff || (cp >= 0xd800 && cp <= 0xdfff))
            cp = '?';
        if (cp < 0x20)
            cp = ' ';
        t->c[t->n++] = (uint16_t)cp;
    }
}

/* A code's width in text space units (1000 = the font size): 500 for
 * printable ASCII (UniGB-UCS2-H maps it to CIDs 1..95, the half-width
 * ones of /W), 1000 for everything else (/DW: also U+00A0..U+00FF, e.g.
 * the 间隔号 U+00B7 and accented letters, which Adobe-GB1 has full width). */
static int code_width(uint16_t c)
{
    return c >= 0x20 && c <= 0x7e ? 500 : 1000;
}

static int codes_width(const uint16_t *c, size_t n)
{
    int w = 0;
    for (size_t i = 0; i < n; i++)
        w += code_width(c[i]);
    return w;
}

/* Codes c[0..n) as a UTF-16BE hex string "<...>" onto b (bom: with the
 * byte order mark, for the document information); p (if not NULL) records
 * the code blocks used, for the ToUnicode CMap. */
static void hexstr(pdf *p, mc_buf *b, const uint16_t *c, size_t n, int bom)
{
    mc_buf_append(b, "<", 1);
    if (bom)
        mc_buf_append(b, "FEFF", 4);
    for (size_t i = 0; i < n; i++) {
        putf(b, "%04X", (unsigned)c[i]);
        if (p != NULL)
            p->used[c[i] >> 8] = 1;
    }
    mc_buf_append(b, ">", 1);
}

/* Codes c[0..n) at (x, y) in points, size pt, left-aligned. */
static void show_codes(pdf *p, double size, double x, double y, const uint16_t *c, size_t n)
{
    putf(&p->cs, "BT /F1 %.2f Tf %.2f %.2f Td ", size, x, y);
    hexstr(p, &p->cs, c, n, 0);
    putf(&p->cs, " Tj ET\n");
}

/* Text at (x, y) in points, size pt; align: 0 left, 1 centred on x,
 * 2 right-aligned at x. For text whose length is fixed (labels, numbers,
 * dates); a field of the buyer's goes through show_fit. */
static void show(pdf *p, double size, double x, double y, int align, const char *s)
{
    text t;
    text_of(s, &t);
    double width = codes_width(t.c, t.n) * size / 1000.0;
    if (align == 1)
        x -= width / 2;
    else if (align == 2)
        x -= width;
    show_codes(p, size, x, y, t.c, t.n);
}

/* Where c[0..n) breaks into lines of at most `room` units, greedily (at
 * any character: the fields are mostly CJK): the line starts into
 * start[0..lines), at most max_lines; 0 if that many do not hold it. */
static size_t wrap(const uint16_t *c, size_t n, int room, size_t start[], size_t max_lines)
{
    size_t lines = 0;
    int w = room + 1; /* the first code opens a line */
    for (size_t i = 0; i < n; i++) {
        int cw = code_width(c[i]);
        if (w + cw > room) {
            if (lines == max_lines || (lines > 0 && cw > room))
                return 0;
            start[lines++] = i;
            w = 0;
        }
        w += cw;
    }
    return lines;
}

#define FIT_LINES 3     /* a field takes at most this many lines */
#define FIT_HEIGHT 14.0 /* points a field's lines may take (rows are 16 pt apart) */
#define FIT_MIN 3.0     /* the smallest size tried */

/* Text s left-aligned at (x, y) that stays within max_w points: at size pt
 * if it fits; else the largest size (down to FIT_MIN) at which it fits in
 * one to FIT_LINES lines within FIT_HEIGHT, the lines centred on y's line.
 * O(len * steps): a few hundred codes. */
static void show_fit(pdf *p, double size, double x, double y, double max_w, const char *s)
{
    text t;
    text_of(s, &t);
    size_t start[FIT_LINES], lines = 1;
    double best = 0;
    start[0] = 0;
    for (size_t want = 1; want <= FIT_LINES; want++) {
        double sz = FIT_HEIGHT / (want * 1.15);
        if (sz > size)
            sz = size;
        size_t st[FIT_LINES], got = 0;
        for (; sz >= FIT_MIN && sz > best; sz -= 0.25)
            if ((got = wrap(t.c, t.n, (int)(max_w * 1000.0 / sz), st, want)) > 0)
                break;
        if (got > 0 && sz > best) {
            best = sz;
            lines = got;
            memcpy(start, st, sizeof(st));
        }
    }
    if (best == 0) { /* not even at FIT_MIN: as many as fit on one line */
        best = FIT_MIN;
        size_t n = 0;
        for (int w = 0; n < t.n && w + code_width(t.c[n]) <= max_w * 1000.0 / best; n++)
            w += code_width(t.c[n]);
        t.n = n;
        lines = 1;
    }
    double lead = best * 1.15;
    for (size_t i = 0; i < lines; i++) {
        size_t end = i + 1 < lines ? start[i + 1] : t.n;
        show_codes(p, best, x, y + (lines - 1) * lead / 2 - (double)i * lead, t.c + start[i],
                   end - start[i]);
    }
}

/* "label" then value, at (x, y), 9 pt, within max_w points. */
static void field(pdf *p, double x, double y, double max_w, const char *label,
                  const char *value)
{
    char line[1024];
    snprintf(line, sizeof(line), "%s%s", label, value[0] ? value : "—");
    show_fit(p, 9, x, y, max_w, line);
}

static void rule(pdf *p, double x1, double y1, double x2, double y2)
{
    putf(&p->cs, "%.1f %.1f m %.1f %.1f l S\n", x1, y1, x2, y2);
}

static void draw(pdf *p, const mc_invoice *inv, int64_t issued_at, const char *drawer)
{
    time_t local = (time_t)(issued_at + 8 * 3600); /* 开票日期 in UTC+8 */
    struct tm tm;
    gmtime_r(&local, &tm);
    char date[64], yuan[32], words[160], line[1024], money[48];
    snprintf(date, sizeof(date), "%04d年%02d月%02d日", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
    mc_inv_yuan(inv->amount, yuan, sizeof(yuan));
    mc_inv_amount_words(inv->amount, words, sizeof(words));

    putf(&p->cs, "0.55 0.25 0.15 RG 0.6 w\n"); /* the invoice's brown-red rules */
    show(p, 20, PAGE_W / 2.0, 378, 1, "电子发票（普通发票）");
    rule(p, 250, 370, 430, 370);
    rule(p, 250, 367, 430, 367);
    field(p, 470, 392, 175, "发票号码：", inv->id);
    field(p, 470, 377, 175, "开票日期：", date);

    putf(&p->cs, "30 70 620 285 re S\n");
    rule(p, 340, 355, 340, 265);
    rule(p, 30, 265, 650, 265);
    show(p, 10, 40, 340, 0, "购买方信息");
    field(p, 40, 323, COL_W, "名称：", inv->title_name);
    field(p, 40, 307, COL_W, "统一社会信用代码/纳税人识别号：", inv->title_tax_id);
    snprintf(line, sizeof(line), "%s%s%s", inv->title_address,
             inv->title_address[0] && inv->title_phone[0] ? " " : "", inv->title_phone);
    field(p, 40, 291, COL_W, "地址、电话：", line);
    snprintf(line, sizeof(line), "%s%s%s", inv->title_bank,
             inv->title_bank[0] && inv->title_account[0] ? " " : "", inv->title_account);
    field(p, 40, 275, COL_W, "开户行及账号：", line);
    show(p, 10, 350, 340, 0, "销售方信息");
    field(p, 350, 323, COL_W, "名称：", MC_INV_SELLER);
    field(p, 350, 307, COL_W, "说明：", "沙箱电子发票，由 mcert 生成");

    static const struct {
        double x;
        const char *h;
        int align;
    } COLS[] = {{40, "项目名称", 0}, {220, "规格型号", 0}, {310, "单位", 0},
                {400, "数量", 2},    {510, "单价", 2},    {640, "金额", 2}};
    for (size_t i = 0; i < sizeof(COLS) / sizeof(COLS[0]); i++)
        show(p, 9, COLS[i].x, 250, COLS[i].align, COLS[i].h);
    char qty[24], price[32], amount[32];
    snprintf(qty, sizeof(qty), "%lld", (long long)inv->goods_qty);
    mc_inv_yuan(inv->goods_price, price, sizeof(price));
    mc_inv_yuan(inv->goods_amount, amount, sizeof(amount));
    snprintf(line, sizeof(line), "*信息技术服务*%s", inv->goods_name);
    show(p, 9, COLS[0].x, 232, 0, line);
    show(p, 9, COLS[1].x, 232, 0, inv->goods_spec);
    show(p, 9, COLS[2].x, 232, 0, inv->goods_unit);
    show(p, 9, COLS[3].x, 232, 2, qty);
    show(p, 9, COLS[4].x, 232, 2, price);
    show(p, 9, COLS[5].x, 232, 2, amount);

    rule(p, 30, 165, 650, 165);
    show(p, 9, 40, 150, 0, "合计");
    snprintf(money, sizeof(money), "￥%s", yuan);
    show(p, 9, 640, 150, 2, money);
    rule(p, 30, 140, 650, 140);
    snprintf(line, sizeof(line), "价税合计（大写）  %s", words);
    show(p, 9, 40, 122, 0, line);
    snprintf(line, sizeof(line), "（小写）%s", money);
    show(p, 9, 640, 122, 2, line);
    rule(p, 30, 110, 650, 110);
    snprintf(line, sizeof(line), "备注：订单编号 %s", inv->order);
    show(p, 9, 40, 90, 0, line);
    field(p, 30, 50, 310, "开票人：", drawer);
    field(p, 350, 50, 300, "销售方：", MC_INV_SELLER);
}

/* Start object i: its offset is where the file is now. */
static void obj(pdf *p, int i)
{
    p->off[i] = p->out.len;
    putf(&p->out, "%d 0 obj\n", i);
}

static void stream(pdf *p, int i, const char *dict, const mc_buf *data)
{
    obj(p, i);
    putf(&p->out, "<< %s/Length %zu >>\nstream\n", dict, data->len);
    mc_buf_append(&p->out, data->ptr, data->len);
    putf(&p->out, "\nendstream\nendobj\n");
}

/* The ToUnicode CMap: identity for every 256-code block shown. */
static void tounicode(pdf *p, mc_buf *cm)
{
    size_t blocks = 0;
    for (int i = 0; i < 256; i++)
        blocks += p->used[i];
    putf(cm, "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
             "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
             "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
             "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
    int hi = 0;
    while (blocks > 0) {
        size_t n = blocks > 100 ? 100 : blocks; /* at most 100 per section */
        putf(cm, "%zu beginbfrange\n", n);
        for (size_t k = 0; k < n; hi++) {
            if (!p->used[hi])
                continue;
            putf(cm, "<%02X00> <%02XFF> <%02X00>\n", hi, hi, hi);
            k++;
        }
        putf(cm, "endbfrange\n");
        blocks -= n;
    }
    putf(cm, "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
}

void mc_inv_pdf_render(const mc_invoice *inv, int64_t issued_at, const char *drawer,
                       mc_buf *out)
{
    pdf p;
    memset(&p, 0, sizeof(p));
    draw(&p, inv, issued_at, drawer);

    /* the header, with a comment of high bytes: the file is binary */
    putf(&p.out, "%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n");
    obj(&p, 1);
    putf(&p.out, "<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    obj(&p, 2);
    putf(&p.out, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
    obj(&p, 3);
    putf(&p.out, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
                 "/Resources << /Font << /F1 5 0 R >> /ProcSet [/PDF /Text] >> "
                 "/Contents 4 0 R >>\nendobj\n", PAGE_W, PAGE_H);
    stream(&p, 4, "", &p.cs);
    obj(&p, 5);
    putf(&p.out, "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light "
                 "/Encoding /UniGB-UCS2-H /DescendantFonts [6 0 R] /ToUnicode 8 0 R >>\n"
                 "endobj\n");
    obj(&p, 6);
    /* CIDs 1..95 (the proportional Latin of Adobe-GB1) half width */
    putf(&p.out, "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
                 "/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> "
                 "/FontDescriptor 7 0 R /DW 1000 /W [1 95 500] >>\nendobj\n");
    obj(&p, 7);
    putf(&p.out, "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
                 "/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 "
                 "/CapHeight 880 /StemV 93 >>\nendobj\n");
    mc_buf cm = {0};
    tounicode(&p, &cm);
    stream(&p, 8, "", &cm);
    mc_buf_free(&cm);
    obj(&p, 9);
    char title[96];
    snprintf(title, sizeof(title), "电子发票 %s", inv->id);
    time_t local = (time_t)(issued_at + 8 * 3600);
    struct tm tm;
    gmtime_r(&local, &tm);
    text tt;
    text_of(title, &tt);
    putf(&p.out, "<< /Title ");
    hexstr(NULL, &p.out, tt.c, tt.n, 1);
    putf(&p.out, " /Producer (mcert) /CreationDate (D:%04d%02d%02d%02d%02d%02d+08'00') >>\n"
                 "endobj\n", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
         tm.tm_min, tm.tm_sec);

    /* the cross-reference table: 20 bytes per entry, offsets as written */
    size_t xref = p.out.len;
    putf(&p.out, "xref\n0 %d\n0000000000 65535 f \n", NOBJ + 1);
    for (int i = 1; i <= NOBJ; i++)
        putf(&p.out, "%010zu 00000 n \n", p.off[i]);
    putf(&p.out, "trailer\n<< /Size %d /Root 1 0 R /Info 9 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
         NOBJ + 1, xref);

    mc_buf_append(out, p.out.ptr, p.out.len);
    mc_buf_free(&p.out);
    mc_buf_free(&p.cs);
}
