// sr-jslive: the live phase of the benchmark's STAN -> JetStream runs, the counterpart of
// `sr-loadgen live` (bench/loadgen) for a JetStream target, in a module of its own so that the
// load generator of the STAN rows keeps its client versions.
//
//	sr-jslive -src-url U -src-cluster C -channel X -js-url U2 -stream S
//	          -rate R -seconds T -size S -senders K -expect E -timeout D
//
// It reads the stream through an ordered consumer that delivers only messages stored after it
// was created, publishes phase L messages to the source channel at R msgs/s for T seconds, and
// records arrival - publish time for the first arrival of each one until E distinct live
// messages arrived (or -timeout passed). Prints one JSON object, the shape sr-loadgen live
// prints. Payloads follow bench/lib/payload.ts exactly (the same code as bench/loadgen):
//
//	{"id":"000000123","ph":"L","ts":"1732500000000.123","sender":"L-host-000123","pad":"xxx"}
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	stan "github.com/nats-io/stan.go"
)

const (
	idOffset = len(`{"id":"`)
	idWidth  = 9
	phOffset = idOffset + idWidth + len(`","ph":"`)
	tsOffset = phOffset + 1 + len(`","ts":"`)
	tsWidth  = 17
	minSize  = 100
)

func nowMs() float64 { return float64(time.Now().UnixNano()) / 1e6 }

func makePayload(template []byte, senders, id int) []byte {
	buf := make([]byte, len(template))
	copy(buf, template)
	head := fmt.Sprintf(`{"id":"%09d","ph":"L","ts":"%017.3f","sender":"L-host-%06d","pad":"`,
		id, nowMs(), id%senders)
	copy(buf, head)
	return buf
}

func decode(b []byte) (phase byte, id int, ts float64, ok bool) {
	if len(b) < minSize || string(b[:idOffset]) != `{"id":"` {
		return 0, 0, 0, false
	}
	id, err1 := strconv.Atoi(string(b[idOffset : idOffset+idWidth]))
	ts, err2 := strconv.ParseFloat(string(b[tsOffset:tsOffset+tsWidth]), 64)
	return b[phOffset], id, ts, err1 == nil && err2 == nil
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sr-jslive: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	srcURL := flag.String("src-url", "nats://127.0.0.1:4222", "source NATS URL")
	srcCluster := flag.String("src-cluster", "dc1", "source cluster id")
	channel := flag.String("channel", "", "source channel")
	jsURL := flag.String("js-url", "nats://127.0.0.1:4223", "JetStream NATS URL")
	stream := flag.String("stream", "", "stream holding the copies")
	rate := flag.Float64("rate", 1000, "messages per second")
	seconds := flag.Float64("seconds", 10, "duration")
	size := flag.Int("size", 1024, "payload size")
	senders := flag.Int("senders", 10000, "distinct senders")
	expect := flag.Int("expect", -1, "distinct live messages expected in the stream (default: all)")
	timeout := flag.Duration("timeout", 30*time.Second, "wait for arrivals after the last publish")
	flag.Parse()
	if *size < minSize {
		fail("size must be >= %d", minSize)
	}

	total := int(math.Max(1, math.Round(*rate**seconds)))
	if *expect < 0 || *expect > total {
		*expect = total
	}
	template := make([]byte, *size)
	for i := range template {
		template[i] = 'x'
	}
	copy(template[*size-2:], `"}`)

	var mu sync.Mutex
	seen := make([]bool, total)
	lat := make([]float64, 0, *expect)
	arrivedAll := make(chan struct{})

	nc, err := nats.Connect(*jsURL, nats.Name("sr-jslive-probe"))
	if err != nil {
		fail("JetStream connect: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		fail("JetStream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	cons, err := js.OrderedConsumer(ctx, *stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	cancel()
	if err != nil {
		fail("ordered consumer on %s: %v", *stream, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		at := nowMs()
		ph, id, ts, ok := decode(m.Data())
		if !ok || ph != 'L' || id < 0 || id >= total {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if seen[id] {
			return
		}
		seen[id] = true
		lat = append(lat, at-ts)
		if len(lat) == *expect {
			close(arrivedAll)
		}
	})
	if err != nil {
		fail("consume: %v", err)
	}
	defer cc.Stop()

	id := fmt.Sprintf("jslive-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)
	src, err := stan.Connect(*srcCluster, id, stan.NatsURL(*srcURL), stan.PubAckWait(60*time.Second),
		stan.MaxPubAcksInflight(4096),
		stan.SetConnectionLostHandler(func(_ stan.Conn, err error) { fail("source connection lost: %v", err) }))
	if err != nil {
		fail("source connect %s: %v", *srcURL, err)
	}
	defer src.Close()
	var wg sync.WaitGroup
	publish := func(data []byte) {
		wg.Add(1)
		if _, err := src.PublishAsync(*channel, data, func(_ string, err error) {
			if err != nil {
				fail("publish: %v", err)
			}
			wg.Done()
		}); err != nil {
			fail("publish: %v", err)
		}
	}
	start := time.Now()
	ticker := time.NewTicker(time.Millisecond)
	next := 0
	for next < total {
		<-ticker.C
		due := int(time.Since(start).Seconds() * *rate)
		for ; next < total && next < due; next++ {
			publish(makePayload(template, *senders, next))
		}
	}
	ticker.Stop()
	wg.Wait()
	pubSecs := time.Since(start).Seconds()

	complete := true
	select {
	case <-arrivedAll:
	case <-time.After(*timeout):
		complete = false
	}
	mu.Lock()
	values := append([]float64(nil), lat...)
	mu.Unlock()
	sort.Float64s(values)
	q := func(f float64) float64 {
		return values[int(math.Min(float64(len(values)-1), math.Floor(f*float64(len(values)))))]
	}
	out := map[string]any{
		"published": total, "seconds": pubSecs, "rate": float64(total) / pubSecs,
		"expected": *expect, "arrived": len(values), "complete": complete,
	}
	if len(values) > 0 {
		out["latency"] = map[string]float64{
			"count": float64(len(values)), "p50": q(0.5), "p90": q(0.9), "p99": q(0.99),
			"p999": q(0.999), "max": values[len(values)-1],
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail("%v", err)
	}
}
