package kpipe

/*
#include "kpipe.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"time"
)

// Offsets operations on one configured cluster (or two, for Migrate). Each call blocks until
// the core finishes (bounded by the core's request timeouts); ctx is checked before the call.

// PartitionOffset is one partition's offset (nil Offset: none committed).
type PartitionOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    *int64 `json:"offset"`
}

// OffsetsExport is a group's committed offsets, as `kpipe offsets export` writes them.
type OffsetsExport struct {
	Cluster    string            `json:"cluster"`
	Group      string            `json:"group"`
	ExportedAt string            `json:"exported_at"`
	Offsets    []PartitionOffset `json:"offsets"`
}

// OffsetChange is one change a reset, import or migration makes.
type OffsetChange struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Before    *int64 `json:"before"`
	After     int64  `json:"after"`
}

// TimeOffset is the first offset of a partition at or after a time.
type TimeOffset struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

type offsetsFn func(*C.kpipe_client, *C.uint8_t, C.size_t, *C.kpipe_buf, **C.kpipe_error) C.int32_t

func (c *Client) offsetsCall(ctx context.Context, fn offsetsFn, req any, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	js, err := json.Marshal(req)
	if err != nil {
		return err
	}
	return c.with(func(p *C.kpipe_client) error {
		var b C.kpipe_buf
		var e *C.kpipe_error
		if fn(p, bytesPtr(js), C.size_t(len(js)), &b, &e) != C.KPIPE_OK {
			return takeError(e)
		}
		return json.Unmarshal(takeBuf(b), out)
	})
}

func forTime(p *C.kpipe_client, r *C.uint8_t, n C.size_t, b *C.kpipe_buf, e **C.kpipe_error) C.int32_t {
	return C.kpipe_offsets_for_time(p, r, n, b, e)
}
func export(p *C.kpipe_client, r *C.uint8_t, n C.size_t, b *C.kpipe_buf, e **C.kpipe_error) C.int32_t {
	return C.kpipe_offsets_export(p, r, n, b, e)
}
func importFn(p *C.kpipe_client, r *C.uint8_t, n C.size_t, b *C.kpipe_buf, e **C.kpipe_error) C.int32_t {
	return C.kpipe_offsets_import(p, r, n, b, e)
}
func reset(p *C.kpipe_client, r *C.uint8_t, n C.size_t, b *C.kpipe_buf, e **C.kpipe_error) C.int32_t {
	return C.kpipe_offsets_reset(p, r, n, b, e)
}
func migrate(p *C.kpipe_client, r *C.uint8_t, n C.size_t, b *C.kpipe_buf, e **C.kpipe_error) C.int32_t {
	return C.kpipe_offsets_migrate(p, r, n, b, e)
}

// OffsetsForTime returns, per partition of topic on cluster, the earliest offset whose
// timestamp is >= t (the end offset when there is none).
func (c *Client) OffsetsForTime(ctx context.Context, cluster, topic string, t time.Time) ([]TimeOffset, error) {
	var out []TimeOffset
	err := c.offsetsCall(ctx, forTime, map[string]any{"cluster": cluster, "topic": topic, "time": t.UnixMilli()}, &out)
	return out, err
}

// ExportOffsets returns group's committed offsets on cluster (of topics; all when empty).
func (c *Client) ExportOffsets(ctx context.Context, cluster, group string, topics ...string) (*OffsetsExport, error) {
	req := map[string]any{"cluster": cluster, "group": group}
	if len(topics) > 0 {
		req["topics"] = topics
	}
	var out OffsetsExport
	if err := c.offsetsCall(ctx, export, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ImportOffsets commits an export's offsets on cluster for group (the export's group when
// empty). Refuses with ErrOffsetsGroupActive while the group has members, unless force.
func (c *Client) ImportOffsets(ctx context.Context, cluster string, doc *OffsetsExport, group string, force bool) ([]OffsetChange, error) {
	req := map[string]any{"cluster": cluster, "export": doc, "force": force}
	if group != "" {
		req["group"] = group
	}
	var out []OffsetChange
	err := c.offsetsCall(ctx, importFn, req, &out)
	return out, err
}

// ResetTarget is where ResetOffsets puts a group: ResetEarliest, ResetLatest, ResetToTime or
// ResetToOffsets.
type ResetTarget struct{ v any }

var (
	ResetEarliest = ResetTarget{"earliest"}
	ResetLatest   = ResetTarget{"latest"}
)

// ResetToTime: the earliest offset whose timestamp is >= t.
func ResetToTime(t time.Time) ResetTarget { return ResetTarget{map[string]any{"time": t.UnixMilli()}} }

// ResetToOffsets: explicit offsets by partition (of every topic given).
func ResetToOffsets(byPartition map[int32]int64) ResetTarget {
	list := make([][2]int64, 0, len(byPartition))
	for p, o := range byPartition {
		list = append(list, [2]int64{int64(p), o})
	}
	return ResetTarget{map[string]any{"offsets": list}}
}

// ResetOffsets moves group on topics of cluster to `to`; with dryRun it only reports the
// changes. Refuses with ErrOffsetsGroupActive while the group has members, unless force.
func (c *Client) ResetOffsets(ctx context.Context, cluster, group string, topics []string, to ResetTarget, force, dryRun bool) ([]OffsetChange, error) {
	req := map[string]any{"cluster": cluster, "group": group, "topics": topics, "to": to.v, "force": force, "dry_run": dryRun}
	var out []OffsetChange
	err := c.offsetsCall(ctx, reset, req, &out)
	return out, err
}

// MigrateRequest moves a consumer group from Source to Target (DESIGN.md, "Offsets and
// cluster migration").
type MigrateRequest struct {
	Source      string   `json:"source"`
	Target      string   `json:"target"`
	Group       string   `json:"group"`
	Topics      []string `json:"topics,omitempty"`
	Strategy    string   `json:"strategy,omitempty"` // "timestamp" (default) or "checkpoint"
	SourceAlias string   `json:"source_alias,omitempty"`
	Force       bool     `json:"force"`
}

// MigrationResult is the plan and, once applied, the rollback document (the target's previous
// offsets: keep it to undo) and the changes.
type MigrationResult struct {
	Plan     json.RawMessage `json:"plan"` // partitions with status and note; see docs/cli.md
	Rollback *OffsetsExport  `json:"rollback"`
	Changes  []OffsetChange  `json:"changes"`
}

// PlanMigration plans the move and changes nothing.
func (c *Client) PlanMigration(ctx context.Context, req MigrateRequest) (*MigrationResult, error) {
	return c.migrate(ctx, req, false)
}

// ApplyMigration plans and applies the move; refuses with ErrOffsetsGroupActive or
// ErrOffsetsPartitionMismatch unless req.Force.
func (c *Client) ApplyMigration(ctx context.Context, req MigrateRequest) (*MigrationResult, error) {
	return c.migrate(ctx, req, true)
}

func (c *Client) migrate(ctx context.Context, req MigrateRequest, apply bool) (*MigrationResult, error) {
	body := struct {
		MigrateRequest
		Apply bool `json:"apply"`
	}{req, apply}
	var out MigrationResult
	if err := c.offsetsCall(ctx, migrate, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
