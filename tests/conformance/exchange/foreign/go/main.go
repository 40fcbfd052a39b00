// The "confluent-go" foreign agent of the exchange test (../../README.md): the same protocol as
// the kpipe agents, written with confluent-kafka-go and its schema registry Avro serde (avrov2,
// hamba/avro underneath) the way a user of that client writes it.
//
//	agent produce CONFIG TOPIC ORDERS LANG
//	agent consume CONFIG TOPICS COUNT GROUP
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/avrov2"
)

// amountScale is the scale of order.avsc's amount decimal.
const amountScale = 2

// idleTimeout: consume gives up when nothing arrives for this long.
const idleTimeout = 30 * time.Second

type Item struct {
	SKU       string  `json:"sku" avro:"sku"`
	Qty       int32   `json:"qty" avro:"qty"`
	UnitPrice float64 `json:"unit_price" avro:"unit_price"`
}

// Order is tests/conformance/schemas/order.avsc as hamba/avro wants it.
type Order struct {
	OrderID    string            `avro:"order_id"`
	CustomerID int64             `avro:"customer_id"`
	CreatedAt  time.Time         `avro:"created_at"`
	Status     string            `avro:"status"`
	Amount     *big.Rat          `avro:"amount"`
	Currency   string            `avro:"currency"`
	City       string            `avro:"city"`
	VehicleVIN *string           `avro:"vehicle_vin"`
	MileageKm  int32             `avro:"mileage_km"`
	PriceScore float64           `avro:"price_score"`
	Items      []Item            `avro:"items"`
	Attributes map[string]string `avro:"attributes"`
}

// NaturalOrder is an Order in the protocol's natural JSON.
type NaturalOrder struct {
	OrderID    string            `json:"order_id"`
	CustomerID int64             `json:"customer_id"`
	CreatedAt  int64             `json:"created_at"`
	Status     string            `json:"status"`
	Amount     string            `json:"amount"`
	Currency   string            `json:"currency"`
	City       string            `json:"city"`
	VehicleVIN *string           `json:"vehicle_vin"`
	MileageKm  int32             `json:"mileage_km"`
	PriceScore float64           `json:"price_score"`
	Items      []Item            `json:"items"`
	Attributes map[string]string `json:"attributes"`
}

func (n *NaturalOrder) toOrder() (Order, error) {
	amount, ok := new(big.Rat).SetString(n.Amount)
	if !ok {
		return Order{}, fmt.Errorf("amount %q is not a decimal", n.Amount)
	}
	return Order{n.OrderID, n.CustomerID, time.UnixMilli(n.CreatedAt).UTC(), n.Status, amount, n.Currency,
		n.City, n.VehicleVIN, n.MileageKm, n.PriceScore, n.Items, n.Attributes}, nil
}

func fromOrder(o *Order) *NaturalOrder {
	n := &NaturalOrder{o.OrderID, o.CustomerID, o.CreatedAt.UnixMilli(), o.Status, o.Amount.FloatString(amountScale),
		o.Currency, o.City, o.VehicleVIN, o.MileageKm, o.PriceScore, o.Items, o.Attributes}
	// hamba leaves an empty array / map nil; the protocol wants [] and {}
	if n.Items == nil {
		n.Items = []Item{}
	}
	if n.Attributes == nil {
		n.Attributes = map[string]string{}
	}
	return n
}

// config is the part of the kpipe.yaml (JSON) this agent needs.
type config struct {
	Clusters struct {
		Business struct {
			Bootstrap string `json:"bootstrap"`
		} `json:"business"`
	} `json:"clusters"`
	Registry struct {
		URL string `json:"url"`
	} `json:"registry"`
	Serializers []struct {
		Schema string `json:"schema"`
	} `json:"serializers"`
}

func readConfig(path string) (*config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Clusters.Business.Bootstrap == "" || c.Registry.URL == "" || len(c.Serializers) == 0 {
		return nil, fmt.Errorf("%s: needs clusters.business.bootstrap, registry.url and serializers[0].schema", path)
	}
	return &c, nil
}

func main() {
	a := os.Args[1:]
	var err error
	switch {
	case len(a) == 5 && a[0] == "produce":
		err = produce(a[1], a[2], a[3], a[4])
	case len(a) == 5 && a[0] == "consume":
		var n int
		if n, err = strconv.Atoi(a[3]); err == nil {
			err = consume(a[1], strings.Split(a[2], ","), n, a[4])
		}
	default:
		err = errors.New("usage: agent produce CONFIG TOPIC ORDERS LANG | consume CONFIG TOPICS COUNT GROUP")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "confluent-go agent:", err)
		os.Exit(1)
	}
}

// send produces one message and waits for its delivery report.
func send(p *kafka.Producer, msg *kafka.Message) error {
	dr := make(chan kafka.Event, 1)
	if err := p.Produce(msg, dr); err != nil {
		return err
	}
	m := (<-dr).(*kafka.Message)
	return m.TopicPartition.Error
}

func produce(configPath, topic, ordersPath, lang string) error {
	cfg, err := readConfig(configPath)
	if err != nil {
		return err
	}
	schema, err := os.ReadFile(cfg.Serializers[0].Schema)
	if err != nil {
		return err
	}
	sr, err := schemaregistry.NewClient(schemaregistry.NewConfig(cfg.Registry.URL))
	if err != nil {
		return err
	}
	if _, err := sr.Register(topic+"-value", schemaregistry.SchemaInfo{Schema: string(schema)}, false); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	// avrov2 would otherwise derive a schema from the struct (no enum, no logical types, no
	// namespace) and register that: serialize with the registered, hand-written one instead.
	sconf := avrov2.NewSerializerConfig()
	sconf.AutoRegisterSchemas = false
	sconf.UseLatestVersion = true
	ser, err := avrov2.NewSerializer(sr, serde.ValueSerde, sconf)
	if err != nil {
		return err
	}
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": cfg.Clusters.Business.Bootstrap, "acks": "all"})
	if err != nil {
		return err
	}
	defer p.Close()

	f, err := os.Open(ordersPath)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var first *Order
	for seq := 0; sc.Scan(); seq++ {
		var n NaturalOrder
		if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
			return fmt.Errorf("line %d: %w", seq+1, err)
		}
		o, err := n.toOrder()
		if err != nil {
			return fmt.Errorf("line %d: %w", seq+1, err)
		}
		if first == nil {
			first = &o
		}
		value, err := ser.Serialize(topic, &o)
		if err != nil {
			return fmt.Errorf("serialize %d: %w", seq, err)
		}
		err = send(p, &kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            []byte(o.OrderID),
			Value:          value,
			Headers: []kafka.Header{
				{Key: "src", Value: []byte(lang)},
				{Key: "seq", Value: []byte(strconv.Itoa(seq))},
				{Key: "empty", Value: []byte{}},
				{Key: "none", Value: nil}, // nil is sent as a null header value, []byte{} as an empty one
			},
			Timestamp: o.CreatedAt,
		})
		if err != nil {
			return fmt.Errorf("send %d: %w", seq, err)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if first == nil {
		return fmt.Errorf("%s: no orders", ordersPath)
	}
	err = send(p, &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte("tombstone-" + lang),
		Headers:        []kafka.Header{{Key: "src", Value: []byte(lang)}, {Key: "seq", Value: []byte("tombstone")}},
	})
	if err != nil {
		return fmt.Errorf("tombstone: %w", err)
	}

	// the bad record: a typed struct cannot hold a string mileage, so a generic map (the other
	// fields as hamba wants them, so that mileage_km is what fails)
	bad := map[string]any{
		"order_id": first.OrderID, "customer_id": first.CustomerID, "created_at": first.CreatedAt,
		"status": first.Status, "amount": first.Amount, "currency": first.Currency, "city": first.City,
		"vehicle_vin": first.VehicleVIN, "mileage_km": "many", "price_score": first.PriceScore,
		"items": first.Items, "attributes": first.Attributes,
	}
	out := map[string]any{"error": nil}
	if value, err := ser.Serialize(topic, &bad); err != nil {
		out["error"] = map[string]string{"code": "foreign", "message": err.Error()}
	} else {
		err = send(p, &kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            []byte(first.OrderID),
			Value:          value,
		})
		if err != nil {
			return fmt.Errorf("bad record: %w", err)
		}
	}
	if n := p.Flush(30_000); n > 0 {
		return fmt.Errorf("%d messages still unsent after flush", n)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

type seen struct {
	Topic     string        `json:"topic"`
	Partition int32         `json:"partition"`
	Offset    int64         `json:"offset"`
	Timestamp *int64        `json:"timestamp"`
	Key       *string       `json:"key"`
	Raw       *string       `json:"raw"`
	Headers   [][]*string   `json:"headers"`
	Value     *NaturalOrder `json:"value"`
}

func consume(configPath string, topics []string, count int, group string) error {
	cfg, err := readConfig(configPath)
	if err != nil {
		return err
	}
	sr, err := schemaregistry.NewClient(schemaregistry.NewConfig(cfg.Registry.URL))
	if err != nil {
		return err
	}
	deser, err := avrov2.NewDeserializer(sr, serde.ValueSerde, avrov2.NewDeserializerConfig())
	if err != nil {
		return err
	}
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":  cfg.Clusters.Business.Bootstrap,
		"group.id":           group,
		"auto.offset.reset":  "earliest",
		"enable.auto.commit": false,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SubscribeTopics(topics, nil); err != nil {
		return err
	}

	left := map[string]int{}
	for _, t := range topics {
		left[t] = count
	}
	pending := len(topics)
	if count <= 0 {
		pending = 0
	}
	out := json.NewEncoder(os.Stdout)
	last := time.Now()
	for pending > 0 {
		m, err := c.ReadMessage(time.Second)
		if err != nil {
			var ke kafka.Error
			if errors.As(err, &ke) && ke.IsTimeout() {
				if time.Since(last) > idleTimeout {
					return fmt.Errorf("nothing for %s, still waiting for %v", idleTimeout, left)
				}
				continue
			}
			if errors.As(err, &ke) && !ke.IsFatal() {
				fmt.Fprintln(os.Stderr, "confluent-go agent: consumer:", err) // librdkafka retries these
				continue
			}
			return err
		}
		last = time.Now()
		topic := *m.TopicPartition.Topic
		s := seen{Topic: topic, Partition: m.TopicPartition.Partition, Offset: int64(m.TopicPartition.Offset),
			Headers: [][]*string{}}
		if m.TimestampType != kafka.TimestampNotAvailable {
			ms := m.Timestamp.UnixMilli()
			s.Timestamp = &ms
		}
		if m.Key != nil {
			k := string(m.Key)
			s.Key = &k
		}
		if m.Value != nil {
			h := hex.EncodeToString(m.Value)
			s.Raw = &h
			var o Order
			if err := deser.DeserializeInto(topic, m.Value, &o); err != nil {
				return fmt.Errorf("%s %d@%d: %w", topic, s.Partition, s.Offset, err)
			}
			s.Value = fromOrder(&o)
		}
		for _, h := range m.Headers {
			key := h.Key
			var v *string
			if h.Value != nil {
				x := hex.EncodeToString(h.Value)
				v = &x
			}
			s.Headers = append(s.Headers, []*string{&key, v})
		}
		if err := out.Encode(s); err != nil {
			return err
		}
		if _, err := c.CommitMessage(m); err != nil {
			return fmt.Errorf("commit %s %d@%d: %w", topic, s.Partition, s.Offset, err)
		}
		if n, ok := left[topic]; ok {
			left[topic] = n - 1
			if n == 1 {
				pending--
			}
		}
	}
	return nil
}
