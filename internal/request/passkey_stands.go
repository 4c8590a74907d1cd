package request

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/internal/stepup"
)

// PasskeyStands is the check the login route runs as it spends a
// step-up's continuation or resubmit pass (stepup.FactorCheck): a token
// naming the passkey that passed the step-up (State.Passkey) finishes only
// while that passkey is still enrolled for the state's user and not marked
// as cloned (passkeys.CheckPassedDigest), as the completion checked it.
// Removed or marked: refused, and spent (stepup.ReasonPasskeyRemoved,
// ReasonPasskeyCloneWarning). Storage that did not answer: refused but
// not spent (ReasonPasskeyStorageUnavailable), and logged. Another
// failure is logged and returned as it is (not spent). A token that names
// no passkey (another factor, or one sealed by a release before) is not
// checked.
func (h *Route) PasskeyStands(ctx context.Context, pk *passkeys.Passkeys) stepup.FactorCheck {
	return func(st stepup.State) error {
		if len(st.Passkey) == 0 {
			return nil
		}
		if pk == nil {
			return stepup.Refused(stepup.ReasonPasskeyUnavailable)
		}
		err := pk.CheckPassedDigest(ctx, st.User, st.Passkey)
		switch reason := passkeys.ReasonOf(err); {
		case err == nil:
			return nil
		case reason == passkeys.ReasonCloneWarning:
			return stepup.Refused(stepup.ReasonPasskeyCloneWarning)
		case reason != "":
			return stepup.Refused(stepup.ReasonPasskeyRemoved)
		case errors.Is(err, passkeys.ErrStorageUnavailable):
			h.Logger.Warn("passkey storage did not answer in time", zap.String("route", h.Name), zap.Error(err))
			return stepup.Refused(stepup.ReasonPasskeyStorageUnavailable)
		}
		h.Logger.Error("checking the passkey a step-up passed with", zap.String("route", h.Name), zap.Error(err))
		return err
	}
}
