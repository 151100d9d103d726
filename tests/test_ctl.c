/*
 * test_ctl.c — the mcertctl command line, through the built binary: every
 * verb answers --help with its usage and does nothing else; unknown flags,
 * stray arguments, flags without their value and malformed numbers are
 * usage errors (exit 2) that change nothing, neither the data directory nor
 * Redis; `audit` prints every field an entry has.
 *
 * Why: an admin CLI that guesses is dangerous — `ca init --help` used to
 * create a CA, and `--days 12x` was read as 12. Each test shows that nothing
 * changed by looking where a change would be: the files of an empty data
 * directory, the audit stream's length, and a later run of the same command
 * that succeeds (so the earlier one had not done it).
 *
 * Tests that need Redis start their own (mc_testenv_start); the others point
 * mcertctl at port 1, where nothing listens, so that any attempt to reach a
 * store would fail the command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>
#include <hiredis/hiredis.h>
#include <openssl/x509.h>

#include "mc_testenv.h"
#include "mc_x509.h"

/* What one run of mcertctl gave. */
typedef struct run {
    int status;     /* exit status; 128 if it did not exit */
    char out[8192]; /* stdout (cut at the size) */
    char err[8192]; /* stderr (cut at the size) */
} run;

static void read_into(FILE *f, char *buf, size_t size)
{
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
}

/* `mcertctl --data DATA --redis 127.0.0.1:PORT ARGS` (ARGS through the
 * shell); stdout and stderr captured into *r. */
static void ctl_run(run *r, const char *data, int port, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ctl_run(run *r, const char *data, int port, const char *fmt, ...)
{
    char args[2048], cmd[4096], errpath[64];
    va_list ap;
    FILE *p, *e;
    int st;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(errpath, sizeof(errpath), "/tmp/mcert_ctl_err_%d", (int)getpid());
    snprintf(cmd, sizeof(cmd), "%s/mcertctl --data %s --redis 127.0.0.1:%d %s 2>%s </dev/null",
             MCERT_BIN_DIR, data, port, args, errpath);
    assert_non_null(p = popen(cmd, "r"));
    read_into(p, r->out, sizeof(r->out));
    st = pclose(p);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    assert_non_null(e = fopen(errpath, "r"));
    read_into(e, r->err, sizeof(r->err));
    fclose(e);
    unlink(errpath);
}

/* Entries in dir other than . and .. (-1 if it does not exist). */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void make_tmp_dir(char *dir)
{
    assert_non_null(mkdtemp(dir));
}

/* Every verb, with the flags that would make it act. */
static const char *const verbs[] = {
    "ca init --cn Help-CA",
    "org add --uscc " MC_TEST_ORG2 " --name X",
    "account add --login help --name H --org " MC_TEST_ORG " --role staff",
    "account show --login help",
    "issue --csr /nonexistent.csr",
    "revoke --fp 00",
    "audit --count 5",
};

/* The verb's own words ("ca init" of "ca init --cn X"). */
static void verb_words(const char *verb, char *out, size_t n)
{
    const char *flag = strstr(verb, " --");
    snprintf(out, n, "%.*s", (int)(flag ? flag - verb : (long)strlen(verb)), verb);
}

static void every_verb_help_prints_its_usage_and_changes_nothing(void **state)
{
    char data[] = "/tmp/mcert_ctl_XXXXXX";
    run r;
    make_tmp_dir(data);
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        char words[64], want[128];
        verb_words(verbs[i], words, sizeof(words));
        snprintf(want, sizeof(want), "] %s ", words);
        /* --help at the end, first after the verb, and beside an unknown flag */
        for (int k = 0; k < 3; k++) {
            if (k == 0)
                ctl_run(&r, data, 1, "%s --help", verbs[i]);
            else if (k == 1)
                ctl_run(&r, data, 1, "%s --help%s", words, verbs[i] + strlen(words));
            else
                ctl_run(&r, data, 1, "%s --bogus -h", verbs[i]);
            if (r.status != 0 || strstr(r.out, want) == NULL ||
                strncmp(r.out, "usage: mcertctl", 15) != 0 || r.err[0] != '\0')
                fail_msg("\"%s\" form %d: exit %d, stdout \"%s\", stderr \"%s\"", verbs[i], k,
                         r.status, r.out, r.err);
        }
    }
    /* The whole usage names every verb. */
    ctl_run(&r, data, 1, "--help");
    assert_int_equal(r.status, 0);
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        char words[64];
        verb_words(verbs[i], words, sizeof(words));
        assert_non_null(strstr(r.out, words));
    }
    /* Nothing was created: no ca/, no trust/. */
    assert_int_equal(dir_entries(data), 0);
    rmdir(data);
}

static void bad_flags_are_usage_errors_that_create_nothing(void **state)
{
    static const char *const bad[] = {
        "ca init --bogus",
        "ca init --cn",              /* value missing at the end */
        "ca init --cn --days 5",     /* value missing before the next flag */
        "ca init --days 5 --days 6", /* twice */
        "ca init stray",
        "ca init --alg rsa",
        "ca",
        "ca create",
        "frobnicate",
        "--bogus ca init",
        "--data",
        "org add --uscc " MC_TEST_ORG2,           /* --name missing */
        "account add --login a --name b --org " MC_TEST_ORG " --role boss",
        "account add --login a --name b --org " MC_TEST_ORG " --role staff --password",
        "account show",
        "issue",
        "issue --csr",
        "revoke",
        "revoke --fp nothex",
        "audit --count",
        "audit extra",
    };
    char data[] = "/tmp/mcert_ctl_XXXXXX";
    run r;
    make_tmp_dir(data);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ctl_run(&r, data, 1, "%s", bad[i]);
        if (r.status != 2 || strstr(r.err, "usage: mcertctl") == NULL || r.out[0] != '\0')
            fail_msg("\"%s\": exit %d, stdout \"%s\", stderr \"%s\"", bad[i], r.status, r.out,
                     r.err);
    }
    assert_int_equal(dir_entries(data), 0);
    rmdir(data);
}

/* notAfter - notBefore of DATA/ca/ca.crt, in days. */
static long ca_days(const char *data)
{
    char dir[300];
    mc_err err;
    mc_ca *ca;
    int days = 0, secs = 0;
    snprintf(dir, sizeof(dir), "%s/ca", data);
    assert_non_null(ca = mc_ca_load(dir, &err));
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(mc_ca_cert(ca)),
                                    X509_get0_notAfter(mc_ca_cert(ca))), 1);
    mc_ca_free(ca);
    return days;
}

static void numbers_are_parsed_strictly(void **state)
{
    static const char *const bad_days[] = {
        "12x", "0", "36501", "-5", "+5", "' 5'", "'5 '", "''", "0x10", "1e3",
        "99999999999999999999", "5.0",
    };
    static const char *const bad_other[] = {
        "audit --count 0",  "audit --count 100001", "audit --count abc",
        "audit --count 5x", "issue --csr /nonexistent.csr --days 3651",
        "issue --csr /nonexistent.csr --days 1y",
    };
    static const char *const bad_ports[] = {"99999", "6x", "", "0", "-1"};
    char data[] = "/tmp/mcert_ctl_XXXXXX", cmd[400];
    run r;
    make_tmp_dir(data);
    for (size_t i = 0; i < sizeof(bad_days) / sizeof(bad_days[0]); i++) {
        ctl_run(&r, data, 1, "ca init --days %s", bad_days[i]);
        if (r.status != 2 || strstr(r.err, "--days") == NULL)
            fail_msg("--days %s: exit %d, stderr \"%s\"", bad_days[i], r.status, r.err);
    }
    for (size_t i = 0; i < sizeof(bad_other) / sizeof(bad_other[0]); i++) {
        /* exit 2, not 1: refused as usage before the CSR is read or Redis
         * (port 1) is tried */
        ctl_run(&r, data, 1, "%s", bad_other[i]);
        if (r.status != 2)
            fail_msg("%s: exit %d, stderr \"%s\"", bad_other[i], r.status, r.err);
    }
    for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
        snprintf(cmd, sizeof(cmd), "%s/mcertctl --data %s --redis '127.0.0.1:%s' audit "
                 ">/dev/null 2>&1", MCERT_BIN_DIR, data, bad_ports[i]);
        if (mc_testenv_sh("%s", cmd) != 2)
            fail_msg("--redis 127.0.0.1:%s was not a usage error", bad_ports[i]);
    }
    assert_int_equal(dir_entries(data), 0);
    /* A good number is used as given (leading zeros are still decimal). */
    ctl_run(&r, data, 1, "ca init --days 0007");
    assert_int_equal(r.status, 0);
    assert_int_equal(ca_days(data), 7);
    mc_testenv_sh("rm -rf %s", data);
}

/* XLEN of the audit stream. */
static long long audit_len(mc_testenv *env)
{
    redisContext *c = redisConnect("127.0.0.1", env->redis_port);
    redisReply *r;
    long long n;
    assert_true(c != NULL && !c->err);
    assert_non_null(r = redisCommand(c, "XLEN {mc}:audit"));
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    n = r->integer;
    freeReplyObject(r);
    redisFree(c);
    return n;
}

static void bad_flags_change_nothing_in_redis(void **state)
{
    static const char *const bad[] = {
        "org add --uscc " MC_TEST_ORG2 " --name Other --bogus",
        "org add --uscc " MC_TEST_ORG2 " --name Other extra",
        "org add --uscc " MC_TEST_ORG2 " --name Other --name Again",
        "org add --uscc " MC_TEST_ORG2 " --name",
        "account add --login newbie --name N --org " MC_TEST_ORG " --role staff --help",
        "account add --login newbie --name N --org " MC_TEST_ORG " --role staff --bogus",
        "account add --login newbie --name N --org " MC_TEST_ORG " --role root",
        "revoke --fp 0011",
        "audit --count -3",
    };
    mc_testenv *env = mc_testenv_start(0);
    char data[300];
    run r;
    long long before = audit_len(env);

    snprintf(data, sizeof(data), "%s/var", env->dir);
    assert_true(before > 0); /* ca init and the test organisation */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ctl_run(&r, data, env->redis_port, "%s", bad[i]);
        int want = strstr(bad[i], "--help") ? 0 : 2;
        if (r.status != want)
            fail_msg("\"%s\": exit %d, stderr \"%s\"", bad[i], r.status, r.err);
    }
    assert_int_equal(audit_len(env), before);
    /* The same commands done right succeed now, so none was done before. */
    ctl_run(&r, data, env->redis_port, "org add --uscc %s --name Other", MC_TEST_ORG2);
    assert_int_equal(r.status, 0);
    ctl_run(&r, data, env->redis_port,
            "account add --login newbie --name N --org %s --role staff", MC_TEST_ORG);
    if (r.status != 0)
        fail_msg("account add: exit %d, stderr \"%s\"", r.status, r.err);
    assert_int_equal(audit_len(env), before + 2);
    mc_testenv_stop(env);
}

/* An mcertctl of one version never writes through another version's
 * functions (they may take other arguments): it refuses, changes nothing,
 * and leaves the library to mcertd, which replaces it when it connects. */
static void a_foreign_functions_library_is_refused_and_left_to_mcertd(void **state)
{
    mc_testenv *env = mc_testenv_start(0);
    char data[300];
    run r;
    snprintf(data, sizeof(data), "%s/var", env->dir);
    struct redisReply *rep = mc_testenv_redis(
        env, "FUNCTION LOAD REPLACE %s",
        "#!lua name=mcert\n"
        "redis.register_function{function_name='mc_version', flags={'no-writes'},"
        " callback=function() return 'another-version' end}\n");
    freeReplyObject(rep);
    long long before = audit_len(env);
    ctl_run(&r, data, env->redis_port, "org add --uscc %s --name Other", MC_TEST_ORG2);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "another version"));
    assert_int_equal(audit_len(env), before);
    rep = mc_testenv_redis(env, "EXISTS {mc}:org:%s", MC_TEST_ORG2);
    assert_int_equal(rep->integer, 0);
    freeReplyObject(rep);
    rep = mc_testenv_redis(env, "FCALL_RO mc_version 0");
    assert_string_equal(rep->str, "another-version"); /* not replaced by mcertctl */
    freeReplyObject(rep);
    mc_testenv_stop(env);
}

/* The newest entry as `mcertctl audit --count 1` prints it. */
static void audit_newest(mc_testenv *env, run *r)
{
    char data[300];
    snprintf(data, sizeof(data), "%s/var", env->dir);
    ctl_run(r, data, env->redis_port, "audit --count 1");
    assert_int_equal(r->status, 0);
}

static void audit_prints_every_field_an_entry_has(void **state)
{
    mc_testenv *env = mc_testenv_start(0);
    redisContext *c = redisConnect("127.0.0.1", env->redis_port);
    redisReply *x;
    run r;

    assert_true(c != NULL && !c->err);
    /* A real entry: the organisation mc_testenv_start added. */
    audit_newest(env, &r);
    assert_non_null(strstr(r.out, "who=mcertctl from=cli what=org_create org=" MC_TEST_ORG));
    /* An entry with fields mcertctl has never heard of, an empty one, and
     * values that could pass for more fields or move the terminal. */
    x = redisCommand(c, "XADD {mc}:audit * at 1700000000 who %s from cli what test_entry "
                        "empty %s note %s extra %s ctl %b",
                     "some one", "", "two words", "k=v", "a\x1b[31mb", (size_t)7);
    assert_non_null(x);
    assert_int_equal(x->type, REDIS_REPLY_STRING);
    freeReplyObject(x);
    audit_newest(env, &r);
    assert_string_equal(r.out, "2023-11-14T22:13:20Z who=\"some one\" from=cli what=test_entry "
                               "note=\"two words\" extra=\"k=v\" ctl=a?[31mb\n");
    /* Without a usable "at" the stream id gives the time and "at" is shown. */
    x = redisCommand(c, "XADD {mc}:audit 4102444800000-0 at soon what later");
    assert_non_null(x);
    freeReplyObject(x);
    audit_newest(env, &r);
    assert_string_equal(r.out, "2100-01-01T00:00:00Z at=soon what=later\n");
    redisFree(c);
    mc_testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_verb_help_prints_its_usage_and_changes_nothing),
        cmocka_unit_test(bad_flags_are_usage_errors_that_create_nothing),
        cmocka_unit_test(numbers_are_parsed_strictly),
        cmocka_unit_test(bad_flags_change_nothing_in_redis),
        cmocka_unit_test(audit_prints_every_field_an_entry_has),
        cmocka_unit_test(a_foreign_functions_library_is_refused_and_left_to_mcertd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
