package exercise

import (
	"strings"
)

// TB is the part of *testing.T that Catches and Passes use.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Catches asserts that the check suite rejects a known-bad implementation:
// each named check must fail on bad (fail, panic or time out; a stub's
// not-implemented panic does not count). Check suites call it in their own
// tests, one known-bad implementation per property they claim to check, so a
// check that cannot fail is caught as a defect.
func (e *Exercise[F]) Catches(t TB, label string, bad F, checks ...string) {
	t.Helper()
	if len(checks) == 0 {
		t.Fatalf("Catches(%q) names no check", label)
	}
	rep := e.Run(bad)
	byName := map[string]Result{}
	for _, r := range rep.Results {
		byName[r.Check] = r
	}
	for _, name := range checks {
		r, ok := byName[name]
		switch {
		case !ok:
			var names []string
			for _, x := range rep.Results {
				names = append(names, x.Check)
			}
			t.Errorf("%s has no check named %q (it has: %s)", e.ID, name, strings.Join(names, "; "))
		case r.Outcome == Passed:
			t.Errorf("%s: known-bad implementation %q passed check %q; the check cannot catch it", e.ID, label, name)
		case r.Outcome == NotImplemented:
			t.Errorf("%s: known-bad implementation %q is a stub; give a real wrong implementation", e.ID, label)
		}
	}
}

// Passes asserts that impl (normally the reference) passes every check.
func (e *Exercise[F]) Passes(t TB, impl F) {
	t.Helper()
	rep := e.Run(impl)
	for _, r := range rep.Results {
		if r.Outcome != Passed {
			t.Errorf("%s: the reference fails check %q: %s", e.ID, r.Check, r.Message)
		}
	}
}
