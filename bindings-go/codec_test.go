package kpipe

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// The crossing's JSON codec (codec.go) must give encoding/json's text for every value: the
// core reads that text, and users write their types for encoding/json.

type codecText string

func (t codecText) MarshalText() ([]byte, error) { return []byte("T:" + string(t)), nil }

func (t *codecText) UnmarshalText(b []byte) error {
	*t = codecText(strings.TrimPrefix(string(b), "T:"))
	return nil
}

type codecEmbedded struct {
	Inner  string `json:"inner"`
	Shadow int    `json:"shadow"`
}

type codecAll struct {
	codecEmbedded
	Shadow    string `json:"shadow"`
	Name      string `json:"name"`
	Omitted   string `json:"omitted,omitempty"`
	Dash      string `json:"-"`
	AsString  int64  `json:"as_string,string"`
	NoTag     float64
	Ptr       *int32                      `json:"ptr"`
	NilPtr    *int32                      `json:"nil_ptr"`
	Bytes     []byte                      `json:"bytes"`
	NilBytes  []byte                      `json:"nil_bytes"`
	NilSlice  []int                       `json:"nil_slice"`
	Empty     []int                       `json:"empty"`
	NilMap    map[string]int              `json:"nil_map"`
	Map       map[string]any              `json:"map"`
	IntKeys   map[int]string              `json:"int_keys"`
	TextKeys  map[codecText]int           `json:"text_keys"`
	Text      codecText                   `json:"text"`
	Any       any                         `json:"any"`
	Raw       json.RawMessage             `json:"raw"`
	Time      time.Time                   `json:"time"`
	TimeZone  time.Time                   `json:"time_zone"`
	Decimal   Decimal                     `json:"decimal"`
	OddDec    Decimal                     `json:"odd_decimal"`
	UUID      UUID                        `json:"uuid"`
	Date      Date                        `json:"date"`
	TimeOfDay TimeOfDay                   `json:"time_of_day"`
	Floats    []float64                   `json:"floats"`
	F32       []float32                   `json:"f32"`
	Ints      []int64                     `json:"ints"`
	U64       uint64                      `json:"u64"`
	HTML      string                      `json:"html"`
	Unicode   string                      `json:"unicode"`
	Invalid   string                      `json:"invalid"`
	Array     [3]uint8                    `json:"array"`
	Nested    []map[string]*codecEmbedded `json:"nested"`
}

func codecSample() codecAll {
	n := int32(-7)
	zone := time.FixedZone("X", 5*3600+30*60)
	u, _ := ParseUUID("123E4567-e89b-12d3-a456-426614174000")
	return codecAll{
		codecEmbedded: codecEmbedded{Inner: "in", Shadow: 3},
		Shadow:        "outer", Name: "n", Dash: "gone", AsString: 42, NoTag: 1.5, Ptr: &n,
		Bytes: []byte{0, 1, 2, 250, 255}, Empty: []int{},
		Map:      map[string]any{"b": 1, "a": []any{true, nil, "x", 2.5}, "c": map[string]any{"z": 1, "y": "2"}},
		IntKeys:  map[int]string{10: "ten", -1: "minus", 2: "two"},
		TextKeys: map[codecText]int{"k": 1, "a": 2},
		Text:     "t", Any: map[string]int{"q": 1},
		Raw:      json.RawMessage(` {"raw" : [1, 2]} `),
		Time:     time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.UTC),
		TimeZone: time.Date(2026, 1, 2, 3, 4, 5, 0, zone),
		Decimal:  "12.30", OddDec: "<1&2>\"\\é", UUID: u, Date: Date{2026, time.November, 24},
		TimeOfDay: TimeOfDay(10*time.Hour + 123*time.Millisecond),
		Floats:    []float64{0, 1, -1.5, 1e21, 1e20, 1e-7, 0.000001, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Copysign(0, -1)},
		F32:       []float32{0.1, 3.4028235e38, 1e-45, 16777217},
		Ints:      []int64{math.MinInt64, math.MaxInt64, 0},
		U64:       math.MaxUint64,
		HTML:      "<a href=\"x\">&amp;</a>",
		Unicode:   "é中😀\u2028\u2029\t\n\x01\x7f",
		Invalid:   "a\xffb\xc3",
		Array:     [3]uint8{1, 2, 3},
		Nested:    []map[string]*codecEmbedded{{"a": {Inner: "x"}, "b": nil}, nil},
	}
}

func TestCodecMarshalsLikeEncodingJSON(t *testing.T) {
	values := []any{
		codecSample(), &[]codecAll{codecSample()}, nil, true, 1, -2.5, "s<>&", []byte("hi"), []any{}, map[string]any{},
		json.RawMessage(`{"a":1}`), Decimal("1.00"), map[string]Decimal{"x": "2"},
	}
	for i, v := range values {
		want, werr := json.Marshal(v)
		got, gerr := jsonMarshal(v)
		if (werr == nil) != (gerr == nil) || string(got) != string(want) {
			t.Errorf("value %d:\n encoding/json %s %v\n codec         %s %v", i, want, werr, got, gerr)
		}
		// the batch path (an encoder writing into the data buffer)
		var b batch
		_, off, n, err := b.putValue(v, false)
		if raw, ok := v.([]byte); ok {
			if string(b.data) != string(raw) {
				t.Errorf("value %d: bytes not sent as is", i)
			}
			continue
		}
		if v == nil {
			continue
		}
		if rm, ok := v.(json.RawMessage); ok {
			want = rm
		}
		if err != nil || string(b.data[off:off+n]) != string(want) {
			t.Errorf("value %d: batch %q %v, want %q", i, b.data[off:off+n], err, want)
		}
	}
	// values encoding/json refuses are refused too
	for _, v := range []any{math.NaN(), math.Inf(1), map[bool]int{true: 1}, make(chan int), func() {}} {
		if _, err := json.Marshal(v); err == nil {
			t.Fatalf("encoding/json accepts %T", v)
		}
		if _, err := jsonMarshal(v); err == nil {
			t.Errorf("codec accepts %T", v)
		}
		var b batch
		if _, _, _, err := b.putValue(v, false); err == nil || len(b.data) != 0 {
			t.Errorf("batch accepts %T (%d bytes left)", v, len(b.data))
		}
	}
}

func TestCodecUnmarshalsLikeEncodingJSON(t *testing.T) {
	text, err := json.Marshal(codecSample())
	if err != nil {
		t.Fatal(err)
	}
	var want, got codecAll
	if err := json.Unmarshal(text, &want); err != nil {
		t.Fatal(err)
	}
	if err := jsonUnmarshal(text, &got); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Errorf("unmarshal differs:\n encoding/json %s\n codec         %s", a, b)
	}
	// into interfaces: the same maps, float64 numbers
	var wa, ga any
	_ = json.Unmarshal(text, &wa)
	if err := jsonUnmarshal(text, &ga); err != nil {
		t.Fatal(err)
	}
	a, _ = json.Marshal(wa)
	b, _ = json.Marshal(ga)
	if string(a) != string(b) {
		t.Errorf("unmarshal into any differs:\n %s\n %s", a, b)
	}
	// natural JSON forms of the binding's types
	var d struct {
		Dec  Decimal   `json:"d"`
		Num  Decimal   `json:"n"`
		Esc  Decimal   `json:"e"`
		U    UUID      `json:"u"`
		Day  Date      `json:"day"`
		Tod  TimeOfDay `json:"tod"`
		When time.Time `json:"when"`
	}
	in := `{"d":"12.30","n":12.5,"e":"1\u00322.0","u":"123e4567-e89b-12d3-a456-426614174000","day":"2026-11-24","tod":"10:00:00.123","when":"2026-11-24T10:00:00.5Z"}`
	if err := jsonUnmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if d.Dec != "12.30" || d.Num != "12.5" || d.Esc != "122.0" || d.U.String() != "123e4567-e89b-12d3-a456-426614174000" ||
		d.Day != (Date{2026, time.November, 24}) || time.Duration(d.Tod) != 10*time.Hour+123*time.Millisecond ||
		!d.When.Equal(time.Date(2026, 11, 24, 10, 0, 0, 500_000_000, time.UTC)) {
		t.Errorf("decoded %+v", d)
	}
	// errors stay errors
	for _, bad := range []string{`{"d":{`, `{"u":"nope"}`, `{"day":"2026-13-01"}`, `{`, `{"when":"yesterday"}`} {
		if err := jsonUnmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
