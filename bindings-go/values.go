package kpipe

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unsafe"
)

// Values cross to the core as natural JSON (docs/avro.md): a Go value is marshalled with
// encoding/json, so maps, slices, structs with json tags, numbers, strings, bools and nil work
// as usual; []byte fields become base64 (Avro bytes/fixed); time.Time becomes RFC 3339 (Avro
// timestamp-millis/micros, local-timestamp without the offset is a string). The types below
// cover the logical types encoding/json has no natural form for.

// Decimal is an Avro decimal as its exact decimal text ("12.30", "-0.5"). The core checks
// precision and scale and pads to the scale; decoded decimals have exactly `scale` digits after
// the point. Use NewDecimal / Rat for math/big conversions.
type Decimal string

// NewDecimal formats r with `scale` digits after the point (rounding half away from zero).
func NewDecimal(r *big.Rat, scale int) Decimal { return Decimal(r.FloatString(scale)) }

// Rat parses the decimal text.
func (d Decimal) Rat() (*big.Rat, bool) { return new(big.Rat).SetString(string(d)) }

func (d Decimal) String() string { return string(d) }

// MarshalJSON writes the decimal as a JSON string, as natural JSON wants.
func (d Decimal) MarshalJSON() ([]byte, error) { return quoteJSON(string(d)) }

// UnmarshalJSON accepts a string or a JSON number.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] != '"' {
		*d = Decimal(strings.TrimSpace(string(b)))
		return nil
	}
	s, err := unquoteJSON(b)
	if err != nil {
		return err
	}
	*d = Decimal(s)
	return nil
}

// UUID is an Avro uuid as 16 bytes; it crosses as its canonical string
// ("123e4567-e89b-12d3-a456-426614174000"). A plain string works as well.
type UUID [16]byte

// ParseUUID parses the 36-character form (any case).
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("kpipe: bad uuid %q", s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return u, fmt.Errorf("kpipe: bad uuid %q: %w", s, err)
	}
	return u, nil
}

func (u UUID) String() string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (u UUID) MarshalJSON() ([]byte, error) { return quoteJSON(u.String()) }

func (u *UUID) UnmarshalJSON(b []byte) error {
	s, err := unquoteJSON(b)
	if err != nil {
		return err
	}
	p, err := ParseUUID(s)
	if err != nil {
		return err
	}
	*u = p
	return nil
}

// Date is an Avro date (days since the epoch), crossing as "2026-11-24".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is the calendar date of t in t's location.
func DateOf(t time.Time) Date { y, m, d := t.Date(); return Date{y, m, d} }

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Time is midnight UTC of the date.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

func (d Date) MarshalJSON() ([]byte, error) { return quoteJSON(d.String()) }

func (d *Date) UnmarshalJSON(b []byte) error {
	s, err := unquoteJSON(b)
	if err != nil {
		return err
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return fmt.Errorf("kpipe: bad date %q: %w", s, err)
	}
	*d = DateOf(t)
	return nil
}

// TimeOfDay is an Avro time-millis/time-micros: the time since midnight, crossing as
// "10:00:00.123" (decoded: "10:00:00.123" for millis, "10:00:00.123456" for micros).
type TimeOfDay time.Duration

func (t TimeOfDay) String() string {
	d := time.Duration(t)
	h := d / time.Hour
	m := (d % time.Hour) / time.Minute
	s := (d % time.Minute) / time.Second
	us := (d % time.Second) / time.Microsecond
	if us == 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d:%02d.%06d", h, m, s, us)
}

func (t TimeOfDay) MarshalJSON() ([]byte, error) { return quoteJSON(t.String()) }

func (t *TimeOfDay) UnmarshalJSON(b []byte) error {
	s, err := unquoteJSON(b)
	if err != nil {
		return err
	}
	p, err := time.Parse("15:04:05.999999999", s)
	if err != nil {
		return fmt.Errorf("kpipe: bad time of day %q: %w", s, err)
	}
	*t = TimeOfDay(p.Sub(time.Date(p.Year(), p.Month(), p.Day(), 0, 0, 0, 0, time.UTC)))
	return nil
}

// RawBytes as a value (or key) is sent unchanged, whatever the topic's serializer: for
// pre-encoded payloads. A top-level []byte is sent unchanged as well.
type RawBytes []byte

// data kinds of the C ABI (KPIPE_DATA_*)
const (
	dataNull   = 0
	dataBytes  = 1
	dataString = 2
	dataJSON   = 3
)

// encodeValue turns a key or value into a data kind and bytes: nil -> null; []byte/RawBytes
// -> raw bytes; json.RawMessage -> natural JSON as given; a string key -> text; anything else
// -> JSON (encoding/json rules, codec.go).
func encodeValue(v any, isKey bool) (int32, []byte, error) {
	if k, b, ok := plainValue(v, isKey); ok {
		return k, b, nil
	}
	b, err := jsonMarshal(v)
	if err != nil {
		return 0, nil, marshalError(err)
	}
	return dataJSON, b, nil
}

// plainValue is encodeValue for the values that need no marshalling (ok false otherwise).
func plainValue(v any, isKey bool) (int32, []byte, bool) {
	switch x := v.(type) {
	case nil:
		return dataNull, nil, true
	case []byte:
		return dataBytes, x, true
	case RawBytes:
		return dataBytes, x, true
	case json.RawMessage:
		return dataJSON, x, true
	case string:
		if isKey {
			return dataString, unsafe.Slice(unsafe.StringData(x), len(x)), true
		}
	}
	return 0, nil, false
}

func marshalError(err error) error {
	return &Error{Code: "input.invalid", Message: "value: " + err.Error()}
}
