package login

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/login-guard/login_guard/caddymodule/smileidpool"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/internal/stepup"
)

// TestAccountIDAllowList: account_id is static text and the placeholders
// an account id may come from (the portal's response header, the user an
// authentication handler vouched for, the environment); every placeholder
// the client fills in, in every spelling, is refused and named, and so is
// anything Caddy's replacer could read otherwise than the check does.
func TestAccountIDAllowList(t *testing.T) {
	for _, ok := range []string{
		"",
		"acme",
		"{http.reverse_proxy.header.X-Account-Id}",
		"{http.reverse_proxy.header.Account}",
		"{http.auth.user.id}",
		"{http.auth.user.email}",
		"{env.PORTAL_ACCOUNT}",
		"tenant-{env.TENANT}:{http.auth.user.id}",
		"{env.TENANT}/{http.reverse_proxy.header.X-Account-Id}",
	} {
		keys, err := accountKeys(ok)
		if err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
		// The keys checked are the ones Caddy's replacer looks up.
		var looked []string
		repl := caddy.NewEmptyReplacer()
		repl.Map(func(key string) (any, bool) { looked = append(looked, key); return "v", true })
		repl.ReplaceKnown(ok, "")
		if !slices.Equal(keys, looked) {
			t.Errorf("%q: checked %q, Caddy looks up %q", ok, keys, looked)
		}
	}
	const (
		fromRequest = "comes from the request, so the client would choose the account"
		brace       = "a backslash, or a brace that opens or closes no placeholder, is not taken"
	)
	for _, c := range []struct{ account, want string }{
		// Regexp matcher captures from the path or a header.
		{"{http.regexp.acct.1}", "{http.regexp.acct.1} " + fromRequest},
		{"{http.regexp.1}", "{http.regexp.1} " + fromRequest},
		{"{re.acct.1}", "{re.acct.1} " + fromRequest}, // JSON: the shorthand is not expanded
		// Variables (vars, map), often derived from the request.
		{"{http.vars.acct}", "{http.vars.acct} " + fromRequest},
		{"{vars.acct}", "{vars.acct} " + fromRequest},
		// The URI in all its parts.
		{"{http.request.uri}", "{http.request.uri} " + fromRequest},
		{"{http.request.uri.path}", "{http.request.uri.path} " + fromRequest},
		{"{http.request.uri.path.1}", "{http.request.uri.path.1} " + fromRequest},
		{"{http.request.uri.query}", "{http.request.uri.query} " + fromRequest},
		{"{http.request.uri.query.acct}", "{http.request.uri.query.acct} " + fromRequest},
		{"{http.request.orig_uri.query}", "{http.request.orig_uri.query} " + fromRequest},
		{"{query.acct}", "{query.acct} " + fromRequest},
		{"{path.1}", "{path.1} " + fromRequest},
		// Headers and cookies.
		{"{http.request.header.X-Account-Id}", "{http.request.header.X-Account-Id} " + fromRequest},
		{"{header.X-Account-Id}", "{header.X-Account-Id} " + fromRequest},
		{"{http.request.cookie.acct}", "{http.request.cookie.acct} " + fromRequest},
		{"{cookie.acct}", "{cookie.acct} " + fromRequest},
		// The body, the host, the client's certificate.
		{"{http.request.body}", "{http.request.body} " + fromRequest},
		{"{login_guard.field.account}", "{login_guard.field.account} " + fromRequest},
		{"{http.request.host}", "{http.request.host} " + fromRequest},
		{"{http.request.host.labels.2}", "{http.request.host.labels.2} " + fromRequest},
		{"{labels.2}", "{labels.2} " + fromRequest},
		{"{http.request.tls.client.subject}", "{http.request.tls.client.subject} " + fromRequest},
		{"{http.matchers.file.relative}", "{http.matchers.file.relative} " + fromRequest},
		{"{http.error.message}", "{http.error.message} " + fromRequest},
		// Allowed text around a refused placeholder.
		{"acme-{http.request.header.X-Account}", "{http.request.header.X-Account} " + fromRequest},
		{"{env.TENANT}{query.acct}", "{query.acct} " + fromRequest},
		{"{http.auth.user.id}{http.regexp.1}", "{http.regexp.1} " + fromRequest},
		// Not the portal's answer, nor a user.
		{"{http.reverse_proxy.status_code}", "{http.reverse_proxy.status_code} is not a source the portal vouches for"},
		{"{http.reverse_proxy.upstream.hostport}", "{http.reverse_proxy.upstream.hostport} is not a source the portal vouches for"},
		{"{rp.header.X-Account-Id}", "{rp.header.X-Account-Id} is not a source the portal vouches for"},
		{"{system.hostname}", "{system.hostname} is not a source the portal vouches for"},
		{"{time.now.unix}", "{time.now.unix} is not a source the portal vouches for"},
		{"{file./etc/hostname}", "{file./etc/hostname} is not a source the portal vouches for"},
		{"{http.login_guard.route}", "{http.login_guard.route} is not a source the portal vouches for"},
		// A prefix alone, and look-alikes of allowed prefixes.
		{"{env.}", "{env.} is not a source"},
		{"{http.auth.user.}", "{http.auth.user.} is not a source"},
		{"{http.reverse_proxy.header.}", "{http.reverse_proxy.header.} is not a source"},
		{"{http.auth.userid}", "{http.auth.userid} is not a source"},
		{"{environment.X}", "{environment.X} is not a source"},
		{"{HTTP.REQUEST.HEADER.X}", "{HTTP.REQUEST.HEADER.X} is not a source"},
		// A response header reverse_proxy never sets under that name.
		{"{http.reverse_proxy.header.x-account-id}", "never set: reverse_proxy names a response header's placeholder by its canonical form, {http.reverse_proxy.header.X-Account-Id}"},
		// Read otherwise by Caddy's replacer, or not a placeholder.
		{"{}", "the placeholder {} is not a source"},
		{"{http.auth.user.id{http.request.header.X}}", brace},
		{"{env.A }", "{env.A } is not a source"},
		{"{env.A/B}", "{env.A/B} is not a source"},
		{`\{http.request.header.X\}`, brace},
		{`{http.auth.user.id\}{http.request.header.X}`, brace},
		{`acme\`, brace},
		{"{http.auth.user.id", brace},
		{"{http.auth.user.id}{", brace},
		{"acme}", brace},
		{"}{http.request.header.X}", brace},
		{"{{http.request.header.X}}", brace},
	} {
		_, err := accountKeys(c.account)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error containing %q", c.account, err, c.want)
			continue
		}
		if oe, ok := err.(*optionError); !ok || oe.option != "account_id" {
			t.Errorf("%q: %v is not account_id's refusal (%T)", c.account, err, err)
		}
		if !strings.Contains(err.Error(), "account_id ") {
			t.Errorf("%q: %v does not name account_id", c.account, err)
		}
	}
}

// TestAccountIDRefusedAtItsLine: `caddy adapt` refuses a client-written
// account_id at its own line, in the spellings the Caddyfile takes (its
// shorthands expand before the directive reads them: the error names the
// placeholder as Caddy reads it), and adapts the allowed ones.
func TestAccountIDRefusedAtItsLine(t *testing.T) {
	adapt := func(account string) error {
		cfg := ":8080 {\n\tlogin_guard {\n\t\tevent login\n\t\tengines sandbox\n\t\taccount_id " + account + "\n\t}\n}\n"
		_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
		return err
	}
	for _, c := range []struct{ account, placeholder string }{
		{"{re.acct.1}", "{http.regexp.acct.1}"},
		{"{http.regexp.acct.1}", "{http.regexp.acct.1}"},
		{"{vars.acct}", "{http.vars.acct}"},
		{"{http.vars.acct}", "{http.vars.acct}"},
		{"{uri}", "{http.request.uri}"},
		{"{path}", "{http.request.uri.path}"},
		{"{path.1}", "{http.request.uri.path.1}"},
		{"{query}", "{http.request.uri.query}"},
		{"{query.acct}", "{http.request.uri.query.acct}"},
		{"{orig_uri}", "{http.request.orig_uri}"},
		{"{http.request.uri.query.acct}", "{http.request.uri.query.acct}"},
		{"{header.X-Account-Id}", "{http.request.header.X-Account-Id}"},
		{"{http.request.header.X-Account-Id}", "{http.request.header.X-Account-Id}"},
		{"{cookie.acct}", "{http.request.cookie.acct}"},
		{"{http.request.cookie.acct}", "{http.request.cookie.acct}"},
		{"{labels.1}", "{http.request.host.labels.1}"},
		{"{host}", "{http.request.host}"},
		{"{http.request.body}", "{http.request.body}"},
		{"{login_guard.field.account}", "{login_guard.field.account}"},
		{"{rp.status_code}", "{http.reverse_proxy.status_code}"},
		{"acme-{header.X-Account}", "{http.request.header.X-Account}"},
	} {
		err := adapt(c.account)
		want := "the placeholder " + c.placeholder + " "
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "at Caddyfile:5") {
			t.Errorf("%s: got %v\nwant an error containing %q at Caddyfile:5", c.account, err, want)
		}
	}
	// The option is refused at its own line wherever event stands.
	cfg := ":8080 {\n\tlogin_guard {\n\t\taccount_id {header.X-Account}\n\t\tengines sandbox\n\t\tevent login\n\t}\n}\n"
	if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"}); err == nil ||
		!strings.Contains(err.Error(), "{http.request.header.X-Account} comes from the request") || !strings.Contains(err.Error(), "at Caddyfile:3") {
		t.Errorf("account_id before event: got %v", err)
	}
	for _, account := range []string{
		"{http.reverse_proxy.header.X-Account-Id}",
		"{rp.header.X-Account-Id}",
		"{http.auth.user.id}",
		"{env.PORTAL_ACCOUNT}",
		"acme",
		"{env.TENANT}-{http.auth.user.id}",
	} {
		if err := adapt(account); err != nil {
			t.Errorf("%s: %v", account, err)
		}
	}
}

// TestAccountIDRefusedInJSON: a JSON config, which skips the Caddyfile,
// is refused at load with the route's name.
func TestAccountIDRefusedInJSON(t *testing.T) {
	for _, c := range []struct{ account, want string }{
		{"{http.request.header.X-Account-Id}", `route "r": account_id "{http.request.header.X-Account-Id}": the placeholder {http.request.header.X-Account-Id} comes from the request`},
		{"{header.X-Account-Id}", `route "r": account_id "{header.X-Account-Id}": the placeholder {header.X-Account-Id} comes from the request`},
		{"{http.regexp.acct.1}", `route "r": account_id "{http.regexp.acct.1}": the placeholder {http.regexp.acct.1} comes from the request`},
	} {
		cfg, _ := json.Marshal(map[string]string{"name": "r", "event": "login", "account_id": c.account})
		_, err := jsonHandler(t, testApp(t), string(cfg))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.account, err, c.want)
		}
	}
	cfg := `{"name":"r","event":"login","account_id":"{http.reverse_proxy.header.X-Account-Id}"}`
	if _, err := jsonHandler(t, testApp(t), cfg); err != nil {
		t.Fatal(err)
	}
}

// TestSelfieAccountIsTheUsers: with smileid user_id account_id, a route
// sending to step-up needs an account id that is the user's (the portal's
// answer or the authenticated user), not one that is the same for every
// user, against whose one face everyone's selfie would be compared; a
// response header read before the upstream is warned about.
func TestSelfieAccountIsTheUsers(t *testing.T) {
	provision := func(cfg string) (*observer.ObservedLogs, error) {
		t.Helper()
		a := testApp(t)
		a.SmileID = &smileidpool.Config{UserID: smileidpool.UserAccountID}
		h := new(Handler)
		if err := json.Unmarshal([]byte(cfg), h); err != nil {
			t.Fatal(err)
		}
		core, logs := observer.New(zapcore.WarnLevel)
		// Provision alone, where the account is checked: the test app
		// has no engines, without which Validate refuses evaluate.
		err := h.provision(a, zap.New(core))
		t.Cleanup(func() { _ = h.Cleanup() })
		return logs, err
	}
	route := func(evaluate, account string) string {
		b, _ := json.Marshal(map[string]string{"name": "r", "event": "login", "step_up": "/verify", "evaluate": evaluate, "account_id": account})
		return string(b)
	}
	for _, account := range []string{"acme", "{env.PORTAL_ACCOUNT}", "acme-{env.TENANT}"} {
		_, err := provision(route(EvaluateAfter, account))
		if err == nil || !strings.Contains(err.Error(), `route "r": account_id "`+account+`" is the same for every user`) {
			t.Errorf("%s: got %v", account, err)
		}
	}
	if _, err := provision(route(EvaluateAfter, "{http.request.header.X-Account-Id}")); err == nil || !strings.Contains(err.Error(), "comes from the request") {
		t.Errorf("request header: got %v", err)
	}
	for _, account := range []string{"{http.reverse_proxy.header.X-Account-Id}", "{http.auth.user.id}", "{env.TENANT}:{http.auth.user.id}", ""} {
		logs, err := provision(route(EvaluateAfter, account))
		if err != nil || logs.Len() != 0 {
			t.Errorf("%q: %v, %d warnings", account, err, logs.Len())
		}
	}
	logs, err := provision(route(EvaluateBefore, "{http.reverse_proxy.header.X-Account-Id}"))
	if err != nil || logs.FilterMessageSnippet("only a forward_auth before the guard sets it").Len() != 1 {
		t.Errorf("response header before the upstream: %v, warnings %v", err, logs.All())
	}
	// Without user_id account_id, static text is the operator's choice.
	if _, err := jsonHandler(t, testApp(t), route("", "acme")); err != nil {
		t.Errorf("static account id without smileid: %v", err)
	}
}

// TestAccountIDWithoutEngines: a route with no engines still reads its
// account_id into the step-up state, under which smileid user_id
// account_id compares the selfie. Only asking the engines read it, so on
// such a route the option did nothing and the selfie was never offered.
func TestAccountIDWithoutEngines(t *testing.T) {
	h := testHandler(t, &Handler{Name: "login", Event: EventLogin,
		RuleOptions:   request.RuleOptions{Rules: []string{`when "user == \"jlopez\"" challenge`}},
		EngineOptions: EngineOptions{AccountID: "{http.auth.user.id}"},
		StepUpOptions: StepUpOptions{StepUp: "/verify"}})
	t.Cleanup(func() { _ = h.Cleanup() })
	r := newRequest(http.MethodPost, "/api/login", formType, benchForm)
	r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer).Set("http.auth.user.id", "acct-7")
	w := newBenchWriter()
	if err := h.ServeHTTP(w, r, upstreamOK); err != nil || w.code != http.StatusSeeOther {
		t.Fatal("want the challenge's redirect, got", err, w.code)
	}
	var tok string
	for _, c := range (&http.Response{Header: w.h}).Cookies() {
		if strings.HasSuffix(c.Name, request.CookieState) {
			tok = c.Value
		}
	}
	iss, _, err := h.StepUpOptions.states.Machinery(h.app)
	if err != nil {
		t.Fatal(err)
	}
	st, err := iss.Verify(tok, stepup.Binding{User: "jlopez", Route: "login", IP: netip.MustParseAddr(benchIP), UserAgent: r.UserAgent(), StepUp: h.StepUpOptions.place})
	if err != nil || st.AccountID != "acct-7" {
		t.Fatalf("state account %q (%v), want acct-7", st.AccountID, err)
	}
}
