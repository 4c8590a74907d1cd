package forter

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/clients/engine/enginetest"
	"github.com/login-guard/login_guard/internal/testkit/forterfake"
	"github.com/login-guard/login_guard/rules"
)

const (
	testSiteID = "8b47c6d423ba"
	testAPIKey = "fk_test_SECRET_0123456789"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 678_000_000, time.UTC) // 1735787045678 ms

func newClient(t testing.TB, endpoint string, mod func(*Config)) *Client {
	cfg := Config{SiteID: testSiteID, APIKey: testAPIKey, Endpoint: endpoint,
		Now: func() time.Time { return t0.Add(time.Hour) }}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func loginAttempt(ip string) *rules.Attempt {
	return &rules.Attempt{
		Route: "login", Event: "login", User: "alice@example.com",
		IP: netip.MustParseAddr(ip), UserAgent: "Mozilla/5.0 (Windows NT 6.1; WOW64)",
		Header:  http.Header{"Cookie": {"sid=app-session; forterToken=2315688945984", "other=1"}},
		Time:    t0,
		Outcome: rules.OutcomeSuccess,
	}
}

func TestLoginRequestExactBytes(t *testing.T) {
	f := forterfake.New(t, testSiteID, testAPIKey)
	c := newClient(t, f.URL, nil)
	if _, err := c.Check(context.Background(), Request{Attempt: loginAttempt(TestIPApprove), AccountID: "e520/ba9a 367?60b"}); err != nil {
		t.Fatal(err)
	}
	got := f.All()[0]
	if got.Method != http.MethodPost || got.RequestURI != "/v2/accounts/login/e520%2Fba9a%20367%3F60b" {
		t.Fatalf("request line %s %s", got.Method, got.RequestURI)
	}
	want := `{"accountId":"e520/ba9a 367?60b","eventTime":1735787045678,"connectionInformation":` +
		`{"customerIP":"0.0.0.1","userAgent":"Mozilla/5.0 (Windows NT 6.1; WOW64)","forterTokenCookie":"2315688945984"},` +
		`"loginMethodType":"PASSWORD","loginStatus":"SUCCESS","channelType":"WEB",` +
		`"userInput":{"inputType":"EMAIL","email":"alice@example.com"}}`
	if string(got.Body) != want {
		t.Fatalf("body\n got %s\nwant %s", got.Body, want)
	}
	if strings.Contains(string(got.Body), "app-session") {
		t.Fatal("other cookies leaked into the payload")
	}
}

func TestLoginBodyVariants(t *testing.T) {
	base := func() *rules.Attempt { return loginAttempt("203.0.113.7") }
	tests := []struct {
		name    string
		mod     func(*Config)
		attempt func(*rules.Attempt)
		account string
		want    LoginRequest
	}{
		{"email user", nil, nil, "acc-1", LoginRequest{AccountID: "acc-1", EventTime: t0.UnixMilli(),
			ConnectionInformation: ConnectionInformation{"203.0.113.7", "Mozilla/5.0 (Windows NT 6.1; WOW64)", "2315688945984"},
			LoginMethodType:       "PASSWORD", LoginStatus: "SUCCESS", ChannelType: "WEB",
			UserInput: &UserInput{InputType: "EMAIL", Email: "alice@example.com"}}},
		{"username, failed, no account", nil, func(a *rules.Attempt) { a.User = "alice"; a.Outcome = rules.OutcomeFailure }, "",
			LoginRequest{AccountID: NoAccountID, EventTime: t0.UnixMilli(),
				ConnectionInformation: ConnectionInformation{"203.0.113.7", "Mozilla/5.0 (Windows NT 6.1; WOW64)", "2315688945984"},
				LoginMethodType:       "PASSWORD", LoginStatus: "FAILED", ChannelType: "WEB",
				UserInput: &UserInput{InputType: "USERNAME", Username: "alice"}}},
		{"unknown outcome omitted, no user, no cookie, mapped IP, zero time",
			nil, func(a *rules.Attempt) {
				a.User, a.Outcome, a.Header, a.Time = "", rules.OutcomeUnknown, nil, time.Time{}
				a.IP = netip.MustParseAddr("::ffff:0.0.0.2")
			}, "acc",
			LoginRequest{AccountID: "acc", EventTime: t0.Add(time.Hour).UnixMilli(),
				ConnectionInformation: ConnectionInformation{"0.0.0.2", "Mozilla/5.0 (Windows NT 6.1; WOW64)", ""},
				LoginMethodType:       "PASSWORD", ChannelType: "WEB"}},
		{"configured words and cookie", func(c *Config) {
			c.UnknownLoginStatus, c.LoginMethodType, c.ChannelType, c.TokenCookie = "SUCCESS", "SMS", "MOBILE_WEB", "ftr"
		}, func(a *rules.Attempt) {
			a.Outcome = rules.OutcomeUnknown
			a.Header = http.Header{"Cookie": {"forterToken=wrong; ftr=right"}}
			a.IP = netip.Addr{}
		}, "acc",
			LoginRequest{AccountID: "acc", EventTime: t0.UnixMilli(),
				ConnectionInformation: ConnectionInformation{"", "Mozilla/5.0 (Windows NT 6.1; WOW64)", "right"},
				LoginMethodType:       "SMS", LoginStatus: "SUCCESS", ChannelType: "MOBILE_WEB",
				UserInput: &UserInput{InputType: "EMAIL", Email: "alice@example.com"}}},
		{"empty and oversized tokens omitted", nil, func(a *rules.Attempt) {
			a.Header = http.Header{"Cookie": {"forterToken=" + strings.Repeat("x", maxTokenLen+1)}}
		}, "acc",
			LoginRequest{AccountID: "acc", EventTime: t0.UnixMilli(),
				ConnectionInformation: ConnectionInformation{"203.0.113.7", "Mozilla/5.0 (Windows NT 6.1; WOW64)", ""},
				LoginMethodType:       "PASSWORD", LoginStatus: "SUCCESS", ChannelType: "WEB",
				UserInput: &UserInput{InputType: "EMAIL", Email: "alice@example.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, "https://forter.invalid", tt.mod)
			a := base()
			if tt.attempt != nil {
				tt.attempt(a)
			}
			got := c.loginBody(Request{Attempt: a, AccountID: tt.account})
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("body\n got %+v %+v\nwant %+v %+v", got, got.UserInput, tt.want, tt.want.UserInput)
			}
		})
	}
}

func TestTestModeDecisions(t *testing.T) {
	tests := []struct {
		ip      string
		mod     func(*Config)
		action  rules.Action
		reasons []string
		corr    rules.Correlation
	}{
		{TestIPApprove, nil, rules.Allow, nil,
			rules.Correlation{Engine: "forter", ID: "CORR-APPROVE", Detail: map[string]string{DetailDecision: "APPROVE"}}},
		{TestIPDecline, nil, rules.Deny, []string{rules.ReasonEngineDecline},
			rules.Correlation{Engine: "forter", ID: "CORR-DECLINE", Detail: map[string]string{DetailDecision: "DECLINE"}}},
		{TestIPVerify, nil, rules.Challenge, []string{rules.ReasonEngineChallenge},
			rules.Correlation{Engine: "forter", ID: "CORR-VERIFY", Detail: map[string]string{DetailDecision: "VERIFICATION_REQUIRED",
				DetailRecommendation: "EMAIL_VERIFICATION", DetailVerificationType: "OTP_EMAIL", DetailVerificationID: "88yr28r890u"}}},
		{"203.0.113.7", nil, rules.Allow, []string{ReasonNotReviewed},
			rules.Correlation{Engine: "forter", ID: "CORR-NR", Detail: map[string]string{DetailDecision: "NOT_REVIEWED"}}},
		{"203.0.113.7", func(c *Config) { c.OnNotReviewed = rules.Challenge; c.Name = "ftr" }, rules.Challenge, []string{ReasonNotReviewed},
			rules.Correlation{Engine: "ftr", ID: "CORR-NR", Detail: map[string]string{DetailDecision: "NOT_REVIEWED"}}},
	}
	f := forterfake.New(t, testSiteID, testAPIKey)
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			c := newClient(t, f.URL, tt.mod)
			v, err := c.Decide(context.Background(), loginAttempt(tt.ip))
			if err != nil {
				t.Fatal(err)
			}
			if v.Action != tt.action || !reflect.DeepEqual(v.Reasons, tt.reasons) || v.HasScore {
				t.Fatalf("verdict %+v, want %s %v", v, tt.action, tt.reasons)
			}
			if !reflect.DeepEqual(v.Correlations, []rules.Correlation{tt.corr}) {
				t.Fatalf("correlations %+v, want %+v", v.Correlations, tt.corr)
			}
		})
	}
}

func TestAccountIDResolver(t *testing.T) {
	f := forterfake.New(t, testSiteID, testAPIKey)
	c := newClient(t, f.URL, func(c *Config) {
		c.AccountID = func(a *rules.Attempt) string { return "uid-" + a.User }
	})
	if _, err := c.Decide(context.Background(), loginAttempt(TestIPApprove)); err != nil {
		t.Fatal(err)
	}
	if uri := f.All()[0].RequestURI; uri != "/v2/accounts/login/uid-alice@example.com" {
		t.Fatalf("request URI %s", uri)
	}
	c2 := newClient(t, f.URL, nil)
	if _, err := c2.Decide(context.Background(), loginAttempt(TestIPApprove)); err != nil {
		t.Fatal(err)
	}
	if uri := f.All()[1].RequestURI; uri != "/v2/accounts/login/"+NoAccountID {
		t.Fatalf("request URI %s without a resolver", uri)
	}
}

// secretFree fails t when msg holds the API key (plain or in the basic
// auth header form), the account id or the endpoint.
func secretFree(t *testing.T, msg string, extra ...string) {
	t.Helper()
	b64 := base64.StdEncoding.EncodeToString([]byte(testAPIKey + ":"))
	for _, s := range append([]string{testAPIKey, b64, "SECRET", "acct-secret-id"}, extra...) {
		if strings.Contains(msg, s) {
			t.Fatalf("error %q contains %q", msg, s)
		}
	}
}

func TestFailures(t *testing.T) {
	reply := func(status int, body string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(status)
			w.Write([]byte(body))
		}
	}
	seedVerify := `{"forterDecision":"VERIFICATION_REQUIRED","decisionReason":"","accountId":"e520-ba9a-367-60b",` +
		`"correlationId":"HGJ7512345H3DE","recommendation":"EMAIL_VERIFICATION","verificationMethod":` +
		`{"verificationId":"88yr28r890u","correlationId":"e520-ba9a-367-60b","type":"OTP_EMAIL",}}`
	tests := []struct {
		name  string
		reply func(http.ResponseWriter, *http.Request)
		kind  string
	}{
		{"unknown decision", reply(200, `{"forterDecision":"MAYBE","correlationId":"c"}`), engine.KindUnknownDecision},
		{"lower-case decision", reply(200, `{"forterDecision":"approve"}`), engine.KindUnknownDecision},
		{"missing decision", reply(200, `{"correlationId":"c"}`), engine.KindUnknownDecision},
		{"garbage", reply(200, `<html>fk_test_SECRET_0123456789</html>`), engine.KindMalformed},
		{"seed example with trailing comma", reply(200, seedVerify), engine.KindMalformed},
		{"wrong type", reply(200, `{"forterDecision":1}`), engine.KindMalformed},
		{"oversized", reply(200, `{"forterDecision":"APPROVE","decisionReason":"`+strings.Repeat("x", 300)+`"}`), engine.KindMalformed},
		{"500", reply(500, `{"error":"internal"}`), engine.KindStatus5xx},
		{"503", reply(503, ``), engine.KindStatus5xx},
		{"401", reply(401, `{"message":"bad key fk_test_SECRET_0123456789"}`), engine.KindStatus4xx},
		{"400", reply(400, `{"message":"validation"}`), engine.KindStatus4xx},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://evil.example/", http.StatusFound)
		}, engine.KindStatusOther},
	}
	f := forterfake.New(t, testSiteID, testAPIKey)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Override(tt.reply)
			c := newClient(t, f.URL, func(c *Config) { c.MaxResponseBytes = 256 })
			_, err := c.Check(context.Background(), Request{Attempt: loginAttempt(TestIPApprove), AccountID: "acct-secret-id"})
			var fl *engine.Failure
			if !errors.As(err, &fl) || fl.Kind != tt.kind || fl.Engine != "forter" {
				t.Fatalf("err = %v, want %s", err, tt.kind)
			}
			secretFree(t, err.Error(), "127.0.0.1", "evil")
		})
	}
}

func TestSeedExamplesParse(t *testing.T) {
	c := newClient(t, "https://forter.invalid", nil)
	for _, tt := range []struct {
		body   string
		action rules.Action
	}{
		{`{"forterDecision":"APPROVE","decisionReason":"","accountId":"e520-ba9a-367-60b","correlationId":"HGJ7512345H3DE","recommendation":""}`, rules.Allow},
		{`{"forterDecision":"VERIFICATION_REQUIRED","decisionReason":"","accountId":"e520-ba9a-367-60b","correlationId":"HGJ7512345H3DE",` +
			`"recommendation":"EMAIL_VERIFICATION","verificationMethod":{"verificationId":"88yr28r890u","correlationId":"e520-ba9a-367-60b","type":"OTP_EMAIL"}}`, rules.Challenge},
	} {
		var r LoginResponse
		if err := json.Unmarshal([]byte(tt.body), &r); err != nil {
			t.Fatal(err)
		}
		v, err := c.verdict(r)
		if err != nil || v.Action != tt.action || v.Correlations[0].ID != "HGJ7512345H3DE" {
			t.Fatalf("verdict %+v, %v", v, err)
		}
	}
}

func TestLongValuesAreCut(t *testing.T) {
	c := newClient(t, "https://forter.invalid", nil)
	long := strings.Repeat("é", 100) // 200 bytes
	v, err := c.verdict(LoginResponse{ForterDecision: DecisionVerificationRequired, CorrelationID: long, Recommendation: long,
		VerificationMethod: &VerificationMethod{Type: long, VerificationID: "\xff\xfeid"}})
	if err != nil {
		t.Fatal(err)
	}
	corr := v.Correlations[0]
	for _, s := range []string{corr.ID, corr.Detail[DetailRecommendation], corr.Detail[DetailVerificationType]} {
		if len(s) != maxValueLen || !strings.HasPrefix(long, s) {
			t.Fatalf("value of %d bytes not cut on a rune boundary to %d", len(s), maxValueLen)
		}
	}
	if corr.Detail[DetailVerificationID] != "\uFFFDid" {
		t.Fatalf("invalid UTF-8 kept: %q", corr.Detail[DetailVerificationID])
	}
}

func TestRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	_, err = newClient(t, endpoint, nil).Check(context.Background(), Request{Attempt: loginAttempt(TestIPApprove), AccountID: "acct-secret-id"})
	var fl *engine.Failure
	if !errors.As(err, &fl) || fl.Kind != engine.KindRefused {
		t.Fatalf("err = %v, want refused", err)
	}
	secretFree(t, err.Error(), "/v2/")
}

func TestSlowForterTimesOutWithoutLeaks(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body.Close()
		w.(http.Flusher).Flush() // forces the body read; the server now watches the connection
		arrived <- struct{}{}
		<-r.Context().Done()
		// No answer at all: a returning handler would send a 200 that net/http's
		// client may still hand a caller cancelling the request, as if answered.
		panic(http.ErrAbortHandler)
	}))
	base := runtime.NumGoroutine()
	c := newClient(t, srv.URL, nil)
	var r engine.Runner
	ctx := enginetest.NewExpiringContext()
	done := make(chan []engine.Result)
	go func() { done <- r.Run(ctx, []rules.Engine{c}, loginAttempt(TestIPApprove), time.Minute) }()
	<-arrived
	ctx.Expire()
	res := <-done
	if res[0].Failure == nil || res[0].Failure.Kind != engine.KindTimeout || !res[0].Failure.Counts() {
		t.Fatalf("result %+v, want a counting timeout", res[0])
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.CloseIdleConnections()
	srv.Close()
	enginetest.CheckGoroutines(t, base)
}

func TestFourXXDoesNotOpenBreaker(t *testing.T) {
	f := forterfake.New(t, testSiteID, testAPIKey)
	f.Override(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "bad", http.StatusBadRequest) })
	clk := enginetest.NewClock(t0)
	g := engine.WithBreaker(newClient(t, f.URL, nil), engine.NewBreaker(engine.BreakerConfig{Threshold: 2, Now: clk.Now}))
	for range 6 {
		g.Decide(context.Background(), loginAttempt(TestIPApprove))
	}
	if s := g.Breaker().State(); s != engine.Closed || len(f.All()) != 6 {
		t.Fatalf("state %s after %d 4xx answers; want closed and every call made", s, len(f.All()))
	}
	f.Override(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	for range 2 {
		g.Decide(context.Background(), loginAttempt(TestIPApprove))
	}
	if s := g.Breaker().State(); s != engine.Open {
		t.Fatalf("state %s after 2 5xx answers, want open", s)
	}
}

func TestReportAuthResult(t *testing.T) {
	tests := []struct {
		name    string
		account string
		method  string
		success bool
		uri     string
		body    string
	}{
		{"success with method", "acc/1", "OTP_EMAIL", true, "/v2/accounts/authentication-result/acc%2F1",
			`{"accountId":"acc/1","eventTime":1735790645678,"channelType":"WEB","additionalAuthenticationMethod":` +
				`{"correlationId":"HGJ7512345H3DE","verificationOutcome":"SUCCESS","verificationMethod":{"type":"OTP_EMAIL"}}}`},
		{"failure without method or account", "", "", false, "/v2/accounts/authentication-result/NO_ACCOUNT_ID",
			`{"accountId":"NO_ACCOUNT_ID","eventTime":1735790645678,"channelType":"WEB","additionalAuthenticationMethod":` +
				`{"correlationId":"HGJ7512345H3DE","verificationOutcome":"FAILURE"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := forterfake.New(t, testSiteID, testAPIKey)
			c := newClient(t, f.URL, nil)
			if err := c.ReportAuthResult(context.Background(), tt.account, "HGJ7512345H3DE", tt.method, tt.success); err != nil {
				t.Fatal(err)
			}
			got := f.All()[0]
			if got.RequestURI != tt.uri || string(got.Body) != tt.body {
				t.Fatalf("request %s\n%s\nwant %s\n%s", got.RequestURI, got.Body, tt.uri, tt.body)
			}
		})
	}
	// The method object's key is configurable: the seed's prose calls it
	// AdvancedAuthenticationMethod.
	fk := forterfake.New(t, testSiteID, testAPIKey)
	// Headers and method are still checked; the body is compared below,
	// since the fake's own body check knows only the default key.
	fk.Override(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	ck := newClient(t, fk.URL, func(c *Config) { c.AuthResultMethodKey = "advancedAuthenticationMethod" })
	if err := ck.ReportAuthResult(context.Background(), "a1", "C1", "", true); err != nil {
		t.Fatal(err)
	}
	if got, want := string(fk.All()[0].Body), `{"accountId":"a1","eventTime":1735790645678,"channelType":"WEB","advancedAuthenticationMethod":`+
		`{"correlationId":"C1","verificationOutcome":"SUCCESS"}}`; got != want {
		t.Fatalf("custom key body %s, want %s", got, want)
	}

	f := forterfake.New(t, testSiteID, testAPIKey)
	f.Override(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	err := newClient(t, f.URL, nil).ReportAuthResult(context.Background(), "acct-secret-id", "c", "OTP_EMAIL", true)
	var fl *engine.Failure
	if !errors.As(err, &fl) || fl.Kind != engine.KindStatus5xx {
		t.Fatalf("err = %v, want status_5xx", err)
	}
	secretFree(t, err.Error())
}

func TestConfig(t *testing.T) {
	c, err := New(Config{SiteID: "abc123", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if c.base != "https://abc123.api.forter-secure.com" || c.Name() != "forter" {
		t.Fatalf("defaults: base %s name %s", c.base, c.Name())
	}
	if c.headers.Get("Api-Version") != DefaultAPIVersion || c.tokenCookie != DefaultTokenCookie ||
		c.loginMethod != "PASSWORD" || c.channel != "WEB" || c.onNotReviewed != rules.Allow || c.unknownStatus != "" {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = New(Config{SiteID: "abc", APIKey: "k", Endpoint: "https://proxy.example/forter/"})
	if err != nil || c.base != "https://proxy.example/forter" {
		t.Fatalf("endpoint prefix: %v %v", c, err)
	}

	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no site", Config{APIKey: "k"}, "site id is required"},
		{"bad site", Config{SiteID: "a.b", APIKey: "k"}, "site id must be"},
		{"no key", Config{SiteID: "abc"}, "api key is required"},
		{"bad version", Config{SiteID: "abc", APIKey: "k", APIVersion: "2.36\r\nX: y"}, "api version"},
		{"bad cookie", Config{SiteID: "abc", APIKey: "k", TokenCookie: "a b"}, "cookie name"},
		{"bad status word", Config{SiteID: "abc", APIKey: "k", UnknownLoginStatus: "NOT KNOWN"}, "unknown login status"},
		{"endpoint creds", Config{SiteID: "abc", APIKey: "k", Endpoint: "https://u:pw@h"}, "user info"},
		{"endpoint relative", Config{SiteID: "abc", APIKey: "k", Endpoint: "/x"}, "absolute"},
		// The API key goes in every request: plain http only to the loopback.
		{"endpoint plain http", Config{SiteID: "abc", APIKey: "k", Endpoint: "http://forter.example.com"}, "plain http would send the API key in the clear"},
		{"endpoint plain http, private address", Config{SiteID: "abc", APIKey: "k", Endpoint: "http://10.1.2.3:8080"}, "plain http would send the API key in the clear"},
		{"bad not reviewed", Config{SiteID: "abc", APIKey: "k", OnNotReviewed: 7}, "on_not_reviewed"},
		{"negative timeout", Config{SiteID: "abc", APIKey: "k", Timeout: -1}, "timeout must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), ":pw@") {
				t.Fatalf("error quotes credentials: %v", err)
			}
		})
	}
}

func TestTimeoutConfig(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body.Close()
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		// No answer at all: a returning handler would send a 200 that net/http's
		// client may still hand a caller cancelling the request, as if answered.
		panic(http.ErrAbortHandler)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(c *Config) { c.Timeout = time.Millisecond })
	_, err := c.Decide(context.Background(), loginAttempt(TestIPApprove))
	var fl *engine.Failure
	if !errors.As(err, &fl) || fl.Kind != engine.KindTimeout {
		t.Fatalf("err = %v, want timeout from Config.Timeout", err)
	}
}

func TestMinimalLoginOnTheWire(t *testing.T) {
	f := forterfake.New(t, testSiteID, testAPIKey)
	c := newClient(t, f.URL, nil)
	a := &rules.Attempt{IP: netip.MustParseAddr(TestIPVerify), Time: t0}
	v, err := c.Decide(context.Background(), a)
	if err != nil || v.Action != rules.Challenge {
		t.Fatalf("verdict %+v, %v", v, err)
	}
	want := `{"accountId":"NO_ACCOUNT_ID","eventTime":1735787045678,"connectionInformation":{"customerIP":"0.0.0.4","userAgent":""},` +
		`"loginMethodType":"PASSWORD","channelType":"WEB"}`
	if got := string(f.All()[0].Body); got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
}

// TestFakeSpeaksTheClientsFormat: forterfake cannot import this package
// (these tests import it), so it keeps its own copy of the values it
// demands; they must stay the client's.
func TestFakeSpeaksTheClientsFormat(t *testing.T) {
	for _, p := range [][2]string{
		{forterfake.IPApprove, TestIPApprove}, {forterfake.IPDecline, TestIPDecline}, {forterfake.IPVerify, TestIPVerify},
		{forterfake.APIVersion, DefaultAPIVersion}, {forterfake.OutcomeSuccess, OutcomeSuccess}, {forterfake.OutcomeFailure, OutcomeFailure},
	} {
		if p[0] != p[1] {
			t.Errorf("forterfake has %q where the client has %q", p[0], p[1])
		}
	}
}

// TestCallersClientFollowsNoRedirect: a Config.HTTPClient with net/http's
// own policy would follow a 307 to another port of Forter's host name and
// send the API key there; the client refuses the redirect instead.
func TestCallersClientFollowsNoRedirect(t *testing.T) {
	elsewhere := forterfake.New(t, testSiteID, testAPIKey)
	f := forterfake.New(t, testSiteID, testAPIKey)
	f.Override(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	caller := &http.Client{}
	c := newClient(t, f.URL, func(c *Config) { c.HTTPClient = caller })
	_, err := c.Check(context.Background(), Request{Attempt: loginAttempt(TestIPApprove)})
	var fl *engine.Failure
	if !errors.As(err, &fl) || fl.Kind != engine.KindStatusOther || fl.Status != http.StatusTemporaryRedirect {
		t.Fatalf("err = %v, want status_other (HTTP 307)", err)
	}
	if n := len(elsewhere.All()); n != 0 {
		t.Fatalf("the redirect was followed: %d requests elsewhere", n)
	}
	if caller.CheckRedirect != nil {
		t.Fatal("the caller's client was changed")
	}
}

// TestPlainHTTPToTheLoopback: a local forwarder (or a test's fake) on the
// loopback may be plain http.
func TestPlainHTTPToTheLoopback(t *testing.T) {
	for _, ep := range []string{"http://127.0.0.1:9000", "http://localhost", "http://[::1]:8080/forter"} {
		if err := CheckEndpoint(ep); err != nil {
			t.Errorf("%s: %v", ep, err)
		}
	}
}
