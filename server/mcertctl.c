/*
 * mcertctl.c — the admin CLI of mcert: the CA (init, issue from a CSR with
 * proof of possession, revoke), organisations and accounts.
 *
 *   mcertctl [--data DIR] [--redis HOST:PORT] ca init [--alg p256|sm2] [--cn NAME] [--days N]
 *   mcertctl ... org add --uscc USCC --name NAME
 *   mcertctl ... account add --login L --name NAME --org USCC --role admin|staff
 *                            [--password-stdin]     (else a password is generated and printed once)
 *   mcertctl ... issue --csr FILE [--out FILE] [--days N]
 *   mcertctl ... revoke --fp HEX
 *   mcertctl ... account show --login L
 *   mcertctl ... audit [--count N]
 *
 * The CA lives in DATA/ca (ca.key 0600, ca.crt); `ca init` also installs
 * ca.crt as a trust anchor in DATA/trust/. Every record change goes through
 * mc_store (atomic, audited with who="mcertctl", from="cli").
 *
 * Exit status: 0 ok, 1 refused or failed (message on stderr), 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "mc_crypto.h"
#include "mc_session.h"
#include "mc_store.h"
#include "mc_x509.h"

typedef struct ctl {
    char data[512];
    char redis_host[64];
    int redis_port;
} ctl;

static int usage(void)
{
    fputs("usage: mcertctl [--data DIR] [--redis HOST:PORT] COMMAND ...\n"
          "  ca init [--alg p256|sm2] [--cn NAME] [--days N]\n"
          "  org add --uscc USCC --name NAME\n"
          "  account add --login L --name NAME --org USCC --role admin|staff [--password-stdin]\n"
          "  account show --login L\n"
          "  issue --csr FILE [--out FILE] [--days N]\n"
          "  revoke --fp HEX\n"
          "  audit [--count N]            newest audit entries first (default 20)\n",
          stderr);
    return 2;
}

/* Value of "--name VALUE" among argv[from..argc), or NULL. */
static const char *opt(int argc, char **argv, int from, const char *name)
{
    for (int i = from; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static int has_flag(int argc, char **argv, int from, const char *name)
{
    for (int i = from; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
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

static int cmd_ca_init(const ctl *c, int argc, char **argv, int i)
{
    mc_err err;
    const char *algs = opt(argc, argv, i, "--alg");
    const char *cn = opt(argc, argv, i, "--cn");
    const char *days = opt(argc, argv, i, "--days");
    mc_alg alg = algs ? mc_alg_parse(algs) : MC_ALG_P256;
    if (alg == MC_ALG_NONE)
        return usage();
    char dir[600], trust[600], crt[700];
    snprintf(dir, sizeof(dir), "%s/ca", c->data);
    snprintf(trust, sizeof(trust), "%s/trust", c->data);
    snprintf(crt, sizeof(crt), "%s/ca.crt", dir);
    if (access(crt, F_OK) == 0) {
        fprintf(stderr, "mcertctl: a CA already exists in %s\n", dir);
        return 1;
    }
    if (mkdir_p(dir, 0700) != 0 || mkdir_p(trust, 0755) != 0) {
        fprintf(stderr, "mcertctl: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    mc_ca *ca = mc_ca_create(alg, cn ? cn : "mcert Local Mobile CA", days ? atoi(days) : 3650,
                             &err);
    if (ca == NULL || mc_ca_save(ca, dir, &err) != 0) {
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

static int cmd_org_add(const ctl *c, int argc, char **argv, int i)
{
    const char *uscc = opt(argc, argv, i, "--uscc"), *name = opt(argc, argv, i, "--name");
    if (uscc == NULL || name == NULL)
        return usage();
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
    mc_actor a = {"mcertctl", "cli"};
    mc_err err;
    int rc = mc_store_org_create(st, &o, &a, &err) == 0 ? 0 : fail(&err);
    if (rc == 0)
        printf("organisation %s (%s) created\n", o.name, o.uscc);
    mc_store_free(st);
    return rc;
}

static int cmd_account_add(const ctl *c, int argc, char **argv, int i)
{
    const char *login = opt(argc, argv, i, "--login"), *name = opt(argc, argv, i, "--name");
    const char *org = opt(argc, argv, i, "--org"), *role = opt(argc, argv, i, "--role");
    if (!login || !name || !org || !role)
        return usage();
    if (!mc_account_name_valid(login, strlen(login))) {
        fprintf(stderr, "mcertctl: account names are [a-z0-9._-]{1,64}\n");
        return 1;
    }
    if (strcmp(role, "admin") != 0 && strcmp(role, "staff") != 0)
        return usage();
    if (!printable(name) || strlen(name) > 128) {
        fprintf(stderr, "mcertctl: the name must be printable UTF-8, at most 128 bytes\n");
        return 1;
    }
    char pw[257] = "";
    int generated = 0;
    if (has_flag(argc, argv, i, "--password-stdin")) {
        if (fgets(pw, sizeof(pw), stdin) == NULL)
            return usage();
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
    mc_actor a = {"mcertctl", "cli"};
    int rc = 0;
    if (mc_store_account_create(st, &acc, &a, &err) != 0) {
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

static int cmd_account_show(const ctl *c, int argc, char **argv, int i)
{
    const char *login = opt(argc, argv, i, "--login");
    if (login == NULL)
        return usage();
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_account acc;
    mc_err err;
    int rc = 0;
    if (mc_store_account_get(st, login, &acc, &err) != 0)
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

static int cmd_issue(const ctl *c, int argc, char **argv, int i)
{
    const char *csr = opt(argc, argv, i, "--csr"), *out = opt(argc, argv, i, "--out");
    const char *days = opt(argc, argv, i, "--days");
    if (csr == NULL)
        return usage();
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
    x = mc_ca_issue(ca, req.ptr, req.len, days ? atoi(days) : 365, &err);
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
    mc_actor a = {"mcertctl", "cli"};
    if (mc_store_cert_put(st, &rec, &a, (int64_t)time(NULL), &err) != 0) {
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

static void print_audit(void *privdata, const char *id, const char *const *kv, size_t nkv)
{
    long long ms = strtoll(id, NULL, 10);
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char when[32];
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%s", when);
    for (size_t i = 0; i + 1 < nkv; i += 2)
        if (strcmp(kv[i], "at") != 0)
            printf(" %s=%s", kv[i], kv[i + 1]);
    putchar('\n');
}

static int cmd_audit(const ctl *c, int argc, char **argv, int i)
{
    const char *count = opt(argc, argv, i, "--count");
    long n = count ? strtol(count, NULL, 10) : 20;
    if (n <= 0 || n > 100000)
        return usage();
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_err err;
    int rc = mc_store_audit_each(st, (size_t)n, print_audit, NULL, &err) == 0 ? 0 : fail(&err);
    mc_store_free(st);
    return rc;
}

static int cmd_revoke(const ctl *c, int argc, char **argv, int i)
{
    const char *fp = opt(argc, argv, i, "--fp");
    uint8_t raw[32];
    if (fp == NULL || mc_unhex(fp, strlen(fp), raw, 32) != 0)
        return usage();
    char lower[65];
    mc_hex(raw, 32, lower);
    mc_store *st = connect_store(c);
    if (st == NULL)
        return 1;
    mc_actor a = {"mcertctl", "cli"};
    mc_err err;
    int rc = mc_store_cert_revoke(st, lower, &a, (int64_t)time(NULL), &err) == 0 ? 0 : fail(&err);
    if (rc == 0)
        printf("certificate %s revoked\n", lower);
    mc_store_free(st);
    return rc;
}

int main(int argc, char **argv)
{
    ctl c;
    memset(&c, 0, sizeof(c));
    snprintf(c.data, sizeof(c.data), "%s", getenv("MCERT_DATA") ? getenv("MCERT_DATA") : "./var");
    snprintf(c.redis_host, sizeof(c.redis_host), "127.0.0.1");
    c.redis_port = 6379;
    int i = 1;
    while (i < argc && strncmp(argv[i], "--", 2) == 0) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "--data") == 0) {
            snprintf(c.data, sizeof(c.data), "%s", argv[i + 1]);
        } else if (strcmp(argv[i], "--redis") == 0) {
            const char *colon = strrchr(argv[i + 1], ':');
            if (colon == NULL || colon == argv[i + 1])
                return usage();
            snprintf(c.redis_host, sizeof(c.redis_host), "%.*s", (int)(colon - argv[i + 1]),
                     argv[i + 1]);
            c.redis_port = atoi(colon + 1);
        } else {
            return usage();
        }
        i += 2;
    }
    if (i + 1 > argc)
        return usage();
    const char *cmd = argv[i];
    const char *sub = i + 1 < argc ? argv[i + 1] : "";
    if (strcmp(cmd, "ca") == 0 && strcmp(sub, "init") == 0)
        return cmd_ca_init(&c, argc, argv, i + 2);
    if (strcmp(cmd, "org") == 0 && strcmp(sub, "add") == 0)
        return cmd_org_add(&c, argc, argv, i + 2);
    if (strcmp(cmd, "account") == 0 && strcmp(sub, "add") == 0)
        return cmd_account_add(&c, argc, argv, i + 2);
    if (strcmp(cmd, "account") == 0 && strcmp(sub, "show") == 0)
        return cmd_account_show(&c, argc, argv, i + 2);
    if (strcmp(cmd, "issue") == 0)
        return cmd_issue(&c, argc, argv, i + 1);
    if (strcmp(cmd, "revoke") == 0)
        return cmd_revoke(&c, argc, argv, i + 1);
    if (strcmp(cmd, "audit") == 0)
        return cmd_audit(&c, argc, argv, i + 1);
    return usage();
}
