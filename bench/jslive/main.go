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
// prints: payloads, pacing and the summary are bench/probe's, as in bench/loadgen.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	stan "github.com/nats-io/stan.go"
	"srbench/probe"
)

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

	total := int(math.Max(1, math.Round(*rate**seconds)))
	payloads, err := probe.NewPayloads(*size, *senders)
	if err != nil {
		fail("%v", err)
	}
	probed := probe.NewLatency(total, *expect)

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
	cc, err := cons.Consume(func(m jetstream.Msg) { probed.Arrived(m.Data()) })
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
	probe.Paced(payloads, 'L', *rate, total, publish)
	wg.Wait()
	if err := json.NewEncoder(os.Stdout).Encode(probed.Result(time.Since(start).Seconds(), *timeout)); err != nil {
		fail("%v", err)
	}
}
