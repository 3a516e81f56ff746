package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/automators/connectors/internal/config"
	"github.com/automators/connectors/internal/tstest/awstest"
)

// generated is the secret as template.yaml creates it: generated values
// only.
const generated = `{"nango_secret_key":"","nango_webhook_signing_keys":[],"jwt_hs256_secret":"J0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0",` +
	`"token_encryption_keys":[{"id":"k1","key":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}],` +
	`"google_client_id":"","google_client_secret":"","microsoft_client_id":"","microsoft_client_secret":"",` +
	`"state_signing_key":"S0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0","some_future_key":"kept"}`

func emulatorClients(t *testing.T) *clients {
	t.Helper()
	endpoint := awstest.Endpoint(t, "secretsmanager")
	cfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return &clients{
		secrets: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(endpoint) }),
		cfn:     cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(endpoint) }),
	}
}

func createSecret(t *testing.T, c *clients, doc string) string {
	t.Helper()
	name := fmt.Sprintf("secrets-cmd-test/%d", time.Now().UnixNano())
	out, err := c.secrets.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: &name, SecretString: &doc})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ARN)
}

func readDoc(t *testing.T, c *clients, id string) map[string]any {
	t.Helper()
	out, err := c.secrets.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: &id})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestMergeIntoTheEmulatorsSecret(t *testing.T) {
	c := emulatorClients(t)
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		want     map[string]any // keys that must hold these values afterwards
		wantErr  string
	}{
		{name: "nango key and clients", args: []string{"nango_secret_key=nk-1", "GOOGLE_CLIENT_ID=gid", "google_client_secret=gsec"},
			want: map[string]any{"nango_secret_key": "nk-1", "google_client_id": "gid", "google_client_secret": "gsec"}},
		{name: "a list", args: []string{"nango_webhook_signing_keys=w1, w2"}, want: map[string]any{"nango_webhook_signing_keys": []any{"w1", "w2"}}},
		{name: "token keys prepended by hand", args: []string{"token_encryption_keys=k2:" + strings.Repeat("ab", 32) + ",k1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"},
			want: map[string]any{"token_encryption_keys": []any{map[string]any{"id": "k2", "key": strings.Repeat("ab", 32)}, map[string]any{"id": "k1", "key": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}}}},
		{name: "value from stdin", args: []string{"microsoft_client_secret=-"}, stdin: "from-stdin\n", want: map[string]any{"microsoft_client_secret": "from-stdin"}},
		{name: "unknown key", args: []string{"nango_secret=x"}, wantCode: 2, wantErr: `unknown key "nango_secret"`},
		{name: "not an assignment", args: []string{"nango_secret_key"}, wantCode: 2, wantErr: "is not KEY=value"},
		{name: "bad token key refused before writing", args: []string{"token_encryption_keys=k1:short"}, wantCode: 1, wantErr: "not written"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := createSecret(t, c, generated)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), append([]string{"-secret-id", id}, tt.args...), strings.NewReader(tt.stdin), &stdout, &stderr, c)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr.String())
			}
			doc := readDoc(t, c, id)
			if tt.wantCode != 0 {
				if !strings.Contains(stderr.String(), tt.wantErr) {
					t.Errorf("stderr %q does not say %q", stderr.String(), tt.wantErr)
				}
				if doc["nango_secret_key"] != "" || doc["state_signing_key"] == "" {
					t.Errorf("a refused change wrote the secret: %v", doc)
				}
				return
			}
			for k, v := range tt.want {
				got, _ := json.Marshal(doc[k])
				want, _ := json.Marshal(v)
				if string(got) != string(want) {
					t.Errorf("%s = %s, want %s", k, got, want)
				}
				if strings.Contains(stdout.String()+stderr.String(), fmt.Sprint(v)) && k != "nango_webhook_signing_keys" {
					t.Errorf("output shows the value of %s: %s", k, stdout.String())
				}
			}
			// What was not named is kept, generated values included.
			var before map[string]any
			_ = json.Unmarshal([]byte(generated), &before)
			for k, v := range before {
				if _, changed := tt.want[k]; changed {
					continue
				}
				if fmt.Sprint(doc[k]) != fmt.Sprint(v) {
					t.Errorf("%s changed from %v to %v", k, v, doc[k])
				}
			}
			raw, _ := json.Marshal(doc)
			if _, err := config.ParseSecretsJSON(raw); err != nil {
				t.Errorf("merged secret does not parse: %v", err)
			}
		})
	}
}

// TestStackOutputNamesTheSecret: -stack finds the secret through the stack's
// SecretArn output, as make secrets STACK=... does.
func TestStackOutputNamesTheSecret(t *testing.T) {
	c := emulatorClients(t)
	id := createSecret(t, c, generated)
	stack := fmt.Sprintf("secrets-cmd-%d", time.Now().UnixNano())
	tpl := `{"Resources":{"Q":{"Type":"AWS::SQS::Queue"}},"Outputs":{"SecretArn":{"Value":"` + id + `"}}}`
	if _, err := c.cfn.CreateStack(t.Context(), &cloudformation.CreateStackInput{StackName: &stack, TemplateBody: &tpl}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.cfn.DeleteStack(context.WithoutCancel(t.Context()), &cloudformation.DeleteStackInput{StackName: &stack})
	})
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"-stack", stack, "nango_secret_key=from-stack"}, strings.NewReader(""), &stdout, &stderr, c); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if got := readDoc(t, c, id)["nango_secret_key"]; got != "from-stack" {
		t.Errorf("nango_secret_key = %v", got)
	}
	var stderr2 bytes.Buffer
	if code := run(t.Context(), []string{"-stack", "no-such-stack", "nango_secret_key=x"}, strings.NewReader(""), &stdout, &stderr2, c); code != 1 {
		t.Errorf("unknown stack: exit %d, want 1 (%s)", code, stderr2.String())
	}
}
