package pages

import (
	"fmt"
	"net/url"
	"strings"
)

// Options are what an operator sets for the pages.
type Options struct {
	// PortalName is shown above every page and in its title.
	PortalName string `json:"portal_name,omitempty"`
	// Logo is the URL of the portal's logo, a path on the same site (the
	// pages' CSP allows images from the site itself only).
	Logo string `json:"logo,omitempty"`
	// SignInURL is where "Back to sign-in" leads. Default "/".
	SignInURL string `json:"sign_in_url,omitempty"`
	// HelpURL is where a person who cannot go on (no passkey yet, an
	// expired enrolment link) is sent for help: an https URL or a path.
	HelpURL string `json:"help_url,omitempty"`
	// HelpText is the help link's text. Default "Get help".
	HelpText string `json:"help_text,omitempty"`
	// Lang is the pages' <html lang>. Default "en".
	Lang string `json:"lang,omitempty"`
	// Dir holds the operator's templates (layout.html, notice.html,
	// stepup.html, style.css); a file present there replaces the
	// built-in one of that name.
	Dir string `json:"dir,omitempty"`
}

// Validate checks the options without reading Dir: a Caddyfile adapter
// calls it after each option, so the error has that option's line.
func (o Options) Validate() error {
	if err := o.check(); err != nil {
		return fmt.Errorf("pages: %w", err)
	}
	return nil
}

// check validates the options and fills in defaults.
func (o *Options) check() error {
	if o.SignInURL == "" {
		o.SignInURL = "/"
	}
	if o.Lang == "" {
		o.Lang = "en"
	}
	if o.HelpText == "" {
		o.HelpText = "Get help"
	}
	if err := sitePath(o.SignInURL); err != nil {
		return fmt.Errorf("sign_in_url: %v", err)
	}
	if o.Logo != "" {
		if err := sitePath(o.Logo); err != nil {
			return fmt.Errorf("logo: %v (the pages' CSP allows images from the site itself only)", err)
		}
	}
	if o.HelpURL != "" {
		if err := sitePath(o.HelpURL); err != nil {
			u, perr := url.Parse(o.HelpURL)
			if perr != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
				return fmt.Errorf("help_url: %q must be a path on this site or an https URL", o.HelpURL)
			}
		}
	}
	for _, r := range o.Lang {
		if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Errorf("lang: %q is not a language tag", o.Lang)
		}
	}
	return nil
}

// sitePath accepts a path on this site: "/..." but not "//host" or "/\".
func sitePath(s string) error {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") || strings.ContainsAny(s, " \t\r\n\\") {
		return fmt.Errorf("%q is not a path on this site (like /login)", s)
	}
	if _, err := url.Parse(s); err != nil {
		return fmt.Errorf("%q: %v", s, err)
	}
	return nil
}
