/* kpipe from C: the shared example scenario over the C ABI. Sends three orders as natural JSON
 * to an Avro topic (schema registered through the registry), reads them back with a group
 * consumer (ack "implicit": a record is acknowledged when the next is asked for, the last on
 * close) and prints each decoded value; then shows an error's details record.
 *
 *   gcc orders.c -I../include -L../lib -lkpipe_capi -lcurl -lz -lssl -lcrypto -lgcc_s -lutil \
 *       -lrt -lpthread -lm -ldl -lc -o orders
 *   ./orders            # needs KPIPE_BUSINESS_BOOTSTRAP and KPIPE_REGISTRY_URL (dev/stack env)
 *
 * Exits 0 when every order came back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kpipe.h"

static const char *SCHEMA =
    "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"kpipe.example\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"amount\",\"type\":\"long\"}]}";

/* Prints an error's details (code, message, retriable, fatal, field, ...) and frees it. */
static void report(const char *what, kpipe_error *err) {
    size_t n = 0;
    const char *details = kpipe_error_details_json(err, &n);
    fprintf(stderr, "%s failed: %.*s\n", what, (int)n, details);
    kpipe_error_free(err);
}

/* Appends `len` bytes to the record data buffer; returns their offset. */
static uint64_t put(uint8_t *buf, size_t *used, const void *bytes, size_t len) {
    uint64_t off = *used;
    memcpy(buf + *used, bytes, len);
    *used += len;
    return off;
}

int main(void) {
    const char *bootstrap = getenv("KPIPE_BUSINESS_BOOTSTRAP");
    const char *registry = getenv("KPIPE_REGISTRY_URL");
    if (!bootstrap || !registry) {
        fprintf(stderr, "set KPIPE_BUSINESS_BOOTSTRAP and KPIPE_REGISTRY_URL (dev/stack env)\n");
        return 2;
    }
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "clusters: { business: { bootstrap: \"%s\" } }\nregistry: { url: \"%s\" }\n"
             "routes: [ { topic: \"*\", cluster: business } ]\n",
             bootstrap, registry);
    kpipe_error *err = NULL;
    kpipe_client *client = kpipe_client_from_yaml((const uint8_t *)yaml, strlen(yaml), &err);
    if (!client) {
        report("client", err);
        return 1;
    }
    char topic[128];
    snprintf(topic, sizeof topic, "orders.c.%d.%ld", (int)getpid(), (long)time(NULL));
    if (kpipe_client_set_topic_serde(client, (const uint8_t *)topic, strlen(topic), (const uint8_t *)"string", 6,
                                     NULL, 0, (const uint8_t *)"avro", 4, (const uint8_t *)SCHEMA, strlen(SCHEMA),
                                     &err) != KPIPE_OK) {
        report("serializers", err);
        kpipe_client_free(client);
        return 1;
    }

    int sent = 0;
    for (int i = 1; i <= 3; i++) {
        uint8_t data[512];
        size_t used = 0;
        char key[16], value[128];
        snprintf(key, sizeof key, "o-%d", i);
        snprintf(value, sizeof value, "{\"id\":\"o-%d\",\"amount\":%d}", i, i * 100);
        kpipe_record rec;
        memset(&rec, 0, sizeof rec);
        rec.topic_len = strlen(topic);
        rec.topic_off = put(data, &used, topic, rec.topic_len);
        rec.key_kind = KPIPE_DATA_STRING;
        rec.key_len = strlen(key);
        rec.key_off = put(data, &used, key, rec.key_len);
        rec.value_kind = KPIPE_DATA_JSON;
        rec.value_len = strlen(value);
        rec.value_off = put(data, &used, value, rec.value_len);
        rec.headers_off = used;
        kpipe_delivery d;
        if (kpipe_send(client, &rec, data, used, NULL, &d, &err) != KPIPE_OK) {
            report("send", err);
            continue;
        }
        printf("sent %s to %.*s partition %d offset %lld\n", key, (int)d.cluster_len, (const char *)d.cluster, d.partition,
               (long long)d.offset);
        sent++;
    }

    char opts[512];
    snprintf(opts, sizeof opts, "{\"group\":\"%s.g\",\"topics\":[\"%s\"],\"start\":\"earliest\",\"ack\":\"implicit\"}",
             topic, topic);
    kpipe_consumer *cons = kpipe_consumer_new(client, (const uint8_t *)opts, strlen(opts), &err);
    if (!cons) {
        report("consumer", err);
        kpipe_client_free(client);
        return 1;
    }
    int got = 0;
    for (int tries = 0; got < sent && tries < 300; tries++) {
        kpipe_message *msg = NULL;
        kpipe_message_view v;
        int rc = kpipe_consumer_poll(cons, 100, 1, &msg, &v, &err);
        if (rc == KPIPE_TIMEOUT) continue;
        if (rc != KPIPE_OK) {
            report("poll", err);
            err = NULL;
            continue;
        }
        if (v.decode_error) {
            size_t n = 0;
            fprintf(stderr, "cannot decode: %s\n", kpipe_error_details_json(v.decode_error, &n));
        } else {
            printf("got %.*s: %.*s\n", (int)v.key_len, (const char *)v.key, (int)v.value_json_len,
                   (const char *)v.value_json);
            got++;
        }
        kpipe_message_free(msg);
    }
    if (kpipe_consumer_close(cons, &err) != KPIPE_OK) report("close", err);
    kpipe_consumer_free(cons);

    /* a mistake reads the same in every language: code, message and details */
    const char *bad = "{\"group\":\"g\",\"topics\":[\"t\"],\"ack\":\"sometimes\"}";
    err = NULL;
    kpipe_consumer *none = kpipe_consumer_new(client, (const uint8_t *)bad, strlen(bad), &err);
    if (none) kpipe_consumer_free(none);
    if (err) {
        size_t n = 0;
        printf("bad option: %s\n", kpipe_error_details_json(err, &n));
        kpipe_error_free(err);
    }
    kpipe_client_free(client);
    printf("%d of %d orders read back\n", got, sent);
    return got == 3 && sent == 3 ? 0 : 1;
}
