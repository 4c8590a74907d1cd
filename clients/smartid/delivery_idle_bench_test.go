//go:build linux

package smartid

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/benchcpu"
)

// BenchmarkDeliveryIdle is the delivery at a low rate, as a guard that is
// otherwise idle pays for it: one login event every interval, enqueued by
// a producer that sleeps in between, as a request handler's goroutine is
// parked between requests. Sleeping costs the producer a wake-up a tick,
// which a real request pays for its own network I/O anyway, so the
// benchmark first ticks the same number of times with no event (the
// baseline) and then with one, and reports the difference:
//
//   - cpu-ns/op: the process's CPU per event beyond the idle baseline:
//     Enqueue, the worker's wake-ups, write, read and bookkeeping;
//   - idle-cpu-ns/tick: the process's CPU per idle tick, which is what one
//     wake-up of an otherwise idle Go process costs on this machine (the
//     timer, the thread's wake and its return to sleep, sysmon);
//   - events/write: how many events a write carried (the linger window
//     batches events closer together than it, see Config.Linger).
//
// The sub-benchmark "inline" is the plainest sender for comparison: the
// producer itself writes each event on a kept-alive connection and waits
// for its answer, no queue and no worker. ns/op is twice the interval
// (the baseline's tick and the event's).
func BenchmarkDeliveryIdle(b *testing.B) {
	for _, every := range []time.Duration{time.Millisecond, 5 * time.Millisecond} {
		b.Run(fmt.Sprintf("every=%dus", every/time.Microsecond), func(b *testing.B) {
			benchIdle(b, every, false)
		})
		b.Run(fmt.Sprintf("every=%dus/inline", every/time.Microsecond), func(b *testing.B) {
			benchIdle(b, every, true)
		})
	}
}

func benchIdle(b *testing.B, every time.Duration, inline bool) {
	url := startFakeServer(b)
	c, err := New(Config{Endpoint: url, License: testLicense, ChannelID: 1})
	if err != nil {
		b.Fatal(err)
	}
	ev := &Login{User: "jlopez", Session: "445613456fa", PublicIP: testIP, Data: benchDevice}
	send := func() {
		if err := c.Enqueue(ev); err != nil {
			b.Fatal(err)
		}
	}
	if inline {
		send = inlineSender(b, c, ev)
	}
	// Warm every worker's connection: a burst, then let it settle.
	for range 16 {
		send()
	}
	for !inline && c.Stats().Sent < 16 {
		time.Sleep(time.Millisecond)
	}
	tick := func(withEvents bool) time.Duration {
		start := benchcpu.Process()
		next := time.Now()
		for range b.N {
			next = next.Add(every)
			time.Sleep(time.Until(next))
			if withEvents {
				send()
			}
		}
		if withEvents && !inline {
			// Close waits for every event's answer: all the deliveries
			// are inside the measurement.
			if err := c.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		return benchcpu.Process() - start
	}
	b.ReportAllocs()
	writes0 := c.writes.Load()
	idle := tick(false)
	busy := tick(true)
	if st := c.Stats(); !inline && (st.Dropped > 0 || st.Failed > 0 || st.Sent != uint64(16+b.N)) {
		b.Fatalf("sent %d of %d, dropped %d, failed %d", st.Sent, 16+b.N, st.Dropped, st.Failed)
	}
	b.ReportMetric(float64(busy-idle)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(idle)/float64(b.N), "idle-cpu-ns/tick")
	if w := c.writes.Load() - writes0; w > 0 {
		b.ReportMetric(float64(b.N)/float64(w), "events/write")
	}
	if inline {
		_ = c.Close(context.Background())
	}
}

// inlineSender returns a send that encodes the event as the client does
// and writes the client's bytes for it on a connection of its own, then
// reads the answer.
func inlineSender(b *testing.B, c *Client, ev Event) func() {
	addr := strings.TrimPrefix(c.cfg.Endpoint, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	br := bufio.NewReader(conn)
	head := c.wire.head(ChannelWeb, KindLogin)
	var buf []byte
	return func() {
		body, err := ev.appendJSON(nil, 1)
		if err != nil {
			b.Fatal(err)
		}
		buf = c.wire.appendRequest(buf[:0], head, body)
		if _, err := conn.Write(buf); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal(resp.Status)
		}
	}
}
