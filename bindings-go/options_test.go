package kpipe_test

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

type optionCase struct {
	Option   string   `json:"option"`
	Field    string   `json:"field"`
	Value    string   `json:"value"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Surfaces []string `json:"surfaces"`
}

// Bad option values give the core's code and message, word for word, as in every other
// binding and the CLI (tests/conformance/options.json).
func TestBadOptionsGiveTheCoresCodeAndMessage(t *testing.T) {
	raw, err := os.ReadFile("../tests/conformance/options.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Cases []optionCase }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	c := openClient(t, "")
	ctx := ctxFor(t, 30*time.Second)
	covered := map[string]bool{}
	for _, tc := range doc.Cases {
		goes := false
		for _, s := range tc.Surfaces {
			goes = goes || s == "go"
		}
		if !goes {
			continue
		}
		covered[tc.Option] = true
		var err error
		switch tc.Option {
		case "strategy":
			_, err = c.PlanMigration(ctx, kpipe.MigrateRequest{Source: "business", Target: "online", Group: unique("g"), Strategy: tc.Value})
		case "commit":
			var cons *kpipe.Consumer
			cons, err = c.Consumer(ctx, unique("g"), []string{unique("t")}, kpipe.WithCommit(tc.Value))
			if cons != nil {
				cons.Close()
			}
		case "ack":
			var cons *kpipe.Consumer
			cons, err = c.Consumer(ctx, unique("g"), []string{unique("t")}, kpipe.WithAck(tc.Value))
			if cons != nil {
				cons.Close()
			}
		case "reader":
			err = c.SetTopicSerde(unique("t"), kpipe.TopicSerde{Value: kpipe.AvroLatest().WithReader(tc.Value)})
		default:
			t.Fatalf("no Go surface for %s", tc.Option)
		}
		var e *kpipe.Error
		if !errors.As(err, &e) {
			t.Fatalf("%s %q: want a *kpipe.Error, got %v", tc.Option, tc.Value, err)
		}
		if e.Code != tc.Code || e.Message != tc.Message || e.Field != tc.Field || e.Retriable || e.Fatal {
			t.Errorf("%s %q: got %+v, want code %s field %s message %q", tc.Option, tc.Value, e, tc.Code, tc.Field, tc.Message)
		}
		if !errors.Is(err, kpipe.ErrConfigInvalid) {
			t.Errorf("%s: errors.Is(ErrConfigInvalid) false", tc.Option)
		}
	}
	for _, o := range []string{"strategy", "commit", "ack", "reader"} {
		if !covered[o] {
			t.Errorf("no case for %s", o)
		}
	}
}

// A consumed record that cannot be decoded: its DecodeErr is the core's details record, with
// the record's topic, partition and offset; fatal and retriable are the core's.
func TestADecodeErrorNamesItsRecord(t *testing.T) {
	c := openClient(t, "")
	ctx := ctxFor(t, 60*time.Second)
	topic := unique("kpipe.it.decode")
	if _, err := c.Producer().Send(ctx, topic, nil, []byte("not avro")); err != nil {
		t.Fatal(err)
	}
	schema := `{"type":"record","name":"R","fields":[{"name":"n","type":"int"}]}`
	if err := c.SetTopicSerde(topic, kpipe.TopicSerde{Value: kpipe.Avro(schema)}); err != nil {
		t.Fatal(err)
	}
	cons, err := c.Consumer(ctx, unique("kpipe-it-decode"), []string{topic}, kpipe.FromEarliest())
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	m := pollN(t, cons, 1, 30*time.Second)[0]
	var e *kpipe.Error
	if !errors.As(m.DecodeErr, &e) {
		t.Fatalf("DecodeErr: %v", m.DecodeErr)
	}
	if e.Code != "serde.bad_magic" || e.Topic != topic || e.Partition == nil || *e.Partition != m.Partition ||
		e.Offset == nil || *e.Offset != m.Offset || e.Fatal || e.Retriable {
		t.Fatalf("details: %+v", e)
	}
}
