// sr-peer: reference Go replicator (stan.go), a stand-in for nats-replicator, which cannot be
// downloaded here (the Go module proxy answers 403 for github.com/nats-io/nats-replicator).
//
// It copies one STAN channel from a source cluster to a target cluster with the algorithm of
// nats-replicator's STAN->STAN connector (server/core/stan2stan.go): a durable subscription in
// manual-ack mode with MaxInflight; every message is published with PublishAsync on one target
// connection and acknowledged on the source in the PubAck handler. No limiter, no metrics, no
// reconnect: a lost connection ends the process with exit code 1.
//
// It prints "ready" on stdout once subscribed and "copied N failed M" when it stops (SIGTERM or
// SIGINT: closes the subscription without unsubscribing, so the durable keeps its position).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	stan "github.com/nats-io/stan.go"
)

func main() {
	srcURL := flag.String("src-url", "nats://127.0.0.1:4222", "source NATS URL")
	srcCluster := flag.String("src-cluster", "dc1", "source STAN cluster id")
	dstURL := flag.String("dst-url", "nats://127.0.0.1:4223", "target NATS URL")
	dstCluster := flag.String("dst-cluster", "dc2", "target STAN cluster id")
	channel := flag.String("channel", "", "source channel (required)")
	target := flag.String("target-channel", "", "target channel (default: the source channel)")
	durable := flag.String("durable", "sr_peer", "durable name")
	clientID := flag.String("client-id", "sr-peer", "client id on both clusters")
	maxInflight := flag.Int("max-inflight", 1024, "source MaxInflight")
	ackWait := flag.Duration("ack-wait", 30*time.Second, "source AckWait")
	maxPubAcks := flag.Int("max-pub-acks", stan.DefaultMaxPubAcksInflight, "target MaxPubAcksInflight")
	pubAckWait := flag.Duration("pub-ack-wait", stan.DefaultAckWait, "target PubAckWait")
	flag.Parse()
	if *channel == "" {
		fmt.Fprintln(os.Stderr, "sr-peer: -channel is required")
		os.Exit(2)
	}
	if *target == "" {
		*target = *channel
	}

	lost := func(side string) stan.Option {
		return stan.SetConnectionLostHandler(func(_ stan.Conn, err error) {
			fmt.Fprintf(os.Stderr, "sr-peer: %s connection lost: %v\n", side, err)
			os.Exit(1)
		})
	}
	dst, err := stan.Connect(*dstCluster, *clientID, stan.NatsURL(*dstURL),
		stan.MaxPubAcksInflight(*maxPubAcks), stan.PubAckWait(*pubAckWait), lost("target"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "sr-peer: target connect: %v\n", err)
		os.Exit(1)
	}
	src, err := stan.Connect(*srcCluster, *clientID, stan.NatsURL(*srcURL), lost("source"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "sr-peer: source connect: %v\n", err)
		os.Exit(1)
	}

	var copied, failed atomic.Int64
	handler := func(msg *stan.Msg) {
		_, err := dst.PublishAsync(*target, msg.Data, func(_ string, err error) {
			if err != nil {
				failed.Add(1) // not acked: the source redelivers after AckWait
				return
			}
			if err := msg.Ack(); err != nil {
				failed.Add(1)
				return
			}
			copied.Add(1)
		})
		if err != nil {
			failed.Add(1)
		}
	}
	sub, err := src.Subscribe(*channel, handler,
		stan.DurableName(*durable), stan.DeliverAllAvailable(), stan.SetManualAckMode(),
		stan.MaxInflight(*maxInflight), stan.AckWait(*ackWait))
	if err != nil {
		fmt.Fprintf(os.Stderr, "sr-peer: subscribe: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("ready")

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
	_ = sub.Close() // keeps the durable
	_ = src.Close()
	_ = dst.Close()
	fmt.Printf("copied %d failed %d\n", copied.Load(), failed.Load())
}
