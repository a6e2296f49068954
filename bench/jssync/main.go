// sr-jssync: stan2js's copy loop (github.com/nats-io/stan2js, stan2js.go, migrateChannel) as a
// long-running process, the benchmark's synchronous STAN -> JetStream peer. stan2js itself cannot
// be built here (the Go module proxy answers 403 for it) and migrates whole clusters once, driven
// by NATS CLI contexts, so this is its loop, kept as it is:
//
//   - the stream is added first (file storage, the channel as its subject, server defaults);
//   - an ephemeral subscription with DeliverAllAvailable (auto-ack, stan.go's default
//     MaxInflight 1024);
//   - for every message, a nats.Msg on the channel's subject with the headers
//     Nats-Streaming-Channel, Nats-Streaming-Sequence and Nats-Streaming-Timestamp (RFC 3339
//     with nanoseconds), no message id, published with the synchronous js.PublishMsg: one
//     publish per round trip, the next message only after the previous PubAck.
//
// Unlike stan2js it does not stop at the channel's last sequence: it copies until SIGTERM or
// SIGINT, so that the benchmark's live phase can run through it. A failed publish ends the
// process with exit code 1 (stan2js ends the migration). It prints "ready" once subscribed and
// "copied N" when it stops.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	stan "github.com/nats-io/stan.go"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sr-jssync: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	srcURL := flag.String("src-url", "nats://127.0.0.1:4222", "source NATS URL")
	srcCluster := flag.String("src-cluster", "dc1", "source STAN cluster id")
	jsURL := flag.String("js-url", "nats://127.0.0.1:4223", "JetStream NATS URL")
	channel := flag.String("channel", "", "source channel (required; also the subject)")
	stream := flag.String("stream", "", "JetStream stream (required)")
	clientID := flag.String("client-id", "stan2js", "client id on the source")
	flag.Parse()
	if *channel == "" || *stream == "" {
		fmt.Fprintln(os.Stderr, "sr-jssync: -channel and -stream are required")
		os.Exit(2)
	}

	lost := nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
		if err != nil {
			fail("connection lost: %v", err)
		}
	})
	snc, err := nats.Connect(*srcURL, nats.Name(*clientID), nats.NoReconnect(), lost)
	if err != nil {
		fail("source connect: %v", err)
	}
	sc, err := stan.Connect(*srcCluster, *clientID, stan.NatsConn(snc))
	if err != nil {
		fail("source STAN connect: %v", err)
	}
	nc, err := nats.Connect(*jsURL, nats.Name(*clientID+"_js"), nats.NoReconnect(), lost)
	if err != nil {
		fail("JetStream connect: %v", err)
	}
	js, err := nc.JetStream()
	if err != nil {
		fail("JetStream: %v", err)
	}
	if _, err := js.AddStream(&nats.StreamConfig{
		Name: *stream, Subjects: []string{*channel}, Storage: nats.FileStorage, Replicas: 1,
	}); err != nil {
		fail("create stream %q: %v", *stream, err)
	}

	var copied atomic.Int64
	sub, err := sc.Subscribe(*channel, func(m *stan.Msg) {
		msg := nats.NewMsg(m.Subject)
		msg.Data = m.Data
		msg.Header.Set("Nats-Streaming-Channel", m.Subject)
		msg.Header.Set("Nats-Streaming-Sequence", fmt.Sprintf("%d", m.Sequence))
		msg.Header.Set("Nats-Streaming-Timestamp", time.Unix(0, m.Timestamp).Format(time.RFC3339Nano))
		if _, err := js.PublishMsg(msg); err != nil {
			fail("channel %s: publish to stream: %v", *channel, err)
		}
		copied.Add(1)
	}, stan.DeliverAllAvailable())
	if err != nil {
		fail("channel %s: subscribe: %v", *channel, err)
	}
	fmt.Println("ready")

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
	_ = sub.Close()
	_ = sc.Close()
	snc.Close()
	nc.Close()
	fmt.Printf("copied %d\n", copied.Load())
}
