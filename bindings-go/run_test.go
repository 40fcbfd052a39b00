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

// Run: a failing record is retried max_attempts times, then goes to <topic>.dlq unchanged with
// the kpipe.* headers; an undecodable one goes there without handler attempts; the others are
// handled once and committed.
func TestRunRetriesThenDeadLetters(t *testing.T) {
	c := openClient(t, "consumer: { max_attempts: 3, backoff_ms: 10, commit_interval_ms: 100, dlq: \"{topic}.dlq\" }\n")
	topic := unique("kpipe.it.run")
	dlq := topic + ".dlq"
	if err := c.SetTopicSerde(topic, kpipe.TopicSerde{Key: kpipe.String(), Value: kpipe.JSON()}); err != nil {
		t.Fatal(err)
	}
	p := c.Producer()
	ctx := ctxFor(t, 90*time.Second)
	const total = 20
	poison := func(n int) bool { return n%7 == 3 }
	garbage := func(n int) bool { return n == 11 }
	var recs []kpipe.Record
	for n := 0; n < total; n++ {
		var v any = map[string]int{"n": n}
		if garbage(n) {
			v = kpipe.RawBytes("{not json")
		}
		recs = append(recs, kpipe.Record{Topic: topic, Key: "k" + strconv.Itoa(n), Value: v,
			Headers: []kpipe.Header{{Key: "trace", Value: []byte("t" + strconv.Itoa(n))}}})
	}
	if _, errs, err := p.SendMany(ctx, recs); err != nil || errors.Join(errs...) != nil {
		t.Fatalf("send: %v %v", err, errs)
	}
	group := unique("kpipe-it-run")
	cons, err := c.Consumer(ctx, group, []string{topic}, kpipe.FromEarliest())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	attempts := map[int]int{}
	handled := map[int]bool{}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- cons.Run(runCtx, func(_ context.Context, m *kpipe.Message) error {
			var v struct{ N int }
			if err := m.Decode(&v); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			attempts[v.N]++
			if poison(v.N) {
				return fmt.Errorf("cannot handle %d", v.N)
			}
			handled[v.N] = true
			return nil
		})
	}()

	// read the DLQ (bytes: the records as they were)
	reader, err := c.Consumer(ctx, unique("kpipe-it-dlq"), []string{dlq}, kpipe.FromEarliest())
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var want []int
	for n := 0; n < total; n++ {
		if poison(n) || garbage(n) {
			want = append(want, n)
		}
	}
	letters := pollN(t, reader, len(want), 60*time.Second)
	for _, l := range letters {
		h := func(k string) string { v, _ := l.Header(k); return string(v) }
		n, _ := strconv.Atoi(string(l.Key[1:]))
		if h("trace") != "t"+strconv.Itoa(n) || h("kpipe.source.topic") != topic || h("kpipe.source.offset") == "" || h("kpipe.source.partition") == "" {
			t.Errorf("dead letter %d headers: %v", n, l.Headers)
		}
		if garbage(n) {
			if h("kpipe.attempts") != "0" || h("kpipe.error.code") != "serde.decode" || string(l.Value) != "{not json" {
				t.Errorf("undecodable %d: attempts %s code %s value %q", n, h("kpipe.attempts"), h("kpipe.error.code"), l.Value)
			}
		} else if h("kpipe.attempts") != "3" || h("kpipe.error.code") != "handler.failed" || h("kpipe.error.message") != fmt.Sprintf("handler failed: cannot handle %d", n) ||
			string(l.Value) != fmt.Sprintf(`{"n":%d}`, n) {
			t.Errorf("poison %d: attempts %s code %s msg %q value %q", n, h("kpipe.attempts"), h("kpipe.error.code"), h("kpipe.error.message"), l.Value)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(handled)
		mu.Unlock()
		if n == total-len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	mu.Lock()
	for n := 0; n < total; n++ {
		switch {
		case garbage(n) && attempts[n] != 0, poison(n) && attempts[n] != 3, !poison(n) && !garbage(n) && (attempts[n] != 1 || !handled[n]):
			t.Errorf("record %d: %d attempts, handled %v", n, attempts[n], handled[n])
		}
	}
	mu.Unlock()
	if err := cons.Close(); err != nil {
		t.Fatal(err)
	}
	// everything was committed: the group's offsets cover all records
	exp, err := c.ExportOffsets(ctx, "business", group, topic)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, o := range exp.Offsets {
		if o.Offset != nil {
			sum += *o.Offset
		}
	}
	if sum != total {
		t.Fatalf("committed offsets sum to %d, want %d: %+v", sum, total, exp.Offsets)
	}
}
