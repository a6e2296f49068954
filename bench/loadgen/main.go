// sr-loadgen: the benchmark's load generator and latency probe, in Go so that the measuring
// instrument costs little CPU next to the contender (a node-nats-streaming client spends
// ~100 µs of CPU per message; stan.go about a tenth of that).
//
//	sr-loadgen fill -url U -cluster C -channel X -n N -size S -senders K [-rate R -phase L]
//	    publishes backlog messages (phase B, ids 0..N-1) as fast as acks allow; with -rate, at
//	    R msgs/s, with no subscriber anywhere (the soak: its target restarts meanwhile)
//	sr-loadgen live -src-url U -src-cluster C -dst-url U2 -dst-cluster C2 -channel X
//	                -rate R -seconds T -size S -senders K -expect E
//	    subscribes to the target (new messages only), publishes phase L messages at R msgs/s
//	    for T seconds, and records arrival - publish time for the first arrival of each one
//	    until E distinct live messages arrived (or -timeout passed)
//
// Both print one JSON object on stdout. Payloads, pacing and the latency summary are
// bench/probe's (the format of bench/lib/payload.ts).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	stan "github.com/nats-io/stan.go"
	"srbench/probe"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sr-loadgen: "+format+"\n", args...)
	os.Exit(1)
}

func connect(cluster, url, prefix string) stan.Conn {
	id := fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), time.Now().UnixNano()%1e9)
	sc, err := stan.Connect(cluster, id, stan.NatsURL(url), stan.PubAckWait(60*time.Second),
		stan.MaxPubAcksInflight(4096),
		stan.SetConnectionLostHandler(func(_ stan.Conn, err error) { fail("%s: connection lost: %v", prefix, err) }))
	if err != nil {
		fail("%s: connect %s: %v", prefix, url, err)
	}
	return sc
}

// publisher publishes asynchronously and counts acks; the first error is fatal.
type publisher struct {
	sc      stan.Conn
	channel string
	wg      sync.WaitGroup
	acked   atomic.Int64
}

func (p *publisher) publish(data []byte) {
	p.wg.Add(1)
	_, err := p.sc.PublishAsync(p.channel, data, func(_ string, err error) {
		if err != nil {
			fail("publish: %v", err)
		}
		p.acked.Add(1)
		p.wg.Done()
	})
	if err != nil {
		fail("publish: %v", err)
	}
}

// paced publishes messages 0..total-1 of a phase at rate msgs/s and waits for every ack.
func (p *publisher) paced(pl *probe.Payloads, phase byte, rate float64, total int) {
	probe.Paced(pl, phase, rate, total, p.publish)
	p.wg.Wait()
}

func payloads(size, senders int) *probe.Payloads {
	p, err := probe.NewPayloads(size, senders)
	if err != nil {
		fail("%v", err)
	}
	return p
}

func emit(v any) {
	if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
		fail("%v", err)
	}
}

func fill(args []string) {
	fs := flag.NewFlagSet("fill", flag.ExitOnError)
	url := fs.String("url", "nats://127.0.0.1:4222", "NATS URL")
	cluster := fs.String("cluster", "dc1", "STAN cluster id")
	channel := fs.String("channel", "", "channel")
	n := fs.Int("n", 100000, "messages")
	size := fs.Int("size", 1024, "payload size")
	senders := fs.Int("senders", 10000, "distinct senders")
	rate := fs.Float64("rate", 0, "messages per second (0: as fast as acks allow)")
	phase := fs.String("phase", "B", "payload phase letter")
	_ = fs.Parse(args)
	if len(*phase) != 1 {
		fail("-phase must be one letter")
	}
	p := payloads(*size, *senders)
	sc := connect(*cluster, *url, "loadgen-fill")
	defer sc.Close()
	pub := &publisher{sc: sc, channel: *channel}
	start := time.Now()
	if *rate > 0 {
		pub.paced(p, (*phase)[0], *rate, *n)
	} else {
		for i := 0; i < *n; i++ {
			pub.publish(p.Make((*phase)[0], i))
		}
		pub.wg.Wait()
	}
	secs := time.Since(start).Seconds()
	emit(map[string]any{"published": *n, "seconds": secs, "rate": float64(*n) / secs})
}

func live(args []string) {
	fs := flag.NewFlagSet("live", flag.ExitOnError)
	srcURL := fs.String("src-url", "nats://127.0.0.1:4222", "source NATS URL")
	srcCluster := fs.String("src-cluster", "dc1", "source cluster id")
	dstURL := fs.String("dst-url", "nats://127.0.0.1:4223", "target NATS URL")
	dstCluster := fs.String("dst-cluster", "dc2", "target cluster id")
	channel := fs.String("channel", "", "channel (same name on both sides)")
	rate := fs.Float64("rate", 1000, "messages per second")
	seconds := fs.Float64("seconds", 10, "duration")
	size := fs.Int("size", 1024, "payload size")
	senders := fs.Int("senders", 10000, "distinct senders")
	expect := fs.Int("expect", -1, "distinct live messages expected on the target (default: all)")
	timeout := fs.Duration("timeout", 30*time.Second, "wait for arrivals after the last publish")
	_ = fs.Parse(args)

	total := int(math.Max(1, math.Round(*rate**seconds)))
	p := payloads(*size, *senders)
	probed := probe.NewLatency(total, *expect)
	dst := connect(*dstCluster, *dstURL, "loadgen-probe")
	defer dst.Close()
	sub, err := dst.Subscribe(*channel, func(m *stan.Msg) { probed.Arrived(m.Data) },
		stan.MaxInflight(16384)) // no start option: new messages only
	if err != nil {
		fail("subscribe: %v", err)
	}
	defer sub.Close()

	src := connect(*srcCluster, *srcURL, "loadgen-live")
	defer src.Close()
	pub := &publisher{sc: src, channel: *channel}
	start := time.Now()
	pub.paced(p, 'L', *rate, total)
	emit(probed.Result(time.Since(start).Seconds(), *timeout))
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: sr-loadgen fill|live [flags]")
	}
	switch os.Args[1] {
	case "fill":
		fill(os.Args[2:])
	case "live":
		live(os.Args[2:])
	default:
		fail("unknown command %q (fill or live)", os.Args[1])
	}
}
