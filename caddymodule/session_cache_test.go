package caddymodule

import (
	"testing"
	"time"
)

func TestSessionCacheNeverOutlivesItsToken(t *testing.T) {
	sc, err := newSessionCache()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.close()
	now := time.Now()
	sc.put("tok", guardSession{User: "u", Session: "s"}, now.Add(time.Minute), now)
	sc.c.Wait()
	if s, _, ok := sc.get("tok", now.Add(30*time.Second)); !ok || s.User != "u" {
		t.Fatalf("fresh entry: %v %v", s, ok)
	}
	if _, _, ok := sc.get("tok", now.Add(time.Minute)); ok {
		t.Fatal("an entry must not be served once its token expired")
	}
	sc.put("old", guardSession{User: "u"}, now, now)
	sc.c.Wait()
	if _, _, ok := sc.get("old", now); ok {
		t.Fatal("an expired token is not cached")
	}
	var nilCache *sessionCache
	if _, _, ok := nilCache.get("tok", now); ok {
		t.Fatal("no cache, no hit")
	}
}
