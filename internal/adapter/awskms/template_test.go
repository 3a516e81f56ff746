package awskms_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/automators/connectors/internal/tstest/reporoot"
)

// wantKMS is what each function may do with the key: what its code calls
// (sealing needs GenerateDataKey for an organization's first data key and
// Decrypt for a stored one; opening needs Decrypt). The others get nothing.
var wantKMS = map[string][]string{
	"NangoAuthorizeFunction":         {"kms:Decrypt", "kms:GenerateDataKey"}, // seals PKCE verifiers
	"NangoCallbackFunction":          {"kms:Decrypt", "kms:GenerateDataKey"},
	"NangoRefreshFunction":           {"kms:Decrypt", "kms:GenerateDataKey"},
	"NangoDeleteConnectionFunction":  {"kms:Decrypt"},                        // opens a token to revoke it
	"NangoCreateConnectionFunction":  {"kms:Decrypt", "kms:GenerateDataKey"}, // seals the API key it tested
	"NangoRotateCredentialsFunction": {"kms:Decrypt", "kms:GenerateDataKey"}, // seals the new API key
	"ExecuteConnectorFunction":       {"kms:Decrypt", "kms:GenerateDataKey"},
	"ConnectionSweeperFunction":      {"kms:Decrypt", "kms:GenerateDataKey"},
	// NangoUpdateConnectionFunction (share) seals and opens nothing, like
	// list, get and the webhook.
}

type cfnTemplate struct {
	Globals struct {
		Function struct {
			Environment struct {
				Variables map[string]yaml.Node `yaml:"Variables"`
			} `yaml:"Environment"`
		} `yaml:"Function"`
	} `yaml:"Globals"`
	Resources map[string]struct {
		Type           string    `yaml:"Type"`
		DeletionPolicy string    `yaml:"DeletionPolicy"`
		Properties     yaml.Node `yaml:"Properties"`
	} `yaml:"Resources"`
}

type keyProps struct {
	EnableKeyRotation bool `yaml:"EnableKeyRotation"`
	KeyPolicy         struct {
		Statement []struct {
			Sid       string `yaml:"Sid"`
			Effect    string `yaml:"Effect"`
			Principal struct {
				AWS yaml.Node `yaml:"AWS"`
			} `yaml:"Principal"`
			Action    yaml.Node `yaml:"Action"`
			Condition yaml.Node `yaml:"Condition"`
		} `yaml:"Statement"`
	} `yaml:"KeyPolicy"`
}

func strs(n yaml.Node) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, c.Value)
	}
	return out
}

// TestTemplateKMSKey holds template.yaml to the issue: a rotating key, its
// alias, KMS_KEY_ID for every function, and for each function exactly the
// KMS actions it uses on that key, bound to an organization's encryption
// context; no function role gets KMS through IAM.
func TestTemplateKMSKey(t *testing.T) {
	root, err := reporoot.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl cfnTemplate
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	key, ok := tpl.Resources["ConnectorTokensKey"]
	if !ok || key.Type != "AWS::KMS::Key" || key.DeletionPolicy != "Retain" {
		t.Fatalf("ConnectorTokensKey = %+v, want a retained AWS::KMS::Key", key)
	}
	var props keyProps
	if err := key.Properties.Decode(&props); err != nil {
		t.Fatal(err)
	}
	if !props.EnableKeyRotation {
		t.Error("EnableKeyRotation is not true")
	}
	if v, ok := tpl.Globals.Function.Environment.Variables["KMS_KEY_ID"]; !ok || v.Tag != "!GetAtt" || v.Value != "ConnectorTokensKey.Arn" {
		t.Errorf("Globals KMS_KEY_ID = %q %q, want !GetAtt ConnectorTokensKey.Arn", v.Tag, v.Value)
	}
	aliased := false
	for _, r := range tpl.Resources {
		if r.Type == "AWS::KMS::Alias" && strings.Contains(string(mustYAML(t, r.Properties)), "ConnectorTokensKey") {
			aliased = true
		}
	}
	if !aliased {
		t.Error("no AWS::KMS::Alias targets ConnectorTokensKey")
	}

	got := map[string][]string{}
	for _, st := range props.KeyPolicy.Statement {
		if st.Sid == "AccountAdministers" {
			continue
		}
		p := st.Principal.AWS
		fn, isRole := strings.CutSuffix(p.Value, "Role.Arn")
		if st.Effect != "Allow" || p.Tag != "!GetAtt" || !isRole {
			t.Errorf("statement %s: principal %s %s; want one function's role", st.Sid, p.Tag, p.Value)
			continue
		}
		if _, exists := tpl.Resources[fn]; !exists {
			t.Errorf("statement %s names %s, which the template lacks", st.Sid, fn)
		}
		acts := strs(st.Action)
		slices.Sort(acts)
		got[fn] = acts
		if !strings.Contains(string(mustYAML(t, st.Condition)), "kms:EncryptionContext:organization") {
			t.Errorf("statement %s does not require the organization encryption context", st.Sid)
		}
	}
	for fn, want := range wantKMS {
		if !slices.Equal(got[fn], want) {
			t.Errorf("%s may %v on the key, want %v", fn, got[fn], want)
		}
	}
	for fn := range got {
		if _, ok := wantKMS[fn]; !ok {
			t.Errorf("%s may use the key and should not", fn)
		}
	}
	for name, r := range tpl.Resources {
		if r.Type == "AWS::Serverless::Function" && strings.Contains(strings.ToLower(string(mustYAML(t, r.Properties))), "kms:") {
			t.Errorf("%s gets KMS permissions through IAM; the key policy grants them", name)
		}
	}
}

func mustYAML(t *testing.T, n yaml.Node) []byte {
	t.Helper()
	b, err := yaml.Marshal(&n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
