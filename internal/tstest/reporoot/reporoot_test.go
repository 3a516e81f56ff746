package reporoot_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/automators/connectors/internal/tstest/reporoot"
)

func TestFind(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{root, deep} {
		got, err := reporoot.Find(dir)
		if err != nil || got != root {
			t.Errorf("Find(%s) = %q, %v; want %q", dir, got, err, root)
		}
	}
	ref, err := reporoot.Reference(deep, "x.yaml")
	if want := filepath.Join(root, "..", "shared", "reference", "x.yaml"); err != nil || ref != want {
		t.Errorf("Reference = %q, %v; want %q", ref, err, want)
	}
}
