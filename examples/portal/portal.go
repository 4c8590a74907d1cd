// Package portal is the example web portal the demo guards: a login page
// carrying the SmartID SDK's hidden field, and a tiny app that checks
// credentials. It knows nothing about login_guard, like any real portal.
package portal

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed static
var static embed.FS

//go:embed templates/*.html
var templates embed.FS

var pages = template.Must(template.ParseFS(templates, "templates/*.html"))

// Users are the demo's accounts.
var Users = map[string]string{
	"alice":             "wonderland",
	"bob":               "builder",
	"sandbox-allow":     "sandbox",
	"sandbox-challenge": "sandbox",
	"sandbox-deny":      "sandbox",
}

// SessionCookie is the portal's own session cookie.
const SessionCookie = "portal_session"

// App is the portal. The zero value is not usable; call New.
type App struct {
	// EnrolLinkAdmin is the Caddy admin API the demo's help page asks for
	// a passkey enrolment link (http://localhost:2019); empty hides that
	// button. A real portal's support staff send such links after
	// checking who is asking.
	EnrolLinkAdmin string

	mu       sync.Mutex
	sessions map[string]string // session id → user
}

// New returns a portal with no sessions.
func New() *App { return &App{sessions: map[string]string{}} }

// Handler serves the portal's pages and API.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.FileServerFS(static))
	mux.HandleFunc("GET /{$}", a.loginPage)
	mux.HandleFunc("GET /account", a.account)
	mux.HandleFunc("POST /api/login", a.login)
	mux.HandleFunc("POST /api/logout", a.logout)
	mux.HandleFunc("POST /api/transfer", a.transfer)
	mux.HandleFunc("GET /help/passkeys", a.helpPage)
	mux.HandleFunc("POST /help/enrol-link", a.enrolLink)
	return mux
}

// helpPage is where the guard's help_url points a person who has no
// passkey yet.
func (a *App) helpPage(w http.ResponseWriter, r *http.Request) {
	render(w, "help.html", map[string]any{"Links": a.EnrolLinkAdmin != "", "Failed": r.URL.Query().Get("failed") != ""})
}

// enrolLink asks the guard's admin API for a one-time enrolment link and
// sends the browser to it: the demo's stand-in for a support desk.
func (a *App) enrolLink(w http.ResponseWriter, r *http.Request) {
	if a.EnrolLinkAdmin == "" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	user := r.PostForm.Get("username")
	if _, ok := Users[user]; !ok {
		http.Redirect(w, r, "/help/passkeys?failed=1", http.StatusSeeOther)
		return
	}
	body, _ := json.Marshal(map[string]string{"user": user, "ttl": "15m"})
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Post(strings.TrimRight(a.EnrolLinkAdmin, "/")+"/login_guard/passkeys/enrol_link", "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, "the guard's admin API did not answer", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	var out struct {
		Link string `json:"link"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<10)).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(out.Link, "/") {
		http.Error(w, "the guard's admin API gave no link", http.StatusBadGateway)
		return
	}
	http.Redirect(w, r, out.Link, http.StatusSeeOther)
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request) {
	render(w, "login.html", map[string]any{"Failed": r.URL.Query().Get("failed") != ""})
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	user, pass := r.PostForm.Get("username"), r.PostForm.Get("password")
	if want, ok := Users[user]; !ok || want != pass {
		http.Redirect(w, r, "/?failed=1", http.StatusSeeOther)
		return
	}
	id := randomID()
	a.mu.Lock()
	a.sessions[id] = user
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (a *App) user(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[c.Value]
}

func (a *App) account(w http.ResponseWriter, r *http.Request) {
	u := a.user(r)
	if u == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	render(w, "account.html", map[string]any{"User": u, "Sent": r.URL.Query().Get("sent")})
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		a.mu.Lock()
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) transfer(w http.ResponseWriter, r *http.Request) {
	if a.user(r) == "" {
		http.Error(w, "not logged in", http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, "/account?sent="+template.URLQueryEscaper(r.PostForm.Get("amount")), http.StatusSeeOther)
}

func render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
	}
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
