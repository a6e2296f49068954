// Package probe is what the benchmark's Go load tools share: the payload format of
// bench/lib/payload.ts, paced publishing, and the latency probe of a live phase (the first
// arrival of each live message, summarised as one JSON object).
//
//	{"id":"000000123","ph":"B","ts":"1732500000000.123","sender":"B-host-000123","pad":"xxx"}
package probe

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"
)

const (
	idOffset = len(`{"id":"`)
	idWidth  = 9
	phOffset = idOffset + idWidth + len(`","ph":"`)
	tsOffset = phOffset + 1 + len(`","ts":"`)
	tsWidth  = 17
	// MinSize is the smallest payload the format fits in.
	MinSize = 100
)

// NowMs is the wall clock in milliseconds, as payloads carry it.
func NowMs() float64 { return float64(time.Now().UnixNano()) / 1e6 }

// Payloads makes the messages of one size for a number of distinct senders.
type Payloads struct {
	template []byte
	senders  int
}

// NewPayloads fails for a size below MinSize.
func NewPayloads(size, senders int) (*Payloads, error) {
	if size < MinSize {
		return nil, fmt.Errorf("size must be >= %d", MinSize)
	}
	t := make([]byte, size)
	for i := range t {
		t[i] = 'x'
	}
	copy(t[size-2:], `"}`)
	return &Payloads{template: t, senders: senders}, nil
}

// Make returns message `id` of a phase, stamped with the time now.
func (p *Payloads) Make(phase byte, id int) []byte {
	buf := make([]byte, len(p.template))
	copy(buf, p.template)
	head := fmt.Sprintf(`{"id":"%09d","ph":"%c","ts":"%017.3f","sender":"%c-host-%06d","pad":"`,
		id, phase, NowMs(), phase, id%p.senders)
	copy(buf, head)
	return buf
}

// Decode reads a payload's phase, id and publish time.
func Decode(b []byte) (phase byte, id int, ts float64, ok bool) {
	if len(b) < MinSize || string(b[:idOffset]) != `{"id":"` {
		return 0, 0, 0, false
	}
	id, err1 := strconv.Atoi(string(b[idOffset : idOffset+idWidth]))
	ts, err2 := strconv.ParseFloat(string(b[tsOffset:tsOffset+tsWidth]), 64)
	return b[phOffset], id, ts, err1 == nil && err2 == nil
}

// Paced calls publish for messages 0..total-1 of a phase at rate msgs/s.
func Paced(p *Payloads, phase byte, rate float64, total int, publish func([]byte)) {
	start := time.Now()
	ticker := time.NewTicker(time.Millisecond)
	defer ticker.Stop()
	next := 0
	for next < total {
		<-ticker.C
		due := int(time.Since(start).Seconds() * rate)
		for ; next < total && next < due; next++ {
			publish(p.Make(phase, next))
		}
	}
}

// Latency records arrival - publish time of the first arrival of each live (phase L) message.
type Latency struct {
	mu         sync.Mutex
	total      int
	expect     int
	seen       []bool
	lat        []float64
	arrivedAll chan struct{}
}

// NewLatency expects `expect` distinct messages of `total` live ones (all when out of range).
func NewLatency(total, expect int) *Latency {
	if expect < 0 || expect > total {
		expect = total
	}
	return &Latency{
		total: total, expect: expect, seen: make([]bool, total),
		lat: make([]float64, 0, expect), arrivedAll: make(chan struct{}),
	}
}

// Arrived takes one message from the target; any goroutine.
func (l *Latency) Arrived(data []byte) {
	at := NowMs()
	ph, id, ts, ok := Decode(data)
	if !ok || ph != 'L' || id < 0 || id >= l.total {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[id] {
		return
	}
	l.seen[id] = true
	l.lat = append(l.lat, at-ts)
	if len(l.lat) == l.expect {
		close(l.arrivedAll)
	}
}

// Result waits up to timeout for the expected arrivals and returns the live phase's summary:
// published, seconds, rate, expected, arrived, complete and, when anything arrived, latency.
func (l *Latency) Result(publishSeconds float64, timeout time.Duration) map[string]any {
	complete := true
	select {
	case <-l.arrivedAll:
	case <-time.After(timeout):
		complete = false
	}
	l.mu.Lock()
	values := append([]float64(nil), l.lat...)
	l.mu.Unlock()
	sort.Float64s(values)
	q := func(f float64) float64 {
		return values[int(math.Min(float64(len(values)-1), math.Floor(f*float64(len(values)))))]
	}
	out := map[string]any{
		"published": l.total, "seconds": publishSeconds, "rate": float64(l.total) / publishSeconds,
		"expected": l.expect, "arrived": len(values), "complete": complete,
	}
	if len(values) > 0 {
		out["latency"] = map[string]float64{
			"count": float64(len(values)), "p50": q(0.5), "p90": q(0.9), "p99": q(0.99),
			"p999": q(0.999), "max": values[len(values)-1],
		}
	}
	return out
}
