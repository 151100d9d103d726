/*
 * test_netaddr.c — unit tests of core/domain/mc_netaddr.c: which address a
 * request comes from.
 *
 * Why: that address is what the throttles and the limits on
 * unauthenticated work count, and what the phone shows its user (issue 9).
 * X-Forwarded-For is written by whoever sends the request, so these tests
 * hold that it counts only from a configured trusted proxy, and then only
 * its rightmost entries up to the first one that is not a trusted proxy:
 * a client cannot choose its address by writing more entries on the left,
 * and a malformed entry never becomes "the client".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "mc_netaddr.h"

static mc_cidr cidr(const char *s)
{
    mc_cidr c;
    memset(&c, 0xa5, sizeof(c));
    if (mc_cidr_parse(s, &c) != 0)
        fail_msg("mc_cidr_parse(\"%s\") refused a valid CIDR", s);
    return c;
}

static void parse_reads_v4_and_v6_addresses_and_prefixes(void **state)
{
    (void)state;
    mc_cidr c = cidr("10.0.0.0/8");
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.bits, 8);
    static const uint8_t ten[4] = {10, 0, 0, 0};
    assert_memory_equal(c.addr, ten, 4);

    c = cidr("192.0.2.7"); /* a bare address is the /32 */
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.bits, 32);
    static const uint8_t host[4] = {192, 0, 2, 7};
    assert_memory_equal(c.addr, host, 4);

    c = cidr("0.0.0.0/0");
    assert_int_equal(c.bits, 0);
    c = cidr("192.0.2.7/32");
    assert_int_equal(c.bits, 32);

    c = cidr("::1"); /* a bare v6 address is the /128 */
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.bits, 128);
    static const uint8_t one[16] = {[15] = 1};
    assert_memory_equal(c.addr, one, 16);

    c = cidr("fd00::/8");
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.bits, 8);
    assert_int_equal(c.addr[0], 0xfd);
    c = cidr("2001:db8::/128");
    assert_int_equal(c.bits, 128);
    c = cidr("::/0");
    assert_int_equal(c.bits, 0);
}

static void parse_refuses_garbage_empty_and_prefixes_out_of_range(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",                 /* empty */
        "garbage",
        "10.0.0.0/33",      /* past the v4 width */
        "::/129",           /* past the v6 width */
        "10.0.0.0/-1",
        "10.0.0.0/",        /* a slash and nothing */
        "/8",               /* a prefix and no address */
        "10.0.0.0/8x",
        "10.0.0.0/8/8",
        "10.0.0.256",
        "10.0.0",
        " 10.0.0.1",        /* no whitespace around an address */
        "10.0.0.1 ",
        "localhost",
        "[::1]",
        "10.0.0.1:8080",
        "fd00::/8/",
        "1111:2222:3333:4444:5555:6666:7777:8888:9999/64", /* nine groups */
        /* longer than any address */
        "0000000000000000000000000000000000000000000000000000000000000000010.0.0.0/8",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mc_cidr c;
        if (mc_cidr_parse(bad[i], &c) != -1)
            fail_msg("mc_cidr_parse(\"%s\") accepted garbage", bad[i]);
    }
}

static void match_holds_the_prefix_bits_only(void **state)
{
    (void)state;
    mc_cidr c = cidr("10.0.0.0/8");
    assert_true(mc_cidr_match(&c, "10.0.0.0"));
    assert_true(mc_cidr_match(&c, "10.255.255.255"));
    assert_false(mc_cidr_match(&c, "11.0.0.0"));
    assert_false(mc_cidr_match(&c, "9.255.255.255"));

    /* a prefix that ends inside a byte */
    c = cidr("172.16.0.0/12");
    assert_true(mc_cidr_match(&c, "172.16.0.1"));
    assert_true(mc_cidr_match(&c, "172.31.255.255"));
    assert_false(mc_cidr_match(&c, "172.32.0.0"));
    assert_false(mc_cidr_match(&c, "172.15.255.255"));

    /* host bits written in the CIDR do not matter */
    c = cidr("10.1.2.3/8");
    assert_true(mc_cidr_match(&c, "10.200.0.1"));

    /* a single address */
    c = cidr("127.0.0.1");
    assert_true(mc_cidr_match(&c, "127.0.0.1"));
    assert_false(mc_cidr_match(&c, "127.0.0.2"));

    /* /0: every v4 address, and no v6 one */
    c = cidr("0.0.0.0/0");
    assert_true(mc_cidr_match(&c, "203.0.113.9"));
    assert_false(mc_cidr_match(&c, "::1"));

    c = cidr("fd00::/8");
    assert_true(mc_cidr_match(&c, "fdab:cd::1"));
    assert_false(mc_cidr_match(&c, "fe80::1"));
    assert_false(mc_cidr_match(&c, "10.0.0.1"));
    c = cidr("2001:db8::/33");
    assert_true(mc_cidr_match(&c, "2001:db8:7fff::1"));
    assert_false(mc_cidr_match(&c, "2001:db8:8000::1"));
    c = cidr("::1");
    assert_true(mc_cidr_match(&c, "::1"));
    assert_true(mc_cidr_match(&c, "0:0:0:0:0:0:0:1")); /* the same address spelt out */
    assert_false(mc_cidr_match(&c, "::2"));
    assert_false(mc_cidr_match(&c, "127.0.0.1"));
}

static void match_of_garbage_is_no_match(void **state)
{
    (void)state;
    mc_cidr c = cidr("0.0.0.0/0");
    static const char *const bad[] = {"", "garbage", "10.0.0.256", " 10.0.0.1", "10.0.0.1 ",
                                      "10.0.0.1/32", "10.0.0.1:80", "[::1]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (mc_cidr_match(&c, bad[i]))
            fail_msg("\"%s\" matched 0.0.0.0/0", bad[i]);
    c = cidr("::/0");
    assert_false(mc_cidr_match(&c, "::g"));
}

/* The client address of a request from peer with X-Forwarded-For xff. */
static const char *client(const char *peer, const char *xff, const mc_cidr *t, size_t n,
                          char out[64])
{
    memset(out, 'Z', 64);
    mc_client_addr(peer, xff, t, n, out, 64);
    return out;
}

static void untrusted_peer_is_the_client_whatever_xff_says(void **state)
{
    (void)state;
    char out[64];
    /* no trusted proxy at all */
    assert_string_equal(client("198.51.100.7", "203.0.113.9", NULL, 0, out), "198.51.100.7");
    /* a peer that is not one of the trusted proxies */
    mc_cidr t[] = {cidr("127.0.0.1"), cidr("10.0.0.0/8")};
    assert_string_equal(client("198.51.100.7", "203.0.113.9", t, 2, out), "198.51.100.7");
    assert_string_equal(client("11.0.0.1", "10.0.0.5", t, 2, out), "11.0.0.1");
    assert_string_equal(client("::1", "203.0.113.9", t, 2, out), "::1");
    /* a trusted proxy without the header is the client itself */
    assert_string_equal(client("127.0.0.1", NULL, t, 2, out), "127.0.0.1");
    assert_string_equal(client("127.0.0.1", "", t, 2, out), "127.0.0.1");
}

static void trusted_peer_gives_the_rightmost_untrusted_entry(void **state)
{
    (void)state;
    char out[64];
    mc_cidr t[] = {cidr("127.0.0.1")};
    assert_string_equal(client("127.0.0.1", "203.0.113.9", t, 1, out), "203.0.113.9");
    /* entries the client wrote itself, left of what our proxy appended */
    assert_string_equal(client("127.0.0.1", "1.2.3.4, 203.0.113.9", t, 1, out), "203.0.113.9");
    assert_string_equal(client("127.0.0.1", "127.0.0.9,10.0.0.1,203.0.113.9", t, 1, out),
                        "203.0.113.9");
    /* the client naming a trusted proxy on the left changes nothing */
    assert_string_equal(client("127.0.0.1", "127.0.0.1, 203.0.113.9", t, 1, out), "203.0.113.9");
}

static void chain_of_trusted_proxies_is_skipped_from_the_right(void **state)
{
    (void)state;
    char out[64];
    /* TLS terminator (127.0.0.1) behind a load balancer (10.0.0.0/8) */
    mc_cidr t[] = {cidr("127.0.0.1"), cidr("10.0.0.0/8")};
    assert_string_equal(client("127.0.0.1", "198.51.100.7, 10.1.1.1", t, 2, out),
                        "198.51.100.7");
    assert_string_equal(client("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.1.1, 10.2.2.2", t, 2,
                               out),
                        "198.51.100.7");
    /* every entry a trusted proxy: the leftmost of them */
    assert_string_equal(client("127.0.0.1", "10.1.1.1, 10.2.2.2", t, 2, out), "10.1.1.1");
    /* a trusted entry between two untrusted: the rightmost untrusted wins */
    assert_string_equal(client("10.9.9.9", "203.0.113.1, 10.3.3.3, 203.0.113.2", t, 2, out),
                        "203.0.113.2");
}

static void malformed_entry_is_never_the_client(void **state)
{
    (void)state;
    char out[64];
    mc_cidr t[] = {cidr("127.0.0.1"), cidr("10.0.0.0/8")};
    static const char *const bad[] = {
        "garbage", "unknown", "203.0.113.9:4711", "[2001:db8::5]", "203.0.113.256",
        "203.0.113.9 198.51.100.7", /* two addresses without a comma */
        "203.0.113.9,",             /* an empty rightmost entry */
        ",", " , ",
        "2001:db8:1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb",
        "203.0.113.9\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (strcmp(client("127.0.0.1", bad[i], t, 2, out), "127.0.0.1") != 0)
            fail_msg("X-Forwarded-For \"%s\" gave client \"%s\", not the peer", bad[i], out);
    /* a malformed entry left of a good one is never reached */
    assert_string_equal(client("127.0.0.1", "garbage, 203.0.113.9", t, 2, out), "203.0.113.9");
    /* behind a trusted hop, a malformed entry stops the walk at that hop */
    assert_string_equal(client("127.0.0.1", "203.0.113.9, garbage, 10.1.1.1", t, 2, out),
                        "10.1.1.1");
}

static void entries_are_trimmed_of_spaces_and_tabs(void **state)
{
    (void)state;
    char out[64];
    mc_cidr t[] = {cidr("127.0.0.1")};
    assert_string_equal(client("127.0.0.1", "  203.0.113.9\t", t, 1, out), "203.0.113.9");
    assert_string_equal(client("127.0.0.1", " 1.2.3.4 ,\t203.0.113.9 ", t, 1, out),
                        "203.0.113.9");
    /* several headers joined with "," */
    assert_string_equal(client("127.0.0.1", "1.2.3.4,203.0.113.9", t, 1, out), "203.0.113.9");
}

static void ipv6_peers_and_entries(void **state)
{
    (void)state;
    char out[64];
    mc_cidr t[] = {cidr("::1"), cidr("fd00::/8")};
    assert_string_equal(client("::1", "2001:db8::5", t, 2, out), "2001:db8::5");
    assert_string_equal(client("::1", "2001:db8::5, fd12::7", t, 2, out), "2001:db8::5");
    assert_string_equal(client("::1", "203.0.113.9, fd12::7", t, 2, out), "203.0.113.9");
    assert_string_equal(client("2001:db8::99", "203.0.113.9", t, 2, out), "2001:db8::99");
    /* a v4 proxy passing on a v6 client */
    mc_cidr t4[] = {cidr("127.0.0.1")};
    assert_string_equal(client("127.0.0.1", " 2001:db8::5 ", t4, 1, out), "2001:db8::5");
}

static void output_is_always_terminated_in_its_size(void **state)
{
    (void)state;
    mc_cidr t[] = {cidr("127.0.0.1")};
    char out[8];
    memset(out, 'Z', sizeof(out));
    mc_client_addr("127.0.0.1", "203.0.113.9", t, 1, out, sizeof(out));
    assert_string_equal(out, "203.0.1");
    memset(out, 'Z', sizeof(out));
    mc_client_addr("198.51.100.77", NULL, t, 1, out, sizeof(out));
    assert_string_equal(out, "198.51.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_reads_v4_and_v6_addresses_and_prefixes),
        cmocka_unit_test(parse_refuses_garbage_empty_and_prefixes_out_of_range),
        cmocka_unit_test(match_holds_the_prefix_bits_only),
        cmocka_unit_test(match_of_garbage_is_no_match),
        cmocka_unit_test(untrusted_peer_is_the_client_whatever_xff_says),
        cmocka_unit_test(trusted_peer_gives_the_rightmost_untrusted_entry),
        cmocka_unit_test(chain_of_trusted_proxies_is_skipped_from_the_right),
        cmocka_unit_test(malformed_entry_is_never_the_client),
        cmocka_unit_test(entries_are_trimmed_of_spaces_and_tabs),
        cmocka_unit_test(ipv6_peers_and_entries),
        cmocka_unit_test(output_is_always_terminated_in_its_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
