package fakefault

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// writeStatus answers the fault's status with its code as the body.
func writeStatus(w http.ResponseWriter, _ *http.Request, f Fault) {
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(f.Code))
}

func TestApply(t *testing.T) {
	type req struct {
		method, path string
		answered     bool
		status       int // when answered
	}
	tests := []struct {
		name   string
		faults []Fault
		reqs   []req
	}{
		{"no fault", nil, []req{{"GET", "/a", false, 0}}},
		{"any request", []Fault{{Status: 503}}, []req{{"GET", "/a", true, 503}, {"POST", "/b", true, 503}}},
		{"method", []Fault{{Method: "POST", Status: 500}}, []req{{"GET", "/a", false, 0}, {"POST", "/a", true, 500}}},
		{"path prefix", []Fault{{Path: "/conn", Status: 502}}, []req{{"GET", "/connections/x", true, 502}, {"GET", "/other", false, 0}}},
		{"times", []Fault{{Status: 429, Times: 2}}, []req{{"GET", "/", true, 429}, {"GET", "/", true, 429}, {"GET", "/", false, 0}}},
		{"first active match wins", []Fault{{Status: 500, Times: 1}, {Status: 503}},
			[]req{{"GET", "/", true, 500}, {"GET", "/", true, 503}}},
		{"latency only", []Fault{{Latency: time.Millisecond}}, []req{{"GET", "/", false, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Set
			for _, f := range tt.faults {
				s.Inject(f)
			}
			for i, q := range tt.reqs {
				w := httptest.NewRecorder()
				got := s.Apply(w, httptest.NewRequest(q.method, q.path, nil), writeStatus)
				if got != q.answered {
					t.Fatalf("request %d (%s %s): answered = %v, want %v", i, q.method, q.path, got, q.answered)
				}
				if got && w.Code != q.status {
					t.Errorf("request %d: status %d, want %d", i, w.Code, q.status)
				}
			}
		})
	}
}

func TestApplyAnswer(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		retryAfter string
		body       string
	}{
		{"retry-after", Fault{Status: 429, RetryAfter: "7"}, "7", ""},
		{"code passed to the writer", Fault{Status: 401, Code: "unknown_account"}, "", "unknown_account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Set
			s.Inject(tt.fault)
			w := httptest.NewRecorder()
			if !s.Apply(w, httptest.NewRequest("GET", "/", nil), writeStatus) {
				t.Fatal("not answered")
			}
			if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if got := w.Body.String(); got != tt.body {
				t.Errorf("body %q, want %q", got, tt.body)
			}
		})
	}
}

func TestClear(t *testing.T) {
	var s Set
	s.Inject(Fault{Status: 500})
	s.Clear()
	if s.Apply(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), writeStatus) {
		t.Fatal("a cleared fault still applied")
	}
}

// A client that gives up during Latency gets no answer, and the fake must
// not go on handling the request.
func TestLatencyCancelled(t *testing.T) {
	var s Set
	s.Inject(Fault{Latency: time.Minute, Status: 500})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := httptest.NewRecorder()
	if !s.Apply(w, httptest.NewRequest("GET", "/", nil).WithContext(ctx), writeStatus) {
		t.Fatal("a cancelled request was handed on to the fake")
	}
	if w.Body.Len() != 0 {
		t.Errorf("answered %q to a cancelled request", w.Body.String())
	}
}
