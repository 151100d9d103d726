/*
 * fuzz_qr.c — libFuzzer target for the QR payload parser (qr/mc_qr_payload.c),
 * which reads whatever a camera decodes.
 *
 * Properties, besides "no crash / no sanitizer report": a payload that
 * parses yields a valid sid (mc_sid_valid) and an http(s) base; building a
 * payload from that base and sid and parsing it again gives the same base
 * and sid. Output buffers have exactly the documented sizes, so ASan sees
 * any overflow.
 *
 * Built and run by tests/fuzz/run.sh (clang -fsanitize=fuzzer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mc_qr.h"
#include "mc_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char base[128], sid[MC_SID_LEN + 1], base2[128], sid2[MC_SID_LEN + 1];
    char payload[MC_QR_PAYLOAD_MAX + 1];
    mc_err err;
    if (mc_qr_parse((const char *)data, size, base, sizeof(base), sid, &err) != 0)
        return 0;
    if (!mc_sid_valid(sid, strlen(sid)) ||
        (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0))
        abort();
    if (mc_qr_payload(base, sid, payload, &err) != 0)
        abort();
    if (mc_qr_parse(payload, strlen(payload), base2, sizeof(base2), sid2, &err) != 0 ||
        strcmp(base, base2) != 0 || strcmp(sid, sid2) != 0)
        abort();
    return 0;
}
