package app

import (
	"fmt"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/pages"
)

// unmarshalPages reads
//
//	pages {
//		portal_name <name>
//		logo        <path on this site>
//		sign_in_url <path>
//		help_url    <path or https URL>
//		help_text   <text>
//		lang        <language tag>
//		dir         <directory of templates>
//	}
//
// checking each option (and the templates in dir) on its line.
func (a *App) unmarshalPages(d *caddyfile.Dispenser) error {
	o := new(pages.Options)
	if err := caddyopt.EachOption(d, "pages", nil, func(key string) error {
		dst := map[string]*string{
			"portal_name": &o.PortalName, "logo": &o.Logo, "sign_in_url": &o.SignInURL,
			"help_url": &o.HelpURL, "help_text": &o.HelpText, "lang": &o.Lang, "dir": &o.Dir,
		}[key]
		if dst == nil {
			return d.Errf("pages: unknown option %q", key)
		}
		if err := caddyopt.NonEmptyArg(d, dst); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return d.Errf("%v", err)
		}
		if key == "dir" {
			// Parse the operator's templates now: a broken one fails here,
			// on its line, not on a user.
			if _, err := pages.New(pages.Options{Dir: o.Dir}); err != nil {
				return d.Errf("%v", err)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	a.Pages = o
	return nil
}

// provisionPages parses the templates and renders the fixed answers.
func (a *App) provisionPages() error {
	if a.Pages == nil {
		a.pageSet = pages.Default()
		return nil
	}
	o := *a.Pages
	res := caddyopt.NewResolver()
	if o.PortalName = res.Value("pages portal_name", o.PortalName); res.Err != nil {
		return fmt.Errorf("login_guard %w", res.Err)
	}
	s, err := pages.New(o)
	if err != nil {
		return fmt.Errorf("login_guard %w", err)
	}
	a.pageSet = s
	return nil
}

// pages is the app's template set; the built-in one for an app that was
// not provisioned (benchmarks).

// PageSet is the config's page set.
func (a *App) PageSet() *pages.Set { return a.pageSet }
