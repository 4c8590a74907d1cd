package login

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/login-guard/login_guard/internal/request"
)

// stepUpModuleID is the step-up route's module, loaded by id: the route
// handlers never import each other.
const stepUpModuleID = "http.handlers.login_guard_step_up"

// UnmarshalJSON reads the handler's config strictly, as Caddy does. A
// config saved before the step-up route became its own module holds it as
// this module with "event": "step_up"; that config is kept whole for the
// step-up module (see provisionLegacyStepUp), so saved configs and
// `caddy run --resume` keep loading.
func (h *Handler) UnmarshalJSON(b []byte) error {
	var probe struct {
		Event string `json:"event"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return err
	}
	if probe.Event == request.EventStepUp {
		h.Event = probe.Event
		h.legacyStepUpJSON = append(json.RawMessage(nil), b...)
		return nil
	}
	type plain Handler // the same fields, without this method
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode((*plain)(h))
}

// provisionLegacyStepUp loads the step-up module from a saved step-up
// route's config, minus the keys only this module had ("handler",
// "event"). Fields that never applied to the step-up route (engines,
// assertion, success...) are refused by it with their name.
func (h *Handler) provisionLegacyStepUp(ctx caddy.Context) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(h.legacyStepUpJSON, &fields); err != nil {
		return err
	}
	delete(fields, "handler")
	delete(fields, "event")
	raw, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	mod, err := ctx.LoadModuleByID(stepUpModuleID, raw)
	if err != nil {
		return fmt.Errorf("route with event step_up (now the %s module): %v", stepUpModuleID, err)
	}
	mh, ok := mod.(caddyhttp.MiddlewareHandler)
	if !ok {
		return fmt.Errorf("%s is not an HTTP handler", stepUpModuleID)
	}
	h.legacyStepUp = mh
	return nil
}
