package lambdarie

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"gopkg.in/yaml.v3"

	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/config"
	"github.com/automators/connectors/internal/local/samtemplate"
	"github.com/automators/connectors/internal/tstest/awstest"
)

// generateString is what Secrets Manager's GenerateSecretString produces for
// the options template.yaml gives it: PasswordLength characters drawn from
// letters, digits and punctuation, minus what the options exclude.
func generateString(t *testing.T, opts map[string]any) string {
	t.Helper()
	chars := "abcdefghijklmnopqrstuvwxyz" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "0123456789" + "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
	drop := func(set string) {
		chars = strings.Map(func(r rune) rune {
			if strings.ContainsRune(set, r) {
				return -1
			}
			return r
		}, chars)
	}
	if opts["ExcludePunctuation"] == true {
		drop("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
	}
	if opts["ExcludeUppercase"] == true {
		drop("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	}
	if opts["ExcludeLowercase"] == true {
		drop("abcdefghijklmnopqrstuvwxyz")
	}
	if opts["ExcludeNumbers"] == true {
		drop("0123456789")
	}
	if ex, ok := opts["ExcludeCharacters"].(string); ok {
		drop(ex)
	}
	n, ok := opts["PasswordLength"].(int)
	if !ok {
		n = 32 // Secrets Manager's default
	}
	var b strings.Builder
	for range n {
		i, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteByte(chars[i.Int64()])
	}
	return b.String()
}

// templateSecret builds the secret document a fresh stack gets, from
// template.yaml itself: ConnectorSecrets' SecretStringTemplate with its
// dynamic references resolved to values generated as the referenced secrets'
// GenerateSecretString says, and its GenerateStringKey added.
func templateSecret(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, samtemplate.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	// Decode the resources loosely: tags such as !Sub and !Ref become plain
	// values, which is all this needs.
	var tpl struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				GenerateSecretString map[string]any `yaml:"GenerateSecretString"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := doc.Decode(&tpl); err != nil {
		t.Fatal(err)
	}
	gen := tpl.Resources["ConnectorSecrets"].Properties.GenerateSecretString
	tmpl, _ := gen["SecretStringTemplate"].(string)
	if tmpl == "" {
		t.Fatal("ConnectorSecrets has no SecretStringTemplate")
	}
	ref := regexp.MustCompile(`\{\{resolve:secretsmanager:\$\{(\w+)\}:SecretString\}\}`)
	var missing []string
	resolved := ref.ReplaceAllStringFunc(tmpl, func(m string) string {
		id := ref.FindStringSubmatch(m)[1]
		r, ok := tpl.Resources[id]
		if !ok || r.Type != "AWS::SecretsManager::Secret" || r.Properties.GenerateSecretString == nil {
			missing = append(missing, id)
			return ""
		}
		return generateString(t, r.Properties.GenerateSecretString)
	})
	if len(missing) > 0 {
		t.Fatalf("SecretStringTemplate references %v, which generate nothing", missing)
	}
	if strings.Contains(resolved, "${") || strings.Contains(resolved, "{{") {
		t.Fatalf("SecretStringTemplate keeps an unresolved reference: %s", resolved)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(resolved), &m); err != nil {
		t.Fatalf("SecretStringTemplate is not JSON once resolved: %v", err)
	}
	key, _ := gen["GenerateStringKey"].(string)
	m[key] = generateString(t, gen)
	out, _ := json.Marshal(m)
	return string(out)
}

// TestFunctionsStartWithTheTemplatesGeneratedSecret is the first deploy:
// the secret holds only what template.yaml generates (no Nango key, no
// webhook keys, no OAuth clients, no PUBLIC_URL). Every function must start,
// and what needs a missing value must answer 503 not_configured naming it.
func TestFunctionsStartWithTheTemplatesGeneratedSecret(t *testing.T) {
	doc := templateSecret(t)
	sec, err := config.ParseSecretsJSON([]byte(doc))
	if err != nil {
		t.Fatalf("the generated secret does not parse: %v", err)
	}
	if len(sec.JWTHS256Secret) < auth.MinHS256SecretLen || len(sec.TokenEncryptionKeys) == 0 || len(sec.StateSigningKey) < 32 {
		t.Fatalf("the template generates too little: %v", sec)
	}

	endpoint := awstest.Endpoint(t, "secretsmanager")
	client := awstest.DynamoDB(t)
	table := awstest.Table(t, client)
	cfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(endpoint) })
	name := fmt.Sprintf("first-deploy/%d", time.Now().UnixNano())
	created, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: &name, SecretString: &doc})
	if err != nil {
		t.Fatal(err)
	}
	// The template's Globals environment, with its parameters' defaults.
	env := []string{
		"TABLE_NAME=" + table, "SECRETS_ID=" + aws.ToString(created.ARN),
		"AWS_ENDPOINT_URL=" + endpoint, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"NANGO_HOST=https://api.nango.dev", "JWT_ISSUER=", "JWT_AUDIENCE=", "JWT_JWKS_URL=", "JWT_ORG_CLAIM=org_id",
		"REDIRECT_ALLOWLIST=", "CORS_ALLOW_ORIGINS=", "PUBLIC_URL=", "ROUTING_POLICY=", "NANGO_INTEGRATIONS=", "LOG_LEVEL=info",
		// Not the template's: Stripe, on loopback, refuses the sample
		// event's docs-only key, as the real one would; the test must not
		// depend on reaching api.stripe.com.
		"PROVIDER_BASE_URLS=stripe=" + stripeRefusing(t),
	}
	token, err := auth.Issue([]byte(sec.JWTHS256Secret), auth.DevClaims{UserID: sampleUser, OrgID: sampleOrg, TTL: time.Hour}, "")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		folder  string
		status  int    // HTTP: the answer's status; 0 for the executor and the sweeper
		code    string // HTTP: error code; executor: errorType; "" = success
		message string // a fragment of the error message
	}{
		{"nango-authorize", 503, "not_configured", "nango_secret_key"},
		{"nango-callback", 400, "invalid_state", ""},
		{"nango-refresh", 404, "not_found", ""},
		{"nango-list-connections", 200, "", ""},
		{"nango-get-connection", 404, "not_found", ""},
		{"nango-delete-connection", 404, "not_found", ""},
		// API keys need no configuration: the key is tested at Stripe.
		{"nango-create-connection", 400, "invalid_credentials", "Invalid API Key"},
		{"nango-rotate-credentials", 404, "not_found", ""},
		{"nango-update-connection", 404, "not_found", ""},
		{"nango-list-connectors", 200, "", ""},
		{"nango-get-connector", 200, "", ""},
		{"nango-list-executions", 404, "not_found", ""},
		{"nango-webhook", 503, "not_configured", "nango_webhook_signing_keys"},
		{"execute-connector", 0, executeAnswer(), ""},
		{"connection-sweeper", 0, "", ""},
	}
	var folders []string
	for _, tt := range tests {
		folders = append(folders, tt.folder)
	}
	everyFunction(t, folders)
	for _, tt := range tests {
		t.Run(tt.folder, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join(repoRoot, "events", tt.folder+".json"))
			if err != nil {
				t.Fatal(err)
			}
			ev, err := PrepareEvent(raw, token, func(body []byte) string { return nango.SignWebhook(body, "a-key-nobody-configured") })
			if err != nil {
				t.Fatal(err)
			}
			if tt.folder == "nango-authorize" {
				// The sample asks to be sent back to a redirect_uri, which an
				// empty RedirectAllowlist refuses (400) before any provider
				// is asked: leave it out, as a caller may.
				ev = withoutQuery(t, ev)
			}
			res, logs := run(t, tt.folder, env, ev)
			if res.StatusCode != 200 {
				t.Fatalf("emulator answered %d: %s\nlogs:\n%s", res.StatusCode, res.Payload, logs)
			}
			if strings.Contains(logs, "cold start failed") {
				t.Fatalf("cold start failed:\n%s", logs)
			}
			if !strings.Contains(logs, `"missing":"nango_secret_key"`) {
				t.Errorf("no log line names the missing nango_secret_key:\n%s", logs)
			}
			for _, v := range []string{sec.JWTHS256Secret, sec.StateSigningKey} {
				if strings.Contains(logs, v) {
					t.Errorf("the logs show a secret value")
				}
			}
			if tt.status == 0 {
				got := ""
				if fe := res.FunctionError(); fe != nil {
					got = fe.Type
				}
				if got != tt.code {
					t.Fatalf("errorType %q, want %q; payload %s\nlogs:\n%s", got, tt.code, res.Payload, logs)
				}
				return
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(res.Payload, &resp); err != nil || res.FunctionError() != nil {
				t.Fatalf("not an API Gateway response (%v): %s\nlogs:\n%s", err, res.Payload, logs)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %s\nlogs:\n%s", resp.StatusCode, tt.status, resp.Body, logs)
			}
			if tt.code != "" {
				var body struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
					t.Fatalf("error body %q: %v", resp.Body, err)
				}
				if body.Error.Code != tt.code || !strings.Contains(body.Error.Message, tt.message) {
					t.Errorf("error %+v, want code %q naming %q", body.Error, tt.code, tt.message)
				}
			}
		})
	}
}

func withoutQuery(t *testing.T, event []byte) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	delete(ev, "queryStringParameters")
	ev["rawQueryString"] = ""
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stripeRefusing starts a stand-in for Stripe that refuses every key with
// Stripe's 401 body, and returns its URL.
func stripeRefusing(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****Only00"}}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
