package deploycheck

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/local/samtemplate"
	"github.com/automators/connectors/internal/tstest/reftest"
)

// resource is one resource of the transformed template.
type resource struct {
	Type                string         `json:"Type"`
	Condition           string         `json:"Condition"`
	DeletionPolicy      string         `json:"DeletionPolicy"`
	UpdateReplacePolicy string         `json:"UpdateReplacePolicy"`
	Properties          map[string]any `json:"Properties"`
}

// transformed is the template as CloudFormation deploys it.
type transformed struct {
	Parameters map[string]map[string]any `json:"Parameters"`
	Rules      map[string]any            `json:"Rules"`
	Conditions map[string]any            `json:"Conditions"`
	Resources  map[string]resource       `json:"Resources"`
}

// translate runs aws-sam-translator on template.yaml. A missing Python or
// translator skips the test, except under CI=true where it fails.
func translate(t *testing.T) (transformed, *samtemplate.Template) {
	t.Helper()
	path, err := samtemplate.Locate(".")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "transform.py"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", script, path)
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := err.Error() + ": " + stderr.String()
		if _, lookErr := exec.LookPath("python3"); lookErr != nil || strings.Contains(msg, "No module named 'samtranslator'") {
			reftest.MissingTool(t, "aws-sam-translator is needed (pip install aws-sam-translator): "+msg)
		}
		t.Fatalf("the SAM transform refuses template.yaml: %s", msg)
	}
	var doc transformed
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("transform output: %v", err)
	}
	return doc, tpl
}

// ref returns the logical id v refers to with Ref, or "".
func ref(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["Ref"].(string)
	return s
}

// getAttID returns the logical id of a Fn::GetAtt, or "".
func getAttID(v any) string {
	m, _ := v.(map[string]any)
	l, _ := m["Fn::GetAtt"].([]any)
	if len(l) == 0 {
		return ""
	}
	s, _ := l[0].(string)
	return s
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// The variables every function reads (README "Configuration").
var wantEnv = []string{"TABLE_NAME", "SECRETS_ID", "NANGO_HOST", "JWT_ISSUER", "JWT_AUDIENCE", "JWT_JWKS_URL",
	"JWT_ORG_CLAIM", "REDIRECT_ALLOWLIST", "CORS_ALLOW_ORIGINS", "PUBLIC_URL", "ROUTING_POLICY", "NANGO_INTEGRATIONS", "LOG_LEVEL"}

// TestEveryFunctionHasWhatItNeeds: per function of template.yaml, the
// deployed Lambda has the environment, the table and secret policies, JSON
// logs into its own declared log group with a retention, and deletion
// policies on that group.
func TestEveryFunctionHasWhatItNeeds(t *testing.T) {
	doc, tpl := translate(t)
	if len(tpl.Functions) == 0 {
		t.Fatal("template.yaml has no function")
	}
	for _, f := range tpl.Functions {
		t.Run(f.LogicalID, func(t *testing.T) {
			fn, ok := doc.Resources[f.LogicalID]
			if !ok || fn.Type != "AWS::Lambda::Function" {
				t.Fatalf("no AWS::Lambda::Function %s after the transform", f.LogicalID)
			}
			env, _ := fn.Properties["Environment"].(map[string]any)
			vars, _ := env["Variables"].(map[string]any)
			for _, name := range wantEnv {
				if _, ok := vars[name]; !ok {
					t.Errorf("environment lacks %s", name)
				}
			}
			if ref(vars["TABLE_NAME"]) != "ConnectorCredentialsTable" || ref(vars["SECRETS_ID"]) != "ConnectorSecrets" {
				t.Errorf("TABLE_NAME %v, SECRETS_ID %v: want the table and the secret", vars["TABLE_NAME"], vars["SECRETS_ID"])
			}

			logging, _ := fn.Properties["LoggingConfig"].(map[string]any)
			if logging["LogFormat"] != "JSON" {
				t.Errorf("LoggingConfig.LogFormat %v, want JSON", logging["LogFormat"])
			}
			lgID := ref(logging["LogGroup"])
			lg, ok := doc.Resources[lgID]
			switch {
			case !ok || lg.Type != "AWS::Logs::LogGroup":
				t.Errorf("LoggingConfig.LogGroup %v is not a log group of the template", logging["LogGroup"])
			case ref(lg.Properties["RetentionInDays"]) != "LogRetentionDays":
				t.Errorf("%s: RetentionInDays %v, want the LogRetentionDays parameter", lgID, lg.Properties["RetentionInDays"])
			case lg.DeletionPolicy == "" || lg.UpdateReplacePolicy == "":
				t.Errorf("%s: DeletionPolicy %q, UpdateReplacePolicy %q: want both", lgID, lg.DeletionPolicy, lg.UpdateReplacePolicy)
			}

			role := doc.Resources[getAttID(fn.Properties["Role"])]
			policies := jsonString(role.Properties["Policies"])
			if !strings.Contains(policies, `"secretsmanager:GetSecretValue"`) || !strings.Contains(policies, `"Ref":"ConnectorSecrets"`) {
				t.Errorf("the role cannot read the secret: %s", policies)
			}
			if !strings.Contains(policies, `"dynamodb:Query"`) || !strings.Contains(policies, `"Ref":"ConnectorCredentialsTable"`) {
				t.Errorf("the role cannot read the table: %s", policies)
			}
		})
	}
}

// TestParametersAreSafeForDev: every parameter has a default, so a dev
// stage deploys with none given; the defaults transform; the settings a
// non-dev stage must give are asserted by a rule.
func TestParametersAreSafeForDev(t *testing.T) {
	doc, _ := translate(t)
	for name, p := range doc.Parameters {
		if _, ok := p["Default"]; !ok {
			t.Errorf("parameter %s has no default", name)
		}
	}
	if doc.Parameters["Stage"]["Default"] != "dev" {
		t.Errorf("Stage default %v, want dev", doc.Parameters["Stage"]["Default"])
	}
	if d := doc.Parameters["CorsAllowOrigins"]["Default"]; d != "" {
		t.Errorf("CorsAllowOrigins default %q: want empty (no cross-origin calls) unless a stage says otherwise", d)
	}
	if d := doc.Parameters["LogRetentionDays"]["Default"]; jsonString(d) != "30" {
		t.Errorf("LogRetentionDays default %v, want 30", d)
	}
	rules := jsonString(doc.Rules["NonDevStageIsConfigured"])
	for _, name := range []string{"PublicUrl", "CorsAllowOrigins", "RedirectAllowlist", "JwtIssuer", "JwtAudience"} {
		if !strings.Contains(rules, `"Ref":"`+name+`"`) {
			t.Errorf("rule NonDevStageIsConfigured does not check %s", name)
		}
	}
}

// TestDeployedSafeguards: what keeps data and failures from being lost.
func TestDeployedSafeguards(t *testing.T) {
	doc, tpl := translate(t)
	table := doc.Resources["ConnectorCredentialsTable"]
	if table.Properties["DeletionProtectionEnabled"] != true || table.DeletionPolicy != "Retain" {
		t.Errorf("table: DeletionProtectionEnabled %v, DeletionPolicy %q", table.Properties["DeletionProtectionEnabled"], table.DeletionPolicy)
	}
	// Every secret value that can be generated is generated.
	secret := jsonString(doc.Resources["ConnectorSecrets"].Properties["GenerateSecretString"])
	for _, want := range []string{`jwt_hs256_secret\":\"{{resolve:secretsmanager:${GeneratedJwtSecret}`, `token_encryption_keys\":[{\"id\":\"k1\",\"key\":\"{{resolve:secretsmanager:${GeneratedTokenKey}`, `"GenerateStringKey":"state_signing_key"`} {
		if !strings.Contains(secret, want) {
			t.Errorf("ConnectorSecrets does not generate %s: %s", want, secret)
		}
	}
	for _, id := range []string{"ConnectorSecrets", "GeneratedJwtSecret", "GeneratedTokenKey"} {
		if r := doc.Resources[id]; r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
			t.Errorf("%s: policies %q/%q, want Retain (it holds the keys that open stored tokens)", id, r.DeletionPolicy, r.UpdateReplacePolicy)
		}
	}

	// The schedule retries and dead-letters.
	var scheduled int
	for _, r := range doc.Resources {
		if r.Type != "AWS::Events::Rule" {
			continue
		}
		scheduled++
		targets := jsonString(r.Properties["Targets"])
		if !strings.Contains(targets, `"RetryPolicy"`) || !strings.Contains(targets, `"DeadLetterConfig"`) {
			t.Errorf("schedule without RetryPolicy or DeadLetterConfig: %s", targets)
		}
	}
	if scheduled == 0 {
		t.Error("no schedule rule")
	}

	// API access logs, JSON.
	var stage resource
	for _, r := range doc.Resources {
		if r.Type == "AWS::ApiGatewayV2::Stage" {
			stage = r
		}
	}
	als, _ := stage.Properties["AccessLogSettings"].(map[string]any)
	format, _ := als["Format"].(string)
	if getAttID(als["DestinationArn"]) == "" || !json.Valid([]byte(strings.NewReplacer("\n", "", "$context.", "").Replace(format))) {
		t.Errorf("the API stage has no JSON access log: %v", als)
	}

	// Gateway auth: each route's security is the JWT authorizer when a JWKS
	// URL is configured; the webhook and the callback (state-authenticated)
	// explicitly have none.
	var body map[string]any
	for _, r := range doc.Resources {
		if r.Type == "AWS::ApiGatewayV2::Api" {
			body, _ = r.Properties["Body"].(map[string]any)
		}
	}
	paths, _ := body["paths"].(map[string]any)
	var routes int
	for _, f := range tpl.Functions {
		for _, rt := range f.Routes {
			routes++
			item, _ := paths[rt.Path].(map[string]any)
			op, _ := item[strings.ToLower(rt.Method)].(map[string]any)
			if op == nil {
				t.Errorf("%s: not in the API's definition", rt.Key())
				continue
			}
			sec := jsonString(op["security"])
			open := slices.Contains([]string{"nango-webhook", "nango-callback"}, f.Folder)
			switch {
			case open && sec != "[]":
				t.Errorf("%s: security %s, want [] (no gateway authorizer)", rt.Key(), sec)
			case !open && sec != `{"Fn::If":["HasJwks",[{"JwtAuthorizer":[]}],{"Ref":"AWS::NoValue"}]}`:
				t.Errorf("%s: security %s, want the JWT authorizer when HasJwks", rt.Key(), sec)
			}
		}
	}
	if routes == 0 {
		t.Error("no HTTP route")
	}
}
