package kpipe_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

// stackEnv reads the local stack's addresses (`eval "$(dev/stack env)"`); a missing one fails
// the test loudly (never a silent skip).
func stackEnv(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range []string{"KPIPE_BUSINESS_BOOTSTRAP", "KPIPE_ONLINE_BOOTSTRAP", "KPIPE_OFFLINE_BOOTSTRAP", "KPIPE_REGISTRY_URL"} {
		v := os.Getenv(k)
		if v == "" {
			t.Fatalf("%s is not set: start the stack and export its addresses (set -a; eval \"$(dev/stack env)\"; set +a)", k)
		}
		out[k] = v
	}
	return out
}

// testYAML is kpipe.yaml for the local stack: orders.* -> online, everything else ->
// business; extra sections are appended.
func testYAML(t testing.TB, extra string) string {
	e := stackEnv(t)
	return fmt.Sprintf(`clusters:
  business: { bootstrap: %q }
  online:   { bootstrap: %q }
  offline:  { bootstrap: %q }
registry: { url: %q, retry: { deadline_ms: 3000 } }
routes:
  - { topic: "orders.*", cluster: online }
  - { topic: "*", cluster: business }
%s`, e["KPIPE_BUSINESS_BOOTSTRAP"], e["KPIPE_ONLINE_BOOTSTRAP"], e["KPIPE_OFFLINE_BOOTSTRAP"], e["KPIPE_REGISTRY_URL"], extra)
}

func openClient(t testing.TB, extra string) *kpipe.Client {
	t.Helper()
	c, err := kpipe.OpenConfig(testYAML(t, extra))
	if err != nil {
		t.Fatalf("OpenConfig: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var seq atomic.Int64

// unique is a topic or group name no other run uses.
func unique(prefix string) string {
	return fmt.Sprintf("%s.go.%d.%d.%d", prefix, os.Getpid(), time.Now().UnixNano()%1_000_000_000, seq.Add(1))
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// pollN polls until n messages arrived (fails the test at the deadline).
func pollN(t testing.TB, c *kpipe.Consumer, n int, d time.Duration) []*kpipe.Message {
	t.Helper()
	ctx := ctxFor(t, d)
	var out []*kpipe.Message
	for len(out) < n {
		m, err := c.Poll(ctx)
		var ke *kpipe.Error
		if errors.As(err, &ke) && ke.Retriable && ctx.Err() == nil {
			continue // e.g. the topic is not created yet
		}
		if err != nil {
			t.Fatalf("poll after %d of %d messages: %v", len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}
