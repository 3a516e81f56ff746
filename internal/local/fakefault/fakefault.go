// Package fakefault is the fault injection shared by the offline fakes
// (nangofake, panorafake, composiofake).
//
// A fault is a failure a fake injects into the requests it matches (by
// method and path prefix), before it authenticates or handles them: a delay
// (Latency), an error answer (Status, with Retry-After when set), or both,
// for the first Times matching requests or for all of them. A fake keeps a
// Set, lets its tests add faults to it, and calls Set.Apply first thing in
// its handler; only the error answer's body differs between fakes, since
// each provider has its own error shape, so the fake passes that writer to
// Apply.
package fakefault

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault is a failure injected into matching requests.
type Fault struct {
	Method string // match this method only; empty matches any
	Path   string // match paths with this prefix; empty matches any
	// Status answers with this status in the fake's error shape; 0 answers
	// normally (after Latency).
	Status int
	// Code is the provider-specific detail of the error answer (an error
	// code, slug or message); empty lets the fake choose one from Status.
	Code       string
	RetryAfter string // Retry-After header of the answer, when set
	Latency    time.Duration
	Times      int // how many matching requests it affects; 0 = all
}

// matches reports whether f applies to r, ignoring Times.
func (f *Fault) matches(r *http.Request) bool {
	return (f.Method == "" || f.Method == r.Method) && strings.HasPrefix(r.URL.Path, f.Path)
}

// WriteFunc writes the error answer of fault f in a fake's error shape. Apply
// has already set Retry-After; f.Status is never 0.
type WriteFunc func(w http.ResponseWriter, r *http.Request, f Fault)

// Set is the faults injected into one fake. Its zero value is empty and
// ready; it is safe for concurrent use, so tests may inject while the fake
// serves. It has its own lock so that a delayed request holds none of the
// fake's.
type Set struct {
	mu     sync.Mutex
	faults []*state
}

type state struct {
	Fault
	used int
}

// Inject adds a fault. Faults are tried in the order they were added; the
// first active match applies.
func (s *Set) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &state{Fault: f})
}

// Clear removes every injected fault.
func (s *Set) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// next takes one use of the first active fault matching r.
func (s *Set) next(r *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.faults {
		if st.matches(r) && (st.Times == 0 || st.used < st.Times) {
			st.used++
			return st.Fault, true
		}
	}
	return Fault{}, false
}

// Apply applies the first active fault matching r: it waits Latency (giving
// up when the client does), then answers with write when the fault has a
// Status. It reports whether it answered, that is whether the fake must not
// handle r further.
func (s *Set) Apply(w http.ResponseWriter, r *http.Request, write WriteFunc) bool {
	f, ok := s.next(r)
	if !ok {
		return false
	}
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-r.Context().Done():
			t.Stop()
			return true
		case <-t.C:
		}
	}
	if f.Status == 0 {
		return false
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	write(w, r, f)
	return true
}
