// Package reporoot finds the repository root: the nearest directory at or
// above a given one that holds go.mod. Tests, run from their package
// directory, use it to reach files outside it (template.yaml, bin/, and the
// shared reference documents next to the repository).
package reporoot

import (
	"fmt"
	"os"
	"path/filepath"
)

// Find walks up from dir to the nearest directory holding go.mod and
// returns it, made absolute.
func Find(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	start := dir
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod in %s or any parent directory", start)
		}
		dir = parent
	}
}

// Reference returns <root>/../shared/reference/name, root being Find(dir):
// where the shared reference documents (Nango's catalogue and OpenAPI
// document) sit next to the repository. It does not check that the file
// exists; callers fail when it does not.
func Reference(dir, name string) (string, error) {
	root, err := Find(dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "..", "shared", "reference", name), nil
}
