/*
 * C test of a pool on a Redis Cluster: starts a local cluster through the
 * ABI (redkeep_cluster_start), opens a pool on its comma list of node URLs
 * with redkeep_pool_open, and does SET/GET on keys spread over the slots.
 *
 * Usage: cluster_test
 * Prints "N passed, M failed"; exits 1 on failure. Built and run by
 * bindings/c/tests/c_programs.rs.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

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

static redkeep_status run(redkeep_pool *pool, int argc, const char **args, redkeep_reply **reply,
                          redkeep_error **err) {
    const uint8_t *argv[8];
    size_t lens[8];
    for (int i = 0; i < argc; i++) {
        argv[i] = (const uint8_t *)args[i];
        lens[i] = strlen(args[i]);
    }
    return redkeep_pool_exec(pool, (size_t)argc, argv, lens, 5000, NULL, reply, err);
}

int main(void) {
    redkeep_deployment *cluster = NULL;
    redkeep_error *err = NULL;
    redkeep_status st = redkeep_cluster_start(3, 0, NULL, &cluster, &err);
    CHECK(st == REDKEEP_OK, "cluster start: %s", err ? redkeep_error_message(err) : "?");
    if (st != REDKEEP_OK) {
        redkeep_error_free(err);
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }
    const char *urls = redkeep_deployment_urls(cluster);
    CHECK(strchr(urls, ',') != NULL, "urls %s: a comma list", urls);

    redkeep_pool *pool = NULL;
    st = redkeep_pool_open(urls, NULL, NULL, &pool, &err);
    CHECK(st == REDKEEP_OK, "open %s: %s", urls, err ? redkeep_error_message(err) : "?");
    if (st == REDKEEP_OK) {
        char key[32], value[32];
        for (int i = 0; i < 30; i++) {
            snprintf(key, sizeof key, "c:key:%d", i);
            snprintf(value, sizeof value, "v%d", i);
            const char *set[] = {"SET", key, value};
            redkeep_reply *reply = NULL;
            st = run(pool, 3, set, &reply, &err);
            CHECK(st == REDKEEP_OK, "SET %s: %s", key, err ? redkeep_error_message(err) : "?");
            redkeep_error_free(err);
            err = NULL;
            redkeep_reply_free(reply);
        }
        for (int i = 0; i < 30; i++) {
            snprintf(key, sizeof key, "c:key:%d", i);
            snprintf(value, sizeof value, "v%d", i);
            const char *get[] = {"GET", key};
            redkeep_reply *reply = NULL;
            st = run(pool, 2, get, &reply, &err);
            size_t len = 0;
            const char *got = st == REDKEEP_OK ? redkeep_reply_string(reply, &len) : NULL;
            CHECK(got != NULL && len == strlen(value) && memcmp(got, value, len) == 0,
                  "GET %s: status %d, %.*s", key, (int)st, got ? (int)len : 0, got ? got : "");
            redkeep_error_free(err);
            err = NULL;
            redkeep_reply_free(reply);
        }
        /* Health comes Up (bounded wait: 10 s). */
        redkeep_health h;
        struct timespec pause = {0, 20 * 1000 * 1000};
        for (int i = 0; i < 500; i++) {
            redkeep_pool_health(pool, &h);
            if (h.state == REDKEEP_STATE_UP) break;
            nanosleep(&pause, NULL);
        }
        CHECK(h.state == REDKEEP_STATE_UP, "health state %d, last error %s", (int)h.state, h.last_error);
        /* Per-node health: the 3 primaries, up. */
        redkeep_node_health nodes[8];
        size_t count = 0;
        st = redkeep_pool_health_nodes(pool, nodes, 8, &count);
        CHECK(st == REDKEEP_OK && count == 3, "health nodes: status %d, count %zu", (int)st, count);
        for (size_t i = 0; i < count && i < 8; i++) {
            CHECK(nodes[i].primary && nodes[i].state == REDKEEP_STATE_UP && strchr(nodes[i].addr, ':'),
                  "node %zu %s: primary %d state %d", i, nodes[i].addr, (int)nodes[i].primary,
                  (int)nodes[i].state);
        }
        size_t only_count = 0;
        st = redkeep_pool_health_nodes(pool, NULL, 0, &only_count);
        CHECK(st == REDKEEP_OK && only_count == count, "count only: %d, %zu", (int)st, only_count);
        st = redkeep_pool_health_nodes(pool, NULL, 4, &only_count);
        CHECK(st == REDKEEP_INVALID_ARGUMENT, "NULL out with cap 4: %d", (int)st);
        redkeep_pool_free(pool);
    } else {
        redkeep_error_free(err);
    }
    redkeep_deployment_free(cluster);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
