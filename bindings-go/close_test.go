package kpipe_test

import (
	"context"
	"errors"
	"testing"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

// Client.Close closes what the client created: a goroutine blocked in Poll (no deadline)
// returns ErrClosed and one blocked in Run returns nil, within a bound; later calls on the
// consumer fail closed.
func TestClientCloseWakesBlockedPollAndRun(t *testing.T) {
	c, err := kpipe.OpenConfig(testYAML(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	topic := unique("kpipe.it.close")
	ctx := ctxFor(t, 60*time.Second)
	polled, err := c.Consumer(ctx, unique("g"), []string{topic}, kpipe.FromEarliest())
	if err != nil {
		t.Fatal(err)
	}
	ran, err := c.Consumer(ctx, unique("g"), []string{topic}, kpipe.FromEarliest())
	if err != nil {
		t.Fatal(err)
	}
	pollDone := make(chan error, 1)
	runDone := make(chan error, 1)
	go func() {
		for {
			_, err := polled.Poll(context.Background()) // nothing arrives: blocks until closed
			var ke *kpipe.Error
			if errors.As(err, &ke) && ke.Retriable {
				continue // the topic does not exist yet
			}
			pollDone <- err
			return
		}
	}()
	go func() {
		runDone <- ran.Run(context.Background(), func(context.Context, *kpipe.Message) error { return nil })
	}()
	time.Sleep(1500 * time.Millisecond) // both are waiting in the core now
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for name, ch := range map[string]chan error{"Poll": pollDone, "Run": runDone} {
		select {
		case err := <-ch:
			if name == "Poll" && !errors.Is(err, kpipe.ErrClosed) {
				t.Fatalf("Poll after client close: want closed, got %v", err)
			}
			if name == "Run" && err != nil {
				t.Fatalf("Run after client close: want nil, got %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still blocked 10 s after client.Close()", name)
		}
	}
	t.Logf("woken %v after close", time.Since(start))
	if _, err := polled.Poll(ctx); !errors.Is(err, kpipe.ErrClosed) {
		t.Fatalf("poll on a consumer of a closed client: want closed, got %v", err)
	}
	if err := polled.Close(); err != nil {
		t.Fatalf("consumer close after client close: %v", err)
	}
	ran.Close()
}
