// sr-jsbridge: reference Go STAN -> JetStream bridge (stan.go + nats.go), the benchmark's peer
// for stream-replicator's `target: jetstream`, written the way nats-replicator's STAN->STAN
// connector copies (bench/peer), with JetStream's asynchronous publish in place of STAN's:
//
//   - a durable subscription on the source in manual-ack mode with MaxInflight (1024);
//   - every message published with js.PublishMsgAsync on one JetStream connection, with the
//     message id <source cluster>:<channel>:<sequence> (Nats-Msg-Id: the stream drops a
//     redelivered copy) and the headers stan2js writes (Nats-Streaming-Channel, -Sequence,
//     -Timestamp) plus Nats-Streaming-Cluster, as stream-replicator does;
//   - at most MaxPending (1024) publishes awaiting their PubAck;
//   - the source message acknowledged in the PubAck handler (WithPublishAsyncAckHandler); a
//     failed publish is not acknowledged, so the source redelivers it after AckWait.
//
// The stream is created at start when it does not exist (file storage, the subject, a 2 min
// duplicate window). No limiter, no metrics, no reconnect: a lost connection ends the process
// with exit code 1. It prints "ready" once subscribed and "copied N duplicates D failed M" when
// it stops (SIGTERM or SIGINT; the durable keeps its position).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	stan "github.com/nats-io/stan.go"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sr-jsbridge: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	srcURL := flag.String("src-url", "nats://127.0.0.1:4222", "source NATS URL")
	srcCluster := flag.String("src-cluster", "dc1", "source STAN cluster id")
	jsURL := flag.String("js-url", "nats://127.0.0.1:4223", "JetStream NATS URL")
	channel := flag.String("channel", "", "source channel (required)")
	stream := flag.String("stream", "", "JetStream stream (required)")
	subject := flag.String("subject", "", "subject of the copies (default: the channel)")
	durable := flag.String("durable", "sr_jsbridge", "durable name")
	clientID := flag.String("client-id", "sr-jsbridge", "client id on the source")
	maxInflight := flag.Int("max-inflight", 1024, "source MaxInflight")
	maxPending := flag.Int("max-pending", 1024, "JetStream async publishes awaiting their PubAck")
	ackWait := flag.Duration("ack-wait", 30*time.Second, "source AckWait")
	pubTimeout := flag.Duration("publish-timeout", 10*time.Second, "PubAck timeout")
	flag.Parse()
	if *channel == "" || *stream == "" {
		fmt.Fprintln(os.Stderr, "sr-jsbridge: -channel and -stream are required")
		os.Exit(2)
	}
	if *subject == "" {
		*subject = *channel
	}

	nc, err := nats.Connect(*jsURL, nats.Name(*clientID+"_js"), nats.NoReconnect(),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				fail("JetStream connection lost: %v", err)
			}
		}))
	if err != nil {
		fail("JetStream connect: %v", err)
	}

	var copied, duplicates, failed atomic.Int64
	var inflight sync.Map // *nats.Msg -> *stan.Msg, until its PubAck
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(*maxPending),
		jetstream.WithPublishAsyncTimeout(*pubTimeout),
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, pa *jetstream.PubAck) {
			v, ok := inflight.LoadAndDelete(m)
			if !ok {
				return
			}
			if err := v.(*stan.Msg).Ack(); err != nil {
				failed.Add(1)
				return
			}
			if pa.Duplicate {
				duplicates.Add(1)
			}
			copied.Add(1)
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, _ error) {
			inflight.Delete(m) // not acked: the source redelivers after AckWait
			failed.Add(1)
		}))
	if err != nil {
		fail("JetStream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name: *stream, Subjects: []string{*subject}, Storage: jetstream.FileStorage,
		Replicas: 1, Duplicates: 2 * time.Minute,
	})
	cancel()
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		fail("create stream %s: %v", *stream, err)
	}

	src, err := stan.Connect(*srcCluster, *clientID, stan.NatsURL(*srcURL),
		stan.SetConnectionLostHandler(func(_ stan.Conn, err error) {
			fail("source connection lost: %v", err)
		}))
	if err != nil {
		fail("source connect: %v", err)
	}

	idPrefix := *srcCluster + ":" + *channel + ":"
	handler := func(m *stan.Msg) {
		seq := strconv.FormatUint(m.Sequence, 10)
		msg := &nats.Msg{Subject: *subject, Data: m.Data, Header: nats.Header{}}
		msg.Header.Set("Nats-Streaming-Channel", m.Subject)
		msg.Header.Set("Nats-Streaming-Sequence", seq)
		msg.Header.Set("Nats-Streaming-Timestamp", time.Unix(0, m.Timestamp).UTC().Format(time.RFC3339Nano))
		msg.Header.Set("Nats-Streaming-Cluster", *srcCluster)
		inflight.Store(msg, m)
		if _, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(idPrefix+seq)); err != nil {
			inflight.Delete(msg)
			failed.Add(1)
		}
	}
	sub, err := src.Subscribe(*channel, handler,
		stan.DurableName(*durable), stan.DeliverAllAvailable(), stan.SetManualAckMode(),
		stan.MaxInflight(*maxInflight), stan.AckWait(*ackWait))
	if err != nil {
		fail("subscribe: %v", err)
	}
	fmt.Println("ready")

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
	_ = sub.Close() // keeps the durable
	_ = src.Close()
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Second):
	}
	nc.Close()
	fmt.Printf("copied %d duplicates %d failed %d\n", copied.Load(), duplicates.Load(), failed.Load())
}
