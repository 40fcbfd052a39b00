package kpipe_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

// The golden vectors of tests/conformance/avro/vectors.jsonl (tests/conformance/README.md):
// valid ones must encode to body_hex, decode to output (or input) and re-encode to body_hex;
// error ones must fail with the code and a message starting with "<path>: ".
func TestConformanceVectors(t *testing.T) {
	dir := filepath.Join("..", "tests", "conformance")
	f, err := os.Open(filepath.Join(dir, "avro", "vectors.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var valid, errs, line int
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "//") {
			continue
		}
		var v struct {
			Name       string          `json:"name"`
			Schema     json.RawMessage `json:"schema"`
			SchemaFile string          `json:"schema_file"`
			Input      json.RawMessage `json:"input"`
			Output     json.RawMessage `json:"output"`
			BodyHex    *string         `json:"body_hex"`
			Error      *struct {
				Code string `json:"code"`
				Path string `json:"path"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		schema := string(v.Schema)
		if v.SchemaFile != "" {
			b, err := os.ReadFile(filepath.Join(dir, v.SchemaFile))
			if err != nil {
				t.Fatal(err)
			}
			schema = string(b)
		}
		name := v.Name
		if v.Error != nil {
			errs++
			_, err := kpipe.EncodeAvro(schema, v.Input)
			e, ok := err.(*kpipe.Error)
			if !ok || e.Code != v.Error.Code || !strings.HasPrefix(e.Message, v.Error.Path+": ") {
				t.Errorf("%d %q: want %s at %s, got %v", line, name, v.Error.Code, v.Error.Path, err)
			}
			continue
		}
		valid++
		want, _ := hex.DecodeString(*v.BodyHex)
		body, err := kpipe.EncodeAvro(schema, v.Input)
		if err != nil || !bytes.Equal(body, want) {
			t.Errorf("%d %q: encode: %v, got %x want %x", line, name, err, body, want)
			continue
		}
		out, err := kpipe.DecodeAvro(schema, want)
		if err != nil {
			t.Errorf("%d %q: decode: %v", line, name, err)
			continue
		}
		expected := v.Output
		if expected == nil {
			expected = v.Input
		}
		if !sameJSON(t, out, expected) {
			t.Errorf("%d %q: decoded %s, want %s", line, name, out, expected)
		}
		again, err := kpipe.EncodeAvro(schema, out)
		if err != nil || !bytes.Equal(again, want) {
			t.Errorf("%d %q: re-encode: %v, got %x want %x", line, name, err, again, want)
		}
	}
	if valid < 100 || errs < 10 {
		t.Fatalf("only %d valid and %d error vectors", valid, errs)
	}
	t.Logf("%d valid and %d error vectors", valid, errs)
}

// sameJSON compares JSON documents, numbers by value.
func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	var x, y any
	da := json.NewDecoder(bytes.NewReader(a))
	da.UseNumber()
	db := json.NewDecoder(bytes.NewReader(b))
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return equalValues(x, y)
}

func equalValues(x, y any) bool {
	switch a := x.(type) {
	case json.Number:
		b, ok := y.(json.Number)
		if !ok {
			return false
		}
		fa, _, e1 := big.ParseFloat(string(a), 10, 200, big.ToNearestEven)
		fb, _, e2 := big.ParseFloat(string(b), 10, 200, big.ToNearestEven)
		return e1 == nil && e2 == nil && fa.Cmp(fb) == 0
	case map[string]any:
		b, ok := y.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if !equalValues(v, b[k]) {
				return false
			}
		}
		return true
	case []any:
		b, ok := y.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalValues(a[i], b[i]) {
				return false
			}
		}
		return true
	default:
		return x == y
	}
}
