/*
 * mc_token.h — web session tokens.
 *
 * A token is "<43 chars base64url of 256 secret bits>.<account login>".
 * Naming the account lets one read fetch the web session and its account
 * together with both keys known before the call (Redis Functions take every
 * key in KEYS); the login is no secret from the token's own holder. The
 * store keeps only SHA-256 of the whole token.
 *
 * A QR login's token is not random but derived from the browser's poll
 * secret (HMAC-SHA256 keyed by it, over the session id): the poll-secret
 * holder — and only it — gets the same token again if the reply that
 * carried it was lost. The poll secret is 256 random bits the server never
 * stores, so the derived token is as unguessable as a random one.
 */
#ifndef MC_TOKEN_H
#define MC_TOKEN_H

#include <stddef.h>

#include "mc_session.h"

#define MC_TOKEN_SECRET_LEN 43
#define MC_TOKEN_MAX (MC_TOKEN_SECRET_LEN + 1 + MC_ACCOUNT_MAX)

/* 256 bits from the CSPRNG as 43 chars of base64url: the secret of a web
 * token, and the poll secret of a QR session. */
void mc_secret_new(char out[MC_TOKEN_SECRET_LEN + 1]);
/* A random token for login; tok_hash = hex SHA-256 of it. */
void mc_token_new(const char *login, char tok[MC_TOKEN_MAX + 1], char tok_hash[65]);
/* The token of a QR login, derived from the poll secret (n bytes). */
void mc_token_derive(const char *poll_secret, size_t n, const char *sid, const char *login,
                     char tok[MC_TOKEN_MAX + 1], char tok_hash[65]);
/* Split a presented token (n bytes, peer data): login out, hash of the
 * whole token out. 0, or -1 if it is not of the token's form. */
int mc_token_parse(const char *tok, size_t n, char login[MC_ACCOUNT_MAX + 1], char tok_hash[65]);

/* API keys of the platform (PROTOCOL.md §8.1): "mcak.<id>.<secret>", id 16
 * lower-case hex (64 random bits: names the record), secret as above; the
 * store keeps SHA-256 hex of the whole key. */
#define MC_APIKEY_LEN (5 + 16 + 1 + MC_TOKEN_SECRET_LEN)
void mc_apikey_new(char key[MC_APIKEY_LEN + 1], char id[17], char hash[65]);
/* Split a presented key (n bytes, peer data). 0, or -1 if not of the form. */
int mc_apikey_parse(const char *key, size_t n, char id[17], char hash[65]);

#endif
