package app

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/login-guard/login_guard/clients/smartid"
	"github.com/login-guard/login_guard/internal/repeatlog"
	"github.com/login-guard/login_guard/internal/testkit/clock"
)

// testObserver is an observer as acquireSmartID makes it, without metrics.
func testObserver() *smartidObserver {
	return &smartidObserver{queue: "q", lines: repeatlog.New(smartidLogEvery), now: time.Now}
}

// smartidEvents counts the events the observer's lines stand for: one a
// line, or its "repeats".
func smartidEvents(logs *observer.ObservedLogs, msg string) (events, lines int) {
	for _, e := range logs.FilterMessage(msg).All() {
		lines++
		if r, ok := e.ContextMap()["repeats"]; ok {
			events += int(r.(int64))
		} else {
			events++
		}
	}
	return events, lines
}

// TestSmartIDOutageIsNotALinePerEvent: during an outage every event
// fails alike. Below debug level the observer writes the first failure
// of each kind at once and then one line per smartidLogEvery standing
// for the rest; at debug level every event keeps its own line.
func TestSmartIDOutageIsNotALinePerEvent(t *testing.T) {
	failed := smartid.Report{Outcome: smartid.OutcomeFailed, Event: smartid.KindLogin, Attempt: 2, Status: 503}
	retried := smartid.Report{Outcome: smartid.OutcomeRetry, Event: smartid.KindLogin, Attempt: 1, Err: errors.New("connection refused")}
	full := smartid.Report{Outcome: smartid.OutcomeDropped, Event: smartid.KindLogin, Reason: "queue_full"}
	sent := smartid.Report{Outcome: smartid.OutcomeSent, Event: smartid.KindLogin, Attempt: 1, Status: 200}

	t.Run("info", func(t *testing.T) {
		core, logs := observer.New(zap.InfoLevel)
		clk := clock.New(time.Unix(1_700_000_000, 0))
		o := testObserver()
		o.now = clk.Now
		o.logger.Store(zap.New(core))
		// A minute of outage, 100 events a second, each retried once,
		// failing, and a tenth of them dropped as the queue fills.
		for i := range 6000 {
			o.Observe(retried)
			o.Observe(failed)
			if i%10 == 0 {
				o.Observe(full)
			}
			clk.Advance(10 * time.Millisecond)
		}
		if n := logs.Len(); n > 3*7 {
			t.Fatalf("a minute of outage wrote %d lines, want at most a line a kind per %s", n, smartidLogEvery)
		}
		// SmartID is back: the next delivered event writes what is held.
		clk.Advance(smartidLogEvery)
		o.Observe(sent)
		for msg, want := range map[string]int{"smartid event failed": 6000, "smartid event retried": 6000, "smartid event dropped": 600} {
			if ev, lines := smartidEvents(logs, msg); ev != want {
				t.Errorf("%q: %d lines standing for %d events, want %d events", msg, lines, ev, want)
			}
		}
		for _, e := range logs.FilterMessage("smartid event dropped").All() {
			if e.ContextMap()["reason"] != "queue_full" || e.Level != zapcore.WarnLevel {
				t.Fatalf("a drop's line lost its reason or level: %v %v", e.Level, e.ContextMap())
			}
		}
	})

	t.Run("debug", func(t *testing.T) {
		core, logs := observer.New(zap.DebugLevel)
		o := testObserver()
		o.logger.Store(zap.New(core))
		for range 50 {
			o.Observe(failed)
			o.Observe(sent)
		}
		if f, s := logs.FilterMessage("smartid event failed").Len(), logs.FilterMessage("smartid event sent").Len(); f != 50 || s != 50 {
			t.Fatalf("at debug level: %d failed and %d sent lines, want 50 each", f, s)
		}
	})
}

// TestSmartIDQueueDrainLogsWhatIsHeld: the drops of a shutdown, held back
// as repeats, are written when the queue is destroyed, not lost with the
// process. SmartID here refuses connections and each event is tried once.
func TestSmartIDQueueDrainLogsWhatIsHeld(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	zero := 0
	cfg := &SmartIDConfig{Endpoint: dead, License: "k", Channel: "1", Retries: &zero}
	if err := cfg.provision(); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	q, err := acquireSmartID(cfg.poolKey(), cfg, zap.New(core), t)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := range n {
		if err := q.Client.Enqueue(smartid.Login{ChannelKind: smartid.ChannelWeb, ChannelID: 1, User: "u", Session: "s", PublicIP: netip.MustParseAddr("192.0.2.1"), Data: "d"}); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if err := releaseSmartID(cfg.poolKey(), q, t); err != nil {
		t.Log("drain:", err)
	}
	failed, _ := smartidEvents(logs, "smartid event failed")
	dropped, _ := smartidEvents(logs, "smartid event dropped")
	if failed+dropped != n {
		t.Fatalf("after the drain the lines stand for %d failed + %d dropped events, want %d", failed, dropped, n)
	}
	if logs.Len() >= n {
		t.Fatalf("%d lines for %d events of one outage", logs.Len(), n)
	}
}
