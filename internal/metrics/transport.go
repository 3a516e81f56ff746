package metrics

import "net/http"

// Transport returns base counting each round trip as one of the
// OutboundCalls to target, in the batch of the request's context. A nil
// base is http.DefaultTransport.
func Transport(base http.RoundTripper, target string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return countingTransport{base: base, target: target}
}

type countingTransport struct {
	base   http.RoundTripper
	target string
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	Add(r.Context(), OutboundCalls, 1, Target(t.target))
	return t.base.RoundTrip(r)
}

// Client returns a copy of c whose calls count as OutboundCalls to
// target; c itself is unchanged (a nil c is a default client).
func Client(c *http.Client, target string) *http.Client {
	cp := http.Client{}
	if c != nil {
		cp = *c
	}
	cp.Transport = Transport(cp.Transport, target)
	return &cp
}

// Doer is an HTTP client as the AWS SDK takes one (its HTTPClient option).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// CountDoer returns d counting each request as one of the OutboundCalls
// to target: the AWS SDK's clients send every attempt through it, so
// retries count. A nil d is http.DefaultClient.
func CountDoer(d Doer, target string) Doer {
	if d == nil {
		d = http.DefaultClient
	}
	return countingDoer{d: d, target: target}
}

type countingDoer struct {
	d      Doer
	target string
}

func (c countingDoer) Do(r *http.Request) (*http.Response, error) {
	Add(r.Context(), OutboundCalls, 1, Target(c.target))
	return c.d.Do(r)
}
