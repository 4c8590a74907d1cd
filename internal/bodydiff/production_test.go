//go:build differential

package bodydiff

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/ports"
)

// The production front servers. The parsers above are reached through
// development servers (PHP's built-in server, wsgiref, WEBrick); a portal
// in production sits behind another one, which parses the request line,
// the headers, the path and the framing itself: php-fpm behind Caddy's
// php_fastcgi, gunicorn for Django and Flask, Puma for Rack and Rails.
// Each runs the same application as its development server, and the body
// and path-routing differentials send their cases to both. Each server's
// /ready answer (and the path test's login handler) names the server that
// answered (SERVER_SOFTWARE, PHP_SAPI), and the test checks it, so a
// target that silently answered from another server would fail.

// serverIdent is what each server's /ready version must contain.
var serverIdent = map[string]string{
	"php":      "cli-server",
	"phpfpm":   "fpm-fcgi",
	"phpfront": "fpm-fcgi",
	"python":   "WSGIServer",
	"gunicorn": "gunicorn/",
	"ruby":     "WEBrick",
	"puma":     "puma ",
}

// caddyChildEnv set, the test binary runs as Caddy (its command line),
// with the login_guard modules and Caddy's standard ones: the Caddy in
// front of php-fpm runs in a process of its own, since the path test
// loads other configs into the test's own Caddy meanwhile.
const caddyChildEnv = "LOGIN_GUARD_BODYDIFF_CADDY"

// productionCmds are the commands that start gunicorn and Puma on a port.
func productionCmds(dir string) map[string]func(port string) *exec.Cmd {
	return map[string]func(port string) *exec.Cmd{
		"gunicorn": func(port string) *exec.Cmd {
			// gthread, the worker a Django deployment picks for threads.
			return exec.Command("gunicorn", "--bind", "127.0.0.1:"+port, "--worker-class", "gthread",
				"--workers", "2", "--threads", "4", "--chdir", filepath.Join(dir, "python"), "server:app")
		},
		"puma": func(port string) *exec.Cmd {
			return exec.Command("puma", "--environment", "production", "--quiet", "--threads", "4:8",
				"--bind", "tcp://127.0.0.1:"+port, filepath.Join(dir, "ruby", "config.ru"))
		},
	}
}

// requireProduction reports what is missing to run the production servers.
func requireProduction(missing func(string)) {
	for _, c := range []string{"gunicorn", "puma", phpFPM()} {
		if _, err := exec.LookPath(c); err != nil {
			missing(c + " not installed (Debian: gunicorn puma php-fpm)")
		}
	}
	for _, f := range []string{"HttpFoundation", "Routing"} {
		if _, err := os.Stat("/usr/share/php/Symfony/Component/" + f + "/autoload.php"); err != nil {
			missing("Symfony's " + f + " not installed (Debian: php-symfony-http-foundation php-symfony-routing)")
		}
	}
}

// phpFPM is the php-fpm binary: Debian installs it versioned.
func phpFPM() string {
	if _, err := exec.LookPath("php-fpm"); err == nil {
		return "php-fpm"
	}
	m, _ := filepath.Glob("/usr/sbin/php-fpm*")
	if len(m) == 0 {
		return "php-fpm"
	}
	return m[len(m)-1]
}

// startPHPFPM runs php-fpm on a socket and a Caddy with php_fastcgi in
// front of it, five sites: the portal of scripts as docs/configuration.md
// tells a PHP user to guard it (the PHP matcher the docs recommend, the
// guard refusing every address, the portal's answers marked) and the same
// site without the guard (what php-fpm routes where); the same two for a
// front controller's portal (Symfony's router, the docs' Symfony
// matcher); and the body readers (router.php as the front controller
// php_fastcgi's try_files falls back to). It returns the scripts' portal
// and the front controller's.
func startPHPFPM(t *testing.T, dir string) (scripts, front *server) {
	t.Helper()
	var stderr bytes.Buffer
	w := &lockedWriter{w: &stderr}
	tmp := t.TempDir()
	sock := filepath.Join(tmp, "fpm.sock")
	conf := fmt.Sprintf(`[global]
error_log = /dev/stderr
daemonize = no
pid = %s
[www]
listen = %s
pm = static
pm.max_children = 6
clear_env = no
catch_workers_output = yes
`, filepath.Join(tmp, "fpm.pid"), sock)
	confPath := filepath.Join(tmp, "fpm.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-n", "-y", confPath, "-d", "display_errors=stderr", "-d", "display_startup_errors=0", "-d", "post_max_size=8M",
		"-d", "file_uploads=1", "-d", "max_input_vars=10000"}
	if os.Geteuid() == 0 {
		args = append(args, "--allow-to-run-as-root")
	}
	startProcess(t, "php-fpm", exec.Command(phpFPM(), args...), w)

	docs := docsMatchers(t)
	matcher, frontMatcher := docs["PHP"], docs["Symfony"]
	if matcher == "" || frontMatcher == "" {
		t.Fatal("docs/configuration.md recommends no PHP or no Symfony matcher")
	}
	guarded, plain, readers := ports.Free(t), ports.Free(t), ports.Free(t)
	frontGuarded, frontPlain := ports.Free(t), ports.Free(t)
	docroot := filepath.Join(dir, "php", "docroot")
	caddyfile := fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
	storage file_system %[1]s
	log {
		output stderr
		level ERROR
	}
}
# The portal as a PHP user guards it.
http://127.0.0.1:%[2]d {
	root * %[3]s
	@login {
		%[4]s
	}
	login_guard @login {
		event login
		deny_ip 127.0.0.0/8
	}
	php_fastcgi unix/%[5]s {
		header_down X-Upstream-Answered 1
	}
}
# The same portal unguarded: what reaches which script.
http://127.0.0.1:%[6]d {
	root * %[3]s
	php_fastcgi unix/%[5]s
}
# The body readers.
http://127.0.0.1:%[7]d {
	root * %[8]s
	php_fastcgi unix/%[5]s {
		index router.php
	}
}
# A front controller's portal as a Symfony or Laravel user guards it.
http://127.0.0.1:%[9]d {
	root * %[10]s
	@login {
		%[11]s
	}
	login_guard @login {
		event login
		deny_ip 127.0.0.0/8
	}
	php_fastcgi unix/%[5]s {
		header_down X-Upstream-Answered 1
	}
}
# The same unguarded.
http://127.0.0.1:%[12]d {
	root * %[10]s
	php_fastcgi unix/%[5]s
}
`, filepath.Join(tmp, "storage"), guarded, docroot, matcher, sock, plain, readers, filepath.Join(dir, "php"),
		frontGuarded, filepath.Join(dir, "php", "frontroot"), frontMatcher, frontPlain)
	cfPath := filepath.Join(tmp, "Caddyfile")
	if err := os.WriteFile(cfPath, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(self, "run", "--config", cfPath, "--adapter", "caddyfile")
	c.Env = append(os.Environ(), caddyChildEnv+"=1")
	startProcess(t, "caddy (php_fastcgi)", c, w)
	base := "http://127.0.0.1:" + strconv.Itoa(readers)
	scripts = &server{base: base, guarded: "127.0.0.1:" + strconv.Itoa(guarded), unguarded: "127.0.0.1:" + strconv.Itoa(plain), stderr: &stderr, fastcgi: "unix/" + sock}
	front = &server{base: base, guarded: "127.0.0.1:" + strconv.Itoa(frontGuarded), unguarded: "127.0.0.1:" + strconv.Itoa(frontPlain), stderr: &stderr}
	return scripts, front
}

// startProcess starts c in a process group of its own, killed with the
// test, its stderr written to w.
func startProcess(t *testing.T, name string, c *exec.Cmd, w io.Writer) {
	t.Helper()
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Stderr = w
	if err := c.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		// The whole process group: PHP's servers and gunicorn fork workers.
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		_ = c.Wait()
	})
}
