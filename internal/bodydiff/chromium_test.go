//go:build differential

package bodydiff

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumForms are the pages headless Chromium submits to build
// testdata/chromium.json: each is the body of an HTML page whose go()
// function sends the request. Values with quotes, spaces, '&', '=', '+',
// newlines and non-ASCII letters make Chromium encode them its way.
var chromiumForms = []struct {
	name, spec, page string
	upload           bool
}{
	{"chromium form", "default", form("application/x-www-form-urlencoded", "", "username", "jürgen o'brien", "password", "p&ss=w+rd", "smartid_data", "eyJzIjoxfQ==", "amount", "12.50"), false},
	{"chromium form non-ascii", "default", form("application/x-www-form-urlencoded", "", "username", "李小龍", "password", "пароль", "smartid_data", ""), false},
	{"chromium multipart with file", "default", form("multipart/form-data", `<input type="file" name="avatar" id="file">`,
		"username", "Ωmega \"quoted\"", "password", "p\r\nw", "smartid_data", "eyJzIjoxfQ=="), true},
	{"chromium multipart text only", "default", form("multipart/form-data", "", "username", "alice@example.com", "password", "x", "amount", "-5"), false},
	{"chromium devise form", "devise", form("application/x-www-form-urlencoded", "", "authenticity_token", "tok+/=", "user[email]", "alice@example.com", "user[password]", "hunter2", "user[remember_me]", "1"), false},
	{"chromium symfony form", "symfony", form("application/x-www-form-urlencoded", "", "login_form[username]", "alice", "login_form[password]", "hunter2", "login_form[_token]", "t"), false},
	{"chromium fetch json", "default", `<script>function go(){fetch("/capture",{method:"POST",headers:{"Content-Type":"application/json"},
		body:JSON.stringify({username:"jürgen",password:"p\"w",smartid_data:"eyJzIjoxfQ==",amount:"12.50"})})}</script>`, false},
	{"chromium xhr jquery style", "default", `<script>function go(){const x=new XMLHttpRequest();x.open("POST","/capture");
		x.setRequestHeader("Content-Type","application/x-www-form-urlencoded; charset=UTF-8");
		x.send(new URLSearchParams({username:"ñandú",password:"x y",smartid_data:"a=b&c"}).toString())}</script>`, false},
	{"chromium fetch formdata", "default", `<script>function go(){const f=new FormData();f.append("username","alice");f.append("password","x");
		f.append("smartid_data","");fetch("/capture",{method:"POST",body:f})}</script>`, false},
}

func form(enctype, extra string, kv ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<form id="f" method="post" action="/capture" enctype="%s" accept-charset="utf-8">`, enctype)
	for i := 0; i < len(kv); i += 2 {
		fmt.Fprintf(&b, `<textarea name="%s">%s</textarea>`, html.EscapeString(kv[i]), html.EscapeString(kv[i+1]))
	}
	b.WriteString(extra + `</form><script>function go(){document.getElementById("f").submit()}</script>`)
	return b.String()
}

// TestGenerateChromiumCorpus rewrites testdata/chromium.json from what
// headless Chromium sends. It runs only when BODYDIFF_REGENERATE=1: the
// committed bodies are the corpus, so the differential test does not need
// a browser.
func TestGenerateChromiumCorpus(t *testing.T) {
	if os.Getenv("BODYDIFF_REGENERATE") != "1" {
		t.Skip("set BODYDIFF_REGENERATE=1 to regenerate testdata/chromium.json with headless Chromium")
	}
	captured := make(chan Case, 1)
	var page string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/capture" {
			body, _ := io.ReadAll(r.Body)
			captured <- Case{ContentType: r.Header.Get("Content-Type"), Body: body}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><head><meta charset="utf-8"></head><body>`+page+`</body></html>`)
	}))
	defer srv.Close()
	upload := filepath.Join(t.TempDir(), "avatar.txt")
	if err := os.WriteFile(upload, []byte("line one\r\n--not a boundary\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	exec := os.Getenv("CHROMIUM")
	if exec == "" {
		exec = "chromium"
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exec), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()))
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	var out []Case
	for _, f := range chromiumForms {
		page = f.page
		steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate(srv.URL + "/")}
		if f.upload {
			steps = append(steps, chromedp.SetUploadFiles(chromedp.ID("file"), []string{upload}))
		}
		steps = append(steps, chromedp.Evaluate[chromedp.Void]("go()"))
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		select {
		case c := <-captured:
			c.Name, c.Spec = f.name, f.spec
			out = append(out, c)
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: Chromium sent nothing", f.name)
		}
	}
	raw, err := json.MarshalIndent(out, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "chromium.json"), append(raw, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d bodies", len(out))
}
