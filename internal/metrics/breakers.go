package metrics

import "github.com/login-guard/login_guard/clients/engine"

// Breakers is one config's engine breakers as the breaker gauge shows
// them. The gauge is the process's (see Collectors) while each config has
// breakers of its own, and configs overlap: a reload's new config starts
// before the old one stops, a refused reload's config may start and stop
// while the old one keeps running, and the old config's requests still in
// flight keep moving its breakers. So the gauge shows the newest config
// that has started and not yet stopped, and only that config's changes
// reach it; when that config stops, the gauge shows the newest one still
// running again, with its breakers' states as they are then.
type Breakers struct {
	m      *Collectors
	byName map[string]*engine.Breaker
}

// NewBreakers starts an empty set for one config; nil outside Caddy.
func (m *Collectors) NewBreakers() *Breakers {
	if m == nil {
		return nil
	}
	return &Breakers{m: m, byName: map[string]*engine.Breaker{}}
}

// Add makes b one of the set's breakers, under the engine's name. It is
// called while the config provisions, before Show.
func (s *Breakers) Add(name string, b *engine.Breaker) {
	if s != nil {
		s.byName[name] = b
	}
}

// Hook is the breaker's state-change hook for one engine (its
// BreakerConfig.OnStateChange): it shows the change if this set is the
// one the gauge shows.
func (s *Breakers) Hook(name string) func(from, to engine.State) {
	if s == nil {
		return nil
	}
	return func(_, to engine.State) {
		s.m.breakerMu.Lock()
		defer s.m.breakerMu.Unlock()
		if s.m.shownBy == s {
			s.m.breaker.WithLabelValues(name).Set(float64(to))
		}
	}
}

// Show makes the gauge show this set, its config having started.
func (s *Breakers) Show() {
	if s != nil {
		s.m.shown.Hold(s, s, s.m.showBreakers)
	}
}

// Hide lets the gauge go back to the newest set still shown, its config
// having stopped. The last config to stop leaves the gauge as it was.
func (s *Breakers) Hide() {
	if s != nil {
		s.m.shown.Let(s, s.m.showBreakers)
	}
}

// showBreakers makes the gauge hold s's engines alone, each at its
// breaker's state now: engines of another config must not linger. Peek,
// not State: a hook called from here would wait on breakerMu. A change
// racing with this is shown after it, by its hook.
func (m *Collectors) showBreakers(s *Breakers) {
	m.breakerMu.Lock()
	defer m.breakerMu.Unlock()
	m.shownBy = s
	m.breaker.Reset()
	for name, b := range s.byName {
		m.breaker.WithLabelValues(name).Set(float64(b.Peek()))
	}
}
