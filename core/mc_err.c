/*
 * mc_err.c — see mc_err.h. Formatting only; no allocation, never aborts.
 */
#include "mc_err.h"

#include <stdio.h>
#include <string.h>

int mc_err_set(mc_err *err, int status, const char *code, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    err->status = status;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

void mc_err_clear(mc_err *err)
{
    if (err == NULL)
        return;
    err->status = 0;
    err->code = NULL;
    err->msg[0] = '\0';
}
