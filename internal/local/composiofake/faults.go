package composiofake

import (
	"net/http"
	"strings"
	"time"

	"github.com/automators/connectors/internal/local/fakefault"
)

// Fault is a failure the fake injects into matching requests, before it
// checks the API key or handles them (see package fakefault). It keeps its own
// field names, Slug in particular, so that tests read in Composio's terms.
type Fault struct {
	Method string // match this method only; empty matches any
	Path   string // match paths with this prefix; empty matches any
	// Status answers with this status and Composio's error shape; 0 answers
	// normally (after Latency).
	Status     int
	Slug       string // the answer's error slug; default from Status
	RetryAfter string // Retry-After header of the answer, when set
	Latency    time.Duration
	Times      int // how many matching requests it affects; 0 = all
}

// Inject adds a fault. Faults are tried in the order they were added; the
// first active match applies.
func (s *Server) Inject(f Fault) {
	s.faults.Inject(fakefault.Fault{
		Method: f.Method, Path: f.Path, Status: f.Status, Code: f.Slug,
		RetryAfter: f.RetryAfter, Latency: f.Latency, Times: f.Times,
	})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() { s.faults.Clear() }

// applyFault applies the first active fault matching r. It reports whether it
// answered the request.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request) bool {
	return s.faults.Apply(w, r, writeFault)
}

// writeFault answers an injected fault in Composio's error shape.
func writeFault(w http.ResponseWriter, _ *http.Request, f fakefault.Fault) {
	slug := f.Code
	if slug == "" {
		slug = strings.ReplaceAll(http.StatusText(f.Status), " ", "")
	}
	writeError(w, f.Status, slug, "Injected fault")
}
