// Package reftest finds what tests need from outside the repository: the
// reference documents tests hold the code to
// (Nango's, Composio's and Panora's OpenAPI documents, Nango's provider
// catalogue, the provider descriptions), which live in ../shared/reference
// next to the repository and are never copied into it, and the tools they
// run (the emulator, moto, Chromium, ...).
//
// On a fresh clone without ../shared (a new engineer's machine) a test that
// needs a missing document or tool skips with one line naming it; under
// CI=true, where ../shared is always present and the project's own files
// install every tool, it fails. Only tests import this package.
package reftest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/automators/connectors/internal/tstest/reporoot"
)

// Path returns the path of the reference document name: $envVar when set
// (it must exist), else ../shared/reference/name, else the first of
// fallbacks (paths relative to the repository root, e.g. a copy an npm
// package ships) that exists. When none exists it skips t, or fails it
// under CI=true.
func Path(t testing.TB, name, envVar string, fallbacks ...string) string {
	t.Helper()
	if envVar != "" {
		if p := os.Getenv(envVar); p != "" {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s=%s: %v", envVar, p, err)
			}
			return p
		}
	}
	root, err := reporoot.Find(".")
	if err != nil {
		t.Fatalf("reftest: %v", err)
	}
	shared, _ := reporoot.Reference(root, name)
	candidates := append([]string{shared}, fallbacks...)
	for i, p := range candidates {
		if i > 0 {
			p = filepath.Join(root, p)
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Missing(t, shared)
	return ""
}

// Missing skips t with one line naming the missing document, or fails it
// under CI=true.
func Missing(t testing.TB, path string) {
	t.Helper()
	skipOrFail(t, "reference document missing: "+filepath.Clean(path), " (CI=true: ../shared/reference must be present)")
}

// MissingTool skips t with msg, naming a tool the test needs that this
// machine lacks; under CI=true, where the project's own files install
// every tool, it fails t instead.
func MissingTool(t testing.TB, msg string) {
	t.Helper()
	skipOrFail(t, msg, " (required under CI=true)")
}

func skipOrFail(t testing.TB, msg, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + why)
	}
	t.Skip(msg)
}
