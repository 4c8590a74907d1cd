package app

import (
	"fmt"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/rules"
)

// PasskeysConfig is the relying party of the built-in passkey factor.
type PasskeysConfig struct {
	// RPID is the relying party id: the site's host or registrable domain.
	RPID string `json:"rp_id"`
	// RPOrigins are the origins passkeys are used from
	// ("https://example.com").
	RPOrigins []string `json:"rp_origins"`
	// RPName is shown by authenticators. Default: RPID.
	RPName string `json:"rp_name,omitempty"`
	// UserVerification is required, preferred (default) or discouraged.
	UserVerification string `json:"user_verification,omitempty"`
}

// unmarshal reads
//
//	passkeys {
//		rp_id             <id>
//		rp_origin         <origin...>
//		rp_name           <display name>
//		user_verification required|preferred|discouraged
//	}
func (p *PasskeysConfig) unmarshal(d *caddyfile.Dispenser) error {
	if err := caddyopt.EachOption(d, "passkeys", nil, func(key string) error {
		var err error
		switch key {
		case "rp_id":
			err = caddyopt.NonEmptyArg(d, &p.RPID)
		case "rp_origin":
			if err := caddyopt.ListArgs(d, &p.RPOrigins); err != nil {
				return err
			}
			if _, verr := passkeys.CleanOrigins(p.RPOrigins); verr != nil {
				return d.Errf("passkeys: rp_origin: %v", verr)
			}
		case "rp_name":
			err = caddyopt.NonEmptyArg(d, &p.RPName)
		case "user_verification":
			if err = caddyopt.OneArg(d, &p.UserVerification); err == nil {
				err = caddyopt.OneOf(d, p.UserVerification, "required", "preferred", "discouraged")
			}
		default:
			return d.Errf("passkeys: unknown option %q", key)
		}
		return err
	}); err != nil {
		return err
	}
	if p.RPID == "" || len(p.RPOrigins) == 0 {
		return d.Err("passkeys: rp_id and rp_origin are required")
	}
	return nil
}

func (p *PasskeysConfig) provision() error {
	if p.RPID == "" || len(p.RPOrigins) == 0 {
		return fmt.Errorf("passkeys: rp_id and rp_origins are required")
	}
	var err error
	if p.RPOrigins, err = passkeys.CleanOrigins(p.RPOrigins); err != nil {
		return fmt.Errorf("passkeys: %v", err)
	}
	if p.RPName == "" {
		p.RPName = p.RPID
	}
	if p.UserVerification == "" {
		p.UserVerification = "preferred"
	}
	// Build a relying party once, touching no storage, so a bad rp_id or
	// origin fails at config load rather than on the first user.
	if _, err := passkeys.New(p.config(&liveKeys{}, 0), &passkeys.CurrentStore{}); err != nil {
		return fmt.Errorf("passkeys: %v", err)
	}
	return nil
}

func (p *PasskeysConfig) config(keys *liveKeys, perClient int) passkeys.Config {
	return passkeys.Config{
		MaxCeremoniesPerClient: perClient,
		RPID:                   p.RPID,
		RPOrigins:              p.RPOrigins,
		RPDisplayName:          p.RPName,
		UserVerification:       p.UserVerification,
		// Records are kept under the user name as the rules count it
		// (trimmed, NFKC, case and accents folded): a portal that finds
		// one account under "Alice" and "alice" has one set of passkeys,
		// and the rule that a second passkey needs the first cannot be
		// dodged by a spelling. Records written before were keyed by the
		// name as typed, and are still read under it.
		UserKey:       func(user string) string { return keys.get().Pseudonym("passkey_user", rules.Normalizer{}.User(user)) },
		LegacyUserKey: func(user string) string { return keys.get().Pseudonym("passkey_user", user) },
		Tokens:        keys,
	}
}
