/*
 * C test of redkeep_subscriber: subscribe, messages, bad arguments, close,
 * and a subscriber that keeps receiving after its server is SIGKILLed and
 * restarted (by redkeep's own supervisor).
 *
 * Usage: subscriber_test REDIS_URL
 * Prints "N passed, M failed"; exits 1 on failure. Built and run by
 * bindings/c/tests/c_programs.rs (also under valgrind by scripts/test-c.sh).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redkeep.h"

static int passed, failed;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (cond) {                                                       \
            passed++;                                                     \
        } else {                                                          \
            failed++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
        }                                                                 \
    } while (0)

static const char *msg(const redkeep_error *err) { return err ? redkeep_error_message(err) : ""; }

/* Generous bounds: this program also runs under valgrind on a loaded machine. */
static void slow_machine_options(redkeep_pool_options *opts) {
    redkeep_pool_options_default(opts);
    opts->connect_timeout_ms = 10000;
    opts->command_timeout_ms = 10000;
    opts->wait_timeout_ms = 10000;
    opts->health_timeout_ms = 2000;
}

static redkeep_status sub_one(redkeep_subscriber *sub, int pattern, const char *name,
                              redkeep_error **err) {
    const uint8_t *names[1] = {(const uint8_t *)name};
    size_t lens[1] = {strlen(name)};
    return pattern ? redkeep_subscriber_psubscribe(sub, names, lens, 1, err)
                   : redkeep_subscriber_subscribe(sub, names, lens, 1, err);
}

static long publish(redkeep_pool *pool, const char *channel, const char *payload) {
    const uint8_t *argv[3] = {(const uint8_t *)"PUBLISH", (const uint8_t *)channel,
                              (const uint8_t *)payload};
    size_t lens[3] = {7, strlen(channel), strlen(payload)};
    redkeep_reply *reply = NULL;
    long n = -1;
    if (redkeep_pool_exec(pool, 3, argv, lens, 2000, NULL, &reply, NULL) == REDKEEP_OK) {
        n = (long)redkeep_reply_integer(reply);
    }
    redkeep_reply_free(reply);
    return n;
}

/* Waits for the next event of `kind` (skipping none), for at most 10 s. */
static redkeep_subscriber_event *next_event(redkeep_subscriber *sub) {
    redkeep_subscriber_event *ev = NULL;
    redkeep_error *err = NULL;
    redkeep_status st = redkeep_subscriber_next(sub, 30000, NULL, &ev, &err);
    CHECK(st == REDKEEP_OK && ev != NULL, "next: %s", msg(err));
    redkeep_error_free(err);
    return ev;
}

static void expect_message(redkeep_subscriber *sub, const char *channel, const char *pattern,
                           const char *payload) {
    redkeep_subscriber_event *ev = next_event(sub);
    if (ev == NULL) return;
    size_t len = 0;
    CHECK(redkeep_subscriber_event_get_kind(ev) == REDKEEP_SUBSCRIBER_MESSAGE, "a message");
    const char *c = redkeep_subscriber_event_channel(ev, &len);
    CHECK(c != NULL && len == strlen(channel) && memcmp(c, channel, len) == 0, "channel %s",
          c ? c : "(null)");
    const char *p = redkeep_subscriber_event_pattern(ev, &len);
    if (pattern) {
        CHECK(p != NULL && strcmp(p, pattern) == 0, "pattern %s", p ? p : "(null)");
    } else {
        CHECK(p == NULL && len == 0, "no pattern");
    }
    const char *d = redkeep_subscriber_event_payload(ev, &len);
    CHECK(d != NULL && len == strlen(payload) && strcmp(d, payload) == 0, "payload %s",
          d ? d : "(null)");
    redkeep_subscriber_event_free(ev);
}

static void test_basics_and_bad_input(const char *url) {
    printf("# subscriber basics\n");
    redkeep_pool *pool = NULL;
    redkeep_error *err = NULL;
    redkeep_pool_options opts;
    slow_machine_options(&opts);
    redkeep_status st = redkeep_pool_open(url, &opts, NULL, &pool, &err);
    CHECK(st == REDKEEP_OK, "open: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    if (pool == NULL) return;

    redkeep_subscriber *sub = NULL;
    CHECK(redkeep_subscriber_open(NULL, NULL, &sub, &err) == REDKEEP_INVALID_ARGUMENT && sub == NULL,
          "NULL pool");
    redkeep_error_free(err);
    err = NULL;
    CHECK(redkeep_subscriber_open(pool, NULL, NULL, NULL) == REDKEEP_INVALID_ARGUMENT, "NULL out");
    st = redkeep_subscriber_open(pool, NULL, &sub, &err);
    CHECK(st == REDKEEP_OK && sub != NULL, "subscriber: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    if (sub == NULL) return;

    CHECK(sub_one(sub, 0, "news", &err) == REDKEEP_OK, "subscribe: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    CHECK(sub_one(sub, 1, "alert.*", &err) == REDKEEP_OK, "psubscribe: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    /* Binary-safe names: an embedded NUL. */
    const uint8_t bin[] = {'a', 0, 'b'};
    const uint8_t *bins[1] = {bin};
    size_t bin_len[1] = {3};
    CHECK(redkeep_subscriber_subscribe(sub, bins, bin_len, 1, &err) == REDKEEP_OK,
          "binary name: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;

    CHECK(publish(pool, "news", "one") == 1, "publish news");
    expect_message(sub, "news", NULL, "one");
    CHECK(publish(pool, "alert.fire", "hot") == 1, "publish alert.fire");
    expect_message(sub, "alert.fire", "alert.*", "hot");

    /* Nothing within the timeout: REDKEEP_TIMEOUT, nothing lost. */
    redkeep_subscriber_event *ev = NULL;
    st = redkeep_subscriber_next(sub, 50, NULL, &ev, &err);
    CHECK(st == REDKEEP_TIMEOUT && ev == NULL &&
              redkeep_error_phase(err) == REDKEEP_PHASE_COMMAND,
          "timeout: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    redkeep_cancel *cancel = redkeep_cancel_new();
    redkeep_cancel_trigger(cancel);
    st = redkeep_subscriber_next(sub, 0, cancel, &ev, &err);
    CHECK(st == REDKEEP_CANCELLED && ev == NULL, "cancelled: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    redkeep_cancel_free(cancel);

    /* Bad arguments. */
    const uint8_t *names[1] = {(const uint8_t *)"x"};
    size_t lens[1] = {1};
    CHECK(redkeep_subscriber_subscribe(NULL, names, lens, 1, &err) == REDKEEP_INVALID_ARGUMENT,
          "NULL sub");
    redkeep_error_free(err);
    err = NULL;
    CHECK(redkeep_subscriber_subscribe(sub, NULL, lens, 1, &err) == REDKEEP_INVALID_ARGUMENT &&
              strstr(msg(err), "names") != NULL,
          "NULL names: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    const uint8_t *null_name[1] = {NULL};
    CHECK(redkeep_subscriber_subscribe(sub, null_name, lens, 1, &err) == REDKEEP_INVALID_ARGUMENT &&
              strstr(msg(err), "names[0]") != NULL,
          "NULL names[0]: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    CHECK(redkeep_subscriber_subscribe(sub, names, lens, (size_t)-1, &err) ==
                  REDKEEP_INVALID_ARGUMENT &&
              strstr(msg(err), "REDKEEP_MAX_ARGS") != NULL,
          "absurd count: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    size_t huge[1] = {(size_t)-1};
    CHECK(redkeep_subscriber_subscribe(sub, names, huge, 1, &err) == REDKEEP_INVALID_ARGUMENT &&
              strstr(msg(err), "REDKEEP_MAX_COMMAND_BYTES") != NULL,
          "absurd length: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    CHECK(redkeep_subscriber_next(sub, 10, NULL, NULL, &err) == REDKEEP_INVALID_ARGUMENT, "NULL out");
    redkeep_error_free(err);
    err = NULL;
    CHECK(redkeep_subscriber_event_get_kind(NULL) == REDKEEP_SUBSCRIBER_DISCONNECTED &&
              redkeep_subscriber_event_channel(NULL, NULL) == NULL &&
              redkeep_subscriber_event_names_len(NULL, false) == 0 &&
              redkeep_subscriber_event_name(NULL, true, 0, NULL) == NULL,
          "NULL event accessors");
    redkeep_subscriber_event_free(NULL);

    /* Unsubscribe all channels (count 0), then close. */
    CHECK(redkeep_subscriber_unsubscribe(sub, NULL, NULL, 0, &err) == REDKEEP_OK, "unsubscribe all: %s",
          msg(err));
    redkeep_error_free(err);
    err = NULL;
    CHECK(publish(pool, "news", "gone") == 0, "no subscriber for news");
    CHECK(redkeep_subscriber_close(sub) == REDKEEP_OK, "close");
    st = redkeep_subscriber_next(sub, 1000, NULL, &ev, &err);
    CHECK(st == REDKEEP_CLOSED && ev == NULL, "next after close: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    CHECK(sub_one(sub, 0, "x", &err) == REDKEEP_CLOSED, "subscribe after close: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    redkeep_error_free(err);
    redkeep_subscriber_free(sub);
    redkeep_subscriber_free(NULL);
    redkeep_pool_free(pool);
}

/* A server redkeep spawned and supervises: SIGKILL it, the supervisor
 * restarts it on the same port, the subscriber re-subscribes. */
static void test_restart(void) {
    printf("# subscriber across a restart\n");
    redkeep_server_options sopts;
    redkeep_server_options_default(&sopts);
    sopts.port = 0;
    redkeep_server *server = NULL;
    redkeep_error *err = NULL;
    redkeep_status st = redkeep_server_ensure(&sopts, NULL, &server, &err);
    CHECK(st == REDKEEP_OK, "spawn a server: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    if (server == NULL) return;

    redkeep_pool_options opts;
    slow_machine_options(&opts);
    opts.health_interval_ms = 100;
    opts.backoff_initial_ms = 20;
    opts.backoff_max_ms = 200;
    redkeep_pool *pool = NULL;
    st = redkeep_pool_open(redkeep_server_url(server), &opts, NULL, &pool, &err);
    CHECK(st == REDKEEP_OK, "open: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    redkeep_subscriber *sub = NULL;
    if (pool != NULL) redkeep_subscriber_open(pool, NULL, &sub, &err);
    CHECK(sub != NULL, "subscriber: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    if (sub == NULL) {
        redkeep_pool_free(pool);
        redkeep_server_free(server);
        return;
    }
    CHECK(sub_one(sub, 0, "news", &err) == REDKEEP_OK, "subscribe: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    CHECK(sub_one(sub, 1, "alert.*", &err) == REDKEEP_OK, "psubscribe: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;

    uint32_t pid = redkeep_server_pid(server);
    CHECK(pid > 0 && kill((pid_t)pid, SIGKILL) == 0, "SIGKILL %u", pid);
    redkeep_subscriber_event *ev = next_event(sub);
    CHECK(ev != NULL && redkeep_subscriber_event_get_kind(ev) == REDKEEP_SUBSCRIBER_DISCONNECTED,
          "disconnected");
    size_t len = 0;
    const char *reason = redkeep_subscriber_event_payload(ev, &len);
    CHECK(reason != NULL && len > 0, "a reason: %s", reason ? reason : "(null)");
    redkeep_subscriber_event_free(ev);

    ev = next_event(sub);
    CHECK(ev != NULL && redkeep_subscriber_event_get_kind(ev) == REDKEEP_SUBSCRIBER_RESUBSCRIBED,
          "resubscribed");
    CHECK(redkeep_subscriber_event_names_len(ev, false) == 1 &&
              redkeep_subscriber_event_names_len(ev, true) == 1,
          "one channel, one pattern");
    const char *name = redkeep_subscriber_event_name(ev, false, 0, &len);
    CHECK(name != NULL && strcmp(name, "news") == 0 && len == 4, "channel news");
    name = redkeep_subscriber_event_name(ev, true, 0, &len);
    CHECK(name != NULL && strcmp(name, "alert.*") == 0, "pattern alert.*");
    CHECK(redkeep_subscriber_event_name(ev, true, 1, &len) == NULL && len == 0, "past the end");
    redkeep_subscriber_event_free(ev);
    CHECK(redkeep_server_restarts(server) >= 1, "the supervisor restarted it");

    CHECK(publish(pool, "news", "back") == 1, "publish after the restart");
    expect_message(sub, "news", NULL, "back");
    CHECK(publish(pool, "alert.x", "again") == 1, "publish to the pattern");
    expect_message(sub, "alert.x", "alert.*", "again");

    redkeep_subscriber_free(sub);
    redkeep_pool_free(pool);
    /* Stops the server and releases the handle. */
    redkeep_server_shutdown(server, NULL);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s REDIS_URL\n", argv[0]);
        return 2;
    }
    test_basics_and_bad_input(argv[1]);
    test_restart();
    redkeep_shutdown();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
