/*
 * mc_testhelp.h — helpers that several integration tests share, built on a
 * running mc_testenv (mc_testenv.h): mcertctl and shell commands with their
 * output captured, API keys, phones bound through the real bind flow,
 * Redis readers for the data model's hashes and streams, small files.
 *
 * Why a second file: mc_testenv.c starts and stops the installation; what
 * is here only uses one, so tests that need none of it do not read it.
 * Helpers assert with cmocka (fail_msg) like mc_testenv's; they are for
 * tests only. Non-goal: helpers that one test file alone needs (they stay
 * in that file, beside the tests that explain them).
 */
#ifndef MC_TESTHELP_H
#define MC_TESTHELP_H

#include <stddef.h>

#include "mc_testenv.h"

/* ---- commands with captured output ---- */

/* A shell command (printf format) with stdout and stderr captured into
 * out (size bytes, NUL-terminated, cut at size - 1); returns its exit
 * status. The capture file is env->dir/sh.out, overwritten each call. */
int mc_testenv_sh_out(mc_testenv *env, char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* `mcertctl --data D --redis R <args>` (printf format) with stdout and
 * stderr captured into out as mc_testenv_sh_out does (env->dir/ctl.out);
 * returns the exit status. */
int mc_testenv_ctl_out(mc_testenv *env, char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- API keys ---- */

/* A new API key for org with scope (e.g. "sign,verify") by `mcertctl
 * apikey add`: the key ("mcak.<id>.<secret>", 65 chars) into key, its id
 * (16 chars) into id. */
void mc_testenv_apikey(mc_testenv *env, const char *org, const char *scope, char key[80],
                       char id[20]);

/* mc_testenv_api authenticated by an API key ("Authorization: ApiKey
 * <key>") instead of a token. body is stolen (may be NULL). */
json_t *mc_testenv_api_apikey(mc_testenv *env, const char *method, const char *path,
                              const char *key, json_t *body, int *status);

#endif
