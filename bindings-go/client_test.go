package kpipe_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

func TestEverySentinelMatchesACoreCode(t *testing.T) {
	codes := kpipe.CoreCodes()
	if len(codes) != len(kpipe.Sentinels) {
		t.Fatalf("core has %d codes, Go %d sentinels", len(codes), len(kpipe.Sentinels))
	}
	for i, c := range codes {
		if kpipe.Sentinels[i].Code != c {
			t.Errorf("sentinel %d is %q, core code %q", i, kpipe.Sentinels[i].Code, c)
		}
	}
	err := fmt.Errorf("wrapped: %w", &kpipe.Error{Code: "schema.incompatible", Message: "m"})
	if !errors.Is(err, kpipe.ErrSchemaIncompatible) || errors.Is(err, kpipe.ErrSerdeEncode) {
		t.Fatal("errors.Is does not match by code")
	}
	if kpipe.Version() == "" {
		t.Fatal("no version")
	}
}

func TestErrorCodesForBadInput(t *testing.T) {
	// bad config: an unknown key is named
	_, err := kpipe.OpenConfig("clusters: { a: { bootstrap: x, bootstrapp: y } }\n")
	if !errors.Is(err, kpipe.ErrConfigInvalid) {
		t.Fatalf("want config.invalid, got %v", err)
	}
	if _, err := kpipe.Open("/nonexistent/kpipe.yaml"); !errors.Is(err, kpipe.ErrConfigInvalid) {
		t.Fatalf("missing file: want config.invalid, got %v", err)
	}
	c := openClient(t, "")
	topic := unique("kpipe.it.bad")
	if err := c.SetTopicSerde(topic, kpipe.TopicSerde{Value: kpipe.Avro(allTypesSchema)}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetTopicSerde(topic+"x", kpipe.TopicSerde{Value: kpipe.Avro(`{"type": "nope"}`)}); err != nil {
		t.Fatal(err) // checked at first use
	}
	p := c.Producer()
	ctx := ctxFor(t, 30*time.Second)
	// a value that does not fit the schema: serde.encode naming the field
	_, err = p.Send(ctx, topic, nil, map[string]any{"id": "not-a-uuid"})
	var ke *kpipe.Error
	if !errors.As(err, &ke) || ke.Code != "serde.encode" {
		t.Fatalf("want serde.encode, got %v", err)
	}
	// an invalid schema
	if _, err = p.Send(ctx, topic+"x", nil, map[string]any{}); !errors.Is(err, kpipe.ErrSchemaInvalid) {
		t.Fatalf("want schema.invalid, got %v", err)
	}
	// a Go value encoding/json cannot marshal
	if _, err = p.Send(ctx, topic, nil, make(chan int)); !errors.Is(err, kpipe.ErrInputInvalid) {
		t.Fatalf("want input.invalid, got %v", err)
	}
	// bad consumer options
	if _, err = c.Consumer(ctx, "g", nil); !errors.Is(err, kpipe.ErrConfigInvalid) {
		t.Fatalf("no topics: want config.invalid, got %v", err)
	}
	if _, err = c.Consumer(ctx, "g", []string{topic, "orders.x"}); !errors.Is(err, kpipe.ErrConfigInvalid) {
		t.Fatalf("two clusters: want config.invalid, got %v", err)
	}
	// SendMany reports per record
	_, errs, err := p.SendMany(ctx, []kpipe.Record{
		{Topic: topic, Value: sampleAllTypes(t, 0)},
		{Topic: topic, Value: map[string]any{"n": "x"}},
		{Topic: topic, Value: make(chan int)},
	})
	if err != nil || errs[0] != nil || !errors.Is(errs[1], kpipe.ErrSerdeEncode) || !errors.Is(errs[2], kpipe.ErrInputInvalid) {
		t.Fatalf("send many: %v %v", err, errs)
	}
	// closed handles
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second close:", err)
	}
	if _, err = p.Send(ctx, topic, nil, nil); !errors.Is(err, kpipe.ErrClosed) {
		t.Fatalf("after close: want closed, got %v", err)
	}
}

func TestConcurrentProducersFromManyGoroutines(t *testing.T) {
	c := openClient(t, "")
	topic := unique("kpipe.it.conc")
	if err := c.SetTopicSerde(topic, kpipe.TopicSerde{Key: kpipe.String(), Value: kpipe.JSON()}); err != nil {
		t.Fatal(err)
	}
	p := c.Producer()
	ctx := ctxFor(t, 60*time.Second)
	const goroutines, each = 16, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]bool{}
	errs := make(chan error, goroutines*each)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				var d kpipe.Delivery
				var err error
				if i%2 == 0 {
					d, err = p.Send(ctx, topic, strconv.Itoa(g), map[string]int{"g": g, "i": i})
				} else {
					var ds []kpipe.Delivery
					var es []error
					ds, es, err = p.SendMany(ctx, []kpipe.Record{{Topic: topic, Key: strconv.Itoa(g), Value: map[string]int{"g": g, "i": i}}})
					if err == nil {
						d, err = ds[0], es[0]
					}
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				seen[fmt.Sprintf("%d/%d", d.Partition, d.Offset)] = true
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != goroutines*each {
		t.Fatalf("%d distinct (partition, offset) for %d sends", len(seen), goroutines*each)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// and many goroutines polling one consumer
	cons, err := c.Consumer(ctx, unique("kpipe-it-conc"), []string{topic}, kpipe.FromEarliest())
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	got := make(chan *kpipe.Message, goroutines*each)
	pctx, cancel := context.WithCancel(ctx)
	for g := 0; g < 4; g++ {
		go func() {
			for {
				m, err := cons.Poll(pctx)
				if err != nil {
					return
				}
				got <- m
			}
		}()
	}
	for n := 0; n < goroutines*each; n++ {
		select {
		case m := <-got:
			if err := cons.Ack(m); err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatalf("only %d of %d consumed", n, goroutines*each)
		}
	}
	cancel()
}

func TestContextCancellationInterruptsBlockedCalls(t *testing.T) {
	c := openClient(t, "")
	topic := unique("kpipe.it.empty")
	p := c.Producer()
	if _, err := p.Send(ctxFor(t, 30*time.Second), topic, nil, []byte("x")); err != nil {
		t.Fatal(err)
	}
	cons, err := c.Consumer(context.Background(), unique("kpipe-it-cancel"), []string{topic}, kpipe.FromLatest())
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	// a deadline
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	m, err := cons.Poll(ctx)
	if m != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v %v", m, err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("poll returned %v after the deadline", el)
	}
	// a cancel from another goroutine
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(300 * time.Millisecond); cancel2() }()
	start = time.Now()
	_, err = cons.Poll(ctx2)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 300*time.Millisecond+time.Second {
		t.Fatalf("want canceled within 1 s, got %v after %v", err, time.Since(start))
	}
	// Run stops on cancel too
	ctx3, cancel3 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel3()
	start = time.Now()
	if err := cons.Run(ctx3, func(context.Context, *kpipe.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 1300*time.Millisecond {
		t.Fatalf("run returned after %v", time.Since(start))
	}
	// a send to an unreachable cluster waits for delivery; cancel interrupts it
	bad, err := kpipe.OpenConfig("clusters: { business: { bootstrap: \"127.0.0.1:1\" } }\nroutes: [ { topic: \"*\", cluster: business } ]\nproducer: { delivery_timeout_ms: 3000 }\n")
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	ctx4, cancel4 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel4()
	start = time.Now()
	_, err = bad.Producer().Send(ctx4, "t", nil, []byte("x"))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 1300*time.Millisecond {
		t.Fatalf("send: want deadline exceeded within 1 s, got %v after %v", err, time.Since(start))
	}
	ctx5, cancel5 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel5()
	if err := bad.Producer().Flush(ctx5); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("flush: want deadline exceeded, got %v", err)
	}
}
