/*
 * mcert_phone_main.c — `mcert-phone`, a command line that plays the phone
 * app: create a device key and CSR, import the issued certificate, show it,
 * scan a session QR code (payload text or PNG) to approve or reject it, list
 * the inbox of sign requests, answer one (sign), receive a certificate
 * for an approved application with its activation code (enroll), extend
 * the certificate of a paid renewal, keeping or replacing the key (renew),
 * and list the keys it holds and held (keys).
 *
 * Why: the README demo, shell-driven tests and a human trying the server all
 * need a phone; this is the smallest honest one. It prints what a phone
 * screen must show against QR-login phishing (origin, the requesting
 * browser's address and User-Agent, who asks, the expiry, the three numbers;
 * for a sign request also every document's name, size and digest, the
 * purpose text and the signing time) and refuses locally a number that is
 * not one of the choices. A sign request reached through the inbox needs no
 * number from the user: the inbox entry carries it (§8.4).
 *
 * Design: argv is parsed once into a read-only `struct options`; every
 * command is one function over it and the mc_phone library. The PIN is
 * copied out of argv and the argv copy wiped at once; it is never printed.
 * Exit status: 0 success (including a rejection the server accepted),
 * 1 the server refused, or a runtime failure (network, wrong PIN, store),
 * 2 usage errors (bad arguments, a number that is not among the choices).
 *
 * Non-goals: interactive prompts, a real camera, https.
 */
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mc_phone.h"
#include "mc_qr.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2

struct options {
    const char *store;
    const char *cmd;
    /* init */
    mc_alg alg;
    const char *cn, *org_name, *uscc;
    char pin[MC_PHONE_PIN_MAX + 2];
    int have_pin;
    /* import */
    const char *cert;
    /* scan, inbox, sign */
    const char *payload, *png;
    const char *server, *sid;
    int approve, reject, have_number;
    uint32_t number;
    /* enroll */
    const char *app;
    char code[MC_ENROLL_CODE_LEN + 2];
    int have_code;
    /* renew */
    int rekey, inbox;
};

static void usage(FILE *f)
{
    fputs("usage: mcert-phone [--store DIR] COMMAND ...\n"
          "  init   --alg sm2|p256 --pin PIN --cn NAME --org-name NAME --uscc USCC\n"
          "         create the device key and CSR; prints the CSR's path\n"
          "  import CERT.pem       store the issued certificate (chain, leaf first)\n"
          "  show                  algorithm, subject, fingerprint, validity\n"
          "  scan   (--payload TEXT | --png FILE) --pin PIN\n"
          "         (--approve --number NN | --reject) [--rekey]\n"
          "         show a session and answer it (a renewal as renew does)\n"
          "  inbox  --server URL --pin PIN\n"
          "         list the sign requests waiting for this certificate\n"
          "  sign   --server URL --sid SID --pin PIN (--approve | --reject) [--number NN]\n"
          "         show a sign request and answer it (the number comes from the inbox)\n"
          "  enroll --server URL --app ID --code CODE [--sid SID | --payload QR | --png FILE]\n"
          "         --alg sm2|p256 --pin PIN --cn NAME --org-name NAME --uscc USCC\n"
          "         receive the certificate of an approved application: makes the key\n"
          "         and CSR (or reuses the store's), sends them with the activation\n"
          "         code from the SMS, stores the chain; run again after a lost reply\n"
          "  renew  --server URL (--sid SID | --payload QR | --png FILE | --inbox)\n"
          "         [--rekey] [--reject] [--number NN] --pin PIN\n"
          "         extend the certificate (a paid renewal's session), proven with the\n"
          "         current key; --rekey: a new key of the same algorithm and subject.\n"
          "         The old key and certificate stay in the store's keys/ archive.\n"
          "         Run again after a lost reply: the same answer is sent again\n"
          "  keys                  the current and archived keys: serial, fingerprint,\n"
          "                        notAfter, status\n"
          "The store defaults to $MCERT_PHONE_STORE, else ~/.mcert-phone.\n"
          "Exit status: 0 ok, 1 refused by the server or failed, 2 usage error.\n",
          f);
}

static int usage_error(const char *what)
{
    fprintf(stderr, "mcert-phone: %s\n", what);
    usage(stderr);
    return EXIT_USAGE;
}

static void print_err(const char *what, const mc_phone_err *e)
{
    if (e->remote)
        printf("refused by the server: %s (HTTP %d): %s\n", e->code, e->status, e->msg);
    else
        fprintf(stderr, "mcert-phone: %s: %s: %s\n", what, e->code, e->msg);
}

/* "--name value" or "--name=value"; advances *i past the value. */
static int opt_value(int argc, char **argv, int *i, const char *name, char **value)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        *value = NULL;
        return 1;
    }
    *value = argv[++*i];
    return 1;
}

/* Parse argv into o. 0, or an exit status (usage error) after a message. */
static int parse_args(int argc, char **argv, struct options *o, char *store_buf,
                      size_t store_size)
{
    int i = 1;
    char *v = NULL;
    memset(o, 0, sizeof(*o));
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (!opt_value(argc, argv, &i, "--store", &v) || v == NULL || v[0] == '\0')
            return usage_error("unknown option before the command");
        o->store = v;
    }
    if (i >= argc)
        return usage_error("no command");
    o->cmd = argv[i++];
    for (; i < argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "--approve") == 0) {
            o->approve = 1;
        } else if (strcmp(a, "--reject") == 0) {
            o->reject = 1;
        } else if (strcmp(a, "--rekey") == 0) {
            o->rekey = 1;
        } else if (strcmp(a, "--inbox") == 0) {
            o->inbox = 1;
        } else if (opt_value(argc, argv, &i, "--pin", &v)) {
            if (v == NULL)
                return usage_error("--pin needs a value");
            int n = snprintf(o->pin, sizeof(o->pin), "%s", v);
            OPENSSL_cleanse(v, strlen(v)); /* keep it out of ps and core dumps */
            if (n < 0 || (size_t)n >= sizeof(o->pin))
                return usage_error("the PIN must be 6 to 64 digits");
            o->have_pin = 1;
        } else if (opt_value(argc, argv, &i, "--code", &v)) {
            if (v == NULL)
                return usage_error("--code needs a value");
            int n = snprintf(o->code, sizeof(o->code), "%s", v);
            OPENSSL_cleanse(v, strlen(v)); /* a secret, like the PIN */
            if (n < 0 || !mc_enroll_code_valid(o->code, (size_t)n))
                return usage_error("the activation code is 8 digits");
            o->have_code = 1;
        } else if (opt_value(argc, argv, &i, "--app", &v)) {
            o->app = v;
        } else if (opt_value(argc, argv, &i, "--alg", &v)) {
            if (v == NULL || (o->alg = mc_alg_parse(v)) == MC_ALG_NONE)
                return usage_error("--alg must be sm2 or p256");
        } else if (opt_value(argc, argv, &i, "--cn", &v)) {
            o->cn = v;
        } else if (opt_value(argc, argv, &i, "--org-name", &v)) {
            o->org_name = v;
        } else if (opt_value(argc, argv, &i, "--uscc", &v)) {
            o->uscc = v;
        } else if (opt_value(argc, argv, &i, "--payload", &v)) {
            o->payload = v;
        } else if (opt_value(argc, argv, &i, "--png", &v)) {
            o->png = v;
        } else if (opt_value(argc, argv, &i, "--server", &v)) {
            o->server = v;
        } else if (opt_value(argc, argv, &i, "--sid", &v)) {
            o->sid = v;
        } else if (opt_value(argc, argv, &i, "--number", &v)) {
            char *end = NULL;
            errno = 0;
            unsigned long n = v ? strtoul(v, &end, 10) : 0;
            if (v == NULL || v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 ||
                n > 999999)
                return usage_error("--number needs a number");
            o->number = (uint32_t)n;
            o->have_number = 1;
        } else if (a[0] != '-' && strcmp(o->cmd, "import") == 0 && o->cert == NULL) {
            o->cert = a;
        } else {
            fprintf(stderr, "mcert-phone: unexpected argument '%s'\n", a);
            return usage_error("bad arguments");
        }
        if (v == NULL && a[0] == '-' && strcmp(a, "--approve") != 0 &&
            strcmp(a, "--reject") != 0 && strcmp(a, "--rekey") != 0 &&
            strcmp(a, "--inbox") != 0)
            return usage_error("option needs a value");
        v = NULL;
    }
    if (o->store == NULL) {
        const char *env = getenv("MCERT_PHONE_STORE");
        const char *home = getenv("HOME");
        if (env != NULL && env[0] != '\0')
            o->store = env;
        else if (home != NULL && home[0] != '\0' &&
                 snprintf(store_buf, store_size, "%s/.mcert-phone", home) < (int)store_size)
            o->store = store_buf;
        else
            return usage_error("no --store, $MCERT_PHONE_STORE or $HOME");
    }
    return 0;
}

static int cmd_init(const struct options *o)
{
    mc_phone_err e;
    if (o->alg == MC_ALG_NONE || !o->have_pin || o->cn == NULL || o->org_name == NULL ||
        o->uscc == NULL)
        return usage_error("init needs --alg, --pin, --cn, --org-name and --uscc");
    if (mc_phone_init(o->store, o->alg, o->pin, o->cn, o->org_name, o->uscc, &e) != 0) {
        print_err("init", &e);
        /* Bad arguments are usage errors; an existing key or I/O is not. */
        return e.status == 400 && strcmp(e.code, "bad_store") != 0 ? EXIT_USAGE
                                                                   : EXIT_REFUSED;
    }
    printf("%s/%s\n", o->store, MC_PHONE_CSR_FILE);
    return 0;
}

static int cmd_import(const struct options *o)
{
    mc_phone_err e;
    mc_buf data = {0};
    int rc = EXIT_REFUSED;
    if (o->cert == NULL)
        return usage_error("import needs a certificate file");
    FILE *f = fopen(o->cert, "rb");
    if (f == NULL) {
        fprintf(stderr, "mcert-phone: %s: %s\n", o->cert, strerror(errno));
        return EXIT_USAGE;
    }
    uint8_t tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0 && data.len <= MC_PHONE_IMPORT_MAX)
        mc_buf_append(&data, tmp, n);
    fclose(f);
    if (mc_phone_import(o->store, data.ptr, data.len, &e) != 0) {
        print_err("import", &e);
        goto done;
    }
    mc_phone_status st;
    if (mc_phone_describe(o->store, &st, &e) != 0) {
        print_err("import", &e);
        goto done;
    }
    printf("imported: %s, %s (%s), fingerprint %s\n", st.leaf.cn, st.leaf.org_name,
           st.leaf.uscc, st.leaf.fp_hex);
    rc = 0;
done:
    mc_buf_free(&data);
    return rc;
}

/* t as "YYYY-MM-DD hh:mm:ss UTC" in buf ("?" if out of range). */
static const char *fmt_time(int64_t t, char buf[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    snprintf(buf, 32, "?");
    if (gmtime_r(&tt, &tm) != NULL)
        strftime(buf, 32, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

static void print_time(const char *label, int64_t t)
{
    char buf[32];
    printf("%-13s %s\n", label, fmt_time(t, buf));
}

static int cmd_show(const struct options *o)
{
    mc_phone_status st;
    mc_phone_err e;
    if (mc_phone_describe(o->store, &st, &e) != 0) {
        print_err("show", &e);
        return EXIT_REFUSED;
    }
    printf("%-13s %s\n", "store:", o->store);
    printf("%-13s %s\n", "algorithm:", mc_alg_name(st.alg));
    printf("%-13s CN=%s, O=%s, organizationIdentifier=%s\n", "subject:", st.leaf.cn,
           st.leaf.org_name, st.leaf.uscc);
    if (!st.has_cert) {
        printf("%-13s none yet: have %s/%s issued, then run import\n", "certificate:",
               o->store, MC_PHONE_CSR_FILE);
        return 0;
    }
    printf("%-13s %s\n", "issuer:", st.leaf.issuer_cn);
    printf("%-13s %s\n", "serial:", st.leaf.serial_hex);
    printf("%-13s %s\n", "fingerprint:", st.leaf.fp_hex);
    print_time("valid from:", st.leaf.not_before);
    print_time("valid until:", st.leaf.not_after);
    printf("%-13s %zu certificate%s\n", "chain:", st.nchain, st.nchain == 1 ? "" : "s");
    return 0;
}

/* Copy a server-sent string (NUL-free: the decoders refuse NUL bytes) into
 * the array dst with control bytes replaced, so it cannot drive the terminal. */
#define SHOWABLE(dst, src) mc_copy_printable((dst), sizeof(dst), (src), strlen(src))

/* What a sign request adds to the screen: the purpose text, the signing
 * time and every document (name, size, algorithm, the whole digest). */
static void print_documents(const mc_sign_info *si)
{
    char text[MC_SIGN_TEXT_MAX + 1], name[MC_DOC_NAME_MAX + 1], alg[8];
    char hex[2 * MC_DIGEST_LEN + 1];
    SHOWABLE(text, si->text);
    if (text[0] != '\0')
        printf("  %-13s %s\n", "Purpose:", text);
    time_t tt = (time_t)si->signing_time;
    struct tm tm;
    char when[32] = "?";
    if (gmtime_r(&tt, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    printf("  %-13s %s\n", "Signing time:", when);
    for (size_t i = 0; i < si->ndocs; i++) {
        const mc_doc *d = &si->docs[i];
        SHOWABLE(name, d->name);
        SHOWABLE(alg, d->alg);
        mc_hex(d->digest, MC_DIGEST_LEN, hex);
        printf("  %-13s %zu. %s\n", i == 0 ? "Documents:" : "", i + 1, name);
        printf("  %-13s    %" PRIu64 " bytes, %s %s\n", "", d->size, alg, hex);
    }
}

/* The phone screen: everything the user needs to spot a phishing attempt. */
static void print_view(const char *base, const mc_session_view *v, int show_numbers)
{
    char origin[MC_ORIGIN_MAX + 1], account[MC_ACCOUNT_MAX + 1], who[129],
        requester[MC_ACCOUNT_MAX + 1], org[129], ip[MC_IP_MAX + 1], ua[MC_UA_MAX + 1];
    const mc_session *s = &v->s;
    SHOWABLE(origin, s->origin);
    SHOWABLE(account, s->account);
    SHOWABLE(who, v->requester_name);
    SHOWABLE(requester, s->requester);
    SHOWABLE(org, v->org_name);
    SHOWABLE(ip, s->ip);
    SHOWABLE(ua, s->ua);

    printf("Session %s from %s\n", s->sid, base);
    switch (s->purpose) {
    case MC_PURPOSE_BIND:
        printf("  %-13s Bind this certificate to the account \"%s\"\n", "Request:", account);
        break;
    case MC_PURPOSE_LOGIN:
        printf("  %-13s Log in to the web site with this certificate\n", "Request:");
        break;
    case MC_PURPOSE_SIGN:
        printf("  %-13s Sign %zu document%s as the account \"%s\"\n", "Request:",
               v->sign ? v->sign->ndocs : 0, v->sign && v->sign->ndocs == 1 ? "" : "s",
               account);
        break;
    case MC_PURPOSE_ENROLL: {
        char app[MC_APP_ID_MAX + 1], holder[129];
        SHOWABLE(app, v->app);
        SHOWABLE(holder, v->holder_name);
        printf("  %-13s Receive the certificate of application %s\n", "Request:", app);
        printf("  %-13s %s (account \"%s\")\n", "Holder:", holder, account);
        break;
    }
    case MC_PURPOSE_RENEW:
        printf("  %-13s Extend this certificate (account \"%s\")\n", "Request:", account);
        if (v->renew != NULL) {
            char rid[sizeof(v->renew->renewal)], serial[sizeof(v->renew->serial)];
            SHOWABLE(rid, v->renew->renewal);
            SHOWABLE(serial, v->renew->serial);
            printf("  %-13s %s, %u year%s\n", "Renewal:", rid, v->renew->years,
                   v->renew->years == 1 ? "" : "s");
            char t0[32], t1[32];
            printf("  %-13s %s\n", "Serial:", serial);
            printf("  %-13s %s\n", "Valid until:", fmt_time(v->renew->not_after, t0));
            printf("  %-13s %s\n", "Extended to:", fmt_time(v->renew->new_not_after, t1));
        }
        break;
    default:
        printf("  %-13s Unknown request\n", "Request:");
        break;
    }
    printf("  %-13s %s\n", "Web site:", origin);
    if (who[0] != '\0' && requester[0] != '\0')
        printf("  %-13s %s (%s)\n", "Asked by:", who, requester);
    else if (who[0] != '\0' || requester[0] != '\0')
        printf("  %-13s %s\n", "Asked by:", who[0] ? who : requester);
    if (org[0] != '\0')
        printf("  %-13s %s\n", "Organisation:", org);
    printf("  %-13s %s, %s\n", s->purpose == MC_PURPOSE_SIGN ? "Opened from:" : "Browser:",
           ip[0] ? ip : "(unknown address)", ua[0] ? ua : "(no User-Agent)");
    if (s->purpose == MC_PURPOSE_SIGN && v->sign != NULL)
        print_documents(v->sign);
    int64_t left = s->expires - (int64_t)time(NULL);
    if (left > 0)
        printf("  %-13s %lld s\n", "Expires in:", (long long)left);
    else
        printf("  %-13s expired\n", "Expires in:");
    if (show_numbers)
        printf("  %-13s %u   %u   %u   (pick the one shown on the web page)\n", "Numbers:",
               s->choices[0], s->choices[1], s->choices[2]);
}

/* Answer the view (approve or reject, with number) and print the result:
 * 0, or EXIT_REFUSED with the error printed. Shared by scan and sign. */
static int respond_print(const mc_phone *phone, const char *base, const mc_session_view *view,
                         int approve, uint32_t number)
{
    mc_phone_result res;
    mc_phone_err e;
    if (mc_phone_respond(phone, base, view, approve ? MC_PHONE_APPROVE : MC_PHONE_REJECT, number,
                         NULL, &res, &e) != 0) {
        print_err("respond", &e);
        return EXIT_REFUSED;
    }
    char account[MC_ACCOUNT_MAX + 1];
    SHOWABLE(account, res.account);
    printf("Result:       %s%s%s\n", res.state, account[0] ? ", account " : "", account);
    return 0;
}

/* The outcome of a renewal answer, printed. 0, or EXIT_REFUSED. */
static int renew_print(const struct options *o, int rc, const mc_phone_renewed *r,
                       const mc_phone_err *e)
{
    if (rc != 0) {
        print_err("renew", e);
        if (!e->remote || e->status >= 500)
            printf("The answer is kept in %s/renew.msg: run renew again to send it again.\n",
                   o->store);
        return EXIT_REFUSED;
    }
    char account[MC_ACCOUNT_MAX + 1];
    SHOWABLE(account, r->account);
    printf("Result:       %s%s%s\n", r->state, account[0] ? ", account " : "", account);
    if (strcmp(r->state, "approved") != 0)
        return 0;
    mc_phone_status st;
    mc_phone_err de;
    printf("%-13s %s%s\n", "New cert:", r->fp, r->rekey ? " (new key)" : " (same key)");
    printf("%-13s keys/%s.key, keys/%s.crt\n", "Archived:", r->old_fp, r->old_fp);
    if (mc_phone_describe(o->store, &st, &de) == 0 && st.has_cert) {
        printf("%-13s %s\n", "serial:", st.leaf.serial_hex);
        print_time("valid until:", st.leaf.not_after);
    }
    return 0;
}

/* Answer a fetched renew view: approve (optionally with a new key) or
 * reject, with number. Shared by renew and scan. */
static int renew_answer(const struct options *o, const char *base, const mc_session_view *view,
                        uint32_t number)
{
    mc_phone_renewed r;
    mc_phone_err e;
    if (o->reject)
        printf("Your answer:  reject\n");
    else
        printf("Your answer:  extend%s, number %u\n",
               o->rekey ? " with a new key" : " (keep the key)", number);
    int rc = mc_phone_renew(o->store, o->pin, base, view,
                            o->reject ? MC_PHONE_REJECT : MC_PHONE_APPROVE, number, o->rekey,
                            NULL, &r, &e);
    return renew_print(o, rc, &r, &e);
}

/* The session a QR code names, from --png (scanned with the real decoder)
 * or --payload (exactly one is set), into base[basesize] and sid. 0, or
 * the exit status after the message. */
static int qr_session(const struct options *o, char *base, size_t basesize,
                      char sid[MC_SID_LEN + 1])
{
    char payload[MC_QR_PAYLOAD_MAX + 1];
    mc_phone_err e;
    mc_err qe = {0};
    if (o->png != NULL) {
        if (mc_phone_scan_png(o->png, payload, sizeof(payload), &e) != 0) {
            print_err("scan", &e);
            return EXIT_REFUSED;
        }
    } else if (snprintf(payload, sizeof(payload), "%s", o->payload) >= (int)sizeof(payload)) {
        return usage_error("the payload is too long for a session QR code");
    }
    if (mc_qr_parse(payload, strlen(payload), base, basesize, sid, &qe) != 0) {
        fprintf(stderr, "mcert-phone: not a session QR code: %s\n", qe.msg);
        return o->png ? EXIT_REFUSED : EXIT_USAGE;
    }
    return 0;
}

static int cmd_renew(const struct options *o)
{
    static mc_inbox_entry entries[MC_INBOX_MAX];
    static mc_sign_info si;
    mc_renew_info ri;
    mc_session_view view;
    mc_phone_err e;
    char base[128], sid[MC_SID_LEN + 1] = "";
    char kept[MC_SID_LEN + 1];
    const char *server = o->server;
    uint32_t number = o->number;
    int have_number = o->have_number, has = 0, kept_rekey = 0, rc = EXIT_REFUSED;

    if (!o->have_pin)
        return usage_error("renew needs --pin");
    if ((o->payload != NULL) + (o->png != NULL) + (o->sid != NULL) + o->inbox != 1)
        return usage_error("renew needs exactly one of --sid, --payload, --png and --inbox");
    if (o->approve && o->reject)
        return usage_error("renew takes --reject or not, not both");
    if (o->rekey && o->reject)
        return usage_error("--rekey is for an approval");
    /* Unlock first: a wrong PIN should not cost a round trip. */
    mc_phone *phone = mc_phone_open(o->store, o->pin, &e);
    if (phone == NULL) {
        print_err("open store", &e);
        return EXIT_REFUSED;
    }
    if (o->png != NULL || o->payload != NULL) {
        int qrc = qr_session(o, base, sizeof(base), sid);
        if (qrc != 0) {
            rc = qrc;
            goto done;
        }
        if (server == NULL)
            server = base;
    } else if (o->sid != NULL) {
        snprintf(sid, sizeof(sid), "%s", o->sid);
    }
    if (server == NULL) {
        rc = usage_error("renew needs --server (or --payload / --png)");
        goto done;
    }
    /* An answer kept from a try whose reply was lost: the same bytes again
     * (a new signature would be another answer, 409 session_done). */
    if (mc_phone_renew_pending(o->store, &has, kept, &kept_rekey, &e) != 0) {
        print_err("store", &e);
        goto done;
    }
    if (has && (o->inbox || strcmp(kept, sid) == 0)) {
        mc_phone_renewed r;
        printf("Sending again the answer kept for session %s (%s)\n", kept,
               kept_rekey ? "new key" : "same key");
        mc_phone_free(phone);
        phone = NULL;
        rc = mc_phone_renew_resend(o->store, o->pin, server, NULL, &r, &e);
        rc = renew_print(o, rc, &r, &e);
        goto done;
    }
    if (o->inbox || !have_number) {
        size_t n = 0;
        int64_t now = 0;
        if (mc_phone_inbox(phone, server, entries, MC_INBOX_MAX, &n, &now, NULL, &e) != 0) {
            print_err("inbox", &e);
            goto done;
        }
        const mc_inbox_entry *en = NULL;
        for (size_t i = 0; i < n && en == NULL; i++)
            if (strcmp(entries[i].purpose, "renew") == 0 &&
                (sid[0] == '\0' || strcmp(entries[i].sid, sid) == 0))
                en = &entries[i];
        if (en != NULL) {
            snprintf(sid, sizeof(sid), "%s", en->sid);
            if (!have_number) {
                number = en->match;
                have_number = 1;
            }
        } else if (o->inbox) {
            printf("No renewal is waiting in this phone's inbox.\n");
            goto done;
        }
    }
    if (mc_phone_fetch_ex(server, sid, &view, &si, &ri, &e) != 0) {
        print_err("fetch", &e);
        goto done;
    }
    if (view.s.purpose != MC_PURPOSE_RENEW) {
        fprintf(stderr, "mcert-phone: %s is not a renewal (use scan or sign)\n", sid);
        goto done;
    }
    print_view(server, &view, !o->inbox && o->have_number);
    if (o->have_number && !mc_phone_number_ok(&view, o->number)) {
        printf("%u is not one of the numbers shown: nothing was sent.\n", o->number);
        rc = EXIT_USAGE;
        goto done;
    }
    if (!have_number && !o->reject) {
        printf("%s is not in this phone's inbox: give --number (the one on the web page), "
               "nothing was sent.\n", sid);
        goto done;
    }
    mc_phone_free(phone); /* mc_phone_renew opens the store itself */
    phone = NULL;
    rc = renew_answer(o, server, &view, number);
done:
    mc_phone_free(phone);
    return rc;
}

static int cmd_keys(const struct options *o)
{
    static mc_phone_keyent ents[MC_PHONE_KEYS_MAX];
    mc_phone_err e;
    size_t n = 0;
    if (mc_phone_keys(o->store, ents, MC_PHONE_KEYS_MAX, &n, &e) != 0) {
        print_err("keys", &e);
        return EXIT_REFUSED;
    }
    printf("%zu key%s in %s\n", n, n == 1 ? "" : "s", o->store);
    printf("%-8s  %-40s  %-64s  %-23s  %s\n", "status", "serial", "fingerprint", "notAfter",
           "alg");
    for (size_t i = 0; i < n; i++) {
        char t[32];
        printf("%-8s  %-40s  %-64s  %-23s  %s\n", ents[i].current ? "current" : "archived",
               ents[i].leaf.serial_hex, ents[i].leaf.fp_hex, fmt_time(ents[i].leaf.not_after, t),
               mc_alg_name(ents[i].leaf.alg));
    }
    return 0;
}

static int cmd_scan(const struct options *o)
{
    mc_phone *phone = NULL;
    mc_phone_err e;
    mc_session_view view;
    static mc_sign_info si; /* a sign session's documents (about 9 KiB) */
    mc_renew_info ri;       /* a renew session's renewal */
    char base[128], sid[MC_SID_LEN + 1];
    int rc = EXIT_REFUSED;

    if ((o->payload == NULL) == (o->png == NULL))
        return usage_error("scan needs exactly one of --payload and --png");
    if (!o->have_pin)
        return usage_error("scan needs --pin");
    if (o->approve == o->reject)
        return usage_error("scan needs exactly one of --approve and --reject");
    if (o->approve && !o->have_number)
        return usage_error("--approve needs --number (the number shown on the web page)");

    /* Unlock first: a wrong PIN should not cost a round trip. */
    phone = mc_phone_open(o->store, o->pin, &e);
    if (phone == NULL) {
        print_err("open store", &e);
        goto done;
    }
    int qrc = qr_session(o, base, sizeof(base), sid);
    if (qrc != 0) {
        rc = qrc;
        goto done;
    }
    if (mc_phone_fetch_ex(base, sid, &view, &si, &ri, &e) != 0) {
        print_err("fetch", &e);
        goto done;
    }
    print_view(base, &view, 1);
    if (o->have_number && !mc_phone_number_ok(&view, o->number)) {
        printf("%u is not one of the numbers shown: nothing was sent.\n", o->number);
        rc = EXIT_USAGE;
        goto done;
    }
    if (view.s.purpose == MC_PURPOSE_RENEW) { /* answered like `renew` */
        mc_phone_free(phone);
        phone = NULL;
        rc = renew_answer(o, base, &view, o->number);
        goto done;
    }
    if (o->rekey) {
        rc = usage_error("--rekey is for a renewal");
        goto done;
    }
    const char *answer = o->approve ? "approve" : "reject";
    if (o->have_number)
        printf("Your answer:  %s with %u\n", answer, o->number);
    else
        printf("Your answer:  %s\n", answer);
    /* number is 0 unless given (a reject may leave it out) */
    rc = respond_print(phone, base, &view, o->approve, o->number);
done:
    mc_phone_free(phone);
    return rc;
}

static void print_entry(const mc_inbox_entry *en, int64_t now)
{
    char who[129], text[MC_SIGN_TEXT_MAX + 1];
    SHOWABLE(who, en->requester_name);
    SHOWABLE(text, en->text);
    printf("%s  match %u  %u document%s  expires in %lld s\n", en->sid, en->match,
           en->documents, en->documents == 1 ? "" : "s", (long long)(en->expires - now));
    printf("  %-13s %s\n", "Asked by:", who[0] ? who : "(unnamed)");
    if (text[0] != '\0')
        printf("  %-13s %s\n", "Purpose:", text);
}

static int cmd_inbox(const struct options *o)
{
    static mc_inbox_entry entries[MC_INBOX_MAX];
    mc_phone_err e;
    size_t n = 0;
    int64_t now = 0;
    int rc = EXIT_REFUSED;
    if (o->server == NULL || !o->have_pin)
        return usage_error("inbox needs --server and --pin");
    mc_phone *phone = mc_phone_open(o->store, o->pin, &e);
    if (phone == NULL) {
        print_err("open store", &e);
        return EXIT_REFUSED;
    }
    if (mc_phone_inbox(phone, o->server, entries, MC_INBOX_MAX, &n, &now, NULL, &e) != 0) {
        print_err("inbox", &e);
        goto done;
    }
    printf("%zu sign request%s waiting\n", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++)
        print_entry(&entries[i], now);
    rc = 0;
done:
    mc_phone_free(phone);
    return rc;
}

static int cmd_sign(const struct options *o)
{
    static mc_inbox_entry entries[MC_INBOX_MAX];
    static mc_sign_info si;
    mc_session_view view;
    mc_phone_err e;
    size_t n = 0;
    int64_t now = 0;
    int rc = EXIT_REFUSED;

    if (o->server == NULL || o->sid == NULL || !o->have_pin)
        return usage_error("sign needs --server, --sid and --pin");
    if (o->approve == o->reject)
        return usage_error("sign needs exactly one of --approve and --reject");
    mc_phone *phone = mc_phone_open(o->store, o->pin, &e);
    if (phone == NULL) {
        print_err("open store", &e);
        return EXIT_REFUSED;
    }
    if (mc_phone_fetch_any(o->server, o->sid, &view, &si, &e) != 0) {
        print_err("fetch", &e);
        goto done;
    }
    if (view.s.purpose != MC_PURPOSE_SIGN) {
        fprintf(stderr, "mcert-phone: %s is not a sign request (use scan)\n", o->sid);
        goto done;
    }
    print_view(o->server, &view, o->have_number);
    /* The number: the inbox's match, unless given (the QR path). */
    uint32_t number = o->number;
    if (o->have_number) {
        if (!mc_phone_number_ok(&view, o->number)) {
            printf("%u is not one of the numbers shown: nothing was sent.\n", o->number);
            rc = EXIT_USAGE;
            goto done;
        }
    } else {
        if (mc_phone_inbox(phone, o->server, entries, MC_INBOX_MAX, &n, &now, NULL, &e) != 0) {
            print_err("inbox", &e);
            goto done;
        }
        const mc_inbox_entry *en = mc_phone_inbox_find(entries, n, view.s.sid);
        if (en != NULL) {
            number = en->match;
        } else if (o->approve) {
            printf("%s is not in this phone's inbox: give --number (the one on the web "
                   "page), nothing was sent.\n", view.s.sid);
            goto done;
        }
    }
    printf("Your answer:  %s\n", o->approve ? "approve (sign every document)" : "reject");
    rc = respond_print(phone, o->server, &view, o->approve, number);
done:
    mc_phone_free(phone);
    return rc;
}

/* The store's key and CSR: made now if it has none, else the ones it has
 * (a repeated enrollment after a lost reply must send the same CSR). A
 * store that already holds a certificate is left alone. 0 / exit status. */
static int enroll_store(const struct options *o)
{
    mc_phone_err e;
    char key[4200];
    snprintf(key, sizeof(key), "%s/%s", o->store, MC_PHONE_KEY_FILE);
    if (access(key, F_OK) != 0) {
        if (o->alg == MC_ALG_NONE || o->cn == NULL || o->org_name == NULL || o->uscc == NULL)
            return usage_error("enroll needs --alg, --cn, --org-name and --uscc (the "
                               "application's) to make the key");
        if (mc_phone_init(o->store, o->alg, o->pin, o->cn, o->org_name, o->uscc, &e) != 0) {
            print_err("init", &e);
            return e.status == 400 && strcmp(e.code, "bad_store") != 0 ? EXIT_USAGE
                                                                       : EXIT_REFUSED;
        }
        printf("New %s key and CSR in %s\n", mc_alg_name(o->alg), o->store);
        return 0;
    }
    mc_phone_status st;
    if (mc_phone_describe(o->store, &st, &e) != 0) {
        print_err("show", &e);
        return EXIT_REFUSED;
    }
    if (st.has_cert) {
        fprintf(stderr, "mcert-phone: %s already holds a certificate (%s)\n", o->store,
                st.leaf.fp_hex);
        return EXIT_REFUSED;
    }
    printf("Using the %s key and CSR already in %s\n", mc_alg_name(st.alg), o->store);
    return 0;
}

static int cmd_enroll(const struct options *o)
{
    mc_phone_err e;
    mc_err qe = {0};
    mc_session_view view;
    mc_phone_enrolled got;
    char base[128], sid[MC_SID_LEN + 1] = "";
    const char *server = o->server, *app = o->app;
    int rc;

    if (!o->have_code || !o->have_pin)
        return usage_error("enroll needs --code (from the SMS) and --pin");
    if ((o->payload != NULL) + (o->png != NULL) + (o->sid != NULL) > 1)
        return usage_error("enroll takes one of --sid, --payload and --png");
    char scanned[MC_QR_PAYLOAD_MAX + 1];
    const char *payload = o->payload;
    if (o->png != NULL) {
        /* the QR the web page shows, read with the real decoder */
        if (mc_phone_scan_png(o->png, scanned, sizeof(scanned), &e) != 0) {
            print_err("scan", &e);
            return EXIT_REFUSED;
        }
        payload = scanned;
    }
    if (payload != NULL) {
        if (mc_qr_parse(payload, strlen(payload), base, sizeof(base), sid, &qe) != 0) {
            fprintf(stderr, "mcert-phone: not a session QR code: %s\n", qe.msg);
            return EXIT_USAGE;
        }
        if (server == NULL)
            server = base;
    } else if (o->sid != NULL) {
        snprintf(sid, sizeof(sid), "%s", o->sid);
    }
    if (server == NULL)
        return usage_error("enroll needs --server (or --payload / --png)");
    if (sid[0] != '\0') {
        if (mc_phone_fetch(server, sid, &view, &e) != 0) {
            print_err("fetch", &e);
            return EXIT_REFUSED;
        }
        if (view.s.purpose != MC_PURPOSE_ENROLL) {
            fprintf(stderr, "mcert-phone: %s is not an enroll session\n", sid);
            return EXIT_REFUSED;
        }
        print_view(server, &view, 0);
        if (app != NULL && strcmp(app, view.app) != 0) {
            fprintf(stderr, "mcert-phone: the session is for application %s, not %s\n",
                    view.app, app);
            return EXIT_USAGE;
        }
        app = view.app;
    }
    if (app == NULL || !mc_app_id_valid(app, strlen(app)))
        return usage_error("enroll needs --app (the application's number) or a session");
    if ((rc = enroll_store(o)) != 0)
        return rc;
    mc_phone *phone = mc_phone_open(o->store, o->pin, &e); /* the PIN, checked here */
    if (phone == NULL) {
        print_err("open store", &e);
        return EXIT_REFUSED;
    }
    mc_phone_free(phone);
    if (mc_phone_enroll(o->store, server, app, o->code, sid, NULL, &got, &e) != 0) {
        print_err("enroll", &e);
        return EXIT_REFUSED;
    }
    mc_phone_status st;
    if (mc_phone_describe(o->store, &st, &e) != 0) {
        print_err("show", &e);
        return EXIT_REFUSED;
    }
    printf("Issued:       %s, %s (%s), fingerprint %s\n", st.leaf.cn, st.leaf.org_name,
           st.leaf.uscc, got.fp);
    print_time("valid until:", st.leaf.not_after);
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    char store_buf[4096];
    int rc = parse_args(argc, argv, &o, store_buf, sizeof(store_buf));
    if (rc != 0)
        goto done;
    if (strcmp(o.cmd, "init") == 0)
        rc = cmd_init(&o);
    else if (strcmp(o.cmd, "import") == 0)
        rc = cmd_import(&o);
    else if (strcmp(o.cmd, "show") == 0)
        rc = cmd_show(&o);
    else if (strcmp(o.cmd, "scan") == 0)
        rc = cmd_scan(&o);
    else if (strcmp(o.cmd, "inbox") == 0)
        rc = cmd_inbox(&o);
    else if (strcmp(o.cmd, "sign") == 0)
        rc = cmd_sign(&o);
    else if (strcmp(o.cmd, "enroll") == 0)
        rc = cmd_enroll(&o);
    else if (strcmp(o.cmd, "renew") == 0)
        rc = cmd_renew(&o);
    else if (strcmp(o.cmd, "keys") == 0)
        rc = cmd_keys(&o);
    else
        rc = usage_error("unknown command");
done:
    OPENSSL_cleanse(o.pin, sizeof(o.pin));
    OPENSSL_cleanse(o.code, sizeof(o.code));
    fflush(stdout);
    return rc;
}
