// Package emftest reads CloudWatch Embedded Metric Format lines as
// CloudWatch does, holding each to the specification, and gives the
// metric points they publish, for tests of what the service emits.
//
// The specification's rules checked on every line: a JSON object on one
// line; _aws.Timestamp a whole number of milliseconds; _aws.CloudWatchMetrics
// a non-empty array of directives, each with a Namespace, Dimensions (an
// array of dimension sets, each of at most 9 unique keys, each key a
// top-level member whose value is a non-empty string) and Metrics (1 to
// 100 definitions, each Name a top-level member holding a number or an
// array of at most 100 numbers, Unit a CloudWatch unit).
//
// Only tests import this package.
package emftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Point is one metric value as CloudWatch records it: a metric of a
// namespace with one dimension set's values.
type Point struct {
	Namespace string
	Name      string
	Unit      string
	Dims      map[string]string // the set's dimensions and their values; empty for the dimensionless set
	Values    []float64
	Timestamp int64
}

// Key is "Name{k=v,...}" with the dimensions sorted: one per dimension set.
func (p Point) Key() string {
	keys := slices.Sorted(maps.Keys(p.Dims))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + p.Dims[k]
	}
	return p.Name + "{" + strings.Join(parts, ",") + "}"
}

// Sum is the sum of the point's values.
func (p Point) Sum() float64 {
	var s float64
	for _, v := range p.Values {
		s += v
	}
	return s
}

var units = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true, "Megabits": true,
	"Gigabits": true, "Terabits": true, "Percent": true, "Count": true, "Bytes/Second": true,
	"Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true, "Terabytes/Second": true,
	"Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true, "Gigabits/Second": true,
	"Terabits/Second": true, "Count/Second": true, "None": true,
}

// Lines returns the lines of out that are EMF documents (objects with an
// _aws member); other lines (logs) are left out.
func Lines(out []byte) [][]byte {
	var lines [][]byte
	for _, l := range bytes.Split(out, []byte("\n")) {
		if bytes.Contains(l, []byte(`"_aws"`)) {
			lines = append(lines, l)
		}
	}
	return lines
}

// Parse checks every EMF line of out against the specification, failing
// the test on each violation, and returns the points they publish.
func Parse(t testing.TB, out []byte) []Point {
	t.Helper()
	var points []Point
	for _, l := range Lines(out) {
		ps, err := ParseLine(l)
		if err != nil {
			t.Errorf("EMF line %s: %v", l, err)
			continue
		}
		points = append(points, ps...)
	}
	return points
}

// ParseLine checks one line and returns its points.
func ParseLine(line []byte) ([]Point, error) {
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the object")
	}
	var meta struct {
		Timestamp         *json.Number `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	if err := json.Unmarshal(doc["_aws"], &meta); err != nil {
		return nil, fmt.Errorf("_aws: %w", err)
	}
	if meta.Timestamp == nil {
		return nil, fmt.Errorf("_aws.Timestamp is missing")
	}
	ts, err := meta.Timestamp.Int64()
	if err != nil || ts <= 0 {
		return nil, fmt.Errorf("_aws.Timestamp %s is not positive whole milliseconds", *meta.Timestamp)
	}
	if len(meta.CloudWatchMetrics) == 0 {
		return nil, fmt.Errorf("_aws.CloudWatchMetrics is empty")
	}
	member := func(k string) (string, error) {
		raw, ok := doc[k]
		if !ok {
			return "", fmt.Errorf("dimension %q is not a top-level member", k)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || strings.TrimSpace(s) == "" || len(s) > 1024 {
			return "", fmt.Errorf("dimension %q is %s: want a non-empty string of at most 1024 bytes", k, raw)
		}
		return s, nil
	}
	var points []Point
	for _, d := range meta.CloudWatchMetrics {
		if d.Namespace == "" || len(d.Namespace) > 255 {
			return nil, fmt.Errorf("namespace %q", d.Namespace)
		}
		if d.Dimensions == nil {
			return nil, fmt.Errorf("directive has no Dimensions")
		}
		if n := len(d.Metrics); n == 0 || n > 100 {
			return nil, fmt.Errorf("directive has %d metrics, want 1 to 100", n)
		}
		var sets []map[string]string
		for _, set := range d.Dimensions {
			if len(set) > 9 {
				return nil, fmt.Errorf("dimension set %v has more than 9 keys", set)
			}
			dims := map[string]string{}
			for _, k := range set {
				if _, dup := dims[k]; dup {
					return nil, fmt.Errorf("dimension set %v repeats %q", set, k)
				}
				v, err := member(k)
				if err != nil {
					return nil, err
				}
				dims[k] = v
			}
			sets = append(sets, dims)
		}
		for _, m := range d.Metrics {
			if m.Name == "" || len(m.Name) > 255 {
				return nil, fmt.Errorf("metric name %q", m.Name)
			}
			if !units[m.Unit] {
				return nil, fmt.Errorf("metric %s: unit %q is not a CloudWatch unit", m.Name, m.Unit)
			}
			values, err := numbers(doc[m.Name])
			if err != nil {
				return nil, fmt.Errorf("metric %s: %w", m.Name, err)
			}
			for _, dims := range sets {
				points = append(points, Point{Namespace: d.Namespace, Name: m.Name, Unit: m.Unit, Dims: dims, Values: values, Timestamp: ts})
			}
		}
	}
	return points, nil
}

func numbers(raw json.RawMessage) ([]float64, error) {
	if raw == nil {
		return nil, fmt.Errorf("no top-level member holds its value")
	}
	var one float64
	if err := json.Unmarshal(raw, &one); err == nil {
		return []float64{one}, nil
	}
	var many []float64
	if err := json.Unmarshal(raw, &many); err != nil || len(many) == 0 || len(many) > 100 {
		return nil, fmt.Errorf("value %s: want a number or 1 to 100 numbers", raw)
	}
	return many, nil
}

// Index sums the points by Key, for lookups.
func Index(points []Point) map[string]float64 {
	out := map[string]float64{}
	for _, p := range points {
		out[p.Key()] += p.Sum()
	}
	return out
}

// Keys returns the index's keys, sorted: for failure messages.
func Keys(index map[string]float64) []string {
	keys := slices.Collect(maps.Keys(index))
	sort.Strings(keys)
	return keys
}
