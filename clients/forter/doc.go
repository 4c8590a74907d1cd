// Package forter is a Caddy-free client for Forter's Account Login API and
// its authentication-result update. Client implements rules.Engine: each
// attempt is sent to Forter and forterDecision becomes the verdict.
//
// # Login request
//
//	POST {endpoint}/v2/accounts/login/{accountId}
//	Authorization: Basic base64("{api key}:")      (API key as user name, empty password)
//	api-version: {Config.APIVersion}
//	x-forter-siteid: {Config.SiteID}
//	Content-Type: application/json
//	Accept: application/json
//	User-Agent: login_guard
//
// endpoint defaults to https://{siteId}.api.forter-secure.com. accountId is
// path-escaped; it comes from Request.AccountID or Config.AccountID, and is
// NO_ACCOUNT_ID when neither knows it (Forter's rule; an attempt carries
// only the typed user name, which Forter says must not be the account id).
//
// The body (LoginRequest), keys in this order:
//
//	accountId              the account id, as in the path
//	eventTime              the attempt's time, milliseconds since the epoch
//	connectionInformation  customerIP (omitted if the attempt has no valid IP;
//	                       IPv4-mapped addresses sent as IPv4), userAgent,
//	                       forterTokenCookie (the Forter JS token from the cookie
//	                       named Config.TokenCookie, default "forterToken";
//	                       omitted when absent, empty or over 1024 bytes)
//	loginMethodType        Config.LoginMethodType (default "PASSWORD")
//	loginStatus            "SUCCESS" / "FAILED" from rules.Attempt.Outcome; before
//	                       the upstream answered: Config.UnknownLoginStatus, omitted
//	                       when that is "" (the default)
//	channelType            Config.ChannelType (default "WEB")
//	userInput              inputType "EMAIL" with "email" when the user name
//	                       contains "@", else "USERNAME" with "username"; omitted
//	                       when the user name is empty
//
// Forter asks for successfully authenticated logins only, so the guard
// should consult it after the upstream accepted the password (Outcome
// known). Forter's reference lists no loginStatus for "not known yet";
// sending none is this package's choice, and a deployment that must call
// Forter before the upstream can set UnknownLoginStatus.
//
// # Decision
//
//	APPROVE                allow
//	DECLINE                deny, reason engine_decline
//	VERIFICATION_REQUIRED  challenge, reason engine_challenge
//	NOT_REVIEWED           Config.OnNotReviewed (default allow); reason
//	                       engine_not_reviewed whatever that is
//	anything else          *engine.Failure of kind unknown_decision
//
// The verdict always carries rules.Correlation{Engine: name, ID:
// correlationId} whose Detail holds the
// decision word, the recommendation and verificationMethod.type and
// .verificationId when present (keys DetailDecision, DetailRecommendation,
// DetailVerificationType, DetailVerificationID); each value is cut to 128
// bytes. The correlation id is what ReportAuthResult later sends back.
//
// # Authentication result
//
// ReportAuthResult tells Forter how a second factor it recommended ended:
//
//	POST {endpoint}/v2/accounts/authentication-result/{accountId}
//
// with the same headers and an AuthResultRequest body: accountId,
// eventTime, channelType and an additionalAuthenticationMethod object
// holding correlationId, verificationOutcome ("SUCCESS" or "FAILURE") and
// verificationMethod {"type": method} when a method is given. The seed
// specification only names this object ("AdvancedAuthenticationMethod");
// the key additionalAuthenticationMethod, correlationId and the
// SUCCESS/FAILURE words follow Forter's public authentication-result
// guide, while carrying the method as verificationMethod.type (mirroring
// the login answer's verificationMethod) is this package's assumption.
// Any 2xx answer is success; its body (Forter answers NOT_REVIEWED) is
// read up to the cap and ignored.
//
// # Assumptions to check against Forter's current reference
//
//   - api-version defaults to "2.36"; Forter versions its API per merchant
//     and its reference examples show other values: set
//     Config.APIVersion to the one your Forter integration uses.
//   - The authentication-result body above.
//   - The seed's VERIFICATION_REQUIRED example ends verificationMethod
//     with a trailing comma; that is read as a documentation typo, and
//     such an answer would be rejected as malformed JSON.
//
// # Test mode
//
// Forter's test mode decides by customer IP: TestIPApprove (0.0.0.1)
// approves, TestIPDecline (0.0.0.2) declines and TestIPVerify (0.0.0.4)
// requires verification. The package's tests run a fake Forter that does
// the same.
//
// # Failures and secrets
//
// Transport errors, non-2xx answers, oversized or invalid JSON and unknown
// decision words are *engine.Failure values (refused, timeout, status_4xx,
// status_5xx, status_other, malformed, unknown_decision) so the runner's
// breaker and failure policy apply. Errors never contain the API key, the
// request URL (which holds the account id) or Forter's answer text.
// Redirects are not followed. Nothing here logs.
package forter
