/*
 * mc_testhelp.c — see mc_testhelp.h.
 */
#include "mc_testhelp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The capture file at path into out (size bytes, NUL-terminated). */
static void read_capture(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot read %s", path);
    size_t n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
}

int mc_testenv_sh_out(mc_testenv *env, char *out, size_t size, const char *fmt, ...)
{
    char cmd[2048], path[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(path, sizeof(path), "%s/sh.out", env->dir);
    int rc = mc_testenv_sh("%s >%s 2>&1", cmd, path);
    read_capture(path, out, size);
    return rc;
}

int mc_testenv_ctl_out(mc_testenv *env, char *out, size_t size, const char *fmt, ...)
{
    char args[2048], path[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(path, sizeof(path), "%s/ctl.out", env->dir);
    int rc = mc_testenv_ctl(env, "%s >%s 2>&1", args, path);
    read_capture(path, out, size);
    return rc;
}

void mc_testenv_apikey(mc_testenv *env, const char *org, const char *scope, char key[80],
                       char id[20])
{
    char out[1024];
    if (mc_testenv_ctl_out(env, out, sizeof(out),
                           "apikey add --name 政采云电子交易平台 --org %s --scope %s", org,
                           scope) != 0)
        fail_msg("apikey add: %s", out);
    const char *k = strstr(out, "mcak.");
    assert_non_null(k);
    snprintf(key, 80, "%.65s", k);
    snprintf(id, 20, "%.16s", k + 5);
}

json_t *mc_testenv_api_apikey(mc_testenv *env, const char *method, const char *path,
                              const char *key, json_t *body, int *status)
{
    char auth[120];
    snprintf(auth, sizeof(auth), "Authorization: ApiKey %s", key);
    const char *h[] = {auth, NULL};
    return mc_testenv_api_h(env, method, path, h, body, status);
}
