/* C ABI smoke test for Windows, run under Wine by scripts/test-windows.sh
 * (there is no Windows redis-server there). It covers, through the DLL:
 *   - redkeep_version, the option defaults;
 *   - a lazy pool against an address where nothing listens: open succeeds,
 *     exec fails with a connection/timeout/unavailable status and a
 *     message, well within its timeout (no hang); close and free;
 *   - redkeep_server_ensure with a missing binary: REDKEEP_SPAWN (or
 *     CONFIG) with a message naming the option; free;
 *   - a bad guard name: REDKEEP_CONFIG naming redkeep_server_options.guard;
 *   - NULL arguments: REDKEEP_INVALID_ARGUMENT, no crash;
 *   - a completion queue: its descriptor (a SOCKET) is valid; free;
 *   - redkeep_shutdown.
 * Exit code 0 when every check passed. */
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "redkeep.h"

static int failures = 0;

#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            failures++;                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);    \
            printf(__VA_ARGS__);                           \
            printf("\n");                                  \
        }                                                  \
    } while (0)

int main(void) {
    printf("redkeep %s\n", redkeep_version());

    /* A lazy pool where nothing listens (port 1). */
    struct redkeep_pool_options po;
    CHECK(redkeep_pool_options_default(&po) == REDKEEP_OK, "pool defaults");
    po.lazy = true;
    po.connect_timeout_ms = 300;
    struct redkeep_pool *pool = NULL;
    struct redkeep_error *err = NULL;
    redkeep_status st = redkeep_pool_open("redis://127.0.0.1:1", &po, NULL, &pool, &err);
    CHECK(st == REDKEEP_OK && pool != NULL, "lazy open: status %u (%s)", (unsigned)st,
          err ? redkeep_error_message(err) : "");
    redkeep_error_free(err);
    err = NULL;
    if (pool) {
        const uint8_t *argv[] = {(const uint8_t *)"PING"};
        size_t lens[] = {4};
        struct redkeep_reply *reply = NULL;
        DWORD t0 = GetTickCount();
        st = redkeep_pool_exec(pool, 1, argv, lens, 2000, NULL, &reply, &err);
        DWORD took = GetTickCount() - t0;
        CHECK(st == REDKEEP_CONNECTION || st == REDKEEP_TIMEOUT || st == REDKEEP_UNAVAILABLE,
              "exec against nothing: status %u (%s)", (unsigned)st,
              redkeep_status_name(st));
        CHECK(err != NULL && strlen(redkeep_error_message(err)) > 0, "an error message");
        CHECK(took < 3000, "exec returned within its timeout (took %lu ms)", (unsigned long)took);
        printf("exec against nothing: %s in %lu ms: %s\n", redkeep_status_name(st),
               (unsigned long)took, err ? redkeep_error_message(err) : "");
        redkeep_reply_free(reply);
        redkeep_error_free(err);
        err = NULL;
        CHECK(redkeep_pool_close(pool) == REDKEEP_OK, "close");
        redkeep_pool_free(pool);
    }

    /* ensure with a binary that does not exist. */
    struct redkeep_server_options so;
    CHECK(redkeep_server_options_default(&so) == REDKEEP_OK, "server defaults");
    so.port = 0;
    so.binary = "C:\\nowhere\\redis-server.exe";
    struct redkeep_server *server = NULL;
    st = redkeep_server_ensure(&so, NULL, &server, &err);
    CHECK(st == REDKEEP_SPAWN || st == REDKEEP_CONFIG, "missing binary: status %u", (unsigned)st);
    CHECK(server == NULL, "no server");
    CHECK(err != NULL && strstr(redkeep_error_message(err), "redkeep_server_options.binary"),
          "the message names the option: %s", err ? redkeep_error_message(err) : "");
    printf("ensure with a missing binary: %s: %s\n", redkeep_status_name(st),
           err ? redkeep_error_message(err) : "");
    redkeep_error_free(err);
    err = NULL;
    redkeep_server_free(server);

    /* A bad guard name. */
    so.binary = NULL;
    so.guard = "nonsense";
    st = redkeep_server_ensure(&so, NULL, &server, &err);
    CHECK(st == REDKEEP_CONFIG, "bad guard: status %u", (unsigned)st);
    CHECK(err != NULL && strstr(redkeep_error_message(err), "redkeep_server_options.guard"),
          "names the guard: %s", err ? redkeep_error_message(err) : "");
    redkeep_error_free(err);
    err = NULL;
    /* The watchdog is unix only. */
    so.guard = "watchdog";
    st = redkeep_server_ensure(&so, NULL, &server, &err);
    CHECK(st == REDKEEP_CONFIG, "watchdog on Windows: status %u", (unsigned)st);
    redkeep_error_free(err);
    err = NULL;

    /* NULL arguments. */
    CHECK(redkeep_pool_open(NULL, NULL, NULL, &pool, NULL) == REDKEEP_INVALID_ARGUMENT, "NULL url");
    CHECK(redkeep_server_ensure(&so, NULL, NULL, NULL) == REDKEEP_INVALID_ARGUMENT, "NULL out");

    /* A completion queue and its SOCKET. */
    struct redkeep_completions *q = NULL;
    st = redkeep_completions_new(&q, &err);
    CHECK(st == REDKEEP_OK && q != NULL, "completions: status %u (%s)", (unsigned)st,
          err ? redkeep_error_message(err) : "");
    redkeep_error_free(err);
    err = NULL;
    if (q) {
        int fd = redkeep_completions_fd(q);
        CHECK(fd != -1, "a SOCKET for the queue");
        redkeep_completions_free(q);
    }

    redkeep_shutdown();
    printf(failures ? "FAILED: %d check(s)\n" : "all C ABI smoke checks passed\n", failures);
    return failures ? 1 : 0;
}
