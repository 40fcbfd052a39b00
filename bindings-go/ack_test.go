package kpipe_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

// The one acknowledgement semantics, scenario by scenario as every binding runs them
// (tests/conformance/ack.json; the Python runner is bindings-python/tests/test_ack.py).
func TestAckScenarios(t *testing.T) {
	raw, err := os.ReadFile("../tests/conformance/ack.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Scenarios []struct {
			Name     string
			Ack      string
			Records  int
			Steps    []string
			ResumeAt int64 `json:"resume_at"`
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	c := openClient(t, "")
	for _, sc := range doc.Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := ctxFor(t, 90*time.Second)
			topic := unique("kpipe.it.ack")
			recs := make([]kpipe.Record, sc.Records)
			for i := range recs {
				recs[i] = kpipe.Record{Topic: topic, Key: []byte("one-partition"), Value: []byte(strconv.Itoa(i))}
			}
			if _, errs, err := c.Producer().SendMany(ctx, recs); err != nil {
				t.Fatal(err)
			} else {
				for _, e := range errs {
					if e != nil {
						t.Fatal(e)
					}
				}
			}
			group := unique("kpipe-it-ack")
			cons, err := c.Consumer(ctx, group, []string{topic}, kpipe.FromEarliest(), kpipe.WithCommit("manual"), kpipe.WithAck(sc.Ack))
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Close()
			var polled []*kpipe.Message
			for _, step := range sc.Steps {
				switch {
				case step == "poll":
					m := pollN(t, cons, 1, 30*time.Second)[0]
					if len(polled) > 0 && m.Offset != polled[len(polled)-1].Offset+1 {
						t.Fatalf("offset %d after %d", m.Offset, polled[len(polled)-1].Offset)
					}
					polled = append(polled, m)
				case strings.HasPrefix(step, "ack:"):
					i, _ := strconv.Atoi(step[4:])
					if err := cons.Ack(polled[i]); err != nil {
						t.Fatal(err)
					}
				case step == "commit":
					if err := cons.Commit(nil); err != nil {
						t.Fatal(err)
					}
				case strings.HasPrefix(step, "run:"):
					left, _ := strconv.Atoi(step[4:])
					rctx, cancel := context.WithCancel(ctx)
					err := cons.Run(rctx, func(_ context.Context, _ *kpipe.Message) error {
						left--
						if left == 0 {
							cancel()
						}
						return nil
					})
					cancel()
					if err != nil {
						t.Fatal(err)
					}
				case step == "close":
					if err := cons.Close(); err != nil {
						t.Fatal(err)
					}
				default:
					t.Fatalf("unknown step %s", step)
				}
			}
			again, err := c.Consumer(ctx, group, []string{topic})
			if err != nil {
				t.Fatal(err)
			}
			defer again.Close()
			if m := pollN(t, again, 1, 30*time.Second)[0]; m.Offset != sc.ResumeAt {
				t.Fatalf("resumed at %d, want %d", m.Offset, sc.ResumeAt)
			}
		})
	}
}
