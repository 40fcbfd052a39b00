// The Go agent of the exchange test (tests/conformance/exchange/README.md): produce and consume
// with the Go binding, orders as a Go user writes them (a struct with time.Time, kpipe.UUID,
// kpipe.Decimal, *string for the nullable field).
//
//	exchange produce CONFIG TOPIC ORDERS LANG
//	exchange consume CONFIG TOPICS COUNT GROUP
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

// Item and Order are tests/conformance/schemas/order.avsc.
type Item struct {
	SKU       string  `json:"sku"`
	Qty       int32   `json:"qty"`
	UnitPrice float64 `json:"unit_price"`
}

type Order struct {
	OrderID    kpipe.UUID        `json:"order_id"`
	CustomerID int64             `json:"customer_id"`
	CreatedAt  time.Time         `json:"created_at"`
	Status     string            `json:"status"`
	Amount     kpipe.Decimal     `json:"amount"`
	Currency   string            `json:"currency"`
	City       string            `json:"city"`
	VehicleVIN *string           `json:"vehicle_vin"`
	MileageKm  int32             `json:"mileage_km"`
	PriceScore float64           `json:"price_score"`
	Items      []Item            `json:"items"`
	Attributes map[string]string `json:"attributes"`
}

// natural is an Order as the protocol's natural JSON (created_at in integer milliseconds).
type natural struct {
	Order
	CreatedAt int64 `json:"created_at"`
}

func main() {
	a := os.Args[1:]
	var err error
	switch {
	case len(a) == 5 && a[0] == "produce":
		err = produce(a[1], a[2], a[3], a[4])
	case len(a) == 5 && a[0] == "consume":
		var n int
		if n, err = strconv.Atoi(a[3]); err == nil {
			err = consume(a[1], strings.Split(a[2], ","), n, a[4])
		}
	default:
		err = fmt.Errorf("usage: exchange produce CONFIG TOPIC ORDERS LANG | consume CONFIG TOPICS COUNT GROUP")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "go agent:", err)
		os.Exit(1)
	}
}

// orderFromNatural reads one line of natural JSON (created_at in ms) into an Order.
func orderFromNatural(line []byte) (Order, error) {
	var n struct {
		Order
		CreatedAt int64 `json:"created_at"`
	}
	if err := json.Unmarshal(line, &n); err != nil {
		return Order{}, err
	}
	n.Order.CreatedAt = time.UnixMilli(n.CreatedAt).UTC()
	return n.Order, nil
}

func produce(config, topic, orders, lang string) error {
	client, err := kpipe.Open(config)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f, err := os.Open(orders)
	if err != nil {
		return err
	}
	defer f.Close()
	p := client.Producer()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var first *Order
	for seq := 0; sc.Scan(); seq++ {
		o, err := orderFromNatural(sc.Bytes())
		if err != nil {
			return fmt.Errorf("line %d: %w", seq+1, err)
		}
		if first == nil {
			first = &o
		}
		headers := kpipe.WithHeaders(
			kpipe.Header{Key: "src", Value: []byte(lang)},
			kpipe.Header{Key: "seq", Value: []byte(strconv.Itoa(seq))},
			kpipe.Header{Key: "empty", Value: []byte{}},
			kpipe.Header{Key: "none", Value: nil})
		if _, err := p.Send(ctx, topic, o.OrderID.String(), o, headers, kpipe.WithTimestamp(o.CreatedAt)); err != nil {
			return fmt.Errorf("send %d: %w", seq, err)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if first == nil {
		return fmt.Errorf("%s: no orders", orders)
	}
	tomb := kpipe.WithHeaders(kpipe.Header{Key: "src", Value: []byte(lang)}, kpipe.Header{Key: "seq", Value: []byte("tombstone")})
	if _, err := p.Send(ctx, topic, "tombstone-"+lang, nil, tomb); err != nil {
		return fmt.Errorf("tombstone: %w", err)
	}
	// the bad record: a map, since a typed struct cannot hold a string mileage
	raw, _ := json.Marshal(first)
	var bad map[string]any
	_ = json.Unmarshal(raw, &bad)
	bad["mileage_km"] = "many"
	out := map[string]any{"error": nil}
	if _, err := p.Send(ctx, topic, first.OrderID.String(), bad); err != nil {
		var ke *kpipe.Error
		if !errors.As(err, &ke) {
			return fmt.Errorf("bad record: not a *kpipe.Error: %w", err)
		}
		out["error"] = map[string]string{"code": ke.Code, "message": ke.Message}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

type seen struct {
	Topic     string      `json:"topic"`
	Partition int32       `json:"partition"`
	Offset    int64       `json:"offset"`
	Timestamp *int64      `json:"timestamp"`
	Key       *string     `json:"key"`
	Raw       *string     `json:"raw"`
	Headers   [][]*string `json:"headers"`
	Value     *natural    `json:"value"`
}

func consume(config string, topics []string, count int, group string) error {
	client, err := kpipe.Open(config)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.Consumer(ctx, group, topics, kpipe.FromEarliest(), kpipe.WithAck("explicit"))
	if err != nil {
		return err
	}
	defer c.Close()
	out := json.NewEncoder(os.Stdout)
	want := count * len(topics)
	for n := 0; n < want; n++ {
		pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
		m, err := c.Poll(pctx)
		pcancel()
		if err != nil {
			return fmt.Errorf("after %d of %d records: %w", n, want, err)
		}
		s := seen{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Headers: [][]*string{}}
		if !m.Timestamp.IsZero() {
			ms := m.Timestamp.UnixMilli()
			s.Timestamp = &ms
		}
		var key *string
		if err := m.DecodeKey(&key); err != nil {
			return err
		}
		s.Key = key
		if m.Value != nil {
			h := hex.EncodeToString(m.Value)
			s.Raw = &h
			var o Order
			if err := m.Decode(&o); err != nil {
				return err
			}
			s.Value = &natural{Order: o, CreatedAt: o.CreatedAt.UnixMilli()}
		}
		for _, h := range m.Headers {
			name := h.Key
			var v *string
			if h.Value != nil {
				x := hex.EncodeToString(h.Value)
				v = &x
			}
			s.Headers = append(s.Headers, []*string{&name, v})
		}
		if err := out.Encode(s); err != nil {
			return err
		}
		if err := c.Ack(m); err != nil {
			return err
		}
	}
	return nil
}
