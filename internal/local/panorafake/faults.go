package panorafake

import (
	"net/http"
	"strings"
	"time"
)

// Fault is a failure the fake injects into matching requests, before it
// checks the API key or handles them.
type Fault struct {
	Method string // match this method only; empty matches any
	Path   string // match paths with this prefix; empty matches any
	// Status answers with this status and Panora's error shape; 0 answers
	// normally (after Latency).
	Status     int
	Message    string // the answer's message; default the status text
	RetryAfter string // Retry-After header of the answer, when set
	Latency    time.Duration
	Times      int // how many matching requests it affects; 0 = all
}

type faultState struct {
	Fault
	used int
}

// Inject adds a fault. Faults are tried in the order they were added; the
// first active match applies.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// applyFault applies the first active fault matching r. It reports whether it
// answered the request.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	var f *Fault
	for _, st := range s.faults {
		if (st.Method == "" || st.Method == r.Method) && strings.HasPrefix(r.URL.Path, st.Path) &&
			(st.Times == 0 || st.used < st.Times) {
			st.used++
			cp := st.Fault
			f = &cp
			break
		}
	}
	s.mu.Unlock()
	if f == nil {
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
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	writeError(w, r, f.Status, msg)
	return true
}
