/*
 * fuzz_cms.c — libFuzzer target for mc_cms_parse and mc_cms_check
 * (core/crypto/mc_cms.c), the path of POST /api/v1/verify.
 *
 * Why: the verify endpoint takes a DER SignedData from anyone; it goes
 * through OpenSSL's d2i_CMS_ContentInfo and then our profile checks. A
 * fuzzer finds the inputs unit tests do not think of.
 *
 * Design: each input is parsed; when it parses, mc_cms_check runs on it
 * (valid or not, it must not crash), and two properties must hold, or the
 * target aborts:
 *   1. the profile is exact: mc_cms_build, given what was parsed (signer
 *      certificate, the others, algorithm, digest, time, signature), gives
 *      back the input byte for byte;
 *   2. info.attrs are mc_cms_signed_attrs(info.signing_time, info.digest).
 * run.sh seeds the corpus with a SignedData made by `openssl cms -sign`
 * (our profile exactly), so that mutations start from something that
 * parses.
 *
 * Built and run by tests/fuzz/run.sh (clang -fsanitize=fuzzer), which ctest
 * runs as the "fuzz" test; CMake does not build it as a normal target.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_cms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                 \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "fuzz_cms: property failed: %s (line %d)\n", \
                    #cond, __LINE__);                                    \
            abort();                                                     \
        }                                                                \
    } while (0)

static void check_rebuild(const mc_cms_info *info, const uint8_t *data, size_t size)
{
    int n = 1 + sk_X509_num(info->others);
    mc_slice *certs = calloc((size_t)n, sizeof(*certs));
    unsigned char **enc = calloc((size_t)n, sizeof(*enc));
    uint8_t attrs[MC_CMS_ATTRS_LEN];
    mc_buf out = {0};
    mc_err err;

    FUZZ_CHECK(certs != NULL && enc != NULL);
    for (int i = 0; i < n; i++) {
        int l = i2d_X509(i == 0 ? info->signer : sk_X509_value(info->others, i - 1), &enc[i]);
        FUZZ_CHECK(l > 0);
        certs[i] = (mc_slice){enc[i], (size_t)l};
    }
    FUZZ_CHECK(mc_cms_build(certs, (size_t)n, info->alg, info->digest, info->signing_time,
                            info->sig, info->siglen, &out, &err) == 0);
    FUZZ_CHECK(out.len == size && memcmp(out.ptr, data, size) == 0);
    FUZZ_CHECK(mc_cms_signed_attrs(info->signing_time, info->digest, attrs, &err) == 0);
    FUZZ_CHECK(info->attrs_len == MC_CMS_ATTRS_LEN &&
               memcmp(info->attrs, attrs, MC_CMS_ATTRS_LEN) == 0);
    for (int i = 0; i < n; i++)
        OPENSSL_free(enc[i]);
    free(enc);
    free(certs);
    mc_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mc_cms_info info;
    mc_err err;

    if (mc_cms_parse(data, size, &info, &err) != 0) {
        FUZZ_CHECK(err.code != NULL && strcmp(err.code, "bad_cms") == 0);
        FUZZ_CHECK(info.signer == NULL && info.others == NULL);
        return 0;
    }
    FUZZ_CHECK(info.signer != NULL && info.others != NULL);
    FUZZ_CHECK(info.alg == MC_ALG_SM2 || info.alg == MC_ALG_P256);
    FUZZ_CHECK(info.siglen >= 1 && info.siglen <= MC_SIG_MAX);
    check_rebuild(&info, data, size);
    if (mc_cms_check(&info, &err) != 0)
        FUZZ_CHECK(strcmp(err.code, "bad_signature") == 0);
    mc_cms_info_clear(&info);
    return 0;
}
