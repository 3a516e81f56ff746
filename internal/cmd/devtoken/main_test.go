package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/connectors"
)

const secret = "dev-secret-dev-secret-dev-secret-0123"

func TestRun(t *testing.T) {
	dir := t.TempDir()
	withSecret := filepath.Join(dir, "secrets.env")
	if err := os.WriteFile(withSecret, []byte("# generated\nSTATE_SIGNING_KEY=x\nJWT_HS256_SECRET="+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withoutSecret := filepath.Join(dir, "other.env")
	if err := os.WriteFile(withoutSecret, []byte("STATE_SIGNING_KEY=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.env")

	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantErr  string // in stderr
		want     connectors.Principal
	}{
		{name: "secret from env", args: []string{"-user", "u1", "-org", "o1", "-roles", "admin, viewer", "-secrets-file", missing},
			env: map[string]string{"JWT_HS256_SECRET": secret}, want: connectors.Principal{UserID: "u1", OrganizationID: "o1", Roles: []string{"admin", "viewer"}}},
		{name: "secret from file", args: []string{"-user", "u2", "-org", "o2", "-secrets-file", withSecret},
			want: connectors.Principal{UserID: "u2", OrganizationID: "o2"}},
		{name: "no secret anywhere", args: []string{"-user", "u1", "-org", "o1", "-secrets-file", missing}, wantCode: 1, wantErr: "make run"},
		{name: "file without the secret", args: []string{"-user", "u1", "-org", "o1", "-secrets-file", withoutSecret}, wantCode: 1, wantErr: "has no JWT_HS256_SECRET"},
		{name: "no user", args: []string{"-org", "o1"}, env: map[string]string{"JWT_HS256_SECRET": secret}, wantCode: 2, wantErr: "-user and -org are required"},
		{name: "bad flag", args: []string{"-ttl", "soon"}, wantCode: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.wantCode, tt.wantErr)
			}
			if code != 0 {
				return
			}
			v, err := auth.New(t.Context(), auth.Options{HS256Secret: []byte(secret)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(t.Context(), strings.TrimSpace(stdout.String()))
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Verify = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
