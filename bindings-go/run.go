package kpipe

/*
#include "kpipe.h"
*/
import "C"

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// Handler handles one decoded record. Returning an error fails this attempt: the core retries
// it (consumer.max_attempts, exponential backoff from consumer.backoff_ms) and then writes the
// record to the DLQ (consumer.dlq) with the kpipe.* headers (docs/client.md).
type Handler func(ctx context.Context, msg *Message) error

// Run calls h for every record until ctx is done or the consumer is closed (then it returns
// nil, having committed what was handled), or until an error stops the loop (a DLQ write
// failed or no DLQ is configured: the record stays uncommitted). The retry and dead-letter
// decisions are the core's (the same in every binding); Run only calls h and waits. A record
// whose key or value cannot be decoded goes to the DLQ without calling h. Call Run from one
// goroutine at a time.
func (c *Consumer) Run(ctx context.Context, h Handler) error {
	c.dropAll()
	for {
		if ctx.Err() != nil {
			return c.finishRun()
		}
		var hp *C.kpipe_handling
		var view C.kpipe_message_view
		var msg *Message
		err := c.with(func(p *C.kpipe_consumer) error {
			var e *C.kpipe_error
			switch C.kpipe_consumer_next(p, C.int64_t(sliceOf(ctx)/time.Millisecond), &hp, &view, &e) {
			case C.KPIPE_OK:
				msg = c.message(&view)
			case C.KPIPE_TIMEOUT:
			default:
				return takeError(e)
			}
			return nil
		})
		if errors.Is(err, ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		if msg == nil {
			continue
		}
		stop, err := func() (bool, error) {
			defer C.kpipe_handling_free(hp) // also when h panics
			return c.handle(ctx, hp, msg, h)
		}()
		if err != nil {
			return err
		}
		if stop {
			return c.finishRun()
		}
	}
}

// handle runs h on one record until it succeeds, is dead-lettered, or ctx is done (stop).
func (c *Consumer) handle(ctx context.Context, hp *C.kpipe_handling, msg *Message, h Handler) (stop bool, err error) {
	for {
		herr := h(ctx, msg)
		var rc C.int32_t
		var after C.int64_t
		var attempt C.uint32_t
		err := c.with(func(p *C.kpipe_consumer) error {
			var e *C.kpipe_error
			if herr == nil {
				rc = C.kpipe_handling_complete(p, hp, &e)
			} else {
				text := herr.Error()
				rc = C.kpipe_handling_fail(p, hp, strPtr(text), C.size_t(len(text)), &after, &attempt, &e)
				runtime.KeepAlive(text)
			}
			if rc == C.KPIPE_ERROR {
				return takeError(e)
			}
			return nil
		})
		if err != nil {
			return false, err
		}
		if rc != C.KPIPE_RETRY {
			return false, nil
		}
		t := time.NewTimer(time.Duration(after) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return true, nil // not acked: the record is delivered again later
		case <-t.C:
		}
	}
}

func (c *Consumer) finishRun() error {
	err := c.with(func(p *C.kpipe_consumer) error {
		var e *C.kpipe_error
		C.kpipe_consumer_finish_run(p, &e)
		return takeError(e)
	})
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}
