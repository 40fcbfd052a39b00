// cross_go is the Go side of tests/conformance/test_cross_binding.py: it produces orders with
// the Go binding, and consumes a topic printing each record's raw bytes and decoded value, so
// the test can check that Go and Python write the same bytes and read each other's records.
//
//	cross_go produce -config kpipe.yaml -topic T -input orders.jsonl
//	cross_go consume -config kpipe.yaml -topic T -count N
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: cross_go produce|consume [flags]"))
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	config := fs.String("config", "kpipe.yaml", "kpipe.yaml")
	topic := fs.String("topic", "", "topic")
	input := fs.String("input", "", "JSON lines of orders (produce)")
	count := fs.Int("count", 0, "records to read (consume)")
	_ = fs.Parse(os.Args[2:])
	client, err := kpipe.Open(*config)
	if err != nil {
		fail(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	switch os.Args[1] {
	case "produce":
		err = produce(ctx, client, *topic, *input)
	case "consume":
		err = consume(ctx, client, *topic, *count)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cross_go:", err)
	os.Exit(1)
}

// produce sends every line as a Go value (map[string]any, numbers kept exact), key order_id,
// headers src=go and seq=<line number>.
func produce(ctx context.Context, client *kpipe.Client, topic, input string) error {
	f, err := os.Open(input)
	if err != nil {
		return err
	}
	defer f.Close()
	p := client.Producer()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for seq := 0; sc.Scan(); seq++ {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var order map[string]any
		if err := dec.Decode(&order); err != nil {
			return fmt.Errorf("line %d: %w", seq+1, err)
		}
		key, _ := order["order_id"].(string)
		headers := []kpipe.Header{{Key: "src", Value: []byte("go")}, {Key: "seq", Value: []byte(strconv.Itoa(seq))}}
		if _, err := p.Send(ctx, topic, key, order, kpipe.WithHeaders(headers...)); err != nil {
			return fmt.Errorf("send %d: %w", seq, err)
		}
	}
	return sc.Err()
}

type seen struct {
	Src     string          `json:"src"`
	Seq     string          `json:"seq"`
	Key     string          `json:"key"`
	Value   string          `json:"value_b64"`
	Decoded json.RawMessage `json:"decoded"`
}

// consume reads count records from the start and prints one JSON line per record.
func consume(ctx context.Context, client *kpipe.Client, topic string, count int) error {
	c, err := client.Consumer(ctx, fmt.Sprintf("cross-go-%d", time.Now().UnixNano()), []string{topic}, kpipe.FromEarliest())
	if err != nil {
		return err
	}
	defer c.Close()
	out := json.NewEncoder(os.Stdout)
	for n := 0; n < count; n++ {
		m, err := c.Poll(ctx)
		if err != nil {
			return err
		}
		var decoded json.RawMessage
		if err := m.Decode(&decoded); err != nil {
			return err
		}
		src, _ := m.Header("src")
		seq, _ := m.Header("seq")
		if err := out.Encode(seen{Src: string(src), Seq: string(seq), Key: string(m.Key),
			Value: base64.StdEncoding.EncodeToString(m.Value), Decoded: decoded}); err != nil {
			return err
		}
		if err := c.Ack(m); err != nil {
			return err
		}
	}
	return nil
}
