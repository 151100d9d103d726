/*
 * mc_phone_scan.c — read a QR code from a PNG with the real decoder.
 *
 * Why an external process: the point of the test is that what mcertd draws is
 * readable by an independent decoder (zbar), not by our own inverse of our
 * own encoder.
 *
 * Design: posix_spawnp("zbarimg --raw -q PATH") with stdout on a pipe and
 * stdin/stderr on /dev/null (zbarimg prints a dbus "Connection Error" on
 * stderr even with -q, and still exits 0). No shell is involved, so the path
 * needs no quoting. zbarimg exits 4 when it found no symbol.
 *
 * Non-goals: several symbols in one image (the first line wins), camera
 * input, decoding in-process.
 */
#define _GNU_SOURCE /* pipe2 */
#include "mc_phone_int.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCAN_OUTPUT_MAX 4096

extern char **environ;

int mc_phone_scan_png(const char *path, char *payload, size_t size,
                      mc_phone_err *err)
{
    int rc = -1, fds[2] = {-1, -1}, status = 0;
    int have_actions = 0;
    pid_t pid = -1;
    posix_spawn_file_actions_t fa;
    char out[SCAN_OUTPUT_MAX + 1];
    size_t n = 0;
    char arg[4096];

    mc_phone_err_clear(err);
    if (payload == NULL || size == 0 || path == NULL || path[0] == '\0')
        return mc_phone_fail(err, 400, "bad_request", "no path or no output buffer");
    payload[0] = '\0';
    /* A path starting with '-' would be read as an option. */
    if (snprintf(arg, sizeof(arg), "%s%s", path[0] == '-' ? "./" : "", path) >=
        (int)sizeof(arg))
        return mc_phone_fail(err, 400, "bad_request", "path too long");
    if (pipe2(fds, O_CLOEXEC) != 0)
        return mc_phone_fail(err, 500, "internal", "pipe: %s", strerror(errno));
    if (posix_spawn_file_actions_init(&fa) != 0) {
        mc_phone_fail(err, 500, "internal", "posix_spawn_file_actions_init failed");
        goto done;
    }
    have_actions = 1;
    if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1) != 0 ||
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) != 0) {
        mc_phone_fail(err, 500, "internal", "posix_spawn_file_actions failed");
        goto done;
    }
    char *argv[] = {"zbarimg", "--raw", "-q", arg, NULL};
    int se = posix_spawnp(&pid, "zbarimg", &fa, NULL, argv, environ);
    if (se != 0) {
        pid = -1;
        mc_phone_fail(err, 500, "no_decoder", "cannot run zbarimg: %s", strerror(se));
        goto done;
    }
    close(fds[1]);
    fds[1] = -1;
    for (;;) {
        char tmp[512];
        ssize_t r = read(fds[0], tmp, sizeof(tmp));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t take = (size_t)r;
        if (take > SCAN_OUTPUT_MAX - n)
            take = SCAN_OUTPUT_MAX - n; /* drain the rest, keep the start */
        memcpy(out + n, tmp, take);
        n += take;
    }
    out[n] = '\0';
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            mc_phone_fail(err, 500, "internal", "waitpid: %s", strerror(errno));
            pid = -1;
            goto done;
        }
    }
    pid = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        mc_phone_fail(err, 500, "no_decoder", "zbarimg not found");
        goto done;
    }
    size_t line = strcspn(out, "\r\n");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || line == 0) {
        mc_phone_fail(err, 400, "qr_unreadable", "no QR code found in %s (zbarimg status %d)",
                      path, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        goto done;
    }
    if (line >= size) {
        mc_phone_fail(err, 400, "qr_too_long", "QR payload of %zu bytes", line);
        goto done;
    }
    memcpy(payload, out, line);
    payload[line] = '\0';
    rc = 0;
done:
    if (have_actions)
        posix_spawn_file_actions_destroy(&fa);
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    if (pid > 0)
        waitpid(pid, &status, 0);
    return rc;
}
