package httpcall_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/httpcall"
)

// step is what the test server does for one attempt; the last step repeats.
type step struct {
	status     int
	retryAfter string        // Retry-After header, when set
	sleep      time.Duration // before answering (or hanging up)
	hangup     bool          // close the connection without an answer
}

// errAnswer is what AnswerError gives, so a test can see it wrapped.
var errAnswer = errors.New("the answer's error")

func TestSend(t *testing.T) {
	tests := []struct {
		name        string
		steps       []step
		retry       bool
		retryStatus func(int) bool
		policy      httpcall.Policy // Client is set by the test; zero: 3 retries
		noRetries   bool            // keep the policy's MaxRetries 0
		timeout     time.Duration   // the caller's deadline, when set
		cancelAfter time.Duration   // the caller cancels, when set

		wantStatus   int   // 0: an error is expected
		wantErrIs    error // with wantStatus 0
		wantAttempts int32
		minElapsed   time.Duration
		maxElapsed   time.Duration
	}{
		{
			name:  "5xx retried until 2xx",
			steps: []step{{status: 503}, {status: 502}, {status: 200}},
			retry: true, wantStatus: 200, wantAttempts: 3,
		},
		{
			name:  "429 without Retry-After retried",
			steps: []step{{status: 429}, {status: 200}},
			retry: true, wantStatus: 200, wantAttempts: 2,
		},
		{
			name:  "retries used up give the last answer",
			steps: []step{{status: 500}},
			retry: true, policy: httpcall.Policy{MaxRetries: 2}, wantStatus: 500, wantAttempts: 3,
		},
		{
			name:  "MaxRetries 0 disables retries",
			steps: []step{{status: 503}, {status: 200}},
			retry: true, noRetries: true, wantStatus: 503, wantAttempts: 1,
		},
		{
			name:  "unsafe call not retried on 5xx",
			steps: []step{{status: 503}, {status: 200}},
			retry: false, wantStatus: 503, wantAttempts: 1,
		},
		{
			name:  "unsafe call not retried on 429",
			steps: []step{{status: 429, retryAfter: "0"}, {status: 200}},
			retry: false, wantStatus: 429, wantAttempts: 1,
		},
		{
			name:  "4xx is final",
			steps: []step{{status: 404}, {status: 200}},
			retry: true, wantStatus: 404, wantAttempts: 1,
		},
		{
			name:  "RetryStatus refusing every status",
			steps: []step{{status: 503}, {status: 200}},
			retry: true, retryStatus: func(int) bool { return false }, wantStatus: 503, wantAttempts: 1,
		},
		{
			// The back-off alone would wait about a millisecond.
			name:  "Retry-After honoured on 429",
			steps: []step{{status: 429, retryAfter: "1"}, {status: 200}},
			retry: true, wantStatus: 200, wantAttempts: 2, minElapsed: time.Second,
		},
		{
			name:  "network error retried",
			steps: []step{{hangup: true}, {status: 200}},
			retry: true, wantStatus: 200, wantAttempts: 2,
		},
		{
			name:  "network error of an unsafe call is an error",
			steps: []step{{hangup: true}, {status: 200}},
			retry: false, wantAttempts: 1,
		},
		{
			// Waiting 30 s would outlive the caller: the 429 is final now.
			name:  "deadline ends retries with the last answer",
			steps: []step{{status: 429, retryAfter: "30"}, {status: 200}},
			retry: true, timeout: 2 * time.Second,
			wantStatus: 429, wantAttempts: 1, maxElapsed: time.Second,
		},
		{
			name:  "deadline passing during an attempt",
			steps: []step{{sleep: 2 * time.Second, status: 200}},
			retry: true, timeout: 100 * time.Millisecond,
			wantErrIs: context.DeadlineExceeded, wantAttempts: 1, maxElapsed: time.Second,
		},
		{
			name:  "cancellation while waiting wraps the last answer",
			steps: []step{{status: 503}, {status: 200}},
			retry: true, policy: httpcall.Policy{MaxRetries: 3, BackoffBase: 10 * time.Second, BackoffMax: 10 * time.Second},
			cancelAfter: 100 * time.Millisecond,
			wantErrIs:   errAnswer, wantAttempts: 1, maxElapsed: time.Second,
		},
		{
			name:  "per-attempt timeout retried",
			steps: []step{{sleep: 2 * time.Second, status: 200}, {status: 200}},
			retry: true, policy: httpcall.Policy{MaxRetries: 3, CallTimeout: 100 * time.Millisecond},
			wantStatus: 200, wantAttempts: 2, maxElapsed: time.Second,
		},
		{
			name:  "per-attempt timeout of an unsafe call is an error",
			steps: []step{{sleep: 2 * time.Second, status: 200}, {status: 200}},
			retry: false, policy: httpcall.Policy{MaxRetries: 3, CallTimeout: 100 * time.Millisecond},
			wantErrIs: context.DeadlineExceeded, wantAttempts: 1, maxElapsed: time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var attempts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(attempts.Add(1))
				s := tt.steps[min(n, len(tt.steps))-1]
				if s.sleep > 0 {
					select {
					case <-time.After(s.sleep):
					case <-r.Context().Done():
						return
					}
				}
				if s.hangup {
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						conn.Close()
					}
					return
				}
				if s.retryAfter != "" {
					w.Header().Set("Retry-After", s.retryAfter)
				}
				w.WriteHeader(s.status)
			}))
			t.Cleanup(srv.Close)

			p := tt.policy
			if p == (httpcall.Policy{}) && !tt.noRetries {
				p.MaxRetries = 3
			}
			p.Client = srv.Client()
			if p.BackoffBase == 0 {
				p.BackoffBase, p.BackoffMax = time.Millisecond, time.Millisecond
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			if tt.cancelAfter > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
				time.AfterFunc(tt.cancelAfter, cancel)
			}

			start := time.Now()
			resp, err := p.Send(ctx, &httpcall.Request{
				Method: http.MethodGet, URL: srv.URL + "/thing?secret=s3cr3t",
				Retry: tt.retry, RetryStatus: tt.retryStatus,
				AnswerError: func(*httpcall.Response) error { return errAnswer },
			})
			elapsed := time.Since(start)

			if tt.wantStatus != 0 {
				if err != nil || resp == nil || resp.Status != tt.wantStatus {
					t.Fatalf("Send = %+v, %v; want status %d", resp, err, tt.wantStatus)
				}
			} else {
				if err == nil {
					t.Fatalf("Send = %+v, nil; want an error", resp)
				}
				if tt.wantErrIs != nil && !errors.Is(err, tt.wantErrIs) {
					t.Errorf("error %q is not %v", err, tt.wantErrIs)
				}
				if tt.cancelAfter > 0 && !errors.Is(err, context.Canceled) {
					t.Errorf("error %q is not context.Canceled", err)
				}
				// The URL (and its query) never reaches an error.
				if msg := err.Error(); strings.Contains(msg, srv.URL) || strings.Contains(msg, "s3cr3t") {
					t.Errorf("error %q shows the URL", msg)
				}
			}
			if n := attempts.Load(); n != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", n, tt.wantAttempts)
			}
			if tt.minElapsed > 0 && elapsed < tt.minElapsed {
				t.Errorf("took %v, want at least %v", elapsed, tt.minElapsed)
			}
			if tt.maxElapsed > 0 && elapsed > tt.maxElapsed {
				t.Errorf("took %v, want at most %v", elapsed, tt.maxElapsed)
			}
		})
	}
}

// TestSendRequest checks what each attempt sends: the method, the header
// and the whole body again on a retry.
func TestSendRequest(t *testing.T) {
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 64)
		n, _ := r.Body.Read(body)
		if r.Method != http.MethodPut || r.Header.Get("X-Key") != "k" || string(body[:n]) != `{"a":1}` {
			t.Errorf("attempt %d: %s %q %q", attempts.Load()+1, r.Method, r.Header.Get("X-Key"), body[:n])
		}
		if attempts.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()

	p := httpcall.Policy{Client: srv.Client(), MaxRetries: 1, BackoffBase: time.Millisecond}
	resp, err := p.Send(context.Background(), &httpcall.Request{
		Method: http.MethodPut, URL: srv.URL, Header: http.Header{"X-Key": {"k"}},
		Body: []byte(`{"a":1}`), Retry: true,
	})
	if err != nil || resp.Status != 200 || string(resp.Body) != "ok" {
		t.Fatalf("Send = %+v, %v", resp, err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"  ", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true}, // past: no wait
	}
	for _, tt := range tests {
		got, ok := httpcall.ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestRetryableStatus(t *testing.T) {
	for status, want := range map[int]bool{200: false, 400: false, 404: false, 409: false, 429: true, 500: true, 503: true, 599: true} {
		if got := httpcall.RetryableStatus(status); got != want {
			t.Errorf("RetryableStatus(%d) = %v, want %v", status, got, want)
		}
	}
}
