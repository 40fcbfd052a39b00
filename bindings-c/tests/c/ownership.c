/* The header's ownership rules under AddressSanitizer/LeakSanitizer: the happy path (client,
 * produce, consume, free everything) and the error path (bad config, bad value, freeing error
 * objects) must leak nothing. Built and run by the C suite (bindings-c/tests/test_c.py):
 *   gcc -fsanitize=address -g ownership.c -I../../include -L../../lib -lkpipe_capi <libs>
 * Needs KPIPE_BUSINESS_BOOTSTRAP and KPIPE_REGISTRY_URL (dev/stack env). Exits non-zero on a
 * failed check; LeakSanitizer makes it exit non-zero on any leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kpipe.h"

static int failures = 0;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static const char *code_of(const kpipe_error *e) { return e ? kpipe_error_code(e) : "(none)"; }

static void error_path(void) {
    kpipe_error *err = NULL;
    const char *bad = "clusters: { a: { bootstrap: x, bootstrapp: y } }\n";
    kpipe_client *c = kpipe_client_from_yaml((const uint8_t *)bad, strlen(bad), &err);
    CHECK(c == NULL && err != NULL && strcmp(kpipe_error_code(err), "config.invalid") == 0, "bad config: %s", code_of(err));
    size_t len = 0;
    const char *msg = kpipe_error_message(err, &len);
    CHECK(msg != NULL && len > 0 && strlen(msg) == len, "message length");
    kpipe_error_free(err);

    /* invalid UTF-8 path */
    err = NULL;
    c = kpipe_client_open((const uint8_t *)"\xff\xfe", 2, &err);
    CHECK(c == NULL && err && strcmp(kpipe_error_code(err), "input.invalid") == 0, "bad utf-8: %s", code_of(err));
    kpipe_error_free(err);

    /* a value that does not fit: serde.encode with the path */
    const char *schema = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"n\",\"type\":\"int\"}]}";
    const char *value = "{\"n\":\"x\"}";
    kpipe_buf out = {0};
    err = NULL;
    int rc = kpipe_avro_encode((const uint8_t *)schema, strlen(schema), (const uint8_t *)value, strlen(value), &out, &err);
    CHECK(rc == KPIPE_ERROR && err && strcmp(kpipe_error_code(err), "serde.encode") == 0, "bad value: %s", code_of(err));
    kpipe_error_free(err);
    kpipe_buf_free(out); /* zeroed: a no-op */

    /* the happy path of the same call: a buffer to free */
    value = "{\"n\":1}";
    err = NULL;
    rc = kpipe_avro_encode((const uint8_t *)schema, strlen(schema), (const uint8_t *)value, strlen(value), &out, &err);
    CHECK(rc == KPIPE_OK && err == NULL && out.len == 1 && out.ptr[0] == 2, "encode");
    kpipe_buf_free(out);

    /* null handles are errors, not crashes; free(NULL) is a no-op */
    err = NULL;
    rc = kpipe_client_flush(NULL, 10, &err);
    CHECK(rc == KPIPE_ERROR && err, "null handle");
    kpipe_error_free(err);
    kpipe_client_free(NULL);
    kpipe_consumer_free(NULL);
    kpipe_message_free(NULL);
    kpipe_handling_free(NULL);
    kpipe_error_free(NULL);
    kpipe_cancel_free(NULL);

    kpipe_cancel *tok = kpipe_cancel_new();
    kpipe_cancel_trigger(tok);
    kpipe_cancel_free(tok);

    kpipe_buf codes = {0};
    kpipe_error_codes(&codes);
    CHECK(codes.len > 0, "codes");
    kpipe_buf_free(codes);
}

static void happy_path(void) {
    const char *bootstrap = getenv("KPIPE_BUSINESS_BOOTSTRAP");
    const char *registry = getenv("KPIPE_REGISTRY_URL");
    if (!bootstrap || !registry) {
        fprintf(stderr, "FAIL: KPIPE_BUSINESS_BOOTSTRAP / KPIPE_REGISTRY_URL not set (dev/stack env)\n");
        failures++;
        return;
    }
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "clusters: { business: { bootstrap: \"%s\" } }\nregistry: { url: \"%s\" }\n"
             "routes: [ { topic: \"*\", cluster: business } ]\n",
             bootstrap, registry);
    kpipe_error *err = NULL;
    kpipe_client *c = kpipe_client_from_yaml((const uint8_t *)yaml, strlen(yaml), &err);
    CHECK(c != NULL, "client: %s", code_of(err));
    if (!c) {
        kpipe_error_free(err);
        return;
    }
    char topic[128];
    snprintf(topic, sizeof topic, "kpipe.it.c.%d.%ld", (int)getpid(), (long)time(NULL));
    const char *schema = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"n\",\"type\":\"int\"}]}";
    int rc = kpipe_client_set_topic_serde(c, (const uint8_t *)topic, strlen(topic), (const uint8_t *)"string", 6, NULL, 0,
                                          (const uint8_t *)"avro", 4, (const uint8_t *)schema, strlen(schema), &err);
    CHECK(rc == KPIPE_OK, "serde: %s", code_of(err));

    /* one record: topic | key | value | three headers (a value, a null, an empty one), as
       offsets into one buffer */
    uint8_t data[512];
    size_t n = 0;
    kpipe_record rec;
    memset(&rec, 0, sizeof rec);
    rec.topic_off = n; rec.topic_len = strlen(topic); memcpy(data + n, topic, rec.topic_len); n += rec.topic_len;
    rec.key_kind = KPIPE_DATA_STRING; rec.key_off = n; rec.key_len = 2; memcpy(data + n, "k1", 2); n += 2;
    const char *value = "{\"n\":7}";
    rec.value_kind = KPIPE_DATA_JSON; rec.value_off = n; rec.value_len = strlen(value); memcpy(data + n, value, rec.value_len); n += rec.value_len;
    rec.headers_off = n;
    uint32_t l = 1; memcpy(data + n, &l, 4); n += 4; data[n++] = 'h';
    l = 1; memcpy(data + n, &l, 4); n += 4; data[n++] = 'v';
    l = 1; memcpy(data + n, &l, 4); n += 4; data[n++] = 'n';
    l = KPIPE_HEADER_NULL; memcpy(data + n, &l, 4); n += 4;
    l = 1; memcpy(data + n, &l, 4); n += 4; data[n++] = 'e';
    l = 0; memcpy(data + n, &l, 4); n += 4;
    rec.headers_len = n - rec.headers_off;
    kpipe_delivery d;
    kpipe_cancel *tok = kpipe_cancel_new();
    rc = kpipe_send(c, &rec, data, n, tok, &d, &err);
    kpipe_cancel_free(tok);
    CHECK(rc == KPIPE_OK && d.offset >= 0 && d.cluster_len == 8 && memcmp(d.cluster, "business", 8) == 0, "send: %d %s", rc, code_of(err));
    if (err) { kpipe_error_free(err); err = NULL; }

    /* the same record with a bad value: an error per record from send_many */
    const char *bad = "{\"n\":\"x\"}";
    rec.value_off = n;
    rec.value_len = strlen(bad);
    memcpy(data + n, bad, rec.value_len);
    n += rec.value_len;
    kpipe_record recs[2] = {rec, rec};
    kpipe_delivery outs[2];
    kpipe_error *errs[2];
    rc = kpipe_send_many(c, recs, 2, data, n, NULL, outs, errs, &err);
    CHECK(rc == KPIPE_OK && errs[0] && errs[1] && strcmp(kpipe_error_code(errs[0]), "serde.encode") == 0, "send_many: %d", rc);
    kpipe_error_free(errs[0]);
    kpipe_error_free(errs[1]);

    char opts[512];
    snprintf(opts, sizeof opts, "{\"group\":\"%s.g\",\"topics\":[\"%s\"],\"start\":\"earliest\"}", topic, topic);
    kpipe_consumer *cons = kpipe_consumer_new(c, (const uint8_t *)opts, strlen(opts), &err);
    CHECK(cons != NULL, "consumer: %s", code_of(err));
    if (cons) {
        kpipe_message *msg = NULL;
        kpipe_message_view v;
        rc = KPIPE_TIMEOUT;
        for (int i = 0; i < 100 && rc == KPIPE_TIMEOUT; i++) {
            rc = kpipe_consumer_poll(cons, 200, 1, &msg, &v, &err);
            if (rc == KPIPE_ERROR) { /* the topic may not be known yet */
                kpipe_error_free(err); err = NULL; rc = KPIPE_TIMEOUT;
            }
        }
        CHECK(rc == KPIPE_OK, "poll: %d", rc);
        if (rc == KPIPE_OK) {
            CHECK(v.has_value_json && v.value_json_len == 7 && memcmp(v.value_json, "{\"n\":7}", 7) == 0, "decoded value");
            CHECK(v.header_count == 3 && v.headers[0].name_len == 1 && v.headers[0].value_len == 1 && v.headers[0].value[0] == 'v', "header");
            if (v.header_count == 3) {
                CHECK(v.headers[1].value == NULL && v.headers[1].value_len == 0, "a null header value is a NULL pointer");
                CHECK(v.headers[2].value != NULL && v.headers[2].value_len == 0, "an empty header value is non-NULL, length 0");
            }
            CHECK(v.decode_error == NULL, "decode error");
            rc = kpipe_consumer_ack(cons, v.topic, v.topic_len, v.partition, v.offset, &err);
            CHECK(rc == KPIPE_OK, "ack");
            kpipe_message_free(msg);
            rc = kpipe_consumer_commit(cons, 0, NULL, 0, 0, 0, &err);
            CHECK(rc == KPIPE_OK, "commit: %s", code_of(err));
            if (err) { kpipe_error_free(err); err = NULL; }
        }
        /* a batch poll on the drained topic times out; bad arguments are an error to free */
        kpipe_message *bmsgs[4];
        kpipe_message_view bviews[4];
        size_t got = 99;
        rc = kpipe_consumer_poll_batch(cons, 100, 1, 4, bmsgs, bviews, &got, &err);
        CHECK((rc == KPIPE_TIMEOUT && got == 0) || rc == KPIPE_OK, "poll_batch: %d", rc);
        for (size_t i = 0; rc == KPIPE_OK && i < got; i++) kpipe_message_free(bmsgs[i]);
        if (err) { kpipe_error_free(err); err = NULL; }
        rc = kpipe_consumer_poll_batch(cons, 0, 1, 0, bmsgs, NULL, &got, &err);
        CHECK(rc == KPIPE_ERROR && err && strcmp(kpipe_error_code(err), "input.invalid") == 0, "poll_batch max 0");
        if (err) { kpipe_error_free(err); err = NULL; }
        /* a run step on an empty topic times out */
        kpipe_handling *h = NULL;
        rc = kpipe_consumer_next(cons, 100, &h, NULL, &err);
        CHECK(rc == KPIPE_TIMEOUT || rc == KPIPE_OK, "next: %d", rc);
        if (rc == KPIPE_OK) kpipe_handling_free(h);
        if (err) { kpipe_error_free(err); err = NULL; }
        kpipe_buf lag = {0};
        rc = kpipe_consumer_lag(cons, 5000, &lag, &err);
        CHECK(rc == KPIPE_OK, "lag");
        kpipe_buf_free(lag);
        rc = kpipe_consumer_close(cons, &err);
        CHECK(rc == KPIPE_OK, "close: %s", code_of(err));
        if (err) { kpipe_error_free(err); err = NULL; }
        /* after close: a "closed" error to free */
        rc = kpipe_consumer_commit(cons, 0, NULL, 0, 0, 0, &err);
        CHECK(rc == KPIPE_ERROR && err && strcmp(kpipe_error_code(err), "closed") == 0, "closed: %s", code_of(err));
        {
            /* the details record of an error: JSON with code, message, retriable, fatal */
            size_t dl = 0;
            const char *d = kpipe_error_details_json(err, &dl);
            CHECK(d && dl == strlen(d) && strstr(d, "\"code\":\"closed\"") && strstr(d, "\"fatal\":true"), "details: %s", d);
            CHECK(kpipe_error_is_fatal(err) == 1, "closed is fatal");
        }
        kpipe_error_free(err);
        err = NULL;
        kpipe_consumer_free(cons);
    } else {
        kpipe_error_free(err);
        err = NULL;
    }
    char req[512];
    snprintf(req, sizeof req, "{\"cluster\":\"business\",\"group\":\"%s.g\"}", topic);
    kpipe_buf exp = {0};
    rc = kpipe_offsets_export(c, (const uint8_t *)req, strlen(req), &exp, &err);
    CHECK(rc == KPIPE_OK && exp.len > 0, "export: %s", code_of(err));
    kpipe_buf_free(exp);
    if (err) { kpipe_error_free(err); err = NULL; }
    rc = kpipe_client_flush(c, 5000, &err);
    CHECK(rc == KPIPE_OK, "flush");
    kpipe_client_free(c);
}

int main(void) {
    CHECK(strlen(kpipe_version()) > 0, "version");
    error_path();
    happy_path();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("ownership checks passed\n");
    return 0;
}
