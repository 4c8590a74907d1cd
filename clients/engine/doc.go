// Package engine runs the guard's decision engines (rules.Engine) and turns
// what they say into one verdict. It knows nothing of Caddy or of any
// vendor: vendor clients (clients/forter, clients/httpengine,
// clients/sandbox) implement rules.Engine and report their failures as
// *Failure values so that this package can tell an engine that is down from
// one that refused a bad request.
//
// # Running engines
//
// Runner.Run calls every engine of a route in parallel under one deadline
// for all of them together, because the guard's latency budget is per
// request, not per engine. When the deadline passes Run returns at once:
// the slow engines get a "timeout" result and their context is cancelled,
// so their HTTP calls are torn down and their goroutines exit on their own.
// Nothing waits for them and nothing blocks them (their result channel is
// buffered), so an engine that honours its context leaves no goroutine
// behind. Runner.Active and Runner.Wait expose the calls still unwinding,
// for metrics and for a clean shutdown.
//
// # Failures and the breaker
//
// Every error an engine returns becomes a *Failure with a Kind from a small
// fixed set (timeout, refused, status_5xx, status_4xx, status_other,
// malformed, unknown_decision, breaker_open, canceled, error), fit for a
// metric label. Failure.Counts tells which of them are the engine's own
// fault and so count toward its circuit breaker: a 4xx answer does not
// (an attacker's input can provoke one), nor does the caller giving up
// (canceled).
//
// A Breaker per engine (WithBreaker) opens after Threshold consecutive
// counting failures (default 5). While open, calls are not made and fail at
// once with kind breaker_open. After CoolDown (default 30s) it is half-open:
// one probe call at a time goes through; a success closes it, a counting
// failure re-opens it for another cool-down. A 4xx answer proves the
// engine is up and answering, so it resets the count of consecutive
// failures and lets a half-open probe close the breaker; a cancelled call
// says nothing about the engine and changes nothing. The clock is
// injected so tests drive cool-downs without sleeping.
//
// # Combining
//
// Combine folds the results of a Run into one rules.Verdict under the
// route's on_engine_failure policy: the worst action wins, every reason and
// correlation id is kept, the highest score is kept, and each failed engine
// contributes the policy's action with reason engine_unavailable; one that
// refused the request's content (400, 413, 422: Failure.RefusedRequest),
// which the client chose, contributes at least a challenge with reason
// engine_refused_request, so that it cannot choose the failure policy.
//
// # Reporting step-up results
//
// A Reporter tells the engines that asked for a step-up how it ended
// (AuthResultReporter), beside the user's request and never in front of
// it: each report has its own timeout, at most ReportInFlight run at once,
// more are dropped, and Close waits for those running.
//
// Nothing here logs. Results carry the engine name, failure kind and
// latency; Breaker.State and BreakerConfig.OnStateChange feed metrics; a
// Reporter hands each report's outcome to its caller's func.
package engine
