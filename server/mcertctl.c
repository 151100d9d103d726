/*
 * mcertctl.c — the admin CLI of mcert: the CA (init, issue from a CSR with
 * proof of possession, revoke), organisations and accounts.
 *
 *   mcertctl [--data DIR] [--redis HOST:PORT] ca init [--alg p256|sm2] [--cn NAME] [--days N]
 *   mcertctl ... org add --uscc USCC --name NAME
 *   mcertctl ... account add --login L --name NAME --org USCC --role admin|staff|operator
 *                            [--password-stdin]     (else a password is generated and printed once)
 *   mcertctl ... issue --csr FILE [--out FILE] [--days N]
 *   mcertctl ... revoke (--fp HEX | --serial HEX) [--reason NAME|N]
 *   mcertctl ... renewal list [--state S] [--org USCC] | renewal show --id ID
 *   mcertctl ... crl [--out FILE]
 *   mcertctl ... account show --login L
 *   mcertctl ... audit [--count N]
 *   mcertctl ... apikey add --name NAME --org USCC --scope sign[,verify]
 *   mcertctl ... apikey list | apikey revoke --id ID
 *   mcertctl ... verify --cms FILE.p7s (--file DOC | --digest HEX)
 *   mcertctl ... invoice list [--state S] | invoice show ID
 *   mcertctl ... invoice issue ID [--pdf FILE] | invoice (reject | void) ID --reason R
 *   mcertctl [--help]  |  mcertctl ... VERB --help
 *
 * The CA lives in DATA/ca (ca.key 0600, ca.crt); `ca init` also installs
 * ca.crt as a trust anchor in DATA/trust/. Every record change goes through
 * mc_store (atomic, audited with who="mcertctl", from="cli").
 *
 * The command line is strict, so that a typo never does something else:
 * every verb's flags are a table (ctl_verb, ctl_flag), and an unknown flag,
 * a stray argument, a flag given twice or missing its value, a number that
 * is not wholly decimal digits within its range, or a missing required
 * flag is a usage error before anything is read or written. `--help`
 * anywhere after a verb prints that verb's usage on stdout and does nothing
 * else.
 *
 * Exit status: 0 ok (and --help), 1 refused or failed (message on stderr),
 * 2 usage (message and usage on stderr).
 */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "mc_cms.h"
#include "mc_cms_verify.h"
#include "mc_crl.h"
#include "mc_crypto.h"
#include "mc_defaults.h"
#include "mc_store_ca.h"
#include "mc_store_app.h"
#include "mc_store_inv.h"
#include "mc_invoice_pdf.h"
#include "mc_blob.h"
#include "mc_store_renew.h"
#include "mc_store_sign.h"
#include "mc_token.h"
#include "mc_session.h"
#include "mc_store_sync.h"
#include "mc_x509.h"

#define GLOBAL_USAGE "mcertctl [--data DIR] [--redis HOST:PORT]"

/* Every change made here is audited as who="mcertctl", from="cli". */
static const mc_actor CLI = {"mcertctl", "cli"};

typedef struct ctl {
    char data[512];
    char redis_host[64];
    int redis_port;
} ctl;

/* One flag of a verb, filled by parse_flags. */
typedef struct ctl_flag {
    const char *name;    /* "--days" */
    const char **value;  /* where the value of "--name VALUE" goes; NULL for
                            a switch (no value) */
    int required;        /* missing is a usage error */
    int seen;            /* set when given */
} ctl_flag;

struct ctl_verb;
typedef int (*ctl_run)(const ctl *c, const struct ctl_verb *v, int argc, char **argv, int from);

/* A verb: the words that name it, its flags as usage shows them, what it
 * does, and the function that runs it with argv[from..argc) as its flags. */
typedef struct ctl_verb {
    const char *words;
    const char *args;
    const char *about;
    ctl_run run;
} ctl_verb;

static void verb_usage(FILE *f, const ctl_verb *v)
{
    fprintf(f, "usage: " GLOBAL_USAGE " %s%s%s\n  %s\n", v->words, v->args[0] ? " " : "",
            v->args, v->about);
}

/* "mcertctl: <verb>: <message>" and the verb's usage on stderr; returns 2. */
static int usage_error(const ctl_verb *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const ctl_verb *v, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mcertctl: %s: ", v->words);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    verb_usage(stderr, v);
    return 2;
}

static int is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Parse argv[from..argc) as v's flags fl[0..nfl). Returns -1 when the verb
 * is to run; else the exit status: 0 after --help (usage on stdout), 2
 * after a usage error (unknown flag, stray argument, a flag twice, a value
 * missing, a required flag missing). A value may not start with "--" (that
 * is the next flag: the value is missing). */
static int parse_flags(const ctl_verb *v, int argc, char **argv, int from, ctl_flag *fl,
                       size_t nfl)
{
    for (int i = from; i < argc; i++)
        if (is_help(argv[i])) {
            verb_usage(stdout, v);
            return 0;
        }
    for (int i = from; i < argc; i++) {
        ctl_flag *f = NULL;
        for (size_t k = 0; k < nfl && f == NULL; k++)
            if (strcmp(argv[i], fl[k].name) == 0)
                f = &fl[k];
        if (f == NULL)
            return usage_error(v, argv[i][0] == '-' ? "unknown flag %s" : "unexpected argument %s",
                               argv[i]);
        if (f->seen)
            return usage_error(v, "%s given twice", f->name);
        f->seen = 1;
        if (f->value != NULL) {
            if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
                return usage_error(v, "%s needs a value", f->name);
            *f->value = argv[++i];
        }
    }
    for (size_t k = 0; k < nfl; k++)
        if (fl[k].required && !fl[k].seen)
            return usage_error(v, "%s is required", fl[k].name);
    return -1;
}

#define NFLAGS(a) (sizeof(a) / sizeof((a)[0]))
#define FLAG(name, value) {(name), (value), 0, 0}     /* "--name VALUE", optional */
#define REQUIRED(name, value) {(name), (value), 1, 0} /* "--name VALUE", required */
#define SWITCH(name) {(name), NULL, 0, 0}             /* "--name" */

/* s as a decimal number in lo..hi: digits only (no sign, space or suffix),
 * the whole string, no overflow. 0 / -1. */
static int parse_num(const char *s, long lo, long hi, long *out)
{
    char *end;
    long n;

    if (s == NULL || s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    n = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

/* The value s of flag `name` (dflt if NULL) as a number in lo..hi into
 * *out. Returns -1 if fine, else 2 after a usage error. */
static int num_flag(const ctl_verb *v, const char *name, const char *s, long lo, long hi,
                    long dflt, long *out)
{
    if (s == NULL) {
        *out = dflt;
        return -1;
    }
    if (parse_num(s, lo, hi, out) != 0)
        return usage_error(v, "%s must be a whole number in %ld..%ld, not \"%s\"", name, lo, hi,
                           s);
    return -1;
}

/* 1 if s is printable UTF-8 (what the web and the phone can display). */
static int printable(const char *s)
{
    char tmp[512];
    size_t n = strlen(s);
    if (n >= sizeof(tmp))
        return 0;
    mc_copy_printable(tmp, sizeof(tmp), s, n);
    return strcmp(tmp, s) == 0;
}

static int fail(const mc_err *e)
{
    fprintf(stderr, "mcertctl: %s (%s)\n", e->msg, e->code ? e->code : "error");
    return 1;
}

static mc_store *connect_store(const ctl *c)
{
    mc_err err;
    mc_store *st = mc_store_connect(c->redis_host, c->redis_port, &err);
    if (st == NULL)
        fail(&err);
    return st;
}

static int mkdir_p(const char *dir, mode_t mode)
{
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, mode) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, mode) != 0 && errno != EEXIST ? -1 : 0;
}

/* The CA is made in memory first, so that a refused CN or validity leaves
 * no directory behind. */
static int cmd_ca_init(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    mc_err err;
    const char *algs = NULL, *cn = NULL, *days = NULL;
    ctl_flag fl[] = {FLAG("--alg", &algs), FLAG("--cn", &cn), FLAG("--days", &days)};
    long ndays;
    int rc;
    if ((rc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0 ||
        (rc = num_flag(v, "--days", days, 1, MC_CA_DAYS_MAX, 3650, &ndays)) >= 0)
        return rc;
    mc_alg alg = algs ? mc_alg_parse(algs) : MC_ALG_P256;
    if (alg == MC_ALG_NONE)
        return usage_error(v, "--alg is p256 or sm2, not \"%s\"", algs);
    char dir[600], trust[600], crt[700];
    snprintf(dir, sizeof(dir), "%s/ca", c->data);
    snprintf(trust, sizeof(trust), "%s/trust", c->data);
    snprintf(crt, sizeof(crt), "%s/ca.crt", dir);
    if (access(crt, F_OK) == 0) {
        fprintf(stderr, "mcertctl: a CA already exists in %s\n", dir);
        return 1;
    }
    mc_ca *ca = mc_ca_create(alg, cn ? cn : "mcert Local Mobile CA", (int)ndays, &err);
    if (ca == NULL)
        return fail(&err);
    if (mkdir_p(dir, 0700) != 0 || mkdir_p(trust, 0755) != 0) {
        fprintf(stderr, "mcertctl: cannot create %s: %s\n", dir, strerror(errno));
        mc_ca_free(ca);
        return 1;
    }
    if (mc_ca_save(ca, dir, &err) != 0) {
        mc_ca_free(ca);
        return fail(&err);
    }
    char anchor[700];
    snprintf(anchor, sizeof(anchor), "%s/ca.crt", trust);
    FILE *f = fopen(anchor, "w");
    if (f == NULL || PEM_write_X509(f, mc_ca_cert(ca)) != 1) {
        if (f)
            fclose(f);
        mc_ca_free(ca);
        fprintf(stderr, "mcertctl: cannot write %s\n", anchor);
        return 1;
    }
    fclose(f);
    mc_cert_info ci;
    if (mc_cert_info_of(mc_ca_cert(ca), &ci, &err) == 0)
        printf("CA %s (%s) created in %s; trust anchor %s; fingerprint %s\n", ci.cn,
               mc_alg_name(alg), dir, anchor, ci.fp_hex);
    mc_ca_free(ca);
    return 0;
}

static int cmd_org_add(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *uscc = NULL, *name = NULL;
    ctl_flag fl[] = {REQUIRED("--uscc", &uscc), REQUIRED("--name", &name)};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    if (!mc_uscc_valid(uscc, strlen(uscc))) {
        fprintf(stderr, "mcertctl: %s is not a valid 统一社会信用代码\n", uscc);
        return 1;
    }
    if (!printable(name) || strlen(name) > 128) {
        fprintf(stderr, "mcertctl: the name must be printable UTF-8, at most 128 bytes\n");
        return 1;
    }
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_org o;
    memset(&o, 0, sizeof(o));
    snprintf(o.uscc, sizeof(o.uscc), "%s", uscc);
    snprintf(o.name, sizeof(o.name), "%s", name);
    o.created = (int64_t)time(NULL);
    mc_err err;
    int rc = mc_sync_org_create(st, &o, &CLI, &err) == 0 ? 0 : fail(&err);
    if (rc == 0)
        printf("organisation %s (%s) created\n", o.name, o.uscc);
    mc_store_free(st);
    return rc;
}

static int cmd_account_add(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *login = NULL, *name = NULL, *org = NULL, *role = NULL;
    ctl_flag fl[] = {REQUIRED("--login", &login), REQUIRED("--name", &name),
                     REQUIRED("--org", &org), REQUIRED("--role", &role),
                     SWITCH("--password-stdin")};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    if (!mc_account_name_valid(login, strlen(login))) {
        fprintf(stderr, "mcertctl: account names are [a-z0-9._-]{1,64}\n");
        return 1;
    }
    if (strcmp(role, "admin") != 0 && strcmp(role, "staff") != 0 &&
        strcmp(role, "operator") != 0)
        return usage_error(v, "--role is admin, staff or operator, not \"%s\"", role);
    if (!printable(name) || strlen(name) > 128) {
        fprintf(stderr, "mcertctl: the name must be printable UTF-8, at most 128 bytes\n");
        return 1;
    }
    char pw[257] = "";
    int generated = 0;
    if (fl[4].seen) {
        if (fgets(pw, sizeof(pw), stdin) == NULL) {
            fprintf(stderr, "mcertctl: --password-stdin: no password on stdin\n");
            return 1;
        }
        pw[strcspn(pw, "\r\n")] = '\0';
        if (strlen(pw) < 8) {
            fprintf(stderr, "mcertctl: passwords have at least 8 characters\n");
            return 1;
        }
    } else {
        uint8_t rnd[12];
        mc_random(rnd, sizeof(rnd));
        mc_base64url(rnd, sizeof(rnd), pw);
        OPENSSL_cleanse(rnd, sizeof(rnd));
        generated = 1;
    }
    mc_err err;
    mc_account acc;
    memset(&acc, 0, sizeof(acc));
    snprintf(acc.login, sizeof(acc.login), "%s", login);
    snprintf(acc.name, sizeof(acc.name), "%s", name);
    snprintf(acc.org, sizeof(acc.org), "%s", org);
    snprintf(acc.role, sizeof(acc.role), "%s", role);
    acc.created = (int64_t)time(NULL);
    if (mc_password_hash(pw, strlen(pw), acc.pw, &err) != 0) {
        OPENSSL_cleanse(pw, sizeof(pw));
        return fail(&err);
    }
    mc_store *st = connect_store(c);
    if (st == NULL) {
        OPENSSL_cleanse(pw, sizeof(pw));
        return 1;
    }
    int rc = 0;
    if (mc_sync_account_create(st, &acc, &CLI, &err) != 0) {
        if (err.code && strcmp(err.code, "not_found") == 0)
            mc_err_set(&err, 404, "not_found", "no organisation %s", org);
        rc = fail(&err);
    } else if (generated) {
        printf("account %s (%s, %s) created; password: %s\n", login, role, org, pw);
    } else {
        printf("account %s (%s, %s) created\n", login, role, org);
    }
    OPENSSL_cleanse(pw, sizeof(pw));
    mc_store_free(st);
    return rc;
}

static int cmd_account_show(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *login = NULL;
    ctl_flag fl[] = {REQUIRED("--login", &login)};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_account acc;
    mc_err err;
    int rc = 0;
    if (mc_sync_account_get(st, login, &acc, &err) != 0)
        rc = fail(&err);
    else
        printf("account %s\nname %s\norg %s\nrole %s\ncert %s\nbound_by %s\n", acc.login,
               acc.name, acc.org, acc.role, acc.cert[0] ? acc.cert : "-",
               acc.bound_by[0] ? acc.bound_by : "-");
    OPENSSL_cleanse(&acc, sizeof(acc));
    mc_store_free(st);
    return rc;
}

static int read_file(const char *path, mc_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    uint8_t tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0 && out->len < 1024 * 1024)
        mc_buf_append(out, tmp, n);
    fclose(f);
    return 0;
}

static int cmd_issue(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *csr = NULL, *out = NULL, *days = NULL;
    ctl_flag fl[] = {REQUIRED("--csr", &csr), FLAG("--out", &out), FLAG("--days", &days)};
    long ndays;
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0 ||
        (prc = num_flag(v, "--days", days, 1, MC_LEAF_DAYS_MAX, 365, &ndays)) >= 0)
        return prc;
    mc_err err;
    mc_buf req = {0};
    if (read_file(csr, &req) != 0) {
        fprintf(stderr, "mcertctl: cannot read %s\n", csr);
        return 1;
    }
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/ca", c->data);
    mc_ca *ca = mc_ca_load(dir, &err);
    X509 *x = NULL;
    mc_store *st = NULL;
    int rc = 1;
    if (ca == NULL) {
        fail(&err);
        goto done;
    }
    x = mc_ca_issue(ca, req.ptr, req.len, (int)ndays, &err);
    if (x == NULL) {
        fail(&err);
        goto done;
    }
    mc_cert_info ci;
    if (mc_cert_info_of(x, &ci, &err) != 0) {
        fail(&err);
        goto done;
    }
    st = connect_store(c);
    if (st == NULL)
        goto done;
    mc_cert_rec rec;
    mc_cert_rec_from_info(&ci, &rec);
    unsigned char *der = NULL;
    int derlen = i2d_X509(x, &der);
    if (derlen <= 0) {
        fprintf(stderr, "mcertctl: cannot encode the certificate\n");
        goto done;
    }
    rec.der = (mc_slice){der, (size_t)derlen};
    int put = mc_sync_cert_put(st, &rec, &CLI, &err);
    OPENSSL_free(der);
    if (put != 0) {
        fail(&err);
        goto done;
    }
    FILE *f = out ? fopen(out, "w") : stdout;
    if (f == NULL || PEM_write_X509(f, x) != 1 || PEM_write_X509(f, mc_ca_cert(ca)) != 1) {
        fprintf(stderr, "mcertctl: cannot write the certificate\n");
        if (f && f != stdout)
            fclose(f);
        goto done;
    }
    if (f != stdout)
        fclose(f);
    fprintf(stderr, "issued %s certificate for %s (%s), serial %s, fingerprint %s%s%s\n",
            mc_alg_name(ci.alg), ci.cn, ci.uscc, ci.serial_hex, ci.fp_hex, out ? " -> " : "",
            out ? out : "");
    rc = 0;
done:
    mc_buf_free(&req);
    X509_free(x);
    mc_ca_free(ca);
    mc_store_free(st);
    return rc;
}

/* One audit value as shown: printable UTF-8 (other bytes '?'), in double
 * quotes (with \" and \\) if it holds a space, a quote, a backslash or '='
 * or is longer than the buffer, so that a value cannot pass for more
 * fields. */
static void print_value(const char *s)
{
    char shown[512];
    mc_copy_printable(shown, sizeof(shown), s, strlen(s));
    if (strcspn(shown, " \"\\=") == strlen(shown)) {
        fputs(shown, stdout);
        return;
    }
    putchar('"');
    for (const char *p = shown; *p; p++) {
        if (*p == '"' || *p == '\\')
            putchar('\\');
        putchar(*p);
    }
    putchar('"');
}

/* One entry per line: its time (its "at" field in unix seconds, else the
 * stream id's milliseconds), then every other field that has a value, in
 * stream order, as name=value. Empty values are left out (e.g. the account
 * of a revoked certificate that was bound to none). */
static void print_audit(void *privdata, const char *id, const char *const *kv, size_t nkv)
{
    long long secs = strtoll(id, NULL, 10) / 1000;
    long at;
    int at_used = 0;
    time_t t;
    struct tm tm;
    char when[32];

    for (size_t i = 0; i + 1 < nkv && !at_used; i += 2)
        if (strcmp(kv[i], "at") == 0 && parse_num(kv[i + 1], 0, 0x7fffffffL, &at) == 0) {
            secs = at;
            at_used = 1;
        }
    t = (time_t)secs;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs(when, stdout);
    for (size_t i = 0; i + 1 < nkv; i += 2) {
        if (kv[i + 1][0] == '\0' || (at_used && strcmp(kv[i], "at") == 0))
            continue;
        putchar(' ');
        print_value(kv[i]);
        putchar('=');
        print_value(kv[i + 1]);
    }
    putchar('\n');
}

static int cmd_audit(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *count = NULL;
    ctl_flag fl[] = {FLAG("--count", &count)};
    long n;
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0 ||
        (prc = num_flag(v, "--count", count, 1, 100000, 20, &n)) >= 0)
        return prc;
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_err err;
    int rc = mc_store_audit_each(st, (size_t)n, print_audit, NULL, &err) == 0 ? 0 : fail(&err);
    mc_store_free(st);
    return rc;
}

static int cmd_revoke(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *fp = NULL, *serial = NULL, *reason = NULL;
    ctl_flag fl[] = {FLAG("--fp", &fp), FLAG("--serial", &serial), FLAG("--reason", &reason)};
    uint8_t raw[32];
    char lower[65], sn[41];
    int prc, why = MC_REASON_UNSPECIFIED;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    if ((fp == NULL) == (serial == NULL))
        return usage_error(v, "give exactly one of --fp and --serial");
    if (fp != NULL && mc_unhex(fp, strlen(fp), raw, 32) != 0)
        return usage_error(v, "--fp is 64 hex digits (a certificate fingerprint)");
    if (serial != NULL && mc_serial_norm(serial, strlen(serial), sn) != 0)
        return usage_error(v, "--serial is the certificate's serial number in hex (2..40 "
                              "digits)");
    if (reason != NULL && (why = mc_reason_parse(reason, strlen(reason))) < 0)
        return usage_error(v, "--reason is unspecified (0), keyCompromise (1), "
                              "affiliationChanged (3), superseded (4), cessationOfOperation (5) "
                              "or privilegeWithdrawn (9), not \"%s\"", reason);
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_err err;
    mc_revoked done;
    int rc = 1, found;
    if (fp != NULL) {
        mc_hex(raw, 32, lower);
    } else if (mc_sync_serial_fp(st, sn, lower, &found, &err) != 0) {
        fail(&err);
        goto out;
    } else if (!found) {
        fprintf(stderr, "mcertctl: no certificate is recorded with serial %s (not_found)\n", sn);
        goto out;
    }
    if (mc_sync_ca_revoke(st, lower, why, &CLI, &done, &err) != 0) {
        fail(&err);
        goto out;
    }
    printf("certificate %s revoked (%s), CRL number %lld\n", lower, mc_reason_name(why),
           (long long)done.crlver);
    rc = 0;
out:
    mc_store_free(st);
    return rc;
}

/* The CA's CRL now, DER, to --out or stdout (what GET /ca/crl serves). */
static int cmd_crl(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *out = NULL;
    ctl_flag fl[] = {FLAG("--out", &out)};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/ca", c->data);
    mc_err err;
    mc_crl_state cs = {0};
    mc_buf der = {0};
    mc_store *st = NULL;
    int rc = 1;
    mc_ca *ca = mc_ca_load(dir, &err);
    if (ca == NULL) {
        fail(&err);
        goto done;
    }
    if ((st = connect_store(c)) == NULL)
        goto done;
    if (mc_sync_crl_read(st, &cs, &err) != 0 ||
        mc_crl_build(ca, cs.ver, cs.now, cs.e, cs.n, &der, &err) != 0) {
        fail(&err);
        goto done;
    }
    FILE *f = out ? fopen(out, "wb") : stdout;
    if (f == NULL || fwrite(der.ptr, 1, der.len, f) != der.len || (f != stdout && fclose(f))) {
        fprintf(stderr, "mcertctl: cannot write the CRL\n");
        goto done;
    }
    if (f == stdout)
        fflush(stdout);
    fprintf(stderr, "CRL number %lld, %zu revoked%s%s\n", (long long)cs.ver, cs.n,
            out ? " -> " : "", out ? out : "");
    rc = 0;
done:
    mc_buf_free(&der);
    mc_crl_state_free(&cs);
    mc_ca_free(ca);
    mc_store_free(st);
    return rc;
}

/* ---- API keys of the platform (PROTOCOL.md §8.1) ---- */

static int cmd_apikey_add(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *name = NULL, *org = NULL, *scope = NULL;
    ctl_flag fl[] = {REQUIRED("--name", &name), REQUIRED("--org", &org),
                     REQUIRED("--scope", &scope)};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    if (!mc_uscc_valid(org, strlen(org)))
        return usage_error(v, "--org is an organisation's 统一社会信用代码");
    if (!printable(name) || strlen(name) == 0 || strlen(name) > 128)
        return usage_error(v, "--name must be printable UTF-8, 1..128 bytes");
    if (strcmp(scope, "sign") != 0 && strcmp(scope, "verify") != 0 &&
        strcmp(scope, "sign,verify") != 0 && strcmp(scope, "verify,sign") != 0)
        return usage_error(v, "--scope is sign, verify or sign,verify");
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_err err;
    mc_org o;
    mc_err_clear(&err);
    mc_store_org_get(st, org, &o, mc_store_sync_cb, &err);
    int rc = 1;
    if (err.status != 0) {
        if (err.status == 404)
            fprintf(stderr, "mcertctl: no organisation %s\n", org);
        else
            fail(&err);
        goto done;
    }
    char key[MC_APIKEY_LEN + 1];
    mc_apikey k;
    memset(&k, 0, sizeof(k));
    mc_apikey_new(key, k.id, k.hash);
    snprintf(k.name, sizeof(k.name), "%s", name);
    snprintf(k.org, sizeof(k.org), "%s", org);
    snprintf(k.scopes, sizeof(k.scopes), "%s", strcmp(scope, "verify,sign") == 0 ? "sign,verify" : scope);
    if (mc_sync_apikey_create(st, &k, &CLI, &err) != 0) {
        fail(&err);
        goto done;
    }
    printf("API key %s for %s (%s), scope %s; shown this once:\n%s\n", k.id, o.name, org,
           k.scopes, key);
    rc = 0;
    OPENSSL_cleanse(key, sizeof(key));
done:
    mc_store_free(st);
    return rc;
}

static int cmd_apikey_list(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, NULL, 0)) >= 0)
        return prc;
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_apikeys ks;
    mc_err err;
    int rc = mc_sync_apikey_list(st, &ks, &err) == 0 ? 0 : fail(&err);
    for (size_t k = 0; rc == 0 && k < ks.n; k++) {
        char when[32] = "in force";
        if (ks.k[k].revoked_at != 0) {
            time_t t = (time_t)ks.k[k].revoked_at;
            strftime(when, sizeof(when), "revoked %Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        }
        time_t t = (time_t)ks.k[k].created;
        char made[24];
        strftime(made, sizeof(made), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        printf("%s  %s  org %s  scope %s  created %s  %s\n", ks.k[k].id, ks.k[k].name,
               ks.k[k].org, ks.k[k].scopes, made, when);
    }
    free(ks.k);
    mc_store_free(st);
    return rc;
}

static int cmd_apikey_revoke(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *id = NULL;
    ctl_flag fl[] = {REQUIRED("--id", &id)};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    uint8_t raw[8];
    if (strlen(id) != 16 || mc_unhex(id, 16, raw, 8) != 0)
        return usage_error(v, "--id is the key's 16 hex digits (apikey list)");
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_err err;
    int rc = mc_sync_apikey_revoke(st, id, &CLI, &err) == 0 ? 0 : fail(&err);
    if (rc == 0)
        printf("API key %s revoked\n", id);
    mc_store_free(st);
    return rc;
}

/* ---- verify a detached signature (PROTOCOL.md §8.8), offline ---- */

/* The digest of a file of any size with the SignedData's algorithm. 0 / -1. */
static int digest_file(const char *path, mc_alg alg, uint8_t out[32])
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = m != NULL && EVP_DigestInit_ex(m, alg == MC_ALG_SM2 ? EVP_sm3() : EVP_sha256(),
                                            NULL) == 1;
    uint8_t buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        ok = EVP_DigestUpdate(m, buf, n) == 1;
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(m, out, NULL) == 1;
    EVP_MD_CTX_free(m);
    fclose(f);
    return ok ? 0 : -1;
}

static int cmd_verify(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *cms = NULL, *file = NULL, *digest = NULL;
    ctl_flag fl[] = {REQUIRED("--cms", &cms), FLAG("--file", &file), FLAG("--digest", &digest)};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    if ((file == NULL) == (digest == NULL))
        return usage_error(v, "give exactly one of --file and --digest");
    uint8_t dg[32];
    if (digest != NULL && mc_unhex(digest, strlen(digest), dg, 32) != 0)
        return usage_error(v, "--digest is 64 hex digits");
    mc_buf der = {0};
    mc_err err;
    mc_err_clear(&err);
    int rc = 1;
    mc_trust *trust = NULL;
    mc_store *st = NULL;
    mc_cms_info info;
    if (read_file(cms, &der) != 0) {
        fprintf(stderr, "mcertctl: cannot read %s\n", cms);
        goto done;
    }
    if (mc_cms_parse(der.ptr, der.len, &info, &err) != 0) {
        fail(&err);
        goto done;
    }
    mc_alg alg = info.alg;
    mc_cms_info_clear(&info);
    if (file != NULL && digest_file(file, alg, dg) != 0) {
        fprintf(stderr, "mcertctl: cannot read %s\n", file);
        goto done;
    }
    char tpath[600];
    snprintf(tpath, sizeof(tpath), "%s/trust", c->data);
    if ((trust = mc_trust_load(tpath, &err)) == NULL) {
        fail(&err);
        goto done;
    }
    mc_cms_result res;
    if (mc_cms_verify(trust, der.ptr, der.len, dg, NULL, 0, &res, &err) != 0) {
        fail(&err);
        goto done;
    }
    mc_cert_rec rec;
    int found = 0;
    memset(&rec, 0, sizeof(rec));
    if (res.signer.fp_hex[0] != '\0') {
        if ((st = connect_store(c)) == NULL)
            goto done;
        if (mc_sync_cert_get(st, res.signer.fp_hex, &rec, &found, &err) != 0) {
            fail(&err);
            goto done;
        }
    }
    const char *now, *then;
    mc_cms_verdict(&res, found ? rec.status : "", rec.revoked_at, rec.superseded_at, &now,
                   &then);
    time_t t = (time_t)res.signing_time;
    char when[24];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    printf("%s%s%s\n", res.reason ? "INVALID (" : "VALID", res.reason ? res.reason : "",
           res.reason ? ")" : "");
    printf("signer:       %s, %s (%s)\nserial:       %s\nfingerprint:  %s\nissuer:       %s\n",
           res.signer.cn, res.signer.org_name, res.signer.uscc, res.signer.serial_hex,
           res.signer.fp_hex, res.signer.issuer_cn);
    char hex[65];
    mc_hex(res.digest, 32, hex);
    printf("signing time: %s\ndigest:       %s %s\nstatus:       at signing %s, now %s\n",
           when, res.digest_alg, hex, then, now);
    rc = res.reason ? 1 : 0;
done:
    mc_buf_free(&der);
    mc_trust_free(trust);
    mc_store_free(st);
    return rc;
}

/* ---- renewals (PROTOCOL.md §10) ---- */

static void ren_print_line(const mc_ren_pair *p)
{
    const mc_renewal *r = &p->r;
    printf("%s  %-17s  %s  %s  %s  %lld年  fee %lld  order %s\n", r->id,
           mc_ren_state_now(r->state, r->expires, p->now), r->serial, r->uscc, r->holder,
           (long long)r->years, (long long)r->fee, r->order);
}

static int cmd_ren_list(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *state = NULL, *org = NULL;
    ctl_flag fl[] = {FLAG("--state", &state), FLAG("--org", &org)};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    static const char *const states[] = {"pending_payment", "pending_extension", "extended",
                                         "refunding", "refunded", "expired", NULL};
    int known = state == NULL;
    for (size_t k = 0; !known && states[k] != NULL; k++)
        known = strcmp(state, states[k]) == 0;
    if (!known)
        return usage_error(v, "--state is a renewal state, not \"%s\"", state);
    if (org != NULL && !mc_uscc_valid(org, strlen(org)))
        return usage_error(v, "--org is a 统一社会信用代码");
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_err err;
    mc_err_clear(&err);
    mc_ren_list l = {0};
    mc_store_renew_list(st, org, &l, mc_store_sync_cb, &err);
    int rc = err.status ? fail(&err) : 0;
    for (size_t k = 0; rc == 0 && k < l.n; k++) {
        const mc_ren_pair *p = &l.p[k];
        if (p->r.id[0] == '\0' ||
            (state != NULL && strcmp(mc_ren_state_now(p->r.state, p->r.expires, p->now),
                                     state) != 0))
            continue;
        ren_print_line(p);
    }
    mc_ren_list_free(&l);
    mc_store_free(st);
    return rc;
}

static int cmd_ren_show(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *id = NULL;
    ctl_flag fl[] = {REQUIRED("--id", &id)};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    if (!mc_ren_id_valid(id, strlen(id)))
        return usage_error(v, "--id is a renewal number (XF + 18 digits)");
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_err err;
    mc_err_clear(&err);
    mc_ren_pair p = {0};
    mc_store_renew_get(st, id, &p, mc_store_sync_cb, &err);
    int rc = err.status ? fail(&err) : 0;
    if (rc == 0) {
        const mc_renewal *r = &p.r;
        printf("id %s\nstate %s\ncert %s\nserial %s\norg %s (%s)\nholder %s\naccount %s\n"
               "years %lld\nfee %lld\norder %s (%s)\ncreated %lld\npaid_at %lld\n"
               "old_not_after %lld\nnew_not_after %lld\nextended_at %lld\nnew_cert %s\n"
               "new_serial %s\nrekey %s\nrefund_at %lld\nby %s\n",
               r->id, mc_ren_state_now(r->state, r->expires, p.now), r->fp, r->serial,
               r->org_name, r->uscc, r->holder, r->account[0] ? r->account : "-",
               (long long)r->years, (long long)r->fee, r->order, mc_order_state_now(&p.o),
               (long long)r->created, (long long)r->paid_at, (long long)r->old_not_after,
               (long long)(r->new_not_after ? r->new_not_after
                                            : mc_ren_new_not_after(r->old_not_after, r->years)),
               (long long)r->extended_at, r->new_fp[0] ? r->new_fp : "-",
               r->new_serial[0] ? r->new_serial : "-", strcmp(r->rekey, "1") == 0 ? "yes" : "no",
               (long long)r->refund_at, r->by);
    }
    mc_store_free(st);
    return rc;
}

/* ---- applications (PROTOCOL.md §9) ---- */

static int cmd_app_list(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *state = NULL, *org = NULL;
    ctl_flag fl[] = {FLAG("--state", &state), FLAG("--org", &org)};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    if (state != NULL && mc_app_state_parse(state) == MC_APP_NONE)
        return usage_error(v, "--state is an application state, not \"%s\"", state);
    if (org != NULL && !mc_uscc_valid(org, strlen(org)))
        return usage_error(v, "--org is a 统一社会信用代码");
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_err err;
    mc_err_clear(&err);
    mc_app_ids ids = {0};
    mc_app_rows rows = {0};
    mc_store_app_ids(st, org, &ids, mc_store_sync_cb, &err);
    if (err.status == 0 && ids.n > 0)
        mc_store_app_rows(st, ids.id, ids.n, &rows, mc_store_sync_cb, &err);
    int rc = err.status ? fail(&err) : 0;
    for (size_t k = 0; rc == 0 && k < rows.n; k++) {
        const mc_app *a = &rows.a[k];
        if (a->id[0] == '\0' || (state != NULL && strcmp(a->state, state) != 0))
            continue;
        printf("%s  %-22s  %s  %s  %s  fee %lld\n", a->id, a->state, a->uscc, a->org_name,
               a->holder_name, (long long)a->fee);
    }
    mc_app_ids_free(&ids);
    mc_app_rows_free(&rows);
    mc_store_free(st);
    return rc;
}

static int app_read(mc_store *st, const char *id, mc_app *a)
{
    mc_err err;
    mc_err_clear(&err);
    if (!mc_app_number_valid(id, strlen(id))) {
        fprintf(stderr, "mcertctl: %s is not an order number (SQ + 16 digits)\n", id);
        return -1;
    }
    mc_store_app_get(st, id, a, mc_store_sync_cb, &err);
    if (err.status != 0) {
        fail(&err);
        return -1;
    }
    return 0;
}

static void app_print(const mc_app *a)
{
    printf("id %s\nstate %s (%s)\nprovider %s\nkind %s\nquantity %lld\norg_name %s\n"
           "org_type %s\nuscc %s\nregion %s\nlicence %s\nholder_name %s\nholder_id %s\n"
           "mobile %s\nemail %s\nid_scan %s\nauth_letter %s\nalg %s\ndelivery %s\n"
           "identity %s\nfee %lld\npaid %s\norder %s\nreason %s\napplicant %s\ncreated %lld\n"
           "submitted_at %lld\nreviewed_at %lld\nreviewer %s\ncert %s\n",
           a->id, a->state, mc_app_state_label(mc_app_state_parse(a->state)), a->provider,
           a->kind, (long long)a->quantity, a->org_name, a->org_type, a->uscc, a->region,
           a->licence, a->holder_name, a->holder_id, a->mobile, a->email, a->id_scan,
           a->auth_letter, a->alg, a->delivery, a->identity, (long long)a->fee, a->paid,
           a->order[0] ? a->order : "-", a->reason[0] ? a->reason : "-", a->applicant,
           (long long)a->created, (long long)a->submitted_at, (long long)a->reviewed_at,
           a->reviewer[0] ? a->reviewer : "-", a->cert[0] ? a->cert : "-");
}

static int cmd_app_show(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *id = NULL;
    ctl_flag fl[] = {REQUIRED("--id", &id)};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_app a;
    int rc = app_read(st, id, &a) == 0 ? 0 : 1;
    if (rc == 0)
        app_print(&a);
    mc_store_free(st);
    return rc;
}

/* The table's verdict on an event for the state read (next: where the
 * event leads, or -1, the families' *_NONE); the Redis Function checks
 * again. 0, or 1 after the message. */
static int allows(int next, const char *event, const char *state)
{
    if (next != MC_FSM_NONE)
        return 0;
    fprintf(stderr, "mcertctl: %s is not possible in state %s (bad_transition)\n", event,
            state);
    return 1;
}

static int app_allows(const mc_app *a, mc_app_event ev)
{
    return allows(mc_app_next(mc_app_state_parse(a->state), ev), mc_app_event_name(ev),
                  a->state);
}

static int cmd_app_approve(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *id = NULL;
    ctl_flag fl[] = {REQUIRED("--id", &id)};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_app a, out;
    int rc = app_read(st, id, &a) == 0 ? app_allows(&a, MC_APP_EV_APPROVE) : 1;
    if (rc == 0) {
        char hash[65], sms[MC_SMS_MAX];
        mc_app_activation_new(a.id, hash, sms, sizeof(sms));
        mc_err err;
        mc_err_clear(&err);
        mc_store_app_approve(st, a.id, hash, MC_ACTIVATION_TTL, sms, &CLI, &out,
                             mc_store_sync_cb, &err);
        OPENSSL_cleanse(sms, sizeof(sms));
        if (err.status != 0)
            rc = fail(&err);
        else
            printf("application %s approved (%s); the activation code went to %.3s****%s by "
                   "SMS\n", out.id, out.state, out.mobile,
                   strlen(out.mobile) >= 4 ? out.mobile + strlen(out.mobile) - 4 : "");
    }
    mc_store_free(st);
    return rc;
}

static int cmd_app_reject(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *id = NULL, *reason = NULL;
    ctl_flag fl[] = {REQUIRED("--id", &id), REQUIRED("--reason", &reason)};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    if (!mc_app_text_valid(reason, strlen(reason), MC_APP_REASON_MAX))
        return usage_error(v, "--reason is 1..512 bytes of printable UTF-8");
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_app a;
    int rc = app_read(st, id, &a) == 0 ? app_allows(&a, MC_APP_EV_REJECT) : 1;
    if (rc == 0) {
        mc_err err;
        mc_err_clear(&err);
        mc_app_done done;
        mc_store_app_reject(st, &a, reason, &CLI, &done, mc_store_sync_cb, &err);
        if (err.status != 0)
            rc = fail(&err);
        else if (done.refund[0] != '\0')
            printf("application %s rejected; order %s is refund_pending (mcertd's sweep asks "
                   "the provider)\n", done.app.id, done.refund);
        else
            printf("application %s rejected\n", done.app.id);
    }
    mc_store_free(st);
    return rc;
}

/* ---- invoices (PROTOCOL.md §11) ---- */

/* argv[*i] as the invoice number the verb names (then *i moves past it).
 * -1 if fine, else 2 after a usage error. */
static int inv_id_arg(const ctl_verb *v, int argc, char **argv, int *i, const char **id)
{
    if (*i < argc && is_help(argv[*i]))
        return -1; /* parse_flags prints the usage */
    if (*i >= argc || argv[*i][0] == '-')
        return usage_error(v, "the invoice number (FP + 18 digits) comes first");
    *id = argv[(*i)++];
    if (!mc_inv_id_valid(*id, strlen(*id)))
        return usage_error(v, "%s is not an invoice number (FP + 18 digits)", *id);
    return -1;
}

/* The invoice numbered id (and its order) into x. 0, or 1 after the message. */
static int inv_read(mc_store *st, const char *id, mc_inv_ctx *x)
{
    mc_err err;
    mc_err_clear(&err);
    char oid[MC_INV_ID_LEN + 1];
    mc_store_inv_locate(st, id, oid, mc_store_sync_cb, &err);
    if (err.status == 0 && oid[0] != '\0')
        mc_store_inv_ctx(st, oid, x, mc_store_sync_cb, &err);
    if (err.status != 0)
        return fail(&err);
    if (oid[0] == '\0' || strcmp(x->inv.id, id) != 0) {
        fprintf(stderr, "mcertctl: no invoice %s (not_found)\n", id);
        return 1;
    }
    return 0;
}

static void inv_print(const mc_invoice *v)
{
    char yuan[32];
    printf("id %s\nstate %s (%s)\norder %s\nkind %s\nref %s\nuscc %s\nowner %s\n"
           "amount %s\ntitle_name %s\ntitle_tax_id %s\ntitle_address %s\ntitle_phone %s\n"
           "title_bank %s\ntitle_account %s\nreceiver_phone %s\nreceiver_email %s\n"
           "goods %s / %s / %s x %lld\nreason %s\npdf %s\npdf_source %s\nrequester %s\n"
           "by %s\nrequested_at %lld\nissued_at %lld\nended_at %lld\n",
           v->id, v->state, mc_inv_state_label(mc_inv_state_parse(v->state)), v->order,
           v->kind, v->ref, v->uscc, v->owner, mc_inv_yuan(v->amount, yuan, sizeof(yuan)),
           v->title_name, v->title_tax_id, v->title_address[0] ? v->title_address : "-",
           v->title_phone[0] ? v->title_phone : "-", v->title_bank[0] ? v->title_bank : "-",
           v->title_account[0] ? v->title_account : "-", v->receiver_phone, v->receiver_email,
           v->goods_name, v->goods_spec, v->goods_unit, (long long)v->goods_qty,
           v->reason[0] ? v->reason : "-", v->pdf[0] ? v->pdf : "-",
           v->pdf_source[0] ? v->pdf_source : "-", v->requester, v->by[0] ? v->by : "-",
           (long long)v->requested_at, (long long)v->issued_at, (long long)v->ended_at);
}

static int cmd_inv_list(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *state = NULL;
    ctl_flag fl[] = {FLAG("--state", &state)};
    int prc;
    if ((prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    if (state != NULL && mc_inv_state_parse(state) == MC_INV_NONE)
        return usage_error(v, "--state is requested, issued, rejected or voided, not \"%s\"",
                           state);
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_err err;
    mc_err_clear(&err);
    mc_inv_oids *oids = calloc(1, sizeof(*oids));
    mc_inv_rows rows = {0};
    if (oids == NULL)
        abort(); /* out of memory */
    /* page after page of the index until MC_INV_LIST_MAX are shown: with
     * --state, the ones in that state however old */
    int rc = 0;
    size_t shown = 0, offset = 0;
    do {
        mc_store_inv_oids(st, NULL, offset, oids, mc_store_sync_cb, &err);
        rows.n = 0;
        if (err.status == 0 && oids->n > 0)
            mc_store_inv_rows(st, oids, &rows, mc_store_sync_cb, &err);
        rc = err.status ? fail(&err) : 0;
        for (size_t k = 0; rc == 0 && k < rows.n && shown < MC_INV_LIST_MAX; k++) {
            const mc_invoice *x = &rows.v[k];
            char yuan[32];
            if (x->id[0] == '\0' || (state != NULL && strcmp(x->state, state) != 0))
                continue;
            printf("%s  %-9s  %s  %s  %10s  %s\n", x->id, x->state, x->order, x->uscc,
                   mc_inv_yuan(x->amount, yuan, sizeof(yuan)), x->title_name);
            shown++;
        }
        offset += oids->page;
    } while (rc == 0 && shown < MC_INV_LIST_MAX && oids->page == MC_INV_LIST_MAX);
    mc_inv_rows_free(&rows);
    free(oids);
    mc_store_free(st);
    return rc;
}

static int cmd_inv_show(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *id = NULL;
    int prc;
    if ((prc = inv_id_arg(v, argc, argv, &i, &id)) >= 0 ||
        (prc = parse_flags(v, argc, argv, i, NULL, 0)) >= 0)
        return prc;
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_inv_ctx *x = calloc(1, sizeof(*x));
    if (x == NULL)
        abort(); /* out of memory */
    int rc = inv_read(st, id, x);
    if (rc == 0)
        inv_print(&x->inv);
    free(x);
    mc_store_free(st);
    return rc;
}

static int inv_allows(const mc_invoice *x, mc_inv_event ev)
{
    return allows(mc_inv_next(mc_inv_state_parse(x->state), ev), mc_inv_event_name(ev),
                  x->state);
}

static int cmd_inv_issue(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    const char *id = NULL, *file = NULL;
    ctl_flag fl[] = {FLAG("--pdf", &file)};
    int prc;
    if ((prc = inv_id_arg(v, argc, argv, &i, &id)) >= 0 ||
        (prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    mc_buf pdf = {0};
    if (file != NULL) {
        FILE *f = fopen(file, "rb");
        uint8_t tmp[8192];
        size_t n;
        while (f != NULL && (n = fread(tmp, 1, sizeof(tmp), f)) > 0 &&
               pdf.len <= MC_UPLOAD_MAX)
            mc_buf_append(&pdf, tmp, n);
        int bad = f == NULL || ferror(f);
        if (f != NULL)
            fclose(f);
        const char *why = bad ? strerror(errno)
                          : pdf.len > MC_UPLOAD_MAX
                              ? "over 5 MiB"
                              : mc_upload_check("application/pdf", pdf.ptr, pdf.len);
        if (bad || why != NULL) {
            fprintf(stderr, "mcertctl: %s: %s\n", file, bad ? strerror(errno) : why);
            mc_buf_free(&pdf);
            return 1;
        }
    }
    mc_store *st = connect_store(c);
    if (st == NULL) {
        mc_buf_free(&pdf);
        return 1;
    }
    mc_inv_ctx *x = calloc(1, sizeof(*x));
    mc_invoice *out = calloc(1, sizeof(*out));
    if (x == NULL || out == NULL)
        abort(); /* out of memory */
    int rc = inv_read(st, id, x);
    if (rc == 0)
        rc = inv_allows(&x->inv, MC_INV_EV_ISSUE);
    char blob_id[MC_BLOB_ID_LEN + 1] = "", dir[600];
    mc_err err;
    mc_err_clear(&err);
    if (rc == 0) {
        if (file == NULL)
            mc_inv_pdf_render(&x->inv, (int64_t)time(NULL), CLI.who, &pdf);
        snprintf(dir, sizeof(dir), "%s/blobs", c->data);
        mc_blob *b = mc_blob_dir_new(dir, &err);
        if (b == NULL || mc_blob_put(b, pdf.ptr, pdf.len, blob_id, &err) != 0)
            rc = fail(&err);
        mc_blob_free(b);
    }
    if (rc == 0) {
        char subject[160], text[1024];
        mc_inv_email(&x->inv, subject, sizeof(subject), text, sizeof(text));
        mc_store_inv_issue(st, &x->inv, blob_id, (int64_t)pdf.len,
                           file ? "upload" : "generated", subject, text, &CLI, out,
                           mc_store_sync_cb, &err);
        if (err.status != 0)
            rc = fail(&err);
        else
            printf("invoice %s issued (%s PDF %s); the email went to %s\n", out->id,
                   out->pdf_source, out->pdf, out->receiver_email);
    }
    mc_buf_free(&pdf);
    free(x);
    free(out);
    mc_store_free(st);
    return rc;
}

/* reject and void: with a reason, as an operator. */
static int inv_finish(const ctl *c, const ctl_verb *v, int argc, char **argv, int i,
                      mc_inv_event ev)
{
    const char *id = NULL, *reason = NULL;
    ctl_flag fl[] = {REQUIRED("--reason", &reason)};
    int prc;
    if ((prc = inv_id_arg(v, argc, argv, &i, &id)) >= 0 ||
        (prc = parse_flags(v, argc, argv, i, fl, NFLAGS(fl))) >= 0)
        return prc;
    if (!mc_app_text_valid(reason, strlen(reason), MC_INV_REASON_MAX))
        return usage_error(v, "--reason is 1..512 bytes of printable UTF-8");
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_inv_ctx *x = calloc(1, sizeof(*x));
    mc_invoice *out = calloc(1, sizeof(*out));
    if (x == NULL || out == NULL)
        abort(); /* out of memory */
    int rc = inv_read(st, id, x);
    if (rc == 0)
        rc = inv_allows(&x->inv, ev);
    if (rc == 0) {
        mc_err err;
        mc_err_clear(&err);
        mc_store_inv_finish(st, &x->inv, ev, 1, reason, &CLI, out, mc_store_sync_cb, &err);
        if (err.status != 0)
            rc = fail(&err);
        else
            printf("invoice %s %s\n", out->id, out->state);
    }
    free(x);
    free(out);
    mc_store_free(st);
    return rc;
}

static int cmd_inv_reject(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    return inv_finish(c, v, argc, argv, i, MC_INV_EV_REJECT);
}

static int cmd_inv_void(const ctl *c, const ctl_verb *v, int argc, char **argv, int i)
{
    return inv_finish(c, v, argc, argv, i, MC_INV_EV_VOID);
}

static const ctl_verb verbs[] = {
    {"ca init", "[--alg p256|sm2] [--cn NAME] [--days N]",
     "create the CA in DATA/ca and install ca.crt in DATA/trust/ (default p256, 3650 days)",
     cmd_ca_init},
    {"org add", "--uscc USCC --name NAME", "create an organisation", cmd_org_add},
    {"account add",
     "--login L --name NAME --org USCC --role admin|staff|operator [--password-stdin]",
     "create an account (operator: a CA operator, of the CA's own organisation); without "
     "--password-stdin a password is generated and printed once",
     cmd_account_add},
    {"account show", "--login L", "show an account and its bound certificate", cmd_account_show},
    {"issue", "--csr FILE [--out FILE] [--days N]",
     "issue a certificate from a CSR (proof of possession checked; default 365 days)", cmd_issue},
    {"revoke", "(--fp HEX | --serial HEX) [--reason NAME|N]",
     "revoke a certificate by its fingerprint or serial, with an RFC 5280 reason (default "
     "unspecified); it goes on the CRL and OCSP says revoked at once",
     cmd_revoke},
    {"crl", "[--out FILE]", "the CA's CRL now (DER), as GET /ca/crl serves it", cmd_crl},
    {"audit", "[--count N]", "the newest audit entries first (default 20, at most 100000)",
     cmd_audit},
    {"application list", "[--state STATE] [--org USCC]",
     "applications newest first: every one not in draft, or all of an organisation",
     cmd_app_list},
    {"application show", "--id ID", "one application, every field", cmd_app_show},
    {"application approve", "--id ID",
     "approve a pending_review application: the activation code goes to the applicant by SMS",
     cmd_app_approve},
    {"application reject", "--id ID --reason TEXT",
     "reject a pending_review application (a paid one is refunded by mcertd's sweep)",
     cmd_app_reject},
    {"invoice list", "[--state STATE]",
     "every invoice (or every one in STATE), newest first, at most 200",
     cmd_inv_list},
    {"invoice show", "ID", "one invoice, every field", cmd_inv_show},
    {"invoice issue", "ID [--pdf FILE]",
     "issue a requested invoice: the e-invoice PDF generated, or FILE (a PDF); the receiver "
     "is emailed through the outbox",
     cmd_inv_issue},
    {"invoice reject", "ID --reason TEXT", "reject a requested invoice", cmd_inv_reject},
    {"invoice void", "ID --reason TEXT", "void (作废) a requested or issued invoice",
     cmd_inv_void},
    {"renewal list", "[--state STATE] [--org USCC]",
     "renewals (续费) newest first, of all or of an organisation", cmd_ren_list},
    {"renewal show", "--id ID", "one renewal with its order and the certificate it made",
     cmd_ren_show},
    {"apikey add", "--name NAME --org USCC --scope sign|verify|sign,verify",
     "an API key for the platform of an organisation; printed once, stored hashed",
     cmd_apikey_add},
    {"apikey list", "", "every API key (id, name, organisation, scope, state)", cmd_apikey_list},
    {"apikey revoke", "--id ID", "end an API key at once", cmd_apikey_revoke},
    {"verify", "--cms FILE (--file DOC | --digest HEX)",
     "check a detached CMS signature: signer, signing time, status then and now (exit 1 if "
     "invalid)",
     cmd_verify},
};

/* Every verb's usage on f; returns the exit status that goes with it. */
static int usage(FILE *f, int status)
{
    fputs("usage: " GLOBAL_USAGE " COMMAND ...\n"
          "  --data DIR         data directory (default $MCERT_DATA, else ./var)\n"
          "  --redis HOST:PORT  Redis (default " MC_DEFAULT_REDIS_HOST ":" MC_STR(MC_DEFAULT_REDIS_PORT) ")\n"
          "  COMMAND --help     that command's usage\n",
          f);
    for (size_t k = 0; k < NFLAGS(verbs); k++)
        fprintf(f, "  %s %s\n", verbs[k].words, verbs[k].args);
    return status;
}

/* 1 if argv[i..] starts with the words of v; *next is the index after them. */
static int verb_match(const ctl_verb *v, int argc, char **argv, int i, int *next)
{
    const char *w = v->words;
    while (*w != '\0') {
        size_t len = strcspn(w, " ");
        if (i >= argc || strlen(argv[i]) != len || strncmp(argv[i], w, len) != 0)
            return 0;
        i++;
        w += len;
        w += *w == ' ';
    }
    *next = i;
    return 1;
}

/* --redis HOST:PORT into c. 0 / -1. */
static int parse_redis(const char *a, ctl *c)
{
    const char *colon = strrchr(a, ':');
    long port;
    if (colon == NULL || colon == a || (size_t)(colon - a) >= sizeof(c->redis_host) ||
        parse_num(colon + 1, 1, 65535, &port) != 0)
        return -1;
    snprintf(c->redis_host, sizeof(c->redis_host), "%.*s", (int)(colon - a), a);
    c->redis_port = (int)port;
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* Redis going away is an error to report, not a kill */
    ctl c;
    const char *data = getenv("MCERT_DATA") ? getenv("MCERT_DATA") : MC_DEFAULT_DATA_DIR;
    memset(&c, 0, sizeof(c));
    snprintf(c.redis_host, sizeof(c.redis_host), "%s", MC_DEFAULT_REDIS_HOST);
    c.redis_port = MC_DEFAULT_REDIS_PORT;
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (is_help(argv[i]))
            return usage(stdout, 0);
        if (strcmp(argv[i], "--data") != 0 && strcmp(argv[i], "--redis") != 0) {
            fprintf(stderr, "mcertctl: unknown flag %s\n", argv[i]);
            return usage(stderr, 2);
        }
        if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0) {
            fprintf(stderr, "mcertctl: %s needs a value\n", argv[i]);
            return usage(stderr, 2);
        }
        if (strcmp(argv[i], "--data") == 0) {
            data = argv[i + 1];
        } else if (parse_redis(argv[i + 1], &c) != 0) {
            fprintf(stderr, "mcertctl: --redis is HOST:PORT with a port in 1..65535\n");
            return usage(stderr, 2);
        }
        i += 2;
    }
    if (data[0] == '\0' || strlen(data) >= sizeof(c.data)) {
        fprintf(stderr, "mcertctl: the data directory must be 1..%zu bytes\n",
                sizeof(c.data) - 1);
        return 2;
    }
    snprintf(c.data, sizeof(c.data), "%s", data);
    if (i >= argc)
        return usage(stderr, 2);
    if (strcmp(argv[i], "help") == 0)
        return usage(stdout, 0);
    for (size_t k = 0; k < NFLAGS(verbs); k++) {
        int next;
        if (verb_match(&verbs[k], argc, argv, i, &next))
            return verbs[k].run(&c, &verbs[k], argc, argv, next);
    }
    fprintf(stderr, "mcertctl: unknown command \"%s%s%s\"\n", argv[i], i + 1 < argc ? " " : "",
            i + 1 < argc ? argv[i + 1] : "");
    return usage(stderr, 2);
}
