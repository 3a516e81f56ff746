// Package httpcall sends one API request with retries: exponential backoff
// (cenkalti/backoff/v5), Retry-After on 429, a per-attempt timeout, retries
// only for calls marked safe, and the caller's deadline respected.
//
// It is the machinery the provider clients (Nango, Composio, Panora) share.
// What differs between providers stays in each client: how a request is
// authenticated, how an error answer is parsed, and which error types and
// messages the callers see. So Send never builds a provider's error: it
// gives back the answer, or, when it has none to give, a cause the client
// wraps in its own error type.
package httpcall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Defaults of a Policy's zero fields, and the clients' documented defaults.
const (
	DefaultCallTimeout = 10 * time.Second
	DefaultMaxRetries  = 3
	DefaultBackoffBase = 200 * time.Millisecond
	DefaultBackoffMax  = 5 * time.Second
)

// MaxBody bounds what is read from one answer, so a misbehaving server
// cannot exhaust a Lambda's memory.
const MaxBody = 32 << 20

// sharedTransport is the one keep-alive transport of the process: every
// client built on SharedClient reuses its connections across invocations.
var sharedTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 64
	t.MaxIdleConnsPerHost = 16
	t.IdleConnTimeout = 90 * time.Second
	return t
}()

// SharedClient returns an *http.Client on the process's one keep-alive
// transport. A Lambda keeps its process between invocations, so sharing the
// transport keeps the TLS connections to every provider warm.
func SharedClient() *http.Client { return &http.Client{Transport: sharedTransport} }

// Policy says how the attempts of a call are made. A zero field means its
// default, except MaxRetries, where 0 disables retries.
type Policy struct {
	// Client sends each attempt (nil: SharedClient). Its Timeout, if any,
	// applies on top of CallTimeout.
	Client *http.Client
	// CallTimeout bounds each attempt, so one hung connection cannot use up
	// the caller's whole deadline.
	CallTimeout time.Duration
	// MaxRetries is how many times a call marked safe is repeated after its
	// first attempt.
	MaxRetries int
	// BackoffBase and BackoffMax shape the wait before retry n:
	// min(max, base*2^(n-1)) randomised by ±50%, so clients failing together
	// do not retry together, unless a 429 said how long with Retry-After.
	BackoffBase, BackoffMax time.Duration
}

// Request is one logical call; Send may make several attempts of it.
type Request struct {
	Method string
	URL    string      // complete, with its query
	Header http.Header // sent as is with every attempt
	Body   []byte      // nil: no body
	// Retry marks the call safe to repeat (read-only, or idempotent): only
	// then is an answer or a network error retried.
	Retry bool
	// RetryStatus says which statuses are worth another attempt (nil:
	// RetryableStatus). A proxied call, whose statuses are the upstream's,
	// passes one that refuses them all.
	RetryStatus func(status int) bool
	// AnswerError turns a non-2xx answer into the client's error. Send calls
	// it only when the caller's context ends after such an answer, so the
	// error says both (nil: the answer is dropped, the context's error
	// stays).
	AnswerError func(*Response) error
}

// Response is a complete answer, its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// RetryableStatus reports whether status is worth another attempt: 429
// (the server asked to slow down) or 5xx (the server failed, maybe
// transiently).
func RetryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// errRetryStatus marks an answer whose status may be retried, so that
// backoff.Retry tries again; Send returns the answer itself, never this.
var errRetryStatus = errors.New("retryable status")

// Send makes attempts of r until one gets an answer that is final: a status
// that r.RetryStatus refuses, a call that may not be retried, retries used
// up, or no time left before the caller's deadline (a wait that would
// outlive it ends the call at once with the answer there is, so a 429
// reaches the caller as soon as retrying is hopeless).
//
// Any answer, 2xx or not, comes back as a *Response with a nil error. An
// error comes back only when there is no answer to give: the last attempt's
// network error (its *url.Error, which repeats the URL, removed), or the
// caller's context ending, which wraps the context's error and the last
// attempt's error so that errors.Is sees both.
func (p Policy) Send(ctx context.Context, r *Request) (*Response, error) {
	retryStatus := r.RetryStatus
	if retryStatus == nil {
		retryStatus = RetryableStatus
	}
	var (
		last    *Response
		lastErr error
		tries   uint
	)
	op := func() (*Response, error) {
		tries++
		last, lastErr = p.attempt(ctx, r)
		if lastErr != nil {
			return nil, lastErr
		}
		if !retryStatus(last.Status) {
			return last, nil
		}
		if last.Status == http.StatusTooManyRequests {
			if ra, ok := ParseRetryAfter(last.Header.Get("Retry-After"), time.Now()); ok {
				return nil, &backoff.RetryAfterError{Duration: ra}
			}
		}
		return nil, errRetryStatus
	}
	maxTries := uint(1)
	if r.Retry && p.MaxRetries > 0 {
		maxTries += uint(p.MaxRetries)
	}
	opts := []backoff.RetryOption{
		backoff.WithMaxTries(maxTries),
		backoff.WithBackOff(&backoff.ExponentialBackOff{
			InitialInterval:     or(p.BackoffBase, DefaultBackoffBase),
			RandomizationFactor: 0.5,
			Multiplier:          2,
			MaxInterval:         or(p.BackoffMax, DefaultBackoffMax),
		}),
		// No limit without a deadline: the tries bound the call.
		backoff.WithMaxElapsedTime(0),
	}
	if deadline, ok := ctx.Deadline(); ok {
		opts = append(opts, backoff.WithMaxElapsedTime(max(time.Until(deadline), 1)))
	}
	if resp, err := backoff.Retry(ctx, op, opts...); err == nil {
		return resp, nil
	}
	switch {
	case ctx.Err() != nil:
		// The caller's deadline or cancellation, not a per-attempt timeout.
		return nil, contextError(ctx.Err(), r, last, lastErr)
	case lastErr != nil && tries < maxTries:
		return nil, fmt.Errorf("%w (no time left to retry)", lastErr)
	case lastErr != nil:
		return nil, lastErr
	}
	return last, nil
}

// contextError is the error of a call whose context ended: cause, and, when
// there was one, the last attempt's error, so both
// errors.Is(err, context.DeadlineExceeded) and a client's own predicates
// (rate limited, unavailable) work on it.
func contextError(cause error, r *Request, resp *Response, err error) error {
	if err == nil && resp != nil && resp.Status/100 != 2 && r.AnswerError != nil {
		err = r.AnswerError(resp)
	}
	if err == nil || errors.Is(err, cause) {
		return cause
	}
	return fmt.Errorf("%w (last attempt: %w)", cause, err)
}

// attempt makes one HTTP exchange bounded by the per-attempt timeout.
func (p Policy) attempt(ctx context.Context, r *Request) (*Response, error) {
	actx, cancel := context.WithTimeout(ctx, or(p.CallTimeout, DefaultCallTimeout))
	defer cancel()

	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(actx, r.Method, r.URL, body)
	if err != nil {
		return nil, stripURL(err)
	}
	// A copy per attempt, so nothing the client or transport adds to one
	// attempt's header leaks into the next or back to the caller.
	req.Header = r.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}

	hc := p.Client
	if hc == nil {
		hc = SharedClient()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, stripURL(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, stripURL(err)
	}
	if len(b) > MaxBody {
		return nil, fmt.Errorf("answer larger than %d bytes", MaxBody)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// stripURL drops the *url.Error wrapper, whose message repeats the full URL
// (with its query, which may hold an id the logs should not): the clients'
// errors name the operation instead.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// ParseRetryAfter reads a Retry-After value (RFC 9110, 10.2.3):
// delay-seconds or an HTTP date, which is turned into a wait from now (0
// when already past).
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// or is d, or def when d is not positive.
func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
