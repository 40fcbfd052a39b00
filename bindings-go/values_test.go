package kpipe_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"testing"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

// A record with every logical type and the usual shapes.
const allTypesSchema = `{
  "type": "record", "name": "AllTypes", "namespace": "kpipe.test.go",
  "fields": [
    {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "n", "type": "int"},
    {"name": "big", "type": "long"},
    {"name": "ratio", "type": "double"},
    {"name": "f", "type": "float"},
    {"name": "ok", "type": "boolean"},
    {"name": "name", "type": "string"},
    {"name": "blob", "type": "bytes"},
    {"name": "fix", "type": {"type": "fixed", "name": "Four", "size": 4}},
    {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
    {"name": "fixed_price", "type": {"type": "fixed", "name": "Money", "size": 8, "logicalType": "decimal", "precision": 12, "scale": 3}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "at_ms", "type": {"type": "int", "logicalType": "time-millis"}},
    {"name": "at_us", "type": {"type": "long", "logicalType": "time-micros"}},
    {"name": "ts_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "ts_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "local_ts", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
    {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
    {"name": "note", "type": ["null", "string"], "default": null},
    {"name": "amount", "type": ["null", "long", "string"], "default": null},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "attrs", "type": {"type": "map", "values": "int"}},
    {"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "Item",
      "fields": [{"name": "sku", "type": "string"}, {"name": "qty", "type": "int"}]}}},
    {"name": "extra", "type": "string", "default": "x"}
  ]
}`

type item struct {
	Sku string `json:"sku"`
	Qty int32  `json:"qty"`
}

type allTypes struct {
	ID         kpipe.UUID      `json:"id"`
	UID        string          `json:"uid"`
	N          int32           `json:"n"`
	Big        int64           `json:"big"`
	Ratio      float64         `json:"ratio"`
	F          float32         `json:"f"`
	OK         bool            `json:"ok"`
	Name       string          `json:"name"`
	Blob       []byte          `json:"blob"`
	Fix        []byte          `json:"fix"`
	Price      kpipe.Decimal   `json:"price"`
	FixedPrice kpipe.Decimal   `json:"fixed_price"`
	Day        kpipe.Date      `json:"day"`
	AtMs       kpipe.TimeOfDay `json:"at_ms"`
	AtUs       kpipe.TimeOfDay `json:"at_us"`
	TsMs       time.Time       `json:"ts_ms"`
	TsUs       time.Time       `json:"ts_us"`
	LocalTs    string          `json:"local_ts"`
	Color      string          `json:"color"`
	Note       *string         `json:"note"`
	Amount     any             `json:"amount"`
	Tags       []string        `json:"tags"`
	Attrs      map[string]int  `json:"attrs"`
	Items      []item          `json:"items"`
	Extra      string          `json:"extra,omitempty"`
}

func sampleAllTypes(t testing.TB, i int) allTypes {
	id, err := kpipe.ParseUUID("123E4567-E89B-12D3-A456-426614174000")
	if err != nil {
		t.Fatal(err)
	}
	note := "héllo ✓"
	return allTypes{
		ID: id, UID: "00000000-0000-4000-8000-00000000000a", N: -2147483648, Big: 9007199254740993 + int64(i),
		Ratio: 0.1, F: 1.5, OK: true, Name: "name", Blob: []byte{0, 1, 2, 255}, Fix: []byte("abcd"),
		Price:      kpipe.NewDecimal(big.NewRat(-12345, 100), 2),
		FixedPrice: "99999.5",
		Day:        kpipe.Date{Year: 2026, Month: 11, Day: 24},
		AtMs:       kpipe.TimeOfDay(10*time.Hour + 123*time.Millisecond),
		AtUs:       kpipe.TimeOfDay(23*time.Hour + 59*time.Minute + 59*time.Second + 999999*time.Microsecond),
		TsMs:       time.Date(2026, 11, 24, 10, 0, 0, 123_000_000, time.UTC),
		TsUs:       time.Date(1969, 12, 31, 23, 59, 59, 999_999_000, time.FixedZone("x", 3600)),
		LocalTs:    "2026-11-24T10:00:00.500",
		Color:      "GREEN", Note: &note, Amount: float64(42),
		Tags: []string{"a", ""}, Attrs: map[string]int{"k": 1}, Items: []item{{"s1", 2}, {"s2", 3}},
	}
}

func checkAllTypes(t *testing.T, want, got allTypes) {
	t.Helper()
	if got.ID != want.ID || got.UID != want.UID || got.N != want.N || got.Big != want.Big || got.Ratio != want.Ratio ||
		got.F != want.F || !got.OK || got.Name != want.Name || !bytes.Equal(got.Blob, want.Blob) || !bytes.Equal(got.Fix, want.Fix) {
		t.Errorf("scalars differ:\nwant %+v\ngot  %+v", want, got)
	}
	if got.Price != "-123.45" || got.FixedPrice != "99999.500" {
		t.Errorf("decimals: %q %q", got.Price, got.FixedPrice)
	}
	if got.Day != want.Day || got.AtMs != want.AtMs || got.AtUs != want.AtUs {
		t.Errorf("date/time: %v %v %v", got.Day, got.AtMs, got.AtUs)
	}
	if !got.TsMs.Equal(want.TsMs) || !got.TsUs.Equal(want.TsUs) || got.LocalTs != "2026-11-24T10:00:00.500" {
		t.Errorf("timestamps: %v %v %v", got.TsMs, got.TsUs, got.LocalTs)
	}
	if got.Color != "GREEN" || got.Note == nil || *got.Note != *want.Note || got.Amount != float64(42) {
		t.Errorf("enum/unions: %v %v %v", got.Color, got.Note, got.Amount)
	}
	if !reflect.DeepEqual(got.Tags, want.Tags) || !reflect.DeepEqual(got.Attrs, want.Attrs) || !reflect.DeepEqual(got.Items, want.Items) || got.Extra != "x" {
		t.Errorf("collections: %v %v %v %q", got.Tags, got.Attrs, got.Items, got.Extra)
	}
}

// Every value type, without a broker: Go value -> Avro body -> natural JSON -> Go value.
func TestAvroRoundTripOfEveryType(t *testing.T) {
	want := sampleAllTypes(t, 0)
	body, err := kpipe.EncodeAvro(allTypesSchema, want)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	js, err := kpipe.DecodeAvro(allTypesSchema, body)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	var got allTypes
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatalf("unmarshal %s: %v", js, err)
	}
	checkAllTypes(t, want, got)
	// decoding then encoding gives the same bytes
	again, err := kpipe.EncodeAvro(allTypesSchema, js)
	if err != nil || !bytes.Equal(again, body) {
		t.Fatalf("re-encode: %v, %x vs %x", err, again, body)
	}
	// a value that does not fit is serde.encode naming the field path
	bad := map[string]any{}
	js2, _ := json.Marshal(want)
	_ = json.Unmarshal(js2, &bad)
	bad["items"] = []any{map[string]any{"sku": "s", "qty": "many"}}
	_, err = kpipe.EncodeAvro(allTypesSchema, bad)
	if !errors.Is(err, kpipe.ErrSerdeEncode) {
		t.Fatalf("want serde.encode, got %v", err)
	}
	if e := err.(*kpipe.Error); e.Message[:len("AllTypes.items[0].qty: ")] != "AllTypes.items[0].qty: " {
		t.Errorf("message does not start with the path: %q", e.Message)
	}
}

// The same through the registry and the broker: Send a Go struct, Poll, Decode.
func TestSendAndPollEveryTypeThroughTheRegistry(t *testing.T) {
	c := openClient(t, "")
	topic := unique("kpipe.it.types")
	if err := c.SetTopicSerde(topic, kpipe.TopicSerde{Key: kpipe.String(), Value: kpipe.Avro(allTypesSchema)}); err != nil {
		t.Fatal(err)
	}
	p := c.Producer()
	ctx := ctxFor(t, 60*time.Second)
	var sent []allTypes
	for i := 0; i < 3; i++ {
		v := sampleAllTypes(t, i)
		d, err := p.Send(ctx, topic, "key-"+string(rune('a'+i)), v, kpipe.WithHeaders(kpipe.Header{Key: "trace", Value: []byte{1, 2}}),
			kpipe.WithTimestamp(time.UnixMilli(1_700_000_000_000+int64(i))))
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		if d.Cluster != "business" || d.Topic != topic || d.Offset < 0 {
			t.Fatalf("delivery %+v", d)
		}
		sent = append(sent, v)
	}
	cons, err := c.Consumer(ctx, unique("kpipe-it-types"), []string{topic}, kpipe.FromEarliest())
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	msgs := pollN(t, cons, 3, 60*time.Second)
	for _, m := range msgs {
		var got allTypes
		if err := m.Decode(&got); err != nil {
			t.Fatalf("decode: %v", err)
		}
		i := int(got.Big - 9007199254740993)
		checkAllTypes(t, sent[i], got)
		var key string
		if err := m.DecodeKey(&key); err != nil || key != "key-"+string(rune('a'+i)) {
			t.Errorf("key %q %v", key, err)
		}
		if h, ok := m.Header("trace"); !ok || !bytes.Equal(h, []byte{1, 2}) {
			t.Errorf("header %v", h)
		}
		if m.Timestamp.UnixMilli() != 1_700_000_000_000+int64(i) {
			t.Errorf("timestamp %v", m.Timestamp)
		}
		if len(m.Value) < 5 || m.Value[0] != 0 {
			t.Errorf("not Confluent framed: %x", m.Value[:5])
		}
		if err := cons.Commit(m); err != nil {
			t.Fatal(err)
		}
	}
}
