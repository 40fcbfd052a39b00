package kpipe_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

const (
	goAddress = `{"type":"record","name":"Address","namespace":"kpipe.it","fields":[{"name":"street","type":"string"},{"name":"city","type":"string"}]}`
	goOrder   = `{"type":"record","name":"Order","namespace":"kpipe.it","fields":[{"name":"id","type":"long"},{"name":"ship_to","type":"kpipe.it.Address"}]}`
	goV1      = `{"type":"record","name":"Reading","namespace":"kpipe.it","fields":[{"name":"id","type":"long"},{"name":"old","type":"string","default":"x"}]}`
	goV2      = `{"type":"record","name":"Reading","namespace":"kpipe.it","fields":[{"name":"id","type":"long"},{"name":"unit","type":"string","default":"celsius"}]}`
	goVBad    = `{"type":"record","name":"Reading","namespace":"kpipe.it","fields":[{"name":"id","type":"string"}]}`
)

// register posts a schema (with references) to the stack's registry, as any other tool would.
func register(t *testing.T, subject, schema string, refs []map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"schema": schema, "references": refs})
	url := fmt.Sprintf("%s/subjects/%s/versions", stackEnv(t)["KPIPE_REGISTRY_URL"], subject)
	resp, err := http.Post(url, "application/vnd.schemaregistry.v1+json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("registering %s: HTTP %d", subject, resp.StatusCode)
	}
}

func decodedValue(t *testing.T, m *kpipe.Message) map[string]any {
	t.Helper()
	var v map[string]any
	if err := m.Decode(&v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}

// A record whose schema uses a named type registered under another subject is written with
// the subject's latest schema (references and all) and read back by its id.
func TestSchemaReferencesRoundTrip(t *testing.T) {
	topic := unique("kpipe.it.refs")
	address := unique("go-address")
	register(t, address, goAddress, nil)
	register(t, topic+"-value", goOrder, []map[string]any{{"name": "kpipe.it.Address", "subject": address, "version": 1}})
	c := openClient(t, "schemas: { use_latest: true, auto_register: false }\n")
	if err := c.SetTopicSerde(topic, kpipe.TopicSerde{Value: kpipe.AvroLatest()}); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 60*time.Second)
	value := map[string]any{"id": 1, "ship_to": map[string]any{"street": "Main St 1", "city": "Oslo"}}
	if _, err := c.Producer().Send(ctx, topic, nil, value); err != nil {
		t.Fatal(err)
	}
	cons, err := c.Consumer(ctx, unique("go-refs"), []string{topic}, kpipe.FromEarliest())
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	got := decodedValue(t, pollN(t, cons, 1, 60*time.Second)[0])
	want := map[string]any{"id": float64(1), "ship_to": map[string]any{"street": "Main St 1", "city": "Oslo"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// A v1 record read with v2 as the reader gets v2's default; "writer" reads it as written;
// "latest" reads it as the subject's latest; an unreadable reader is serde.decode.
func TestReaderSchemas(t *testing.T) {
	topic := unique("kpipe.it.readers")
	w := openClient(t, "schemas: { policy: NONE }\n")
	if err := w.SetTopicSerde(topic, kpipe.TopicSerde{Value: kpipe.Avro(goV1)}); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 90*time.Second)
	if _, err := w.Producer().Send(ctx, topic, nil, map[string]any{"id": 1, "old": "o"}); err != nil {
		t.Fatal(err)
	}
	read := func(s kpipe.Serializer) *kpipe.Message {
		c := openClient(t, "")
		if err := c.SetTopicSerde(topic, kpipe.TopicSerde{Value: s}); err != nil {
			t.Fatal(err)
		}
		cons, err := c.Consumer(ctx, unique("go-readers"), []string{topic}, kpipe.FromEarliest())
		if err != nil {
			t.Fatal(err)
		}
		defer cons.Close()
		return pollN(t, cons, 1, 60*time.Second)[0]
	}
	if got, want := decodedValue(t, read(kpipe.Avro(goV2))), map[string]any{"id": float64(1), "unit": "celsius"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("v2 reader: got %v, want %v", got, want)
	}
	if got, want := decodedValue(t, read(kpipe.Avro(goV2).WithReader("writer"))), map[string]any{"id": float64(1), "old": "o"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("writer reader: got %v, want %v", got, want)
	}
	register(t, topic+"-value", goV2, nil)
	if got, want := decodedValue(t, read(kpipe.AvroLatest().WithReader("latest"))), map[string]any{"id": float64(1), "unit": "celsius"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("latest reader: got %v, want %v", got, want)
	}
	m := read(kpipe.Avro(goVBad))
	var v map[string]any
	err := m.Decode(&v)
	var ke *kpipe.Error
	if !errors.Is(err, kpipe.ErrSerdeDecode) || !errors.As(err, &ke) || !strings.Contains(ke.Message, "long cannot be read as string") || ke.Topic != topic {
		t.Fatalf("unreadable reader: %v", err)
	}
	// the reader option is parsed by the core
	c := openClient(t, "")
	err = c.SetTopicSerde(topic, kpipe.TopicSerde{Value: kpipe.JSON().WithReader("latest")})
	if !errors.Is(err, kpipe.ErrConfigInvalid) || !errors.As(err, &ke) || ke.Field != "reader" {
		t.Fatalf("reader for json: %v", err)
	}
}

// A nil header value is sent and read back as null, distinct from an empty one.
func TestNullHeaderValuesStayNull(t *testing.T) {
	c := openClient(t, "")
	topic := unique("kpipe.it.headers")
	ctx := ctxFor(t, 60*time.Second)
	sent := []kpipe.Header{{Key: "null", Value: nil}, {Key: "empty", Value: []byte{}}, {Key: "v", Value: []byte("x")}}
	if _, err := c.Producer().Send(ctx, topic, nil, []byte("x"), kpipe.WithHeaders(sent...)); err != nil {
		t.Fatal(err)
	}
	cons, err := c.Consumer(ctx, unique("go-headers"), []string{topic}, kpipe.FromEarliest())
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	hs := pollN(t, cons, 1, 60*time.Second)[0].Headers
	if len(hs) != 3 || hs[0].Key != "null" || hs[0].Value != nil || hs[1].Value == nil || len(hs[1].Value) != 0 || string(hs[2].Value) != "x" {
		t.Fatalf("headers came back as %#v", hs)
	}
}
