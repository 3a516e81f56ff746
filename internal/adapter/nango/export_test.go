package nango

import "time"

// WithCallTimeout bounds each attempt (default DefaultCallTimeout). Only
// tests need another bound, to see an attempt time out without waiting for
// the default; the caller's context still bounds the whole call.
func WithCallTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.callTimeout = d
		}
	}
}
