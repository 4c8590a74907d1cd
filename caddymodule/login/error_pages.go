package login

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/request"
)

// unmarshalErrorPages reads `error_pages guard|handle_errors`.
func (h *Handler) unmarshalErrorPages(d *caddyfile.Dispenser) error {
	if err := caddyopt.OneArg(d, &h.ErrorPages); err != nil {
		return err
	}
	return caddyopt.OneOf(d, h.ErrorPages, request.ErrorPagesGuard, request.ErrorPagesHandleErrors)
}
