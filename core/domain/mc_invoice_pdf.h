/*
 * mc_invoice_pdf.h — the e-invoice PDF (电子发票（普通发票）) an operator's
 * issue generates (PROTOCOL.md §11.5): one page, written by hand.
 *
 * Design: PDF 1.4, nine objects (catalog, pages, page, content stream, the
 * Type0 font, its CIDFont, its descriptor, the ToUnicode CMap) and the
 * document information.
 * The font is Adobe's standard CJK font STSong-Light with the predefined
 * CMap UniGB-UCS2-H — every conforming reader has (or substitutes) it, so
 * no font is embedded and a page costs a few kilobytes. Text is shown as
 * UTF-16BE hex strings (UCS-2: a character beyond the BMP is drawn as
 * "?"), and the font carries a ToUnicode CMap (identity over the code
 * blocks used) so that text extraction and copying work without the
 * reader's CJK CMap files. The cross-reference table is computed from the
 * exact byte offsets of the objects as written.
 *
 * What it shows: the title, 发票号码, 开票日期 (UTC+8), the buyer (名称,
 * 统一社会信用代码/纳税人识别号, 地址、电话, 开户行及账号), the seller (mcert
 * 移动证书CA), the goods table (项目名称, 规格型号, 单位, 数量, 单价, 金额),
 * 合计, 价税合计 in words and figures, 备注 (the order), 开票人. A field of
 * variable length (the buyer's, the drawer's login) stays inside its column:
 * it is drawn at 9 pt if it fits, else at the largest size that fits it in
 * up to three lines of its row (the longest title, 100 CJK characters, is
 * two lines of about 5.5 pt).
 *
 * Non-goals: a tax office's signature or QR code (a real e-invoice is made
 * by the tax platform; this is the sandbox's stand-in), compression, fonts
 * beyond the one.
 */
#ifndef MC_INVOICE_PDF_H
#define MC_INVOICE_PDF_H

#include <stdint.h>

#include "mc_buf.h"
#include "mc_invoice.h"

#define MC_INV_SELLER "mcert 移动证书CA"

/* The PDF of inv (id, order, amount, title_*, goods_*; issued at
 * issued_at, unix s) appended to out. Pure: no I/O, no clock. Aborts only
 * on out of memory (mc_buf). */
void mc_inv_pdf_render(const mc_invoice *inv, int64_t issued_at, const char *drawer,
                       mc_buf *out);

#endif
