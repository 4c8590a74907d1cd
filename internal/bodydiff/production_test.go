//go:build differential

package bodydiff

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// The production front servers. The parsers above are reached through
// development servers (PHP's built-in server, wsgiref, WEBrick); a portal
// in production sits behind another one, which parses the request line,
// the headers, the path and the framing itself: php-fpm behind Caddy's
// php_fastcgi, gunicorn for Django and Flask, Puma for Rack and Rails.
// Each runs the same application as its development server, and the body
// and path-routing differentials send their cases to both. Each server's
// /ready answer (and the path test's login handler) names the server that
// answered (SERVER_SOFTWARE, PHP_SAPI) and echoes the token the test
// started it with (servers_test.go), and the test checks both, so a
// target that silently answered from another server would fail.

// serverIdent is what each server's /ready version must contain.
var serverIdent = map[string]string{
	"php":      "cli-server",
	"phpfpm":   "fpm-fcgi",
	"phpfront": "fpm-fcgi",
	// Laravel's reader, on a PHP of its own (mbstring loaded).
	"laravel":    "cli-server, laravel",
	"laravelfpm": "fpm-fcgi, laravel",
	"python":     "WSGIServer",
	"gunicorn":   "gunicorn/",
	"ruby":       "WEBrick",
	"puma":       "puma ",
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
	if _, err := os.Stat("/usr/share/php/Illuminate/Http/autoload.php"); err != nil {
		missing("Laravel not installed (Debian: php-laravel-framework)")
	}
	if exec.Command("php", "-n", "-d", "extension=mbstring", "-r", `exit(function_exists("mb_strpos") ? 0 : 1);`).Run() != nil {
		missing("PHP's mbstring, which Laravel needs, not installed (Debian: php-mbstring)")
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
// front of it, with five sites for it: the portal of scripts as docs/configuration.md
// tells a PHP user to guard it (the PHP matcher the docs recommend, the
// guard refusing every address, the portal's answers marked) and the same
// site without the guard (what php-fpm routes where); the same two for a
// front controller's portal (Symfony's router, the docs' Symfony
// matcher); and the body readers (router.php as the front controller
// php_fastcgi's try_files falls back to). A sixth site runs Laravel's
// reader (laravel/index.php) on a php-fpm of its own, with mbstring,
// which Laravel needs and the other readers run without, and opcache
// (as the laravel server in requireParsers). It returns the
// scripts' portal, the front controller's and Laravel's reader.
func startPHPFPM(t *testing.T, dir string) (scripts, front, laravel *server) {
	t.Helper()
	var stderr bytes.Buffer
	w := &lockedWriter{w: &stderr}
	tmp := t.TempDir()
	sock, token, fpm := startFPM(t, tmp, "fpm", w)
	laravelSock, laravelToken, laravelFPM := startFPM(t, tmp, "fpm-laravel", w, "-d", "extension=mbstring", "-d", "zend_extension=opcache")

	docs := docsMatchers(t)
	matcher, frontMatcher := docs["PHP"], docs["Symfony"]
	if matcher == "" || frontMatcher == "" {
		t.Fatal("docs/configuration.md recommends no PHP or no Symfony matcher")
	}
	// Caddy's six sites listen on sockets the test opened and hands it
	// (fd 3 to 8): no other process can take their ports meanwhile, nor
	// share them (Caddy binds the ports it opens with SO_REUSEPORT).
	var lns []*os.File
	var lnPorts []int
	for range 6 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := ln.(*net.TCPListener).File()
		ln.Close()
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, f)
		lnPorts = append(lnPorts, ln.Addr().(*net.TCPAddr).Port)
	}
	guarded, plain, readers, frontGuarded, frontPlain, laravelReader := lnPorts[0], lnPorts[1], lnPorts[2], lnPorts[3], lnPorts[4], lnPorts[5]
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
	bind fd/3
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
	bind fd/4
	root * %[3]s
	php_fastcgi unix/%[5]s
}
# The body readers.
http://127.0.0.1:%[7]d {
	bind fd/5
	root * %[8]s
	php_fastcgi unix/%[5]s {
		index router.php
	}
}
# A front controller's portal as a Symfony or Laravel user guards it.
http://127.0.0.1:%[9]d {
	bind fd/6
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
	bind fd/7
	root * %[10]s
	php_fastcgi unix/%[5]s
}
# Laravel's reader.
http://127.0.0.1:%[13]d {
	bind fd/8
	root * %[14]s
	php_fastcgi unix/%[15]s
}
`, filepath.Join(tmp, "storage"), guarded, docroot, matcher, sock, plain, readers, filepath.Join(dir, "php"),
		frontGuarded, filepath.Join(dir, "php", "frontroot"), frontMatcher, frontPlain,
		laravelReader, filepath.Join(dir, "php", "laravel"), laravelSock)
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
	c.ExtraFiles = lns
	caddy, err := startProcess(t, "caddy (php_fastcgi)", c, w)
	for _, f := range lns {
		f.Close() // Caddy holds them now: should it die, its ports refuse
	}
	if err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(readers)
	// The readers' /ready answers through Caddy from php-fpm, with
	// php-fpm's token.
	version, err := awaitReady(base, serverIdent["phpfpm"], token, fpm, caddy)
	if err != nil {
		t.Fatalf("php-fpm behind Caddy did not start: %v\n%s", err, tail(&stderr))
	}
	laravelBase := "http://127.0.0.1:" + strconv.Itoa(laravelReader)
	laravelVersion, err := awaitReady(laravelBase, serverIdent["laravelfpm"], laravelToken, laravelFPM, caddy)
	if err != nil {
		t.Fatalf("Laravel's php-fpm behind Caddy did not start: %v\n%s", err, tail(&stderr))
	}
	procs := []*proc{fpm, caddy}
	scripts = &server{base: base, version: version, guarded: "127.0.0.1:" + strconv.Itoa(guarded), unguarded: "127.0.0.1:" + strconv.Itoa(plain),
		stderr: &stderr, fastcgi: "unix/" + sock, procs: procs}
	front = &server{base: base, version: version, guarded: "127.0.0.1:" + strconv.Itoa(frontGuarded), unguarded: "127.0.0.1:" + strconv.Itoa(frontPlain),
		stderr: &stderr, procs: procs}
	laravel = &server{base: laravelBase, version: laravelVersion, stderr: &stderr, procs: []*proc{laravelFPM, caddy}}
	return scripts, front, laravel
}

// startFPM starts a php-fpm (its pool of six workers) on a socket in tmp
// named after name, with PHP's extra -d settings; it returns the socket,
// the token the readers' /ready echoes, and the process.
func startFPM(t *testing.T, tmp, name string, w io.Writer, extra ...string) (sock, token string, p *proc) {
	t.Helper()
	sock = filepath.Join(tmp, name+".sock")
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
`, filepath.Join(tmp, name+".pid"), sock)
	confPath := filepath.Join(tmp, name+".conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-n", "-y", confPath, "-d", "display_errors=stderr", "-d", "display_startup_errors=0", "-d", "post_max_size=8M",
		"-d", "file_uploads=1", "-d", "max_input_vars=10000"}
	args = append(args, extra...)
	if os.Geteuid() == 0 {
		args = append(args, "--allow-to-run-as-root")
	}
	c := exec.Command(phpFPM(), args...)
	token = withToken(c)
	p, err := startProcess(t, "php-fpm ("+name+")", c, w)
	if err != nil {
		t.Fatal(err)
	}
	return sock, token, p
}
