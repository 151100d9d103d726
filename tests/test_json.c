/*
 * test_json.c — the web API's JSON field helpers (server/mc_httpd.c) on
 * hostile input: wrong types, oversized and NUL-carrying strings, missing
 * and unknown fields; and the parser flags the dispatcher uses (duplicate
 * keys, trailing garbage, truncation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mc_httpd.h"

/* Parse the way mc_http_dispatch does. */
static json_t *parse(const char *s)
{
    json_error_t je;
    return json_loadb(s, strlen(s), JSON_REJECT_DUPLICATES, &je);
}

static void a_string_field_is_returned_with_its_length(void **state)
{
    json_t *o = parse("{\"account\":\"alice\"}");
    const char *v;
    size_t n;
    mc_err err;
    assert_int_equal(mc_json_str(o, "account", 64, 1, &v, &n, &err), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(v, "alice", 5);
    json_decref(o);
}

static void wrong_type_missing_long_and_nul_are_bad_field(void **state)
{
    const char *v;
    size_t n;
    mc_err err;
    json_t *o = parse("{\"a\":5,\"b\":null,\"c\":[\"x\"],\"d\":{},\"e\":\"123456789\"}");
    assert_non_null(o);
    /* a NUL inside a string (jansson refuses \u0000 unless asked) */
    json_object_set_new(o, "z", json_stringn("x\0y", 3));
    const char *fields[] = {"a", "b", "c", "d", "z", "missing"};
    for (size_t i = 0; i < 6; i++) {
        mc_err_clear(&err);
        assert_int_equal(mc_json_str(o, fields[i], 64, 1, &v, &n, &err), -1);
        assert_string_equal(err.code, "bad_field");
        assert_int_equal(err.status, 400);
    }
    assert_int_equal(mc_json_str(o, "e", 8, 1, &v, &n, &err), -1); /* 9 bytes > 8 */
    assert_int_equal(mc_json_str(o, "e", 9, 1, &v, &n, &err), 0);
    /* optional and missing is fine, and says so */
    assert_int_equal(mc_json_str(o, "missing", 64, 0, &v, &n, &err), 0);
    assert_null(v);
    json_decref(o);
}

static void unknown_fields_are_refused(void **state)
{
    static const char *const allowed[] = {"purpose", "account", NULL};
    mc_err err;
    json_t *o = parse("{\"purpose\":\"bind\",\"account\":\"a\"}");
    assert_int_equal(mc_json_only(o, allowed, &err), 0);
    json_decref(o);
    o = parse("{\"purpose\":\"bind\",\"admin\":true}");
    assert_int_equal(mc_json_only(o, allowed, &err), -1);
    assert_string_equal(err.code, "bad_field");
    json_decref(o);
}

static void duplicates_truncation_and_trailing_garbage_do_not_parse(void **state)
{
    const char *bad[] = {
        "{\"purpose\":\"login\",\"purpose\":\"bind\"}", /* duplicate key */
        "{\"purpose\":\"login\"",                      /* truncated */
        "{\"purpose\":\"login\"}x",                    /* trailing garbage */
        "{\"purpose\":\"login\"}{}",                   /* two documents */
        "{\"purpose\":\"\xff\"}",                      /* not UTF-8 */
        "{\"purpose\":\"a\\u0000b\"}",                 /* NUL */
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(parse(bad[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_string_field_is_returned_with_its_length),
        cmocka_unit_test(wrong_type_missing_long_and_nul_are_bad_field),
        cmocka_unit_test(unknown_fields_are_refused),
        cmocka_unit_test(duplicates_truncation_and_trailing_garbage_do_not_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
