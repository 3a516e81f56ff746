package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	for _, tt := range []struct {
		in   []time.Duration
		p    int
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 50, 3 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 50, 5 * time.Millisecond},
	} {
		if got := percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %d) = %v, want %v", tt.in, tt.p, got, tt.want)
		}
	}
}

// TestRun: a short run of both operations completes requests without
// errors and prints a row for each.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), 2, 300*time.Millisecond, &out); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for line := range strings.SplitSeq(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || (!strings.HasPrefix(line, "GET ") && !strings.HasPrefix(line, "execute ")) {
			continue
		}
		rows++
		if f[len(f)-1] != "0" {
			t.Errorf("errors in %q", line)
		}
		if f[len(f)-4] == "0" {
			t.Errorf("no requests in %q", line)
		}
	}
	if rows != 2 {
		t.Fatalf("%d rows, want 2:\n%s", rows, out.String())
	}
}
