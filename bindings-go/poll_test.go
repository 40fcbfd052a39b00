package kpipe_test

import (
	"errors"
	"testing"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

// Poll takes many fetched records per crossing and hands them out one by one: order per
// partition, every record once, a Seek drops what was taken but not handed out, and records
// taken but never handed out (Close) are not committed.
func TestPollBatchesKeepOrderSeekAndCommits(t *testing.T) {
	c := openClient(t, "consumer: { commit: after-handle }\n")
	topic := unique("kpipe.it.pollbatch")
	if err := c.SetTopicSerde(topic, kpipe.TopicSerde{Key: kpipe.String(), Value: kpipe.JSON()}); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 90*time.Second)
	const n = 300
	recs := make([]kpipe.Record, n)
	for i := range recs {
		recs[i] = kpipe.Record{Topic: topic, Key: "same", Value: map[string]int{"i": i}} // one partition
	}
	_, errs, err := c.Producer().SendMany(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		if e != nil {
			t.Fatal(e)
		}
	}
	group := unique("kpipe-it-pollbatch")
	// one record handed out and handled, the rest of the crossing's records queued: Close
	// commits only the handled one
	cons, err := c.Consumer(ctx, group, []string{topic}, kpipe.FromEarliest())
	if err != nil {
		t.Fatal(err)
	}
	first := pollN(t, cons, 1, 60*time.Second)[0]
	if err := cons.Ack(first); err != nil {
		t.Fatal(err)
	}
	if err := cons.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cons.Poll(ctx); !errors.Is(err, kpipe.ErrClosed) {
		t.Fatalf("Poll after Close: %v", err)
	}
	cons2, err := c.Consumer(ctx, group, []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	defer cons2.Close()
	part := first.Partition
	check := func(msgs []*kpipe.Message, from int) {
		t.Helper()
		for j, m := range msgs {
			i := from + j
			var v struct{ I int }
			if err := m.Decode(&v); err != nil || v.I != i || m.Partition != part || m.Offset != first.Offset+int64(i) {
				t.Fatalf("record %d: %+v %v (offset %d, first %d)", i, v, err, m.Offset, first.Offset)
			}
		}
	}
	check(pollN(t, cons2, 20, 60*time.Second), 1)
	// a Seek back while Poll holds more records: the next Poll starts there
	if err := cons2.Seek(topic, part, first.Offset+10); err != nil {
		t.Fatal(err)
	}
	check(pollN(t, cons2, n-10, 60*time.Second), 10)
	// a Seek while another goroutine's Poll waits (nothing left to read) returns promptly, and
	// that Poll then gets the record sought
	got := make(chan *kpipe.Message, 1)
	go func() {
		m, err := cons2.Poll(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- m
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := cons2.Seek(topic, part, first.Offset+5); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Seek waited %v for the Poll", d)
	}
	if m := <-got; m == nil || m.Offset != first.Offset+5 {
		t.Fatalf("after seek during Poll: %+v", m)
	}
}
