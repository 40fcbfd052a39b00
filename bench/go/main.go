// kpipe-go vs confluent-kafka-go + its schemaregistry avro serde (avrov2, hamba/avro), per
// ../../BENCH-PROTOCOL.md (shared folder): same broker (business cluster), same N Order records
// from gen_order.py (unmarshalled to Go values before the clock starts), a fresh 6-partition
// topic per case, cases alternating kpipe / confluent, produce then consume per case.
//
//	make -C bindings-go && cd bench/go && go run . -n 1000000 -reps 5
//
// Needs KPIPE_BUSINESS_BOOTSTRAP and KPIPE_REGISTRY_URL (dev/stack env). Prints one JSON line
// per measurement, then a table: records/s, client CPU seconds per 1M records, and the
// kpipe/confluent ratios (median, min, max over repetitions). A run whose consumer sees a wrong
// count, duplicate (partition, offset) or a wrong checksum of decoded fields fails (exit 1).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/avrov2"
	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

// ---- the data, in each client's natural Go form ----

// Order as natural JSON (what kpipe takes): uuid and decimal as strings, timestamp as time.Time.
type Order struct {
	OrderID    string            `json:"order_id"`
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
	SKU       string  `json:"sku" avro:"sku"`
	Qty       int32   `json:"qty" avro:"qty"`
	UnitPrice float64 `json:"unit_price" avro:"unit_price"`
}

// AvroOrder is the same record as hamba/avro wants it (decimal as *big.Rat, timestamp as time.Time).
type AvroOrder struct {
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

func toAvro(o *Order) AvroOrder {
	r, _ := new(big.Rat).SetString(string(o.Amount))
	return AvroOrder{o.OrderID, o.CustomerID, o.CreatedAt, o.Status, r, o.Currency, o.City, o.VehicleVIN,
		o.MileageKm, o.PriceScore, o.Items, o.Attributes}
}

// checksum of decoded fields: order-independent (a sum), so any decoding error shows.
func checksum(customer int64, createdMs int64, cents int64, mileage int32, items []Item, city string) uint64 {
	s := uint64(customer)*31 + uint64(createdMs)*7 + uint64(cents)*3 + uint64(mileage) + uint64(len(city))
	for _, it := range items {
		s += uint64(it.Qty) * 13
	}
	return s
}

// centsOf is the decimal text ("12.30") in cents: plain "digits.dd" directly, anything else
// through big.Rat.
func centsOf(d string) int64 {
	if n := len(d); n >= 4 && n < 18 && d[n-3] == '.' {
		var c int64
		for i := 0; i < n; i++ {
			if i == n-3 {
				continue
			}
			if d[i] < '0' || d[i] > '9' {
				c = -1
				break
			}
			c = c*10 + int64(d[i]-'0')
		}
		if c >= 0 {
			return c
		}
	}
	r, ok := new(big.Rat).SetString(d)
	if !ok {
		return -1
	}
	return new(big.Rat).Mul(r, big.NewRat(100, 1)).Num().Int64()
}

func centsOfRat(r *big.Rat) int64 {
	if r == nil {
		return -1
	}
	return new(big.Rat).Mul(r, big.NewRat(100, 1)).Num().Int64()
}

// ---- measurement ----

type Result struct {
	Client     string  `json:"client"`
	Phase      string  `json:"phase"`
	Rep        int     `json:"rep"`
	N          int     `json:"n"`
	Seconds    float64 `json:"seconds"`
	RecordsPS  float64 `json:"records_per_s"`
	CPUPerM    float64 `json:"cpu_s_per_1m"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	Linger     int     `json:"linger_ms"`
}

func cpuNow() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func peakRSS() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024
}

// perfCtl, when BENCH_PERF_CTL names perf's control FIFO (`perf record -D -1
// --control fifo:PATH`), turns perf sampling on for the timed sections only (phases matching
// BENCH_PERF_PHASE, default all): profiles of the hot path without the set-up.
func perfCtl(phase, cmd string) {
	path := os.Getenv("BENCH_PERF_CTL")
	if path == "" {
		return
	}
	if want := os.Getenv("BENCH_PERF_PHASE"); want != "" && want != phase {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "perf control:", err)
		return
	}
	_, _ = f.WriteString(cmd + "\n")
	_ = f.Close()
}

func measure(client, phase string, rep, n, linger int, f func() error) Result {
	runtime.GC()
	perfCtl(phase, "enable")
	c0, t0 := cpuNow(), time.Now()
	if err := f(); err != nil {
		fmt.Fprintf(os.Stderr, "%s %s rep %d: %v\n", client, phase, rep, err)
		os.Exit(1)
	}
	secs := time.Since(t0).Seconds()
	perfCtl(phase, "disable")
	r := Result{client, phase, rep, n, secs, float64(n) / secs, (cpuNow() - c0) / float64(n) * 1e6, peakRSS(), linger}
	js, _ := json.Marshal(r)
	fmt.Println(string(js))
	return r
}

// ---- setup ----

type env struct {
	bootstrap, registry string
	schema              string
	linger              int
	admin               *kafka.AdminClient
	sr                  schemaregistry.Client
}

func (e *env) freshTopic(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = e.admin.DeleteTopics(ctx, []string{name})
	for i := 0; i < 50; i++ {
		res, err := e.admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: name, NumPartitions: 6, ReplicationFactor: 1}})
		if err == nil && (res[0].Error.Code() == kafka.ErrNoError) {
			break
		}
		time.Sleep(200 * time.Millisecond) // deletion still in progress
	}
	// register the schema for the topic's subject up front (the schema id is cached before timing)
	if _, err := e.sr.Register(name+"-value", schemaregistry.SchemaInfo{Schema: e.schema}, false); err != nil {
		fmt.Fprintln(os.Stderr, "register:", err)
		os.Exit(1)
	}
}

func (e *env) dropTopic(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = e.admin.DeleteTopics(ctx, []string{name})
}

// ---- kpipe ----

func kpipeYAML(e *env) string {
	return fmt.Sprintf(`clusters:
  business: { bootstrap: %q, properties: { linger.ms: %d } }
registry: { url: %q }
routes: [ { topic: "*", cluster: business } ]
schemas: { subject_strategy: topic, auto_register: true }
producer: { acks: all, idempotence: true }
consumer: { commit: after-handle }
`, e.bootstrap, e.linger, e.registry)
}

func kpipeProduce(c *kpipe.Client, topic string, orders []Order) error {
	const batch = 5000
	const inflight = 4
	p := c.Producer()
	ctx := context.Background()
	work := make(chan []Order)
	errc := make(chan error, inflight)
	var wg sync.WaitGroup
	for w := 0; w < inflight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs := make([]kpipe.Record, 0, batch)
			for part := range work {
				recs = recs[:0]
				for i := range part {
					recs = append(recs, kpipe.Record{Topic: topic, Key: part[i].OrderID, Value: &part[i]})
				}
				_, errs, err := p.SendMany(ctx, recs)
				if err == nil {
					for _, e := range errs {
						if e != nil {
							err = e
							break
						}
					}
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for i := 0; i < len(orders); i += batch {
		j := min(i+batch, len(orders))
		work <- orders[i:j]
	}
	close(work)
	wg.Wait()
	close(errc)
	return <-errc
}

type gate struct {
	seen map[[2]int64]struct{}
	sum  uint64
}

func newGate(n int) *gate { return &gate{seen: make(map[[2]int64]struct{}, n)} }

func (g *gate) add(p int32, off int64, s uint64) error {
	k := [2]int64{int64(p), off}
	if _, dup := g.seen[k]; dup {
		return fmt.Errorf("duplicate record %d@%d", p, off)
	}
	g.seen[k] = struct{}{}
	g.sum += s
	return nil
}

func (g *gate) check(n int, want uint64) error {
	if len(g.seen) != n {
		return fmt.Errorf("correctness gate: %d records, want %d", len(g.seen), n)
	}
	if g.sum != want {
		return fmt.Errorf("correctness gate: checksum %d, want %d", g.sum, want)
	}
	return nil
}

func kpipeConsume(c *kpipe.Client, topic string, n int, want uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cons, err := c.Consumer(ctx, fmt.Sprintf("bench-kpipe-%d", time.Now().UnixNano()), []string{topic}, kpipe.FromEarliest())
	if err != nil {
		return err
	}
	defer cons.Close()
	g := newGate(n)
	for len(g.seen) < n {
		m, err := cons.Poll(ctx)
		if err != nil {
			return err
		}
		var o Order
		if err := m.Decode(&o); err != nil {
			return err
		}
		if err := g.add(m.Partition, m.Offset, checksum(o.CustomerID, o.CreatedAt.UnixMilli(), centsOf(string(o.Amount)), o.MileageKm, o.Items, o.City)); err != nil {
			return err
		}
		if err := cons.Ack(m); err != nil {
			return err
		}
	}
	return g.check(n, want)
}

// ---- confluent-kafka-go + avrov2 ----

func confluentProduce(e *env, topic string, orders []AvroOrder) error {
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": e.bootstrap, "acks": "all", "enable.idempotence": true,
		"linger.ms": e.linger, "go.delivery.report.fields": "none"})
	if err != nil {
		return err
	}
	defer p.Close()
	conf := avrov2.NewSerializerConfig()
	conf.AutoRegisterSchemas = false
	conf.UseLatestVersion = true
	ser, err := avrov2.NewSerializer(e.sr, serde.ValueSerde, conf)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		got := 0
		for ev := range p.Events() {
			if m, ok := ev.(*kafka.Message); ok {
				if m.TopicPartition.Error != nil {
					done <- m.TopicPartition.Error
					return
				}
				got++
				if got == len(orders) {
					done <- nil
					return
				}
			}
		}
	}()
	for i := range orders {
		payload, err := ser.Serialize(topic, &orders[i])
		if err != nil {
			return err
		}
		msg := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}, Key: []byte(orders[i].OrderID), Value: payload}
		for {
			err = p.Produce(msg, nil)
			if err == nil {
				break
			}
			if ke, ok := err.(kafka.Error); ok && ke.Code() == kafka.ErrQueueFull {
				time.Sleep(time.Millisecond)
				continue
			}
			return err
		}
	}
	return <-done
}

func confluentConsume(e *env, topic string, n int, want uint64) error {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": e.bootstrap, "group.id": fmt.Sprintf("bench-confluent-%d", time.Now().UnixNano()),
		"auto.offset.reset": "earliest", "enable.auto.commit": true})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		return err
	}
	deser, err := avrov2.NewDeserializer(e.sr, serde.ValueSerde, avrov2.NewDeserializerConfig())
	if err != nil {
		return err
	}
	g := newGate(n)
	deadline := time.Now().Add(10 * time.Minute)
	for len(g.seen) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("timeout after %d records", len(g.seen))
		}
		ev := c.Poll(100)
		m, ok := ev.(*kafka.Message)
		if !ok {
			continue
		}
		var o AvroOrder
		if err := deser.DeserializeInto(topic, m.Value, &o); err != nil {
			return err
		}
		if err := g.add(m.TopicPartition.Partition, int64(m.TopicPartition.Offset),
			checksum(o.CustomerID, o.CreatedAt.UnixMilli(), centsOfRat(o.Amount), o.MileageKm, o.Items, o.City)); err != nil {
			return err
		}
	}
	return g.check(n, want)
}

// ---- main ----

func main() {
	n := flag.Int("n", 1_000_000, "records per case")
	reps := flag.Int("reps", 5, "repetitions (each: kpipe then confluent)")
	warm := flag.Int("warmup", 50_000, "warm-up records per client (discarded)")
	linger := flag.Int("linger", 5, "linger.ms of both producers")
	only := flag.String("only", "", "run only this client (kpipe or confluent; profiling)")
	flag.Parse()
	e := &env{bootstrap: os.Getenv("KPIPE_BUSINESS_BOOTSTRAP"), registry: os.Getenv("KPIPE_REGISTRY_URL"), linger: *linger}
	if e.bootstrap == "" || e.registry == "" {
		fmt.Fprintln(os.Stderr, "KPIPE_BUSINESS_BOOTSTRAP / KPIPE_REGISTRY_URL not set: set -a; eval \"$(dev/stack env)\"; set +a")
		os.Exit(2)
	}
	here, _ := os.Getwd()
	shared := filepath.Join(here, "..", "..", "..", "shared", "bench")
	if s := os.Getenv("KPIPE_SHARED_BENCH"); s != "" {
		shared = s
	}
	schema, err := os.ReadFile(filepath.Join(shared, "order.avsc"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	e.schema = string(schema)
	total := max(*n, *warm)
	out, err := exec.Command("python3", filepath.Join(shared, "gen_order.py"), fmt.Sprint(total)).Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen_order.py:", err)
		os.Exit(2)
	}
	var orders []Order
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		// gen_order.py writes created_at as epoch ms
		var g struct {
			Order
			CreatedAtMs int64 `json:"created_at"`
		}
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		g.Order.CreatedAt = time.UnixMilli(g.CreatedAtMs).UTC()
		orders = append(orders, g.Order)
	}
	avroOrders := make([]AvroOrder, len(orders))
	for i := range orders {
		avroOrders[i] = toAvro(&orders[i])
	}
	var want uint64
	for _, o := range orders[:*n] {
		want += checksum(o.CustomerID, o.CreatedAt.UnixMilli(), centsOf(string(o.Amount)), o.MileageKm, o.Items, o.City)
	}
	if e.admin, err = kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": e.bootstrap}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if e.sr, err = schemaregistry.NewClient(schemaregistry.NewConfig(e.registry)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	kc, err := kpipe.OpenConfig(kpipeYAML(e))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	setSerde := func(topic string) {
		if err := kc.SetTopicSerde(topic, kpipe.TopicSerde{Key: kpipe.String(), Value: kpipe.Avro(e.schema)}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	run := fmt.Sprintf("%d", time.Now().Unix())
	fmt.Fprintf(os.Stderr, "kpipe-go %s vs confluent-kafka-go %s, N=%d, reps=%d, linger.ms=%d, GOMAXPROCS=%d, cores=%d, pinning: %s\n",
		kpipe.Version(), func() string { _, s := kafka.LibraryVersion(); return s }(), *n, *reps, *linger, runtime.GOMAXPROCS(0), runtime.NumCPU(), pinning())

	// warm-up: each client produces and consumes `warm` records once, discarded
	if *warm > 0 {
		wt := "bench.go.warm." + run
		e.freshTopic(wt)
		setSerde(wt)
		var ws uint64
		for _, o := range orders[:*warm] {
			ws += checksum(o.CustomerID, o.CreatedAt.UnixMilli(), centsOf(string(o.Amount)), o.MileageKm, o.Items, o.City)
		}
		must(kpipeProduce(kc, wt, orders[:*warm]))
		must(confluentProduce(e, wt, avroOrders[:*warm]))
		if *only != "confluent" {
			must(kpipeConsume(kc, wt, 2**warm, 2*ws))
		}
		if *only != "kpipe" {
			must(confluentConsume(e, wt, 2**warm, 2*ws))
		}
		e.dropTopic(wt)
	}
	var results []Result
	for rep := 1; rep <= *reps; rep++ {
		kt := fmt.Sprintf("bench.go.kpipe.%s.%d", run, rep)
		e.freshTopic(kt)
		setSerde(kt)
		if *only == "confluent" {
			goto confluent
		}
		results = append(results, measure("kpipe-go", "produce", rep, *n, *linger, func() error { return kpipeProduce(kc, kt, orders[:*n]) }))
		if os.Getenv("BENCH_PRODUCE_ONLY") != "" {
			continue
		}
		results = append(results, measure("kpipe-go", "consume", rep, *n, *linger, func() error { return kpipeConsume(kc, kt, *n, want) }))
		e.dropTopic(kt)
		if *only == "kpipe" {
			continue
		}
	confluent:
		ct := fmt.Sprintf("bench.go.confluent.%s.%d", run, rep)
		e.freshTopic(ct)
		results = append(results, measure("confluent-kafka-go", "produce", rep, *n, *linger, func() error { return confluentProduce(e, ct, avroOrders[:*n]) }))
		results = append(results, measure("confluent-kafka-go", "consume", rep, *n, *linger, func() error { return confluentConsume(e, ct, *n, want) }))
		e.dropTopic(ct)
	}
	kc.Close()
	if *only == "" {
		table(results, *reps)
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func table(rs []Result, reps int) {
	get := func(client, phase string, rep int) Result {
		for _, r := range rs {
			if r.Client == client && r.Phase == phase && r.Rep == rep {
				return r
			}
		}
		return Result{}
	}
	stats := func(v []float64) (float64, float64, float64) {
		sort.Float64s(v)
		return v[len(v)/2], v[0], v[len(v)-1]
	}
	fmt.Println()
	fmt.Println("| phase | kpipe-go rec/s | confluent-kafka-go rec/s | ratio median (min-max) | kpipe CPU-s/1M | confluent CPU-s/1M |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, phase := range []string{"produce", "consume"} {
		var ratios, kr, cr, kc, cc []float64
		for rep := 1; rep <= reps; rep++ {
			k, c := get("kpipe-go", phase, rep), get("confluent-kafka-go", phase, rep)
			ratios = append(ratios, k.RecordsPS/c.RecordsPS)
			kr, cr, kc, cc = append(kr, k.RecordsPS), append(cr, c.RecordsPS), append(kc, k.CPUPerM), append(cc, c.CPUPerM)
		}
		m, lo, hi := stats(ratios)
		km, _, _ := stats(kr)
		cm, _, _ := stats(cr)
		kcm, _, _ := stats(kc)
		ccm, _, _ := stats(cc)
		fmt.Printf("| %s | %.0f | %.0f | %.2fx (%.2f-%.2f) | %.2f | %.2f |\n", phase, km, cm, m, lo, hi, kcm, ccm)
	}
}

// pinning says how the run was isolated (bench/pin sets KPIPE_BENCH_PINNED).
func pinning() string {
	if p := os.Getenv("KPIPE_BENCH_PINNED"); p != "" {
		return p
	}
	return "none (run through bench/pin for it)"
}
