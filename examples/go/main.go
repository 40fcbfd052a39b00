// kpipe-demo-consumer: the Go half of the demo scenario. A producer in another language (the
// Python example) writes Order records (examples/order.avsc) as registry-aware Avro to a topic
// that kpipe.yaml routes to its cluster; this program subscribes with the same kpipe.yaml,
// decodes each record into a Go struct, prints it, and exits 0 once it has seen --count orders
// (exit 1 when they do not arrive within --timeout).
//
//	make -C bindings-go   # builds the static library once
//	cd examples/go && go run . --config ../../kpipe.yaml --topic orders.demo --count 2
//
// --run-id N counts only records whose "kpipe.demo.run" header is N (the producer sets it), so
// reruns against the same topic do not see earlier runs' orders.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

// Order is examples/order.avsc as a Go struct: uuid, decimal and timestamp-millis decode into
// kpipe.UUID, kpipe.Decimal and time.Time.
type Order struct {
	OrderID    kpipe.UUID        `json:"order_id"`
	CustomerID int64             `json:"customer_id"`
	CreatedAt  time.Time         `json:"created_at"`
	Status     string            `json:"status"`
	Amount     kpipe.Decimal     `json:"amount"`
	Currency   string            `json:"currency"`
	City       string            `json:"city"`
	VehicleVIN *string           `json:"vehicle_vin"`
	MileageKm  int32             `json:"mileage_km"`
	PriceScore float64           `json:"price_score"`
	Items      []Item            `json:"items"`
	Attributes map[string]string `json:"attributes"`
}

type Item struct {
	SKU       string  `json:"sku"`
	Qty       int32   `json:"qty"`
	UnitPrice float64 `json:"unit_price"`
}

func main() {
	config := flag.String("config", "kpipe.yaml", "kpipe.yaml (the same file every language uses)")
	topic := flag.String("topic", "orders.demo", "topic to read (routed to its cluster by kpipe.yaml)")
	group := flag.String("group", fmt.Sprintf("kpipe-demo-go-%d", time.Now().UnixNano()), "consumer group")
	count := flag.Int("count", 2, "exit after this many orders")
	runID := flag.String("run-id", "", "count only records whose kpipe.demo.run header equals this")
	from := flag.String("from", "earliest", "where a new group starts: earliest, latest, or an RFC 3339 time")
	timeout := flag.Duration("timeout", 60*time.Second, "give up after this long")
	flag.Parse()
	if err := run(*config, *topic, *group, *count, *runID, *from, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "kpipe-demo-consumer:", err)
		os.Exit(1)
	}
}

func run(config, topic, group string, count int, runID, from string, timeout time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	client, err := kpipe.Open(config)
	if err != nil {
		return err
	}
	defer client.Close()
	// keys are text, values Avro written with whatever schema the producer registered
	if err := client.SetTopicSerde(topic, kpipe.TopicSerde{Key: kpipe.String(), Value: kpipe.AvroLatest()}); err != nil {
		return err
	}
	start := kpipe.FromEarliest()
	switch from {
	case "earliest":
	case "latest":
		start = kpipe.FromLatest()
	default:
		t, err := time.Parse(time.RFC3339, from)
		if err != nil {
			return fmt.Errorf("--from %q: %w", from, err)
		}
		start = kpipe.FromTime(t)
	}
	consumer, err := client.Consumer(ctx, group, []string{topic}, start)
	if err != nil {
		return err
	}
	defer consumer.Close()

	seen := 0
	for seen < count {
		msg, err := consumer.Poll(ctx)
		var ke *kpipe.Error
		if errors.As(err, &ke) && ke.Retriable {
			continue // e.g. the topic does not exist yet
		}
		if err != nil {
			return fmt.Errorf("%d of %d orders seen: %w", seen, count, err)
		}
		if runID != "" {
			if h, _ := msg.Header("kpipe.demo.run"); string(h) != runID {
				_ = consumer.Ack(msg)
				continue
			}
		}
		var o Order
		if err := msg.Decode(&o); err != nil {
			return fmt.Errorf("%s[%d]@%d: %w", msg.Topic, msg.Partition, msg.Offset, err)
		}
		seen++
		skus := make([]string, len(o.Items))
		for i, it := range o.Items {
			skus[i] = fmt.Sprintf("%dx%s", it.Qty, it.SKU)
		}
		fmt.Printf("go read %s[%d]@%d: order %s customer %d %s %s %s at %s from %s items [%s]\n",
			msg.Topic, msg.Partition, msg.Offset, o.OrderID, o.CustomerID, o.Status, o.Amount, o.Currency,
			o.CreatedAt.UTC().Format(time.RFC3339Nano), o.City, strings.Join(skus, " "))
		if err := consumer.Ack(msg); err != nil {
			return err
		}
	}
	if err := consumer.Commit(nil); err != nil {
		return err
	}
	fmt.Printf("go consumer done: %d orders from %s\n", seen, topic)
	return nil
}
