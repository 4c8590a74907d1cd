package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	live := context.Background()
	expired, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	own := &Failure{Kind: KindStatus5xx, Status: 502}

	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want string // kind; "" for nil
	}{
		{"nil", live, nil, ""},
		{"engine failure kept", live, fmt.Errorf("wrapped: %w", own), KindStatus5xx},
		{"engine failure kept when ctx expired", expired, own, KindStatus5xx},
		{"plain error", live, errors.New("boom"), KindError},
		{"plain error after deadline", expired, errors.New("boom"), KindTimeout},
		{"plain error after cancel", cancelled, errors.New("boom"), KindCanceled},
		{"deadline error", live, context.DeadlineExceeded, KindTimeout},
		{"canceled error", live, context.Canceled, KindCanceled},
		{"net timeout", live, &url.Error{Op: "Post", URL: "https://x/secret", Err: timeoutErr{}}, KindTimeout},
		{"dial refused stays error outside transport", live, refused, KindError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Classify(tt.ctx, "eng", tt.err)
			if tt.want == "" {
				if f != nil {
					t.Fatalf("Classify = %v, want nil", f)
				}
				return
			}
			if f == nil || f.Kind != tt.want || f.Engine != "eng" {
				t.Fatalf("Classify = %+v, want kind %s engine eng", f, tt.want)
			}
		})
	}
	if own.Engine != "" {
		t.Fatal("Classify mutated the engine's own Failure")
	}
}

func TestTransportFailure(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: "https://h/v2/accounts/login/alice%40example.com",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	f := TransportFailure(context.Background(), "forter", refused)
	if f.Kind != KindRefused {
		t.Fatalf("kind = %s, want refused", f.Kind)
	}
	if strings.Contains(f.Error(), "alice") || strings.Contains(f.Error(), "https://") {
		t.Fatalf("error quotes the URL: %q", f.Error())
	}
	if !errors.Is(f, syscall.ECONNREFUSED) {
		t.Fatal("cause lost")
	}
}

func TestStatusFailure(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{200, ""}, {204, ""}, {299, ""},
		{301, KindStatusOther}, {302, KindStatusOther}, {101, KindStatusOther},
		{400, KindStatus4xx}, {401, KindStatus4xx}, {429, KindStatus4xx}, {499, KindStatus4xx},
		{500, KindStatus5xx}, {503, KindStatus5xx}, {599, KindStatus5xx},
		{600, KindStatusOther},
	}
	for _, tt := range tests {
		f := StatusFailure("e", tt.status)
		got := ""
		if f != nil {
			got = f.Kind
			if f.Status != tt.status {
				t.Errorf("%d: Status = %d", tt.status, f.Status)
			}
		}
		if got != tt.want {
			t.Errorf("StatusFailure(%d) = %q, want %q", tt.status, got, tt.want)
		}
	}
}

func TestFailureCounts(t *testing.T) {
	counting := map[string]bool{
		KindTimeout: true, KindRefused: true, KindStatus5xx: true, KindStatusOther: true,
		KindMalformed: true, KindUnknownDecision: true, KindError: true,
		KindStatus4xx: false, KindCanceled: false, KindBreakerOpen: false,
	}
	for kind, want := range counting {
		if got := (&Failure{Kind: kind}).Counts(); got != want {
			t.Errorf("Counts(%s) = %v, want %v", kind, got, want)
		}
	}
}

func TestFailureMessage(t *testing.T) {
	f := &Failure{Engine: "forter", Kind: KindStatus5xx, Status: 503}
	if got, want := f.Error(), "engine forter: status_5xx (HTTP 503)"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	f = &Failure{Engine: "x", Kind: KindMalformed, Err: errors.New("unexpected EOF")}
	if got, want := f.Error(), "engine x: malformed: unexpected EOF"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}
