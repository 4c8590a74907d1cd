package stepup

import (
	"net/http"
	"reflect"
	"testing"
)

// TestBeforeUpstreamFlow walks the whole completion: hold the login, issue
// the state, verify it on the page, redeem it once, continue on the login
// route, take the request back intact; a second completion is refused.
func TestBeforeUpstreamFlow(t *testing.T) {
	clk := newClock()
	is := newIssuer(t, clk, IPPrefix{})
	held := NewHeld(HeldConfig{Now: clk.Now})
	orig := loginRequest()
	ref, err := held.PutRequest(Owner{}, orig)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := mustIssue(t, is, Challenge{Binding: alice, Phase: PhaseBefore, Return: "/api/login", Held: ref, Reasons: []string{"engine_challenge"}})

	page := alice
	page.User, page.Route = "", ""
	if _, err := is.Verify(tok, page); err != nil {
		t.Fatal(err)
	}
	st, err := is.Redeem(tok, page)
	if err != nil {
		t.Fatal(err)
	}
	_, err = is.Redeem(tok, page)
	wantReason(t, err, ReasonReplayed)

	cont, err := is.IssueContinuation(st)
	if err != nil {
		t.Fatal(err)
	}
	login := alice
	login.User = ""
	c, err := is.ConsumeContinuation(cont, login, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := held.TakeRequest(c.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, orig) {
		t.Fatalf("held request changed: %+v", got)
	}
	_, err = held.TakeRequest(c.Ref())
	wantReason(t, err, ReasonHeldMissing)
}

func TestAfterUpstreamFlow(t *testing.T) {
	clk := newClock()
	is := newIssuer(t, clk, IPPrefix{})
	held := NewHeld(HeldConfig{Now: clk.Now})
	resp := Response{Status: 303, Header: http.Header{"Set-Cookie": {"sid=1"}, "Location": {"/home"}}}
	ref, err := held.PutResponse(Owner{}, resp)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := mustIssue(t, is, Challenge{Binding: alice, Phase: PhaseAfter, Return: "/api/login", Held: ref})
	st, err := is.Redeem(tok, alice)
	if err != nil {
		t.Fatal(err)
	}
	cont, _ := is.IssueContinuation(st)
	c, err := is.ConsumeContinuation(cont, alice, nil)
	if err != nil || c.Phase != PhaseAfter {
		t.Fatalf("%+v %v", c, err)
	}
	got, err := held.TakeResponse(c.Ref())
	if err != nil || !reflect.DeepEqual(got, resp) {
		t.Fatalf("%+v %v", got, err)
	}
}
