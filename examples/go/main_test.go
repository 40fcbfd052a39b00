package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	kpipe "github.com/kpipe-dev/kpipe/bindings-go"
)

// The consumer reads back orders that another producer wrote (here: the Go binding standing in
// for the Python example) through the repo's kpipe.yaml routes (orders.* -> online).
func TestDemoConsumerReadsTheOrders(t *testing.T) {
	for _, k := range []string{"KPIPE_ONLINE_BOOTSTRAP", "KPIPE_REGISTRY_URL"} {
		if os.Getenv(k) == "" {
			t.Fatalf("%s not set: export the stack's addresses (dev/stack env)", k)
		}
	}
	config := filepath.Join(t.TempDir(), "kpipe.yaml")
	yaml := fmt.Sprintf("clusters:\n  online: { bootstrap: %q }\nregistry: { url: %q }\nroutes:\n  - { topic: \"orders.*\", cluster: online }\n",
		os.Getenv("KPIPE_ONLINE_BOOTSTRAP"), os.Getenv("KPIPE_REGISTRY_URL"))
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	schema, err := os.ReadFile("../order.avsc")
	if err != nil {
		t.Fatal(err)
	}
	topic := fmt.Sprintf("orders.demo.go.%d", time.Now().UnixNano())
	client, err := kpipe.Open(config)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.SetTopicSerde(topic, kpipe.TopicSerde{Key: kpipe.String(), Value: kpipe.Avro(string(schema))}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../orders.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for sc.Scan() {
		var o map[string]any
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatal(err)
		}
		run := "r1"
		if n == 0 {
			run = "other" // not counted with --run-id r1
		}
		if _, err := client.Producer().Send(ctx, topic, o["order_id"], o, kpipe.WithHeaders(kpipe.Header{Key: "kpipe.demo.run", Value: []byte(run)})); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := run(config, topic, fmt.Sprintf("g-%d", time.Now().UnixNano()), n-1, "r1", "earliest", 60*time.Second); err != nil {
		t.Fatal(err)
	}
}
