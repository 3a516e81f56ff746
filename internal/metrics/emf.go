package metrics

import (
	"io"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// EMF is the sink that writes each batch as CloudWatch Embedded Metric
// Format lines: JSON objects, one per line, each written with one Write.
//
// A line holds one value per dimension name and per metric name (they are
// its top-level members), so a batch whose records differ in a
// dimension's value (OutboundCalls to dynamodb and to nango) needs more
// than one line: Flush packs the batch into as few lines as it can, each
// within the specification's limits. A batch with no records writes
// nothing.
type EMF struct {
	mu  sync.Mutex // one line at a time, so concurrent invocations never interleave
	w   io.Writer
	now func() time.Time
	buf []byte
}

// NewEMF returns the EMF sink writing to w (os.Stdout in Lambda), stamping
// lines with now (nil: time.Now).
func NewEMF(w io.Writer, now func() time.Time) *EMF {
	if now == nil {
		now = time.Now
	}
	return &EMF{w: w, now: now}
}

// line is what one EMF line holds: its groups, whose dimension values
// agree, and whose metric names are distinct.
type line struct {
	groups  []*group
	metrics int
}

// fits reports whether g can join l: no dimension has another value in
// l, no metric of g is in l already, no name is both a dimension and a
// metric, and the line stays within MaxMetricsPerLine.
func (l line) fits(g *group) bool {
	if l.metrics+len(g.entries) > MaxMetricsPerLine {
		return false
	}
	for _, o := range l.groups {
		for _, d := range g.dims {
			if v, ok := o.value(d.Name); ok && v != d.Value {
				return false
			}
			if slices.ContainsFunc(o.entries, func(e entry) bool { return e.m.Name == d.Name }) {
				return false
			}
		}
		for _, e := range g.entries {
			if o.has(e.m.Name) || slices.ContainsFunc(o.entries, func(f entry) bool { return f.m.Name == e.m.Name }) {
				return false
			}
		}
	}
	return true
}

// Flush implements Sink. Its error is the writer's.
func (s *EMF) Flush(b *Batch) error {
	groups := split(b.take())
	if len(groups) == 0 {
		return nil
	}
	lines := make([]line, 0, 4)
	for _, g := range groups {
		i := slices.IndexFunc(lines, func(l line) bool { return l.fits(g) })
		if i < 0 {
			lines = append(lines, line{groups: make([]*group, 0, len(groups))})
			i = len(lines) - 1
		}
		lines[i].groups = append(lines[i].groups, g)
		lines[i].metrics += len(g.entries)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.now().UnixMilli()
	for i := range lines {
		s.buf = appendLine(s.buf[:0], ts, &lines[i])
		if _, err := s.w.Write(s.buf); err != nil {
			return err
		}
	}
	return nil
}

// split drops groups left with no dimension set, and splits the others
// so that each holds at most MaxMetricsPerLine metrics and each metric at
// most MaxValuesPerMetric values.
func split(gs []*group) []*group {
	out := gs[:0]
	var parts []*group
	for _, g := range gs {
		if len(g.sets) == 0 {
			continue // every set lacks a value: CloudWatch would drop it
		}
		if fitsOne(g) {
			out = append(out, g)
			continue
		}
		for len(g.entries) > 0 {
			part := &group{dims: g.dims, sets: g.sets}
			var rest []entry
			for _, e := range g.entries {
				if len(part.entries) == MaxMetricsPerLine {
					rest = append(rest, e)
					continue
				}
				if len(e.values) > MaxValuesPerMetric {
					rest = append(rest, entry{m: e.m, values: e.values[MaxValuesPerMetric:]})
					e.values = e.values[:MaxValuesPerMetric]
				}
				part.entries = append(part.entries, e)
			}
			parts = append(parts, part)
			g = &group{dims: g.dims, sets: g.sets, entries: rest}
		}
	}
	return append(out, parts...)
}

// fitsOne reports whether g is within the limits of one line as it is.
func fitsOne(g *group) bool {
	if len(g.entries) > MaxMetricsPerLine {
		return false
	}
	for _, e := range g.entries {
		if len(e.values) > MaxValuesPerMetric {
			return false
		}
	}
	return true
}

// appendLine appends l as one EMF JSON object and a newline:
//
//	{"_aws":{"Timestamp":ms,"CloudWatchMetrics":[{"Namespace":...,
//	"Dimensions":[[...]],"Metrics":[{"Name":...,"Unit":...}]}]},
//	"<dimension>":"<value>",...,"<metric>":<value or [values]>,...}
func appendLine(b []byte, ts int64, l *line) []byte {
	b = append(b, `{"_aws":{"Timestamp":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `,"CloudWatchMetrics":[`...)
	for i, g := range l.groups {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Namespace":"`+Namespace+`","Dimensions":[`...)
		for j, set := range g.sets {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			for k, name := range set {
				if k > 0 {
					b = append(b, ',')
				}
				b = appendString(b, name)
			}
			b = append(b, ']')
		}
		b = append(b, `],"Metrics":[`...)
		for j, e := range g.entries {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Name":`...)
			b = appendString(b, e.m.Name)
			b = append(b, `,"Unit":`...)
			b = appendString(b, string(e.m.Unit))
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	b = append(b, "]}"...)
	for i, g := range l.groups {
		for _, d := range g.dims {
			if slices.ContainsFunc(l.groups[:i], func(o *group) bool { return o.has(d.Name) }) {
				continue // written with an earlier group (they agree)
			}
			b = append(b, ',')
			b = appendString(b, d.Name)
			b = append(b, ':')
			b = appendString(b, d.Value)
		}
	}
	for _, g := range l.groups {
		for _, e := range g.entries {
			b = append(b, ',')
			b = appendString(b, e.m.Name)
			b = append(b, ':')
			switch {
			case e.m.Unit == Count:
				b = appendNumber(b, e.sum)
			case len(e.values) == 1:
				b = appendNumber(b, e.values[0])
			default:
				b = append(b, '[')
				for k, v := range e.values {
					if k > 0 {
						b = append(b, ',')
					}
					b = appendNumber(b, v)
				}
				b = append(b, ']')
			}
		}
	}
	return append(b, "}\n"...)
}

func appendNumber(b []byte, v float64) []byte {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
