package kpipe_test

import (
	"errors"
	"testing"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

func TestOffsetsExportImportResetForTimeAndMigrationPlan(t *testing.T) {
	c := openClient(t, "")
	topic := unique("kpipe.it.offsets")
	ctx := ctxFor(t, 60*time.Second)
	p := c.Producer()
	start := time.Now().Add(-time.Minute)
	var recs []kpipe.Record
	for i := 0; i < 10; i++ {
		recs = append(recs, kpipe.Record{Topic: topic, Value: []byte{byte(i)}, Timestamp: start.Add(time.Duration(i) * time.Second)})
	}
	if _, errs, err := p.SendMany(ctx, recs); err != nil || errors.Join(errs...) != nil {
		t.Fatal(err, errs)
	}
	ft, err := c.OffsetsForTime(ctx, "business", topic, start.Add(5*time.Second))
	if err != nil || len(ft) == 0 {
		t.Fatalf("for time: %v %v", ft, err)
	}
	group := unique("kpipe-it-offsets")
	cons, err := c.Consumer(ctx, group, []string{topic}, kpipe.FromEarliest())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range pollN(t, cons, 10, 30*time.Second) {
		if err := cons.Ack(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := cons.Commit(nil); err != nil {
		t.Fatal(err)
	}
	// the group is active: a reset is refused unless forced
	if _, err := c.ResetOffsets(ctx, "business", group, []string{topic}, kpipe.ResetEarliest, false, false); !errors.Is(err, kpipe.ErrOffsetsGroupActive) {
		t.Fatalf("want offsets.group_active, got %v", err)
	}
	if err := cons.Close(); err != nil {
		t.Fatal(err)
	}
	exp, err := c.ExportOffsets(ctx, "business", group)
	if err != nil || len(exp.Offsets) == 0 || exp.Group != group {
		t.Fatalf("export: %+v %v", exp, err)
	}
	dry, err := c.ResetOffsets(ctx, "business", group, []string{topic}, kpipe.ResetToTime(start.Add(5*time.Second)), false, true)
	if err != nil || len(dry) == 0 {
		t.Fatalf("dry run: %v %v", dry, err)
	}
	changes, err := c.ResetOffsets(ctx, "business", group, []string{topic}, kpipe.ResetEarliest, false, false)
	if err != nil || len(changes) == 0 {
		t.Fatalf("reset: %v %v", changes, err)
	}
	for _, ch := range changes {
		if ch.After != 0 {
			t.Errorf("reset to earliest: %+v", ch)
		}
	}
	back, err := c.ImportOffsets(ctx, "business", exp, "", false)
	if err != nil || len(back) != len(exp.Offsets) {
		t.Fatalf("import: %v %v", back, err)
	}
	// a plan to a cluster without the topic reports the problem and applies nothing
	res, err := c.PlanMigration(ctx, kpipe.MigrateRequest{Source: "business", Target: "offline", Group: group, Topics: []string{topic}})
	if err != nil || len(res.Plan) == 0 || res.Rollback != nil {
		t.Fatalf("plan: %+v %v", res, err)
	}
	if _, err := c.ApplyMigration(ctx, kpipe.MigrateRequest{Source: "business", Target: "offline", Group: group, Topics: []string{topic}}); !errors.Is(err, kpipe.ErrOffsetsPartitionMismatch) {
		t.Fatalf("apply: want offsets.partition_mismatch, got %v", err)
	}
	if _, err := c.ExportOffsets(ctx, "nope", group); !errors.Is(err, kpipe.ErrConfigInvalid) {
		t.Fatalf("unknown cluster: %v", err)
	}
}
