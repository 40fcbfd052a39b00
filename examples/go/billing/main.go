// billing: the demo story's billing service (make demo). It consumes Order records with the
// core's run loop: each order is "billed" (one printed line), a record that cannot be decoded
// goes to the DLQ with the kpipe.* headers (consumer.dlq in kpipe.yaml), and offsets are
// committed after handling (at-least-once). It stops after --max orders, after --idle without
// a record, or on Ctrl-C, committing what it handled.
//
//	cd examples/go && go run ./billing --config ../../kpipe.yaml --topic orders.demo --group billing
//
// Output: `billed order_id=... amount=... CNY <- orders.demo p1@7`, then `billing done billed=N`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

// Order is the part of examples/order.avsc billing reads (decoding ignores the other fields).
type Order struct {
	OrderID kpipe.UUID    `json:"order_id"`
	Amount  kpipe.Decimal `json:"amount"`
	Status  string        `json:"status"`
	// Currency is required by every version of the schema.
	Currency string  `json:"currency"`
	Coupon   *string `json:"coupon"` // added by version 2 (default null)
}

func main() {
	config := flag.String("config", "kpipe.yaml", "kpipe.yaml")
	topic := flag.String("topic", "orders.demo", "topic to bill from (routed by kpipe.yaml)")
	group := flag.String("group", "billing", "consumer group")
	max := flag.Int("max", 0, "stop after this many orders (0: no limit)")
	idle := flag.Duration("idle", 5*time.Second, "stop after this long without a record")
	flag.Parse()
	if err := run(*config, *topic, *group, *max, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "billing:", err)
		os.Exit(1)
	}
}

func run(config, topic, group string, max int, idle time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	client, err := kpipe.Open(config)
	if err != nil {
		return err
	}
	defer client.Close()
	// the value is read with the subject's latest schema: version 2 records and version 1
	// records (coupon filled with its default) decode alike
	if err := client.SetTopicSerde(topic, kpipe.TopicSerde{Key: kpipe.String(), Value: kpipe.AvroLatest()}); err != nil {
		return err
	}
	consumer, err := client.Consumer(ctx, group, []string{topic}, kpipe.FromCommitted())
	if err != nil {
		return err
	}
	defer consumer.Close()

	var last atomic.Int64 // when the last record arrived (unix ns)
	last.Store(time.Now().UnixNano())
	go func() {
		for ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			if time.Since(time.Unix(0, last.Load())) > idle {
				cancel()
			}
		}
	}()
	billed := 0
	err = consumer.Run(ctx, func(ctx context.Context, msg *kpipe.Message) error {
		last.Store(time.Now().UnixNano())
		var o Order
		if err := msg.Decode(&o); err != nil {
			return err
		}
		coupon := ""
		if o.Coupon != nil {
			coupon = " coupon=" + *o.Coupon
		}
		fmt.Printf("billed order_id=%s amount=%s %s%s <- %s p%d@%d\n", o.OrderID, o.Amount, o.Currency, coupon,
			msg.Topic, msg.Partition, msg.Offset)
		billed++
		if max > 0 && billed >= max {
			cancel() // Run commits this record and returns
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("billing done billed=%d\n", billed)
	return nil
}
