/*
 * mc_token.c — see mc_token.h.
 */
#include "mc_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "mc_crypto.h"

static void finish(const char secret[MC_TOKEN_SECRET_LEN + 1], const char *login,
                   char tok[MC_TOKEN_MAX + 1], char tok_hash[65])
{
    snprintf(tok, MC_TOKEN_MAX + 1, "%s.%s", secret, login);
    uint8_t h[32];
    mc_sha256(tok, strlen(tok), h);
    mc_hex(h, 32, tok_hash);
}

void mc_secret_new(char out[MC_TOKEN_SECRET_LEN + 1])
{
    uint8_t raw[32];
    mc_random(raw, sizeof(raw));
    mc_base64url(raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));
}

void mc_token_new(const char *login, char tok[MC_TOKEN_MAX + 1], char tok_hash[65])
{
    char secret[MC_TOKEN_SECRET_LEN + 1];
    mc_secret_new(secret);
    finish(secret, login, tok, tok_hash);
    OPENSSL_cleanse(secret, sizeof(secret));
}

void mc_token_derive(const char *poll_secret, size_t n, const char *sid, const char *login,
                     char tok[MC_TOKEN_MAX + 1], char tok_hash[65])
{
    static const char label[] = "mcert login token v1:";
    uint8_t msg[sizeof(label) + MC_SID_LEN], mac[32];
    char secret[MC_TOKEN_SECRET_LEN + 1];
    size_t sl = strnlen(sid, MC_SID_LEN);
    memcpy(msg, label, sizeof(label) - 1);
    memcpy(msg + sizeof(label) - 1, sid, sl);
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), poll_secret, (int)n, msg, sizeof(label) - 1 + sl, mac, &maclen);
    mc_base64url(mac, sizeof(mac), secret);
    finish(secret, login, tok, tok_hash);
    OPENSSL_cleanse(mac, sizeof(mac));
    OPENSSL_cleanse(secret, sizeof(secret));
}

int mc_token_parse(const char *tok, size_t n, char login[MC_ACCOUNT_MAX + 1], char tok_hash[65])
{
    if (n <= MC_TOKEN_SECRET_LEN + 1 || n > MC_TOKEN_MAX || tok[MC_TOKEN_SECRET_LEN] != '.')
        return -1;
    const char *l = tok + MC_TOKEN_SECRET_LEN + 1;
    size_t ln = n - MC_TOKEN_SECRET_LEN - 1;
    if (!mc_account_name_valid(l, ln))
        return -1;
    memcpy(login, l, ln);
    login[ln] = '\0';
    uint8_t h[32];
    mc_sha256(tok, n, h);
    mc_hex(h, 32, tok_hash);
    return 0;
}

void mc_apikey_new(char key[MC_APIKEY_LEN + 1], char id[17], char hash[65])
{
    uint8_t rid[8];
    char secret[MC_TOKEN_SECRET_LEN + 1];
    mc_random(rid, sizeof(rid));
    mc_hex(rid, sizeof(rid), id);
    mc_secret_new(secret);
    snprintf(key, MC_APIKEY_LEN + 1, "mcak.%s.%s", id, secret);
    OPENSSL_cleanse(secret, sizeof(secret));
    uint8_t h[32];
    mc_sha256(key, MC_APIKEY_LEN, h);
    mc_hex(h, 32, hash);
}

int mc_apikey_parse(const char *key, size_t n, char id[17], char hash[65])
{
    static const char b64u[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if (n != MC_APIKEY_LEN || memcmp(key, "mcak.", 5) != 0 || key[21] != '.')
        return -1;
    for (size_t i = 5; i < 21; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return -1;
    for (size_t i = 22; i < n; i++)
        if (key[i] == '\0' || strchr(b64u, key[i]) == NULL)
            return -1;
    memcpy(id, key + 5, 16);
    id[16] = '\0';
    uint8_t h[32];
    mc_sha256(key, n, h);
    mc_hex(h, 32, hash);
    return 0;
}
