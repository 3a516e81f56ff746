package seal_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/tstest/reporoot"
)

// TestDomainImportsNoAWS keeps the domain, the keyring included, free of the
// AWS SDK and Lambda types, so it runs and is tested without AWS: KMS reaches
// it only through the connectors.KeyWrapper port, implemented by
// internal/adapter/awskms.
func TestDomainImportsNoAWS(t *testing.T) {
	root, err := reporoot.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	domain := []string{"connectors", "connect", "executor", "router", "registry", "actions", "sweeper", "seal"}
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}"}
	for _, p := range domain {
		args = append(args, "./internal/"+p)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for pkg := range strings.SplitSeq(string(out), "\n") {
		if strings.HasPrefix(pkg, "github.com/aws/") || strings.HasSuffix(pkg, "/internal/adapter/awskms") || strings.HasSuffix(pkg, "/internal/local/localkms") {
			t.Errorf("a domain package links %s", pkg)
		}
	}
}
