// Package admin holds the guard's endpoints on Caddy's admin API: the
// local rules' counters (admin.api.login_guard) and passkeys: enrolment
// links and stored passkeys (admin.api.login_guard_passkeys). Admin
// routers are provisioned before the apps and can serve before they
// start, so each request looks the app up through its config's context,
// and gets 503 until that config is running (and, for what needs the
// app's keys, until it has started).
package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/rules"
	"github.com/login-guard/login_guard/rules/counter"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// Admin API limits.
const (
	adminDefaultMax = 1000
	adminMaxMax     = 10_000
	adminBodyLimit  = 4 << 10
)

// AdminAPI serves the local rules' state on Caddy's admin listener, so it
// is protected like the rest of that API (loopback or a unix socket by
// default, origin checks, optional mutual TLS):
//
//	GET    /login_guard/routes                  routes with local rules, and their rules
//	GET    /login_guard/limits?route=&user=&ip=&all=1&max=
//	                                            current lockouts and limited keys
//	                                            (all=1: every counter held)
//	DELETE /login_guard/limits?route=&user=&ip= clear matching counters
//	POST   /login_guard/clear  {"route","user","ip"}   the same, as JSON
//
// user and ip are given as a support desk has them (a raw user name, an
// address) and normalised the way the route counts. A clear needs a user
// or an ip; without route it clears on every route.
type AdminAPI struct {
	app appFinder
}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.login_guard",
		New: func() caddy.Module { return new(AdminAPI) },
	}
}

// Routes implements caddy.AdminRouter. The counters need the app's
// routes, registered when it was provisioned, not its keys.
func (a *AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: "/login_guard/routes", Handler: a.app.handler(false, a.handleRoutes)},
		{Pattern: "/login_guard/limits", Handler: a.app.handler(false, a.handleLimits)},
		{Pattern: "/login_guard/clear", Handler: a.app.handler(false, a.handleClear)},
	}
}

// adminRoute is one route in GET /login_guard/routes.
type adminRoute struct {
	Route string   `json:"route"`
	Rules []string `json:"rules"`
}

// adminEntry is one held counter.
type adminEntry struct {
	Route string `json:"route"`
	// Rule is the rule's counting part, e.g. "lockout ip_user 5/15m for 30m".
	Rule string `json:"rule"`
	// Kind is rate, distinct or lockout.
	Kind string `json:"kind"`
	// Subject is the normalised key: "ip=203.0.113.7/32 user=jlopez";
	// empty when Unreadable.
	Subject string `json:"subject"`
	// Unreadable marks a counter whose subject the store could not read
	// back (with store redis: sealed under key material this instance
	// does not hold); its rule, counts and lock are shown.
	Unreadable        bool       `json:"unreadable,omitempty"`
	Count             int        `json:"count"`
	Limit             int        `json:"limit"`
	Limited           bool       `json:"limited"`
	LockedUntil       *time.Time `json:"locked_until,omitempty"`
	RetryAfterSeconds int        `json:"retry_after_seconds,omitempty"`
}

type adminLimits struct {
	Entries   []adminEntry `json:"entries"`
	Truncated bool         `json:"truncated"`
	// Unreadable counts the entries marked unreadable.
	Unreadable int `json:"unreadable,omitempty"`
}

// adminClearRequest is the body of POST /login_guard/clear.
type adminClearRequest struct {
	Route string `json:"route"`
	User  string `json:"user"`
	IP    string `json:"ip"`
}

type adminCleared struct {
	Cleared int            `json:"cleared"`
	Routes  map[string]int `json:"routes"`
}

func (a *AdminAPI) handleRoutes(lg *app.App, w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(w, r, http.MethodGet)
	}
	if err := checkQuery(r.URL.Query()); err != nil {
		return err
	}
	out := []adminRoute{}
	reg := lg.Routes()
	for _, name := range reg.Names() {
		regs := reg.Get(name)
		if len(regs) == 0 {
			continue
		}
		out = append(out, adminRoute{Route: name, Rules: regs[len(regs)-1].Rules})
	}
	return writeAdminJSON(w, out)
}

func (a *AdminAPI) handleLimits(lg *app.App, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet:
		if err := checkQuery(q, "route", "user", "ip", "all", "max"); err != nil {
			return err
		}
	case http.MethodDelete:
		if err := checkQuery(q, "route", "user", "ip"); err != nil {
			return err
		}
		return a.clear(lg, w, r, adminClearRequest{Route: q.Get("route"), User: q.Get("user"), IP: q.Get("ip")})
	default:
		return methodNotAllowed(w, r, http.MethodGet, http.MethodDelete)
	}
	max := adminDefaultMax
	if s := q.Get("max"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > adminMaxMax {
			return badRequest(fmt.Errorf("max must be a whole number from 1 to %d", adminMaxMax))
		}
		max = n
	}
	all := false
	if s := q.Get("all"); s != "" {
		var err error
		if all, err = strconv.ParseBool(s); err != nil {
			return badRequest(fmt.Errorf("all must be 1 (every counter held) or 0, not %q", s))
		}
	}
	f := rules.AdminFilter{User: q.Get("user"), IP: q.Get("ip"), LimitedOnly: !all}
	routes, err := selectRoutes(lg.Routes(), q.Get("route"))
	if err != nil {
		return err
	}
	out := adminLimits{Entries: []adminEntry{}}
	// A route registered by more than one config (a reload) shares its
	// store: an entry is listed once. Unreadable entries share an empty
	// subject, so their store name tells them apart.
	type entryID struct {
		key        counter.Key
		unreadable string
	}
	seen := map[entryID]bool{}
	for _, name := range routes {
		for _, reg := range lg.Routes().Get(name) {
			// One more than asked tells a full page from a truncated one.
			entries, err := reg.Policy.List(r.Context(), f, max+1-len(out.Entries))
			if err != nil {
				return filterOrStoreError(err)
			}
			for _, e := range entries {
				id := entryID{e.Key, e.Unreadable}
				if seen[id] {
					continue
				}
				seen[id] = true
				if len(out.Entries) == max {
					out.Truncated = true
					break
				}
				out.Entries = append(out.Entries, toAdminEntry(name, e))
				if e.Unreadable != "" {
					out.Unreadable++
				}
			}
		}
	}
	return writeAdminJSON(w, out)
}

func (a *AdminAPI) handleClear(lg *app.App, w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return methodNotAllowed(w, r, http.MethodPost)
	}
	if err := checkQuery(r.URL.Query()); err != nil {
		return err
	}
	var req adminClearRequest
	if err := decodeBody(r, &req); err != nil {
		return badRequest(fmt.Errorf("body must be JSON like {\"route\":\"login\",\"user\":\"jlopez\"}: %v", err))
	}
	return a.clear(lg, w, r, req)
}

// clear forgets the counters matching req on its route (or all routes).
func (a *AdminAPI) clear(lg *app.App, w http.ResponseWriter, r *http.Request, req adminClearRequest) error {
	if req.User == "" && req.IP == "" {
		return badRequest(errors.New("say whose counters to clear: user, ip or both"))
	}
	routes, err := selectRoutes(lg.Routes(), req.Route)
	if err != nil {
		return err
	}
	f := rules.AdminFilter{User: req.User, IP: req.IP}
	out := adminCleared{Routes: map[string]int{}}
	for _, name := range routes {
		for _, reg := range lg.Routes().Get(name) {
			n, err := reg.Policy.Clear(r.Context(), f)
			if err != nil {
				return filterOrStoreError(err)
			}
			out.Routes[name] += n
			out.Cleared += n
		}
	}
	return writeAdminJSON(w, out)
}

// selectRoutes resolves the route parameter: one known route, or every
// route when empty.
func selectRoutes(reg *app.RouteRegistry, route string) ([]string, error) {
	names := reg.Names()
	if route == "" {
		return names, nil
	}
	for _, n := range names {
		if n == route {
			return []string{route}, nil
		}
	}
	known := "none"
	if len(names) > 0 {
		known = strings.Join(names, ", ")
	}
	return nil, caddy.APIError{
		HTTPStatus: http.StatusNotFound,
		Err:        fmt.Errorf("unknown route %q (routes with local rules: %s)", route, known),
	}
}

func toAdminEntry(route string, e counter.Entry) adminEntry {
	out := adminEntry{
		Route:      route,
		Rule:       strings.TrimPrefix(e.Key.Rule, route+"/"),
		Kind:       e.Kind,
		Subject:    e.Key.Subject,
		Unreadable: e.Unreadable != "",
		Count:      e.Count,
		Limit:      e.Limit,
		Limited:    e.Limited,
	}
	if !e.LockedUntil.IsZero() {
		t := e.LockedUntil.UTC()
		out.LockedUntil = &t
	}
	if e.RetryAfter > 0 {
		out.RetryAfterSeconds = int((e.RetryAfter + time.Second - 1) / time.Second)
	}
	return out
}

// filterOrStoreError answers a List or Clear error: 400 for the filter
// the request gave (rules.ErrAdminFilter), 503 for the counter store (a
// Redis outage is not the request's fault).
func filterOrStoreError(err error) error {
	if errors.Is(err, rules.ErrAdminFilter) {
		return badRequest(err)
	}
	return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: fmt.Errorf("counter store: %v", err)}
}

func writeAdminJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

func badRequest(err error) error {
	return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
}

// methodNotAllowed answers 405 naming the methods the endpoint takes,
// in the Allow header too.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, allowed ...string) error {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed; use %s", r.Method, strings.Join(allowed, ", "))}
}

// checkQuery refuses a query parameter the endpoint does not read, and
// one given twice: a misspelt filter (usr=jlopez) would otherwise be
// dropped without a word, widening a listing, or a clear, to every user.
func checkQuery(q url.Values, known ...string) error {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !slices.Contains(known, k) {
			want := "none"
			if len(known) > 0 {
				want = strings.Join(known, ", ")
			}
			return badRequest(fmt.Errorf("unknown parameter %q (this endpoint takes: %s)", k, want))
		}
		if len(q[k]) > 1 {
			return badRequest(fmt.Errorf("parameter %q given more than once", k))
		}
	}
	return nil
}

// decodeBody reads a request body holding exactly one JSON object of v's
// fields, at most adminBodyLimit bytes: an unknown field, a wrong type or
// anything after the object is refused, not half read.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, adminBodyLimit+1))
	if err != nil {
		return err
	}
	if len(b) > adminBodyLimit {
		return fmt.Errorf("body over %d bytes", adminBodyLimit)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return errors.New("more than one JSON value (or data after the object)")
	}
	return nil
}

// Interface guards.
var (
	_ caddy.AdminRouter = (*AdminAPI)(nil)
)
