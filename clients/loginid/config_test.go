package loginid

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	good := func() Config {
		return Config{Mode: ModePEM, KeyURL: "https://jwt.usw1.loginid.io/certs", ClientID: testClientID}
	}
	cases := []struct {
		name string
		mut  func(*Config)
		want string // substring of the error; "" for success
	}{
		{"defaults", func(*Config) {}, ""},
		{"jwks", func(c *Config) { c.Mode, c.KeyURL = ModeJWKS, "https://api.loginid.io/fido2/v2/.well-known/jwks.json" }, ""},
		{"no mode", func(c *Config) { c.Mode = "" }, "mode"},
		{"unknown mode", func(c *Config) { c.Mode = "x509" }, "mode"},
		{"no url", func(c *Config) { c.KeyURL = "" }, "key url is required"},
		{"http url", func(c *Config) { c.KeyURL = "http://jwt.usw1.loginid.io/certs" }, "https"},
		{"relative url", func(c *Config) { c.KeyURL = "/certs" }, "https"},
		{"credentials in url", func(c *Config) { c.KeyURL = "https://user:pw@jwt.usw1.loginid.io/certs" }, "credentials"},
		{"fragment", func(c *Config) { c.KeyURL = "https://jwt.usw1.loginid.io/certs#x" }, "fragment"},
		{"no client id", func(c *Config) { c.ClientID = "" }, "client id"},
		{"HS256", func(c *Config) { c.Algorithm = "HS256" }, "algorithm"},
		{"none", func(c *Config) { c.Algorithm = "none" }, "algorithm"},
		{"negative skew", func(c *Config) { c.ClockSkew = -time.Second }, "clock_skew"},
		{"negative max age", func(c *Config) { c.MaxAge = -time.Second }, "max_age"},
		{"negative cache", func(c *Config) { c.KeyCacheSize = -1 }, "key_cache_size"},
		{"negative response cap", func(c *Config) { c.MaxResponseBytes = -1 }, "max_response_bytes"},
		{"negative replay cache", func(c *Config) { c.ReplayCacheSize = -5 }, "replay_cache_size"},
		{"huge replay cache", func(c *Config) { c.ReplayCacheSize = 2_000_000_000 }, "replay_cache_size must be from 1 to 10000000"},
		{"largest replay cache", func(c *Config) { c.ReplayCacheSize = MaxReplayCacheSize }, ""},
		{"negative replay share", func(c *Config) { c.ReplayPerUser = -5 }, "replay_cache_per_user must be from 1 to 10000000, not -5"},
		{"huge replay share", func(c *Config) { c.ReplayPerUser = MaxReplayCacheSize + 1 }, "replay_cache_per_user must be from 1 to 10000000"},
		{"largest replay share", func(c *Config) { c.ReplayPerUser = MaxReplayCacheSize }, ""},
		{"negative client replay share", func(c *Config) { c.ReplayPerClient = -1 }, "replay_cache_per_client must be from 1 to 10000000, not -1"},
		{"huge client replay share", func(c *Config) { c.ReplayPerClient = MaxReplayCacheSize + 1 }, "replay_cache_per_client must be from 1 to 10000000"},
		{"largest client replay share", func(c *Config) { c.ReplayPerClient = MaxReplayCacheSize }, ""},
		{"type overlap", func(c *Config) { c.RegistrationTypes = []string{"fido2_login"} }, "both"},
		{"empty auth type", func(c *Config) { c.AuthenticationTypes = []string{""} }, "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.mut(&c)
			v, err := New(c)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				v.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "pw") {
				t.Fatalf("error echoes the URL's password: %v", err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Mode: ModePEM, KeyURL: "https://h/certs", ClientID: "c"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Algorithm != "ES256" || c.ClockSkew != 30*time.Second || c.MaxAge != 2*time.Minute ||
		c.UserClaim != "udata" || c.TypeClaim != "type" || c.NamespaceClaim != "nid" || c.NonceClaim != "nonce" ||
		len(c.AuthenticationTypes) != 1 || c.AuthenticationTypes[0] != "fido2_login" ||
		len(c.RegistrationTypes) != 1 || c.RegistrationTypes[0] != "fido2_register" ||
		c.ReplayPerUser != 32 || c.ReplayPerClient != 256 ||
		c.HTTPClient == nil || c.Now == nil || c.Observer == nil {
		t.Fatalf("defaults = %+v", c)
	}
}

// The injected client is copied, not modified, and the copy refuses
// redirects.
func TestNewDoesNotMutateInjectedClient(t *testing.T) {
	host := newKeyHost(t)
	client := host.srv.Client()
	v := newTestVerifier(t, testConfig(host, newTestClock()))
	if client.CheckRedirect != nil {
		t.Fatal("injected client was modified")
	}
	if v.cfg.HTTPClient.CheckRedirect == nil {
		t.Fatal("verifier's client follows redirects")
	}
}

func TestCustomClaimNames(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	cfg := testConfig(newKeyHost(t, key), clock)
	cfg.UserClaim, cfg.TypeClaim, cfg.NamespaceClaim, cfg.NonceClaim = "username", "kind", "namespace", "jti"
	cfg.AuthenticationTypes = []string{"users.authenticate"}
	cfg.RegistrationTypes = []string{"users.register"}
	v := newTestVerifier(t, cfg)
	c := map[string]any{
		"aud": testClientID, "iss": testIssuer, "iat": clock.Now().Unix(), "exp": clock.Now().Add(time.Minute).Unix(),
		"username": testUser, "kind": "users.authenticate", "namespace": testNamespace, "jti": "id-1",
		"udata": "someone-else", "type": "fido2_register", // default names, now ignored
	}
	cl, err := v.Verify(bg, key.mint(t, c), testUser, testClient)
	wantSub(t, err, "")
	if cl.Nonce != "id-1" || cl.Type != "users.authenticate" || cl.Namespace != testNamespace {
		t.Fatalf("claims = %+v", cl)
	}
	c["kind"], c["jti"] = "users.register", "id-2"
	_, err = v.Verify(bg, key.mint(t, c), testUser, testClient)
	wantSub(t, err, SubRegistration)
}

func TestDirectWebCertsURL(t *testing.T) {
	u, err := DirectWebCertsURL("usw1")
	if err != nil || u != "https://jwt.usw1.loginid.io/certs" {
		t.Fatalf("got %q, %v", u, err)
	}
	for _, bad := range []string{"", "us/w1", "evil.com#", "USW1", strings.Repeat("a", 33)} {
		if _, err := DirectWebCertsURL(bad); err == nil {
			t.Errorf("region %q accepted", bad)
		}
	}
}

// TestCheckReplayCacheSize: the app's own replay cache size (it builds
// the cache itself) is held to the Caddyfile's 1-10000000; 0 is the
// default.
func TestCheckReplayCacheSize(t *testing.T) {
	for n, ok := range map[int]bool{0: true, 1: true, MaxReplayCacheSize: true, -5: false, MaxReplayCacheSize + 1: false, 2_000_000_000: false} {
		if err := CheckReplayCacheSize(n); (err == nil) != ok {
			t.Errorf("CheckReplayCacheSize(%d) = %v", n, err)
		}
	}
}
