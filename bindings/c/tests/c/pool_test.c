/*
 * C test of the redkeep ABI: open/exec/reply/free, error paths with NULLs,
 * timeouts, cancellation, health/stats/watch, and (when built with
 * -DREDKEEP_TEST_SERVER) server ensure/free.
 *
 * Usage: pool_test REDIS_URL
 * Prints one line per check and "N passed, M failed"; exits 1 on failure.
 * Built and run by bindings/c/tests/c_programs.rs (also under valgrind by
 * scripts/test-c.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
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

static const char *msg(const redkeep_error *err) { return redkeep_error_message(err); }

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Runs a command given as NUL-terminated strings. */
static redkeep_status run(redkeep_pool *pool, int argc, const char **args, uint32_t timeout_ms,
                          const redkeep_cancel *cancel, redkeep_reply **reply, redkeep_error **err) {
    const uint8_t *argv[16];
    size_t lens[16];
    for (int i = 0; i < argc; i++) {
        argv[i] = (const uint8_t *)args[i];
        lens[i] = strlen(args[i]);
    }
    return redkeep_pool_exec(pool, (size_t)argc, argv, lens, timeout_ms, cancel, reply, err);
}

static void test_basics(const char *url) {
    printf("# basics\n");
    CHECK(strlen(redkeep_version()) > 0, "version");
    CHECK(strcmp(redkeep_status_name(REDKEEP_TIMEOUT), "REDKEEP_TIMEOUT") == 0, "status name");
    CHECK(strcmp(redkeep_status_name(9999), "REDKEEP_UNKNOWN_STATUS") == 0, "unknown status name");

    redkeep_pool_options opts;
    CHECK(redkeep_pool_options_default(&opts) == REDKEEP_OK, "defaults");
    CHECK(opts.max_size == 16 && opts.command_timeout_ms == 2000, "default values");
    opts.max_size = 4;

    redkeep_pool *pool = NULL;
    redkeep_error *err = NULL;
    redkeep_status st = redkeep_pool_open(url, &opts, NULL, &pool, &err);
    CHECK(st == REDKEEP_OK && pool != NULL && err == NULL, "open: %s", msg(err));
    redkeep_error_free(err);
    if (pool == NULL) return;

    /* Binary-safe SET / GET. */
    const uint8_t key[] = "c:bin";
    const uint8_t val[] = {'a', 0, 'b', 0xff};
    const uint8_t *argv[3] = {(const uint8_t *)"SET", key, val};
    size_t lens[3] = {3, 5, sizeof val};
    redkeep_reply *reply = NULL;
    st = redkeep_pool_exec(pool, 3, argv, lens, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_OK, "SET: %s", msg(err));
    CHECK(redkeep_reply_get_kind(reply) == REDKEEP_REPLY_STATUS, "SET kind");
    CHECK(strcmp(redkeep_reply_string(reply, NULL), "OK") == 0, "SET reply");
    redkeep_reply_free(reply);

    const char *get[] = {"GET", "c:bin"};
    st = run(pool, 2, get, 1000, NULL, &reply, &err);
    size_t len = 0;
    const char *s = redkeep_reply_string(reply, &len);
    CHECK(st == REDKEEP_OK && redkeep_reply_get_kind(reply) == REDKEEP_REPLY_STRING, "GET");
    CHECK(len == sizeof val && s != NULL && memcmp(s, val, len) == 0, "GET bytes (len %zu)", len);
    redkeep_reply_free(reply);

    /* The packed form. */
    const uint8_t buf[] = "GETc:bin";
    size_t plens[2] = {3, 5};
    st = redkeep_pool_exec_packed(pool, buf, 8, plens, 2, 0, NULL, &reply, &err);
    s = redkeep_reply_string(reply, &len);
    CHECK(st == REDKEEP_OK && len == sizeof val && memcmp(s, val, len) == 0, "packed GET");
    redkeep_reply_free(reply);

    const char *missing[] = {"GET", "c:missing"};
    st = run(pool, 2, missing, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_OK && redkeep_reply_get_kind(reply) == REDKEEP_REPLY_NIL, "GET missing is nil");
    CHECK(redkeep_reply_string(reply, &len) == NULL && len == 0, "nil has no string");
    redkeep_reply_free(reply);

    const char *del[] = {"DEL", "c:n", "c:list"};
    run(pool, 3, del, 0, NULL, &reply, NULL);
    redkeep_reply_free(reply);
    const char *incr[] = {"INCRBY", "c:n", "41"};
    st = run(pool, 3, incr, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_OK && redkeep_reply_get_kind(reply) == REDKEEP_REPLY_INTEGER &&
              redkeep_reply_integer(reply) == 41,
          "INCRBY");
    redkeep_reply_free(reply);

    const char *push[] = {"RPUSH", "c:list", "x", "y", "z"};
    run(pool, 5, push, 0, NULL, &reply, NULL);
    redkeep_reply_free(reply);
    const char *range[] = {"LRANGE", "c:list", "0", "-1"};
    st = run(pool, 4, range, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_OK && redkeep_reply_get_kind(reply) == REDKEEP_REPLY_ARRAY &&
              redkeep_reply_len(reply) == 3,
          "LRANGE array");
    CHECK(strcmp(redkeep_reply_string(redkeep_reply_element(reply, 2), NULL), "z") == 0,
          "element 2");
    CHECK(redkeep_reply_element(reply, 3) == NULL, "out of range element is NULL");
    CHECK(redkeep_reply_map_key(reply, 0) == NULL, "an array is not a map");
    redkeep_reply_free(reply);

    /* A server error reply. */
    const char *bad[] = {"INCR", "c:list"};
    st = run(pool, 2, bad, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_RESPONSE && reply == NULL, "error reply status %u", st);
    CHECK(err != NULL && redkeep_error_status(err) == REDKEEP_RESPONSE &&
              strstr(msg(err), "WRONGTYPE") != NULL,
          "error reply message: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;

    /* Health, stats, watch. */
    redkeep_health health;
    CHECK(redkeep_pool_health(pool, &health) == REDKEEP_OK && health.state == REDKEEP_STATE_UP,
          "health up (state %u)", health.state);
    redkeep_stats stats;
    CHECK(redkeep_pool_stats(pool, &stats) == REDKEEP_OK && stats.connects >= 1, "stats");
    redkeep_watch *watch = NULL;
    CHECK(redkeep_pool_watch(pool, &watch, &err) == REDKEEP_OK && watch != NULL, "watch");
    st = redkeep_watch_next(watch, 50, NULL, &health, &err);
    CHECK(st == REDKEEP_TIMEOUT, "watch_next times out when nothing changes (%u)", st);
    redkeep_error_free(err);
    err = NULL;
    redkeep_watch_free(watch);

    /* Close, then use. */
    CHECK(redkeep_pool_close(pool) == REDKEEP_OK, "close");
    CHECK(redkeep_pool_close(pool) == REDKEEP_OK, "close twice");
    st = run(pool, 2, get, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_CLOSED && reply == NULL, "exec after close: %u %s", st, msg(err));
    redkeep_error_free(err);
    CHECK(redkeep_pool_health(pool, &health) == REDKEEP_OK &&
              health.state == REDKEEP_STATE_CLOSED,
          "health after close is CLOSED (state %u)", health.state);
    redkeep_pool_free(pool);
}

struct trigger_arg {
    redkeep_cancel *cancel;
    int delay_ms;
};

static void *trigger_later(void *p) {
    struct trigger_arg *arg = p;
    usleep((useconds_t)arg->delay_ms * 1000);
    redkeep_cancel_trigger(arg->cancel);
    return NULL;
}

static void test_timeout_and_cancel(const char *url) {
    printf("# timeout and cancel\n");
    redkeep_pool *pool = NULL;
    redkeep_error *err = NULL;
    if (redkeep_pool_open(url, NULL, NULL, &pool, &err) != REDKEEP_OK) {
        CHECK(0, "open: %s", msg(err));
        redkeep_error_free(err);
        return;
    }
    redkeep_reply *reply = NULL;
    /* BLPOP on an empty list blocks for 0.4 s; the per-call timeout is 100 ms. */
    const char *blpop[] = {"BLPOP", "c:empty", "0.4"};
    double t0 = now_ms();
    redkeep_status st = run(pool, 3, blpop, 100, NULL, &reply, &err);
    double took = now_ms() - t0;
    CHECK(st == REDKEEP_TIMEOUT && redkeep_error_phase(err) == REDKEEP_PHASE_COMMAND,
          "per-call timeout: %u %s", st, msg(err));
    CHECK(took < 350, "timeout returned after %.0f ms", took);
    redkeep_error_free(err);
    err = NULL;

    /* A cancel triggered from another thread. */
    redkeep_cancel *cancel = redkeep_cancel_new();
    struct trigger_arg arg = {cancel, 100};
    pthread_t thread;
    pthread_create(&thread, NULL, trigger_later, &arg);
    t0 = now_ms();
    st = run(pool, 3, blpop, 0, cancel, &reply, &err);
    took = now_ms() - t0;
    pthread_join(thread, NULL);
    CHECK(st == REDKEEP_CANCELLED && reply == NULL, "cancelled: %u %s", st, msg(err));
    CHECK(took < 350, "cancel returned after %.0f ms", took);
    CHECK(redkeep_cancel_is_triggered(cancel), "is_triggered");
    redkeep_error_free(err);
    err = NULL;
    /* An already triggered handle fails at once. */
    const char *ping[] = {"PING"};
    st = run(pool, 1, ping, 0, cancel, &reply, &err);
    CHECK(st == REDKEEP_CANCELLED, "pre-triggered cancel: %u", st);
    redkeep_error_free(err);
    err = NULL;
    redkeep_cancel_free(cancel);

    st = run(pool, 1, ping, 2000, NULL, &reply, &err);
    CHECK(st == REDKEEP_OK && strcmp(redkeep_reply_string(reply, NULL), "PONG") == 0,
          "the pool still works: %s", msg(err));
    redkeep_reply_free(reply);
    redkeep_error_free(err);
    redkeep_pool_free(pool);
}

static void test_invalid_arguments(const char *url) {
    printf("# invalid arguments\n");
    redkeep_pool *pool = (redkeep_pool *)0x1; /* must be overwritten with NULL */
    redkeep_error *err = NULL;
    redkeep_status st = redkeep_pool_open(NULL, NULL, NULL, &pool, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && pool == NULL, "NULL url: %u", st);
    CHECK(err != NULL && strstr(msg(err), "url") != NULL, "NULL url message: %s", msg(err));
    redkeep_error_free(err);

    st = redkeep_pool_open(url, NULL, NULL, NULL, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && strstr(msg(err), "out") != NULL, "NULL out");
    redkeep_error_free(err);

    st = redkeep_pool_open("redis://\xff\xfe:6379", NULL, NULL, &pool, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && strstr(msg(err), "UTF-8") != NULL,
          "invalid UTF-8: %u %s", st, msg(err));
    redkeep_error_free(err);

    st = redkeep_pool_open("http://localhost", NULL, NULL, &pool, &err);
    CHECK(st == REDKEEP_CONFIG && pool == NULL, "bad scheme: %u %s", st, msg(err));
    redkeep_error_free(err);

    redkeep_pool_options opts;
    redkeep_pool_options_default(&opts);
    opts.max_size = 0;
    st = redkeep_pool_open(url, &opts, NULL, &pool, &err);
    CHECK(st == REDKEEP_CONFIG && strstr(msg(err), "max_size") != NULL, "max_size 0: %s", msg(err));
    redkeep_error_free(err);

    /* Nothing listens on port 1: refused or timed out, never a hang. */
    redkeep_pool_options_default(&opts);
    opts.connect_timeout_ms = 300;
    st = redkeep_pool_open("redis://127.0.0.1:1", &opts, NULL, &pool, &err);
    CHECK((st == REDKEEP_CONNECTION || st == REDKEEP_TIMEOUT || st == REDKEEP_UNAVAILABLE) &&
              pool == NULL,
          "refused: %u %s", st, msg(err));
    redkeep_error_free(err);

    CHECK(redkeep_pool_options_default(NULL) == REDKEEP_INVALID_ARGUMENT, "NULL opts");
    CHECK(redkeep_server_options_default(NULL) == REDKEEP_INVALID_ARGUMENT, "NULL server opts");

    /* A live pool for the argv checks. */
    st = redkeep_pool_open(url, NULL, NULL, &pool, &err);
    CHECK(st == REDKEEP_OK, "open: %s", msg(err));
    redkeep_error_free(err);
    redkeep_reply *reply = (redkeep_reply *)0x1;
    const uint8_t *argv[2] = {(const uint8_t *)"GET", NULL};
    size_t lens[2] = {3, 4};
    st = redkeep_pool_exec(NULL, 1, argv, lens, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && reply == NULL && strstr(msg(err), "pool"),
          "NULL pool: %s", msg(err));
    redkeep_error_free(err);
    st = redkeep_pool_exec(pool, 0, argv, lens, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && strstr(msg(err), "argc"), "argc 0: %s", msg(err));
    redkeep_error_free(err);
    st = redkeep_pool_exec(pool, 2, NULL, lens, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && strstr(msg(err), "argv"), "NULL argv: %s", msg(err));
    redkeep_error_free(err);
    st = redkeep_pool_exec(pool, 2, argv, NULL, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT, "NULL argv_len: %s", msg(err));
    redkeep_error_free(err);
    st = redkeep_pool_exec(pool, 2, argv, lens, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && strstr(msg(err), "argv[1]"), "NULL argv[1]: %s",
          msg(err));
    redkeep_error_free(err);
    st = redkeep_pool_exec(pool, 1, argv, lens, 0, NULL, NULL, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT, "NULL reply out");
    redkeep_error_free(err);
    /* A zero-length argument may be NULL. */
    lens[1] = 0;
    st = redkeep_pool_exec(pool, 2, argv, lens, 0, NULL, &reply, NULL);
    CHECK(st == REDKEEP_OK && redkeep_reply_get_kind(reply) == REDKEEP_REPLY_NIL, "empty key");
    redkeep_reply_free(reply);

    const uint8_t buf[] = "GETk";
    size_t plens[2] = {3, 5};
    st = redkeep_pool_exec_packed(pool, buf, 4, plens, 2, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && strstr(msg(err), "add up"), "packed mismatch: %s",
          msg(err));
    redkeep_error_free(err);

    CHECK(redkeep_pool_health(NULL, NULL) == REDKEEP_INVALID_ARGUMENT, "health NULL");
    CHECK(redkeep_pool_health(pool, NULL) == REDKEEP_INVALID_ARGUMENT, "health NULL out");
    CHECK(redkeep_pool_stats(NULL, NULL) == REDKEEP_INVALID_ARGUMENT, "stats NULL");
    CHECK(redkeep_pool_close(NULL) == REDKEEP_INVALID_ARGUMENT, "close NULL");
    CHECK(redkeep_watch_next(NULL, 0, NULL, NULL, NULL) == REDKEEP_INVALID_ARGUMENT, "watch NULL");

    /* Accessors and frees tolerate NULL. */
    CHECK(redkeep_reply_get_kind(NULL) == REDKEEP_REPLY_NIL, "kind NULL");
    CHECK(redkeep_reply_integer(NULL) == 0 && redkeep_reply_len(NULL) == 0, "int/len NULL");
    CHECK(redkeep_reply_string(NULL, NULL) == NULL, "string NULL");
    CHECK(strcmp(redkeep_error_message(NULL), "") == 0, "message NULL");
    CHECK(redkeep_error_status(NULL) == REDKEEP_INVALID_ARGUMENT, "status NULL");
    redkeep_reply_free(NULL);
    redkeep_error_free(NULL);
    redkeep_pool_free(NULL);
    redkeep_watch_free(NULL);
    redkeep_cancel_free(NULL);
    redkeep_cancel_trigger(NULL);
    redkeep_pool_free(pool);
}

/* A bad pool setting is named as a field of redkeep_pool_options, never
 * as the Rust field behind it; the Go way once a binding says so. */
static void test_messages(const char *url) {
    printf("# messages name the caller's settings\n");
    redkeep_pool *pool = NULL;
    redkeep_error *err = NULL;
    redkeep_pool_options opts;
    redkeep_pool_options_default(&opts);
    opts.max_size = 0;
    redkeep_status st = redkeep_pool_open(url, &opts, NULL, &pool, &err);
    CHECK(st == REDKEEP_CONFIG && pool == NULL, "max_size 0: %u", st);
    CHECK(err != NULL && strcmp(msg(err), "redkeep_pool_options.max_size must be at least 1") == 0,
          "max_size 0 names the C field: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;

    redkeep_pool_options_default(&opts);
    opts.backoff_initial_ms = 5000;
    opts.backoff_max_ms = 100;
    st = redkeep_pool_open(url, &opts, NULL, &pool, &err);
    CHECK(st == REDKEEP_CONFIG && err != NULL &&
              strcmp(msg(err), "redkeep_pool_options.backoff_max_ms must be at least "
                               "redkeep_pool_options.backoff_initial_ms") == 0,
          "backoff max < initial names both C fields: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;

    redkeep_pool_options_default(&opts);
    opts.connect_timeout_ms = 0;
    st = redkeep_pool_open(url, &opts, NULL, &pool, &err);
    CHECK(st == REDKEEP_CONFIG && err != NULL &&
              strstr(msg(err), "redkeep_pool_options.connect_timeout_ms") != NULL &&
              strstr(msg(err), "timeouts.") == NULL,
          "connect timeout 0 names the C field: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;

    CHECK(redkeep_set_language(REDKEEP_LANGUAGE_GO) == REDKEEP_OK, "set language Go");
    redkeep_pool_options_default(&opts);
    opts.max_size = 0;
    st = redkeep_pool_open(url, &opts, NULL, &pool, &err);
    CHECK(st == REDKEEP_CONFIG && err != NULL &&
              strcmp(msg(err), "Options.PoolSize must be at least 1") == 0,
          "max_size 0 names the Go field: %s", msg(err));
    redkeep_set_language(REDKEEP_LANGUAGE_C);
    redkeep_error_free(err);
}

static void test_submit_and_completions(const char *url) {
    printf("# submit and completions\n");
    redkeep_pool *pool = NULL;
    redkeep_error *err = NULL;
    if (redkeep_pool_open(url, NULL, NULL, &pool, &err) != REDKEEP_OK) {
        CHECK(0, "open: %s", msg(err));
        redkeep_error_free(err);
        return;
    }
    redkeep_completions *queue = NULL;
    CHECK(redkeep_completions_new(&queue, &err) == REDKEEP_OK && queue != NULL, "queue");
    int fd = redkeep_completions_fd(queue);
    CHECK(fd >= 0, "fd");

    /* 20 INCRs on one key, submitted at once; token i is command i. */
    const uint8_t del[] = "DELc:async";
    size_t del_lens[2] = {3, 7};
    redkeep_reply *reply = NULL;
    redkeep_pool_exec_packed(pool, del, 10, del_lens, 2, 0, NULL, &reply, NULL);
    redkeep_reply_free(reply);
    const uint8_t buf[] = "INCRc:async";
    size_t lens[2] = {4, 7};
    enum { N = 20 };
    for (uint64_t i = 0; i < N; i++) {
        redkeep_status st = redkeep_pool_submit(pool, queue, i, buf, 11, lens, 2, 1000, NULL, &err);
        CHECK(st == REDKEEP_OK, "submit %u: %s", (unsigned)i, msg(err));
    }
    /* A bad submission fails at once and produces no completion. */
    CHECK(redkeep_pool_submit(pool, queue, 99, buf, 10, lens, 2, 0, NULL, &err) ==
              REDKEEP_INVALID_ARGUMENT,
          "bad lengths");
    redkeep_error_free(err);
    err = NULL;

    int seen[N] = {0}, got = 0, sum = 0;
    double deadline = now_ms() + 5000;
    while (got < N && now_ms() < deadline) {
        struct pollfd pfd = {fd, POLLIN, 0};
        poll(&pfd, 1, 100);
        char sink[64];
        while (read(fd, sink, sizeof sink) > 0) {
        }
        redkeep_completion out[8];
        size_t n;
        while ((n = redkeep_completions_pop(queue, out, 8)) > 0) {
            for (size_t i = 0; i < n; i++) {
                CHECK(out[i].status == REDKEEP_OK && out[i].token < N, "completion %u",
                      (unsigned)out[i].token);
                if (out[i].token < N) seen[out[i].token]++;
                sum += (int)redkeep_reply_integer(out[i].reply);
                redkeep_reply_free(out[i].reply);
                redkeep_error_free(out[i].error);
            }
            got += (int)n;
        }
    }
    int each_once = 1;
    for (int i = 0; i < N; i++) each_once &= seen[i] == 1;
    CHECK(got == N && each_once, "all %d completions, each once (got %d)", N, got);
    CHECK(sum == N * (N + 1) / 2, "the INCR results are 1..%d (sum %d)", N, sum);
    CHECK(redkeep_completions_pop(NULL, NULL, 0) == 0 && redkeep_completions_fd(NULL) == -1,
          "NULL queue");
    close(fd);
    redkeep_completions_free(queue);
    redkeep_completions_free(NULL);
    redkeep_pool_free(pool);
}

/* Commands past the documented bounds are refused before anything is read:
 * no allocation of SIZE_MAX entries, no slice longer than PTRDIFF_MAX. */
static void test_bounds(const char *url) {
    printf("# argc and length bounds\n");
    redkeep_pool *pool = NULL;
    redkeep_error *err = NULL;
    if (redkeep_pool_open(url, NULL, NULL, &pool, &err) != REDKEEP_OK) {
        CHECK(0, "open: %s", msg(err));
        redkeep_error_free(err);
        return;
    }
    redkeep_completions *queue = NULL;
    redkeep_completions_new(&queue, NULL);
    /* Tiny arrays: the library must not read past them for a wild argc. */
    const uint8_t *argv[1] = {(const uint8_t *)"GET"};
    size_t lens[1] = {3};
    const size_t wild_argc[] = {SIZE_MAX, (size_t)1 << 60, REDKEEP_MAX_ARGS + 1};
    for (size_t i = 0; i < sizeof wild_argc / sizeof wild_argc[0]; i++) {
        size_t argc = wild_argc[i];
        redkeep_reply *reply = (redkeep_reply *)0x1;
        redkeep_status st = redkeep_pool_exec(pool, argc, argv, lens, 0, NULL, &reply, &err);
        CHECK(st == REDKEEP_INVALID_ARGUMENT && reply == NULL &&
                  strstr(msg(err), "REDKEEP_MAX_ARGS") != NULL,
              "exec argc %zu: %u %s", argc, st, msg(err));
        redkeep_error_free(err);
        st = redkeep_pool_exec_packed(pool, argv[0], 3, lens, argc, 0, NULL, &reply, &err);
        CHECK(st == REDKEEP_INVALID_ARGUMENT && strstr(msg(err), "REDKEEP_MAX_ARGS") != NULL,
              "exec_packed argc %zu: %u %s", argc, st, msg(err));
        redkeep_error_free(err);
        st = redkeep_pool_submit(pool, queue, 1, argv[0], 3, lens, argc, 0, NULL, &err);
        CHECK(st == REDKEEP_INVALID_ARGUMENT && strstr(msg(err), "REDKEEP_MAX_ARGS") != NULL,
              "submit argc %zu: %u %s", argc, st, msg(err));
        redkeep_error_free(err);
    }
    /* A length past PTRDIFF_MAX (and past the byte bound) for a 3-byte buffer. */
    size_t huge[1] = {(size_t)PTRDIFF_MAX + 1};
    redkeep_reply *reply = NULL;
    redkeep_status st = redkeep_pool_exec(pool, 1, argv, huge, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && strstr(msg(err), "REDKEEP_MAX_COMMAND_BYTES") != NULL,
          "exec length > PTRDIFF_MAX: %u %s", st, msg(err));
    redkeep_error_free(err);
    st = redkeep_pool_exec_packed(pool, argv[0], (size_t)PTRDIFF_MAX + 1, huge, 1, 0, NULL, &reply,
                                  &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && strstr(msg(err), "REDKEEP_MAX_COMMAND_BYTES") != NULL,
          "exec_packed buf_len > PTRDIFF_MAX: %u %s", st, msg(err));
    redkeep_error_free(err);
    st = redkeep_pool_submit(pool, queue, 2, argv[0], (size_t)PTRDIFF_MAX + 1, huge, 1, 0, NULL,
                             &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && strstr(msg(err), "REDKEEP_MAX_COMMAND_BYTES") != NULL,
          "submit buf_len > PTRDIFF_MAX: %u %s", st, msg(err));
    redkeep_error_free(err);
    /* Lengths each in bounds whose sum is past it (and wraps size_t). */
    const uint8_t *two[2] = {argv[0], argv[0]};
    size_t wrap[2] = {REDKEEP_MAX_COMMAND_BYTES, SIZE_MAX};
    st = redkeep_pool_exec(pool, 2, two, wrap, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && strstr(msg(err), "argv_len[1]") != NULL,
          "exec lengths past the bound in sum: %u %s", st, msg(err));
    redkeep_error_free(err);
    /* The pool is untouched. */
    const char *ping[] = {"PING"};
    st = run(pool, 1, ping, 1000, NULL, &reply, &err);
    CHECK(st == REDKEEP_OK, "PING after refused arguments: %s", msg(err));
    redkeep_reply_free(reply);
    redkeep_error_free(err);
    redkeep_completions_free(queue);
    redkeep_pool_free(pool);
}

/* Connection-state commands are refused unsent, on every path: the calling
 * thread (no cancel), the runtime (a cancel handle) and submit. */
static void test_refused(const char *url) {
    printf("# connection-state commands are refused\n");
    redkeep_pool *pool = NULL;
    redkeep_error *err = NULL;
    if (redkeep_pool_open(url, NULL, NULL, &pool, &err) != REDKEEP_OK) {
        CHECK(0, "open: %s", msg(err));
        redkeep_error_free(err);
        return;
    }
    CHECK(strcmp(redkeep_status_name(REDKEEP_REFUSED), "REDKEEP_REFUSED") == 0 &&
              REDKEEP_REFUSED == 18,
          "REDKEEP_REFUSED is 18");
    redkeep_cancel *cancel = redkeep_cancel_new();
    redkeep_completions *queue = NULL;
    redkeep_completions_new(&queue, NULL);
    const char *select1[] = {"SELECT", "1"};
    const char *multi[] = {"MULTI"};
    const char *subscribe[] = {"SUBSCRIBE", "x"};
    const char *setname[] = {"CLIENT", "SETNAME", "a"};
    struct {
        const char **args;
        int argc;
    } cmds[] = {{select1, 2}, {multi, 1}, {subscribe, 2}, {setname, 3}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        redkeep_reply *reply = (redkeep_reply *)0x1;
        redkeep_status st = run(pool, cmds[i].argc, cmds[i].args, 1000, NULL, &reply, &err);
        CHECK(st == REDKEEP_REFUSED && reply == NULL && redkeep_error_status(err) == REDKEEP_REFUSED,
              "%s on the calling thread: %u %s", cmds[i].args[0], st, msg(err));
        redkeep_error_free(err);
        st = run(pool, cmds[i].argc, cmds[i].args, 1000, cancel, &reply, &err);
        CHECK(st == REDKEEP_REFUSED, "%s with a cancel handle: %u %s", cmds[i].args[0], st,
              msg(err));
        redkeep_error_free(err);
        /* Packed into one buffer for submit. */
        uint8_t buf[64];
        size_t lens[4], at = 0;
        for (int a = 0; a < cmds[i].argc; a++) {
            lens[a] = strlen(cmds[i].args[a]);
            memcpy(buf + at, cmds[i].args[a], lens[a]);
            at += lens[a];
        }
        st = redkeep_pool_submit(pool, queue, i, buf, at, lens, (size_t)cmds[i].argc, 1000, NULL,
                                 &err);
        CHECK(st == REDKEEP_OK, "submit %s: %s", cmds[i].args[0], msg(err));
        redkeep_error_free(err);
        redkeep_completion out[1];
        size_t n = 0;
        for (int tries = 0; tries < 200 && n == 0; tries++) {
            n = redkeep_completions_pop(queue, out, 1);
            if (n == 0) usleep(5000);
        }
        CHECK(n == 1 && out[0].status == REDKEEP_REFUSED && out[0].reply == NULL,
              "%s submitted: %u", cmds[i].args[0], n == 1 ? out[0].status : 0);
        if (n == 1) {
            redkeep_reply_free(out[0].reply);
            redkeep_error_free(out[0].error);
        }
    }
    /* Nothing was sent: the shared connection is still on db 0. */
    redkeep_reply *reply = NULL;
    const char *set[] = {"SET", "c:refused:db", "0"};
    redkeep_status st = run(pool, 3, set, 1000, NULL, &reply, &err);
    CHECK(st == REDKEEP_OK, "SET after refusals: %s", msg(err));
    redkeep_reply_free(reply);
    redkeep_error_free(err);
    const char *info[] = {"CLIENT", "INFO"};
    st = run(pool, 2, info, 1000, cancel, &reply, &err);
    const char *text = redkeep_reply_string(reply, NULL);
    CHECK(st == REDKEEP_OK && text != NULL && strstr(text, " db=0 ") != NULL,
          "the shared connection is on db 0: %s", text ? text : msg(err));
    redkeep_reply_free(reply);
    redkeep_error_free(err);
    redkeep_completions_free(queue);
    redkeep_cancel_free(cancel);
    redkeep_pool_free(pool);
}

/* A peer that completes TCP handshakes (the kernel does) and never replies:
 * a listening socket nobody accepts on. Returns the fd; *port gets its port. */
static int silent_peer(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

struct close_arg {
    redkeep_pool *pool;
    int delay_ms;
    double closed_at;
};

static void *close_later(void *p) {
    struct close_arg *arg = p;
    usleep((useconds_t)arg->delay_ms * 1000);
    arg->closed_at = now_ms();
    redkeep_pool_close(arg->pool);
    return NULL;
}

/* A lazy pool on a silent peer whose own timeouts (3 s) are far longer than
 * what the checks below allow; each check gets a fresh one, so that no
 * health probe has failed yet. */
static redkeep_pool *open_on_silent_peer(const char *url) {
    redkeep_pool_options opts;
    redkeep_pool_options_default(&opts);
    opts.lazy = true;
    opts.connect_timeout_ms = 3000;
    opts.command_timeout_ms = 3000;
    redkeep_pool *pool = NULL;
    redkeep_error *err = NULL;
    redkeep_status st = redkeep_pool_open(url, &opts, NULL, &pool, &err);
    CHECK(st == REDKEEP_OK, "lazy open on a silent peer: %s", msg(err));
    redkeep_error_free(err);
    return pool;
}

/* timeout_ms bounds the whole call (connect included) on both paths, and
 * close ends a call in flight on both paths. Against a silent peer. */
static void test_whole_call_bounds(void) {
    printf("# per-call timeout and close bound the whole call\n");
    uint16_t port = 0;
    int peer = silent_peer(&port);
    CHECK(peer >= 0, "silent peer");
    if (peer < 0) return;
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%u", (unsigned)port);
    const char *ping[] = {"PING"};
    redkeep_cancel *cancel = redkeep_cancel_new();
    for (int with_cancel = 0; with_cancel < 2; with_cancel++) {
        const char *path = with_cancel ? "cancel handle" : "calling thread";
        const redkeep_cancel *c = with_cancel ? cancel : NULL;
        redkeep_pool *pool = open_on_silent_peer(url);
        if (pool == NULL) continue;
        redkeep_reply *reply = NULL;
        redkeep_error *err = NULL;
        double t0 = now_ms();
        redkeep_status st = run(pool, 1, ping, 200, c, &reply, &err);
        double took = now_ms() - t0;
        printf("  timeout_ms 200 (%s): %.0f ms\n", path, took);
        CHECK(st == REDKEEP_TIMEOUT && took >= 150 && took < 500,
              "timeout_ms 200 bounds the connect too (%s): %u after %.0f ms: %s", path, st, took,
              msg(err));
        redkeep_error_free(err);
        redkeep_pool_free(pool);

        /* Close ends a call in flight. */
        pool = open_on_silent_peer(url);
        if (pool == NULL) continue;
        struct close_arg arg = {pool, 150, 0};
        pthread_t thread;
        pthread_create(&thread, NULL, close_later, &arg);
        err = NULL;
        st = run(pool, 1, ping, 0, c, &reply, &err);
        double ended = now_ms();
        pthread_join(thread, NULL);
        double after_close = ended - arg.closed_at;
        printf("  close -> call in flight ended (%s): %.0f ms\n", path, after_close);
        CHECK(st == REDKEEP_CLOSED && after_close < 300,
              "close ends a call in flight (%s): %u, %.0f ms after close: %s", path, st,
              after_close, msg(err));
        redkeep_error_free(err);
        redkeep_pool_free(pool);
    }
    redkeep_cancel_free(cancel);
    close(peer);
}

/* Each path shows in its own stats field: an exec without a cancel handle
 * runs on a calling-thread connection, one with a cancel handle on a
 * shared one. */
static void test_stats_by_path(const char *url) {
    printf("# stats by path\n");
    redkeep_pool *pool = NULL;
    redkeep_error *err = NULL;
    if (redkeep_pool_open(url, NULL, NULL, &pool, &err) != REDKEEP_OK) {
        CHECK(0, "open: %s", msg(err));
        redkeep_error_free(err);
        return;
    }
    const char *ping[] = {"PING"};
    redkeep_reply *reply = NULL;
    redkeep_stats stats;

    redkeep_status st = run(pool, 1, ping, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_OK, "PING without cancel: %s", msg(err));
    redkeep_reply_free(reply);
    CHECK(redkeep_pool_stats(pool, &stats) == REDKEEP_OK && stats.thread_open >= 1 &&
              stats.thread_idle <= stats.thread_open,
          "an exec without a cancel handle opens a calling-thread connection "
          "(thread_open %llu, thread_idle %llu)",
          (unsigned long long)stats.thread_open, (unsigned long long)stats.thread_idle);

    redkeep_cancel *cancel = redkeep_cancel_new();
    st = run(pool, 1, ping, 0, cancel, &reply, &err);
    CHECK(st == REDKEEP_OK, "PING with cancel: %s", msg(err));
    redkeep_reply_free(reply);
    redkeep_cancel_free(cancel);
    CHECK(redkeep_pool_stats(pool, &stats) == REDKEEP_OK && stats.shared_open >= 1,
          "an exec with a cancel handle uses a shared connection (shared_open %llu)",
          (unsigned long long)stats.shared_open);
    redkeep_pool_free(pool);
}

/* redkeep_pool_metrics: NULL arguments, then a snapshot that moves with
 * traffic and agrees with redkeep_pool_metrics_text. */
static void test_metrics(const char *url) {
    printf("# metrics snapshot\n");
    redkeep_metrics m;
    redkeep_error *err = NULL;
    redkeep_status st = redkeep_pool_metrics(NULL, &m, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && err != NULL && strstr(msg(err), "pool") != NULL,
          "NULL pool: %u %s", st, msg(err));
    CHECK(m.use_time.count == 0 && m.stats.connects == 0, "out zeroed on failure");
    redkeep_error_free(err);
    err = NULL;

    redkeep_pool *pool = NULL;
    if (redkeep_pool_open(url, NULL, NULL, &pool, &err) != REDKEEP_OK) {
        CHECK(0, "open: %s", msg(err));
        redkeep_error_free(err);
        return;
    }
    st = redkeep_pool_metrics(pool, NULL, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && err != NULL && strstr(msg(err), "out") != NULL,
          "NULL out: %u %s", st, msg(err));
    redkeep_error_free(err);
    err = NULL;
    CHECK(redkeep_pool_metrics(pool, NULL, NULL) == REDKEEP_INVALID_ARGUMENT, "NULL out, NULL err");

    redkeep_metrics before;
    CHECK(redkeep_pool_metrics(pool, &before, &err) == REDKEEP_OK && err == NULL, "before: %s",
          msg(err));
    const char *ping[] = {"PING"};
    enum { N = 20 };
    for (int i = 0; i < N; i++) {
        redkeep_reply *reply = NULL;
        st = run(pool, 1, ping, 0, NULL, &reply, &err);
        CHECK(st == REDKEEP_OK, "PING %d: %s", i, msg(err));
        redkeep_reply_free(reply);
    }
    CHECK(redkeep_pool_metrics(pool, &m, &err) == REDKEEP_OK, "after: %s", msg(err));
    CHECK(m.health.state == REDKEEP_STATE_UP, "state up (%u)", m.health.state);
    CHECK(m.use_time.count >= before.use_time.count + N, "use_time count %llu after %d calls",
          (unsigned long long)m.use_time.count, N);
    uint64_t sum = 0;
    for (size_t i = 0; i < REDKEEP_HISTOGRAM_BUCKETS; i++) sum += m.use_time.counts[i];
    CHECK(sum == m.use_time.count, "counts add up to count (%llu vs %llu)",
          (unsigned long long)sum, (unsigned long long)m.use_time.count);
    CHECK(m.use_time.sum_ns > 0, "use_time sum");
    CHECK(m.use_time.bounds_ns[0] == 100000 &&
              m.use_time.bounds_ns[REDKEEP_HISTOGRAM_BOUNDS - 1] == 10000000000ULL,
          "bounds 100 us .. 10 s (%llu, %llu)", (unsigned long long)m.use_time.bounds_ns[0],
          (unsigned long long)m.use_time.bounds_ns[REDKEEP_HISTOGRAM_BOUNDS - 1]);
    for (size_t i = 1; i < REDKEEP_HISTOGRAM_BOUNDS; i++)
        CHECK(m.use_time.bounds_ns[i] > m.use_time.bounds_ns[i - 1], "bounds ascend at %zu", i);
    CHECK(m.create_time.count >= 1 && m.stats.connects >= 1, "a connect was timed (%llu)",
          (unsigned long long)m.create_time.count);
    CHECK(m.idle + m.used >= 1 && m.max >= m.idle + m.used && m.idle_min <= m.max,
          "connection counts (idle %llu, used %llu, max %llu)", (unsigned long long)m.idle,
          (unsigned long long)m.used, (unsigned long long)m.max);
    CHECK(!m.has_server_restarts && m.server_restarts == 0, "no owned server");

    /* The text renders the same snapshot family: its use-time count is at
     * least the struct's (more calls may land in between, none here). */
    char *text = NULL;
    CHECK(redkeep_pool_metrics_text(pool, &text, NULL, &err) == REDKEEP_OK, "text: %s", msg(err));
    const char *key = "db_client_connection_use_time_seconds_count{pool=\"";
    const char *at = text ? strstr(text, key) : NULL;
    const char *value = at ? strstr(at, "} ") : NULL;
    unsigned long long text_count = value ? strtoull(value + 2, NULL, 10) : 0;
    CHECK(value != NULL && text_count == m.use_time.count,
          "text use-time count %llu equals the struct's %llu", text_count,
          (unsigned long long)m.use_time.count);
    redkeep_string_free(text);

    CHECK(redkeep_pool_close(pool) == REDKEEP_OK, "close");
    CHECK(redkeep_pool_metrics(pool, &m, &err) == REDKEEP_OK &&
              m.health.state == REDKEEP_STATE_CLOSED,
          "metrics after close: state %u", m.health.state);
    redkeep_pool_free(pool);
}

/* redkeep_shutdown ends the runtime: a pool from before fails with
 * REDKEEP_CLOSED (and can still be freed); the next open builds a new
 * runtime. */
static void test_shutdown_then_reuse(const char *url) {
    printf("# shutdown, then reuse\n");
    redkeep_pool *old = NULL;
    redkeep_error *err = NULL;
    if (redkeep_pool_open(url, NULL, NULL, &old, &err) != REDKEEP_OK) {
        CHECK(0, "open: %s", msg(err));
        redkeep_error_free(err);
        return;
    }
    redkeep_shutdown();
    const char *ping[] = {"PING"};
    redkeep_reply *reply = NULL;
    redkeep_status st = run(old, 1, ping, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_CLOSED && reply == NULL, "exec after shutdown: %u %s", st, msg(err));
    redkeep_error_free(err);
    err = NULL;
    redkeep_cancel *cancel = redkeep_cancel_new();
    st = run(old, 1, ping, 0, cancel, &reply, &err);
    CHECK(st == REDKEEP_CLOSED && reply == NULL, "exec with cancel after shutdown: %u %s", st,
          msg(err));
    redkeep_error_free(err);
    err = NULL;
    redkeep_cancel_free(cancel);
    redkeep_pool_free(old);

    redkeep_pool *pool = NULL;
    st = redkeep_pool_open(url, NULL, NULL, &pool, &err);
    CHECK(st == REDKEEP_OK, "open after shutdown: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    if (pool == NULL) return;
    st = run(pool, 1, ping, 0, NULL, &reply, &err);
    CHECK(st == REDKEEP_OK && strcmp(redkeep_reply_string(reply, NULL), "PONG") == 0,
          "a pool on the new runtime works: %s", msg(err));
    redkeep_reply_free(reply);
    redkeep_error_free(err);
    redkeep_pool_free(pool);
}

#ifdef REDKEEP_TEST_SERVER
/* A free TCP port on 127.0.0.1 (bind to 0, read it back, close). */
static uint16_t free_port(void);

/* The pid in an `INFO server` reply, 0 if none. */
static long info_pid(redkeep_pool *pool) {
    const char *info[] = {"INFO", "server"};
    redkeep_reply *reply = NULL;
    long pid = 0;
    if (run(pool, 2, info, 1000, NULL, &reply, NULL) == REDKEEP_OK) {
        const char *text = redkeep_reply_string(reply, NULL);
        const char *at = text ? strstr(text, "process_id:") : NULL;
        if (at) pid = strtol(at + strlen("process_id:"), NULL, 10);
    }
    redkeep_reply_free(reply);
    return pid;
}

static int gone_within(long pid, int ms) {
    for (int waited = 0; waited <= ms; waited += 20) {
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 1;
        usleep(20000);
    }
    return 0;
}

/* spawn_if_absent: the core spawns, keeps the URL's db, and close stops it. */
static void test_spawn_if_absent(void) {
    printf("# spawn_if_absent\n");
    redkeep_pool_options opts;
    redkeep_pool_options_default(&opts);
    opts.spawn_if_absent = true;
    char url[64];
    redkeep_pool *pool = NULL;
    redkeep_error *err = NULL;
    redkeep_status st = REDKEEP_SPAWN;
    /* A port picked free may be taken before the server binds it: try again. */
    for (int attempt = 0; attempt < 3 && st == REDKEEP_SPAWN; attempt++) {
        redkeep_error_free(err);
        err = NULL;
        opts.spawn.port = free_port();
        snprintf(url, sizeof url, "redis://127.0.0.1:%u/2", (unsigned)opts.spawn.port);
        st = redkeep_pool_open(url, &opts, NULL, &pool, &err);
    }
    CHECK(st == REDKEEP_OK && pool != NULL, "open with spawn_if_absent: %u %s", st, msg(err));
    redkeep_error_free(err);
    err = NULL;
    if (pool == NULL) return;
    long pid = info_pid(pool);
    CHECK(pid > 0 && kill((pid_t)pid, 0) == 0, "spawned server pid %ld", pid);
    const char *info[] = {"CLIENT", "INFO"};
    redkeep_reply *reply = NULL;
    st = run(pool, 2, info, 1000, NULL, &reply, &err);
    const char *text = redkeep_reply_string(reply, NULL);
    CHECK(st == REDKEEP_OK && text != NULL && strstr(text, " db=2 ") != NULL,
          "the URL's db is kept: %s", text ? text : msg(err));
    redkeep_reply_free(reply);
    redkeep_error_free(err);
    err = NULL;
    CHECK(redkeep_pool_close(pool) == REDKEEP_OK, "close");
    CHECK(pid > 0 && gone_within(pid, 2000), "close stops the spawned server %ld", pid);
    redkeep_pool_free(pool);

    /* lazy cannot wait for a server to start. */
    opts.lazy = true;
    pool = (redkeep_pool *)0x1;
    st = redkeep_pool_open(url, &opts, NULL, &pool, &err);
    CHECK(st == REDKEEP_CONFIG && pool == NULL, "lazy + spawn_if_absent: %u %s", st, msg(err));
    redkeep_error_free(err);
    err = NULL;

    /* A triggered cancel handle ends the open at once. */
    opts.lazy = false;
    redkeep_cancel *cancel = redkeep_cancel_new();
    redkeep_cancel_trigger(cancel);
    st = redkeep_pool_open(url, &opts, cancel, &pool, &err);
    CHECK(st == REDKEEP_CANCELLED && pool == NULL, "cancelled open: %u %s", st, msg(err));
    redkeep_error_free(err);
    redkeep_cancel_free(cancel);
}

static void test_server(void) {
    printf("# server ensure/free\n");
    redkeep_server_options opts;
    CHECK(redkeep_server_options_default(&opts) == REDKEEP_OK && opts.port == 6379, "defaults");
    opts.port = 0; /* a free port: always spawned */
    redkeep_server *server = NULL;
    redkeep_error *err = NULL;
    redkeep_status st = redkeep_server_ensure(&opts, NULL, &server, &err);
    CHECK(st == REDKEEP_OK && server != NULL, "ensure: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    if (server == NULL) return;
    CHECK(redkeep_server_spawned(server), "spawned");
    uint32_t pid = redkeep_server_pid(server);
    CHECK(pid > 0 && kill((pid_t)pid, 0) == 0, "pid %u alive", pid);
    const char *url = redkeep_server_url(server);
    CHECK(url != NULL && strncmp(url, "redis://", 8) == 0, "url %s", url ? url : "(null)");
    const char *addr = redkeep_server_addr(server);
    CHECK(addr != NULL && strncmp(addr, "127.0.0.1:", 10) == 0, "addr %s", addr ? addr : "(null)");

    redkeep_pool *pool = NULL;
    st = redkeep_pool_open(url, NULL, NULL, &pool, &err);
    CHECK(st == REDKEEP_OK, "open on the spawned server: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    redkeep_reply *reply = NULL;
    const char *ping[] = {"PING"};
    st = run(pool, 1, ping, 1000, NULL, &reply, &err);
    CHECK(st == REDKEEP_OK, "PING the spawned server: %s", msg(err));
    redkeep_reply_free(reply);
    redkeep_error_free(err);
    err = NULL;
    redkeep_pool_free(pool);

    /* A second ensure at the same address attaches. */
    char port[16];
    const char *colon = strrchr(addr, ':');
    snprintf(port, sizeof port, "%s", colon + 1);
    redkeep_server_options again;
    redkeep_server_options_default(&again);
    again.port = (uint16_t)atoi(port);
    redkeep_server *attached = NULL;
    st = redkeep_server_ensure(&again, NULL, &attached, &err);
    CHECK(st == REDKEEP_OK && attached != NULL && !redkeep_server_spawned(attached) &&
              redkeep_server_pid(attached) == 0,
          "attached: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    redkeep_server_free(attached);
    CHECK(kill((pid_t)pid, 0) == 0, "freeing the attached handle leaves the server running");

    st = redkeep_server_shutdown(server, &err);
    CHECK(st == REDKEEP_OK, "shutdown: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        gone = kill((pid_t)pid, 0) != 0 && errno == ESRCH;
        if (!gone) usleep(20000);
    }
    CHECK(gone, "the spawned server %u is gone after shutdown", pid);

    CHECK(redkeep_server_ensure(NULL, NULL, &server, &err) == REDKEEP_INVALID_ARGUMENT, "NULL opts");
    redkeep_error_free(err);
    err = NULL;
    redkeep_server_options_default(&opts);
    opts.port = 0;
    opts.binary = "/nonexistent/redis-server";
    st = redkeep_server_ensure(&opts, NULL, &server, &err);
    CHECK(st == REDKEEP_SPAWN && server == NULL, "missing binary: %u %s", st, msg(err));
    /* The setting is named the C way. */
    CHECK(strstr(msg(err), "redkeep_server_options.binary") != NULL &&
              strstr(msg(err), "ServerConfig::binary") == NULL,
          "missing binary names the C field: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    /* ... or the Go way, once a binding says so. */
    CHECK(redkeep_set_language(99) == REDKEEP_INVALID_ARGUMENT, "unknown language");
    CHECK(redkeep_set_language(REDKEEP_LANGUAGE_GO) == REDKEEP_OK, "set language Go");
    st = redkeep_server_ensure(&opts, NULL, &server, &err);
    CHECK(st == REDKEEP_SPAWN && strstr(msg(err), "ServerOptions.Binary") != NULL,
          "missing binary names the Go field: %s", msg(err));
    redkeep_set_language(REDKEEP_LANGUAGE_C);
    redkeep_error_free(err);
    CHECK(redkeep_server_url(NULL) == NULL && redkeep_server_pid(NULL) == 0, "NULL server");
    redkeep_server_free(NULL);
}

static uint16_t free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0) {
        port = ntohs(addr.sin_port);
    }
    if (fd >= 0) close(fd);
    return port;
}
#endif

/* TLS, against the server's TLS port that c_programs.rs passes in
 * REDKEEP_TEST_TLS_* (a redis:// URL: the tls_* options upgrade it). */
static redkeep_status open_tls(const char *url, const char *ca, const char *cert, const char *key,
                               redkeep_pool **pool, redkeep_error **err) {
    redkeep_pool_options opts;
    redkeep_pool_options_default(&opts);
    /* Generous: a TLS handshake under valgrind on a busy 2-core machine took
     * over 2 s (a wrong CA fails at once, not by this timeout). */
    opts.connect_timeout_ms = 10000;
    opts.tls_ca_file = ca;
    opts.tls_cert_file = cert;
    opts.tls_key_file = key;
    return redkeep_pool_open(url, &opts, NULL, pool, err);
}

static void test_tls(void) {
    const char *url = getenv("REDKEEP_TEST_TLS_URL");
    const char *ca = getenv("REDKEEP_TEST_TLS_CA");
    const char *other_ca = getenv("REDKEEP_TEST_TLS_OTHER_CA");
    const char *cert = getenv("REDKEEP_TEST_TLS_CERT");
    const char *key = getenv("REDKEEP_TEST_TLS_KEY");
    if (url == NULL || ca == NULL || other_ca == NULL || cert == NULL || key == NULL) {
        printf("# tls: skipped (REDKEEP_TEST_TLS_* not set)\n");
        return;
    }
    printf("# tls\n");
    redkeep_pool_options opts;
    redkeep_pool_options_default(&opts);
    CHECK(opts.tls_ca_file == NULL && opts.tls_cert_file == NULL && opts.tls_key_file == NULL &&
              !opts.tls_insecure,
          "TLS is off by default");

    const char *set[] = {"SET", "c:tls", "over tls"};
    const char *get[] = {"GET", "c:tls"};
    redkeep_pool *pool = NULL;
    redkeep_error *err = NULL;
    redkeep_reply *reply = NULL;

    /* Verified with the test CA. */
    redkeep_status st = open_tls(url, ca, NULL, NULL, &pool, &err);
    CHECK(st == REDKEEP_OK && pool != NULL, "open with tls_ca_file: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    if (pool != NULL) {
        st = run(pool, 3, set, 0, NULL, &reply, &err);
        CHECK(st == REDKEEP_OK, "SET over TLS: %s", msg(err));
        redkeep_reply_free(reply);
        redkeep_error_free(err);
        err = NULL;
        st = run(pool, 2, get, 0, NULL, &reply, &err);
        CHECK(st == REDKEEP_OK && strcmp(redkeep_reply_string(reply, NULL), "over tls") == 0,
              "GET over TLS: %s", msg(err));
        redkeep_reply_free(reply);
        redkeep_error_free(err);
        err = NULL;
        redkeep_pool_free(pool);
        pool = NULL;
    }

    /* Mutual TLS: a client certificate signed by the same CA. */
    st = open_tls(url, ca, cert, key, &pool, &err);
    CHECK(st == REDKEEP_OK && pool != NULL, "open with a client certificate: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    if (pool != NULL) {
        st = run(pool, 2, get, 0, NULL, &reply, &err);
        CHECK(st == REDKEEP_OK, "GET over mutual TLS: %s", msg(err));
        redkeep_reply_free(reply);
        redkeep_error_free(err);
        err = NULL;
        redkeep_pool_free(pool);
        pool = NULL;
    }

    /* Insecure: no CA, no verification. */
    redkeep_pool_options_default(&opts);
    opts.tls_insecure = true;
    st = redkeep_pool_open(url, &opts, NULL, &pool, &err);
    CHECK(st == REDKEEP_OK && pool != NULL, "open with tls_insecure: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    redkeep_pool_free(pool);
    pool = NULL;

    /* A CA that did not sign the server's certificate. */
    st = open_tls(url, other_ca, NULL, NULL, &pool, &err);
    CHECK(st == REDKEEP_CONNECTION && pool == NULL, "wrong CA: %s (%s)", redkeep_status_name(st),
          msg(err));
    redkeep_error_free(err);
    err = NULL;

    /* A CA file that is not there: REDKEEP_CONFIG naming the file. */
    st = open_tls(url, "/nonexistent/redkeep-ca.crt", NULL, NULL, &pool, &err);
    CHECK(st == REDKEEP_CONFIG && strstr(msg(err), "/nonexistent/redkeep-ca.crt") != NULL,
          "missing CA file: %s (%s)", redkeep_status_name(st), msg(err));
    redkeep_error_free(err);
    err = NULL;

    /* A certificate without its key. */
    st = open_tls(url, ca, cert, NULL, &pool, &err);
    CHECK(st == REDKEEP_CONFIG && strstr(msg(err), "tls_key_file") != NULL,
          "tls_cert_file without tls_key_file: %s (%s)", redkeep_status_name(st), msg(err));
    redkeep_error_free(err);
    err = NULL;

    /* Invalid UTF-8, as for every string option. */
    st = open_tls(url, "\xff\xfe", NULL, NULL, &pool, &err);
    CHECK(st == REDKEEP_INVALID_ARGUMENT && strstr(msg(err), "tls_ca_file") != NULL,
          "tls_ca_file not UTF-8: %s (%s)", redkeep_status_name(st), msg(err));
    redkeep_error_free(err);
}

/* A throwaway TLS server (redkeep_server_options.tls): rediss://, its CA
 * exposed for the pool's tls_ca_file, a plain server has none. */
static void test_server_tls(void) {
    printf("# server tls\n");
    redkeep_server_options opts;
    redkeep_server_options_default(&opts);
    CHECK(!opts.tls, "TLS server is off by default");
    opts.port = 0;
    opts.tls = true;
    redkeep_server *server = NULL;
    redkeep_error *err = NULL;
    redkeep_status st = redkeep_server_ensure(&opts, NULL, &server, &err);
    CHECK(st == REDKEEP_OK && server != NULL, "ensure a TLS server: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    if (server == NULL) return;
    const char *url = redkeep_server_url(server);
    const char *ca = redkeep_server_ca_cert_path(server);
    CHECK(url != NULL && strncmp(url, "rediss://", 9) == 0, "url %s", url ? url : "(null)");
    CHECK(ca != NULL && access(ca, R_OK) == 0, "CA file %s", ca ? ca : "(null)");
    redkeep_pool *pool = NULL;
    st = open_tls(url, ca, NULL, NULL, &pool, &err);
    CHECK(st == REDKEEP_OK && pool != NULL, "open with the server's CA: %s", msg(err));
    redkeep_error_free(err);
    err = NULL;
    if (pool != NULL) {
        redkeep_reply *reply = NULL;
        const char *ping[] = {"PING"};
        st = run(pool, 1, ping, 2000, NULL, &reply, &err);
        CHECK(st == REDKEEP_OK, "PING the TLS server: %s", msg(err));
        redkeep_reply_free(reply);
        redkeep_error_free(err);
        err = NULL;
        redkeep_pool_free(pool);
    }
    redkeep_server_free(server);

    /* A plain server has no CA; NULL gives NULL. */
    CHECK(redkeep_server_ca_cert_path(NULL) == NULL, "NULL server: NULL CA");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s REDIS_URL\n", argv[0]);
        return 2;
    }
    test_basics(argv[1]);
    test_timeout_and_cancel(argv[1]);
    test_invalid_arguments(argv[1]);
    test_messages(argv[1]);
    test_submit_and_completions(argv[1]);
    test_bounds(argv[1]);
    test_refused(argv[1]);
    test_whole_call_bounds();
    test_stats_by_path(argv[1]);
    test_metrics(argv[1]);
    test_shutdown_then_reuse(argv[1]);
    test_tls();
#ifdef REDKEEP_TEST_SERVER
    test_server();
    test_server_tls();
    test_spawn_if_absent();
#endif
    redkeep_shutdown();
    redkeep_shutdown(); /* idempotent */
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
