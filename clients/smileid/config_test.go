package smileid

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestConfigValidation(t *testing.T) {
	base := Config{PartnerID: testPartner, APIKey: testKey, CallbackURL: testCallback}
	tests := []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"production", func(c *Config) { c.BaseURL = ProductionBaseURL }, true},
		{"base with path prefix", func(c *Config) { c.BaseURL = "https://proxy.example/smile/" }, true},
		{"no partner", func(c *Config) { c.PartnerID = "" }, false},
		{"no key", func(c *Config) { c.APIKey = "" }, false},
		{"no callback", func(c *Config) { c.CallbackURL = "" }, false},
		{"http callback", func(c *Config) { c.CallbackURL = "http://guard.example/cb" }, false},
		{"http base", func(c *Config) { c.BaseURL = "http://testapi.smileidentity.com" }, false},
		{"base with credentials", func(c *Config) { c.BaseURL = "https://u:p@testapi.smileidentity.com" }, false},
		{"base with query", func(c *Config) { c.BaseURL = "https://testapi.smileidentity.com/?k=v" }, false},
		{"negative window", func(c *Config) { c.SignatureWindow = -1 }, false},
		{"negative body cap", func(c *Config) { c.MaxCallbackBytes = -1 }, false},
		{"empty authenticated codes", func(c *Config) { c.AuthenticatedCodes = []string{} }, false},
		{"code in both tables", func(c *Config) { c.PendingCodes = []string{"1220"} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.mod(&cfg)
			_, err := New(cfg)
			if tt.ok != (err == nil) {
				t.Fatalf("New err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrConfig) {
					t.Errorf("err %v is not ErrConfig", err)
				}
				secretsAbsent(t, err)
				if strings.Contains(err.Error(), ":p@") {
					t.Errorf("error quotes credentials: %v", err)
				}
			}
		})
	}
}

func TestEndpointsJoinBase(t *testing.T) {
	c, err := New(Config{PartnerID: testPartner, APIKey: testKey, CallbackURL: testCallback, BaseURL: "https://proxy.example/smile/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.upload != "https://proxy.example/smile/v1/upload" || c.status != "https://proxy.example/smile/v1/job_status" {
		t.Fatalf("endpoints %s %s", c.upload, c.status)
	}
	d, _ := New(Config{PartnerID: testPartner, APIKey: testKey, CallbackURL: testCallback})
	if d.upload != SandboxBaseURL+"/v1/upload" {
		t.Fatalf("default endpoint %s", d.upload)
	}
}

func TestServerBaseURL(t *testing.T) {
	if u, _ := ServerBaseURL(0); u != SandboxBaseURL {
		t.Error(u)
	}
	if u, _ := ServerBaseURL(1); u != ProductionBaseURL {
		t.Error(u)
	}
	if _, err := ServerBaseURL(2); !errors.Is(err, ErrConfig) {
		t.Error(err)
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	cfg := Config{PartnerID: testPartner, APIKey: testKey, CallbackURL: testCallback}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{cfg, &cfg, c, c.Signer()} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, testKey) {
				t.Errorf("%s of %T prints the key: %s", verb, v, out)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	def := newCodeTable(DefaultAuthenticatedCodes, DefaultPendingCodes)
	custom := newCodeTable([]string{"1220", "0820"}, []string{"0824", "0825"})
	tests := []struct {
		table   codeTable
		code    string
		success bool
		want    State
	}{
		{def, "1220", true, StateAuthenticated},
		{def, "1220", false, StateRejected},
		{def, "0824", true, StatePending},
		{def, "0824", false, StatePending},
		{def, "0810", true, StateRejected},
		{def, "1020", true, StateRejected},
		{def, "", true, StateRejected},
		{def, "9999", true, StateRejected},
		{custom, "0820", true, StateAuthenticated},
		{custom, "0825", false, StatePending},
	}
	for _, tt := range tests {
		if got := tt.table.classify(tt.code, tt.success); got != tt.want {
			t.Errorf("classify(%q, %v) = %s, want %s", tt.code, tt.success, got, tt.want)
		}
	}
}
