// Package samtemplate reads the functions and their events from the SAM
// template (template.yaml), so that the local API, the emulator tests and
// the consistency tests use the deployed routes instead of a copy of them.
//
// It understands only what those need: AWS::Serverless::Function resources,
// their HttpApi and Schedule events, CodeUri and Metadata.BuildMethod. The
// CloudFormation short-form tags (!Ref, !Sub, !GetAtt, ...) are accepted and
// read as plain values.
package samtemplate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// FileName is the template's file name at the repository root.
const FileName = "template.yaml"

// Template is the part of a SAM template this package reads.
type Template struct {
	Functions []Function // sorted by logical id
	// ResourceTypes maps every resource's logical id to its Type.
	ResourceTypes map[string]string
}

// Function is an AWS::Serverless::Function resource.
type Function struct {
	LogicalID   string // e.g. "NangoAuthorizeFunction"
	Folder      string // folder under functions/, e.g. "nango-authorize"
	CodeURI     string // as written; "" when absent
	BuildMethod string // Metadata.BuildMethod, e.g. "makefile"
	Routes      []Route
	Schedules   []Schedule
}

// Route is an HttpApi event of a function.
type Route struct {
	Event  string // event name in the template
	Method string // upper case; "ANY" matches every method
	Path   string // e.g. "/api/v1/nango/connections/{connectionId}"
}

// Key returns the API Gateway route key, e.g. "GET /api/v1/nango/connections".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Schedule is a Schedule (or ScheduleV2) event of a function.
type Schedule struct {
	Event      string
	Expression string // e.g. "rate(15 minutes)"
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Locate finds template.yaml in dir or the nearest parent directory, so that
// tests (run from their package directory) and commands find the same file.
func Locate(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, FileName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s in this directory or any parent", FileName)
		}
		dir = parent
	}
}

// FolderFor returns the functions/ folder of a function's logical id: the id
// without its "Function" suffix, in kebab case (NangoAuthorizeFunction ->
// nango-authorize). The template, the Makefile's build-<LogicalId> targets
// and the local API all follow this rule; the tests hold them to it.
func FolderFor(logicalID string) string {
	name := strings.TrimSuffix(logicalID, "Function")
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			// A new word starts at an upper-case letter, unless it continues
			// an acronym ("HTTPAPI" stays one word until its last capital).
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				(i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// document mirrors the template's structure after tags are stripped.
type document struct {
	Resources map[string]struct {
		Type       string         `yaml:"Type"`
		Metadata   map[string]any `yaml:"Metadata"`
		Properties yaml.Node      `yaml:"Properties"`
	} `yaml:"Resources"`
}

type functionProps struct {
	CodeURI any `yaml:"CodeUri"`
	Events  map[string]struct {
		Type       string `yaml:"Type"`
		Properties struct {
			Path     string `yaml:"Path"`
			Method   string `yaml:"Method"`
			Schedule string `yaml:"Schedule"`
			// ScheduleV2
			ScheduleExpression string `yaml:"ScheduleExpression"`
		} `yaml:"Properties"`
	} `yaml:"Events"`
}

// Parse parses a SAM template.
func Parse(data []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	stripTags(&root)
	var doc document
	if err := root.Decode(&doc); err != nil {
		return nil, err
	}
	if len(doc.Resources) == 0 {
		return nil, errors.New("no Resources")
	}
	t := &Template{ResourceTypes: map[string]string{}}
	for id, r := range doc.Resources {
		t.ResourceTypes[id] = r.Type
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		var props functionProps
		if err := r.Properties.Decode(&props); err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		f := Function{LogicalID: id, Folder: FolderFor(id)}
		if s, ok := props.CodeURI.(string); ok {
			f.CodeURI = s
		}
		if s, ok := r.Metadata["BuildMethod"].(string); ok {
			f.BuildMethod = s
		}
		for name, ev := range props.Events {
			switch ev.Type {
			case "HttpApi":
				if ev.Properties.Path == "" || ev.Properties.Method == "" {
					// SAM's implicit catch-all ($default) route: not served
					// by this service, refused rather than guessed.
					return nil, fmt.Errorf("%s: HttpApi event %s needs Path and Method", id, name)
				}
				f.Routes = append(f.Routes, Route{
					Event:  name,
					Method: strings.ToUpper(ev.Properties.Method),
					Path:   ev.Properties.Path,
				})
			case "Schedule", "ScheduleV2":
				expr := ev.Properties.Schedule
				if expr == "" {
					expr = ev.Properties.ScheduleExpression
				}
				f.Schedules = append(f.Schedules, Schedule{Event: name, Expression: expr})
			}
		}
		sort.Slice(f.Routes, func(i, j int) bool { return f.Routes[i].Key() < f.Routes[j].Key() })
		sort.Slice(f.Schedules, func(i, j int) bool { return f.Schedules[i].Event < f.Schedules[j].Event })
		t.Functions = append(t.Functions, f)
	}
	sort.Slice(t.Functions, func(i, j int) bool { return t.Functions[i].LogicalID < t.Functions[j].LogicalID })
	return t, nil
}

// Function returns the function with the given logical id or folder.
func (t *Template) Function(name string) (Function, bool) {
	for _, f := range t.Functions {
		if f.LogicalID == name || f.Folder == name {
			return f, true
		}
	}
	return Function{}, false
}

// RouteTarget is a route and the folder of the function serving it.
type RouteTarget struct {
	Route
	Folder string
}

// Routes returns every HttpApi route of the template, sorted by route key.
func (t *Template) Routes() []RouteTarget {
	var out []RouteTarget
	for _, f := range t.Functions {
		for _, r := range f.Routes {
			out = append(out, RouteTarget{Route: r, Folder: f.Folder})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// stripTags drops CloudFormation's local tags (!Ref, !Sub, ...), keeping the
// node's value, so the document decodes into plain Go values: a tagged scalar
// becomes its string, a tagged sequence or mapping stays one.
func stripTags(n *yaml.Node) {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		switch n.Kind {
		case yaml.ScalarNode:
			n.Tag = "!!str"
		case yaml.SequenceNode:
			n.Tag = "!!seq"
		case yaml.MappingNode:
			n.Tag = "!!map"
		}
	}
	for _, c := range n.Content {
		stripTags(c)
	}
}
