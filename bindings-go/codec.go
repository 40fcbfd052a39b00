package kpipe

import (
	"encoding/json"

	gojson "github.com/goccy/go-json"
)

// The JSON codec of the crossing. Values cross as natural JSON text (docs/avro.md); the Go side
// marshals and unmarshals it with github.com/goccy/go-json, a drop-in for encoding/json (same
// struct tags, Marshaler/Unmarshaler and TextMarshaler methods, time.Time, []byte as base64,
// map keys sorted, HTML characters escaped) that is two to four times faster on records
// (codec_test.go checks it against encoding/json). Where go-json fails, encoding/json decides:
// a value it refuses is tried again with encoding/json (go-json is stricter in corners, e.g.
// it rejects "3.4028235e+38" for a float32), so results and errors are encoding/json's. Types
// in the API stay encoding/json's (json.RawMessage, ...).

// jsonUnmarshal is encoding/json's Unmarshal, faster.
func jsonUnmarshal(b []byte, v any) error {
	if err := gojson.Unmarshal(b, v); err != nil {
		return json.Unmarshal(b, v)
	}
	return nil
}

// jsonMarshal is encoding/json's Marshal, faster.
func jsonMarshal(v any) ([]byte, error) {
	b, err := gojson.Marshal(v)
	if err != nil {
		return json.Marshal(v)
	}
	return b, nil
}

// safeJSONString reports whether s can be written between quotes as is: the bytes encoding/json
// would escape (control characters, '"', '\\', '<', '>', '&') or check (non-ASCII: invalid UTF-8,
// U+2028, U+2029) are absent.
func safeJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			return false
		}
	}
	return true
}

// quoteJSON is encoding/json's encoding of the string s (a fast path for the plain ASCII text
// of decimals, uuids and dates).
func quoteJSON(s string) ([]byte, error) {
	if !safeJSONString(s) {
		return jsonMarshal(s)
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}

// unquoteJSON is the string a JSON string literal holds (a fast path for literals without
// escapes; others go through the codec). ok is false when b is not a JSON string.
func unquoteJSON(b []byte) (string, error) {
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' {
		plain := true
		for _, c := range b[1 : n-1] {
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				plain = false
				break
			}
		}
		if plain {
			return string(b[1 : n-1]), nil
		}
	}
	var s string
	err := jsonUnmarshal(b, &s)
	return s, err
}
