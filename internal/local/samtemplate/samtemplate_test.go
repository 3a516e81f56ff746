package samtemplate

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestFolderFor(t *testing.T) {
	tests := []struct{ id, want string }{
		{"NangoAuthorizeFunction", "nango-authorize"},
		{"NangoListConnectionsFunction", "nango-list-connections"},
		{"ExecuteConnectorFunction", "execute-connector"},
		{"ConnectionSweeperFunction", "connection-sweeper"},
		{"OAuth2CallbackFunction", "o-auth2-callback"},
		{"HTTPAPIProxyFunction", "httpapi-proxy"},
		{"Plain", "plain"},
	}
	for _, tt := range tests {
		if got := FolderFor(tt.id); got != tt.want {
			t.Errorf("FolderFor(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestParseShortFormTags(t *testing.T) {
	src := `
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: !Split [",", !Ref Origins]
  HelloWorldFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: makefile
    Properties:
      CodeUri: .
      Environment:
        Variables:
          TABLE: !Ref Table
          URL: !Sub "https://${Api}.example"
          ARN: !GetAtt Table.Arn
      Events:
        Get:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Path: /items/{id}
            Method: get
        Any:
          Type: HttpApi
          Properties:
            Path: /things
            Method: ANY
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
  OtherFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: !Ref Somewhere
`
	tpl, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl.Functions) != 2 {
		t.Fatalf("functions = %d, want 2", len(tpl.Functions))
	}
	f, ok := tpl.Function("hello-world")
	if !ok {
		t.Fatal("hello-world not found by folder")
	}
	if f.LogicalID != "HelloWorldFunction" || f.CodeURI != "." || f.BuildMethod != "makefile" {
		t.Errorf("function = %+v", f)
	}
	wantRoutes := []Route{{"Get", "GET", "/items/{id}"}, {"Any", "ANY", "/things"}}
	slices.SortFunc(wantRoutes, func(a, b Route) int { return strings.Compare(a.Key(), b.Key()) })
	if !slices.Equal(f.Routes, wantRoutes) {
		t.Errorf("routes = %+v, want %+v", f.Routes, wantRoutes)
	}
	if want := []Schedule{{"Tick", "rate(5 minutes)"}}; !slices.Equal(f.Schedules, want) {
		t.Errorf("schedules = %+v, want %+v", f.Schedules, want)
	}
	if tpl.ResourceTypes["Api"] != "AWS::Serverless::HttpApi" {
		t.Errorf("resource types = %v", tpl.ResourceTypes)
	}
	if got := len(tpl.Routes()); got != 2 {
		t.Errorf("Routes() = %d, want 2", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"not yaml":     "Resources: [",
		"no resources": "Transform: x\n",
		"implicit route": `Resources:
  AFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        All:
          Type: HttpApi
`,
	}
	for name, src := range tests {
		if _, err := Parse([]byte(src)); err == nil {
			t.Errorf("%s: Parse succeeded, want an error", name)
		}
	}
}

// designFunctions is the table of DESIGN §1, copied by hand on purpose: the
// template must match the design, not the other way round.
var designFunctions = []struct {
	logicalID, folder, method, path, schedule string
}{
	{"NangoAuthorizeFunction", "nango-authorize", "GET", "/api/v1/nango/oauth/{provider}/authorize", ""},
	{"NangoCallbackFunction", "nango-callback", "GET", "/api/v1/nango/oauth/{provider}/callback", ""},
	{"NangoRefreshFunction", "nango-refresh", "POST", "/api/v1/nango/oauth/{provider}/refresh", ""},
	{"NangoListConnectionsFunction", "nango-list-connections", "GET", "/api/v1/nango/connections", ""},
	{"NangoGetConnectionFunction", "nango-get-connection", "GET", "/api/v1/nango/connections/{connectionId}", ""},
	{"NangoDeleteConnectionFunction", "nango-delete-connection", "DELETE", "/api/v1/nango/connections/{connectionId}", ""},
	// Added on 2026-12-01 (§1's rule for new functions, §6's routes).
	{"NangoCreateConnectionFunction", "nango-create-connection", "POST", "/api/v1/nango/connections", ""},
	{"NangoRotateCredentialsFunction", "nango-rotate-credentials", "PUT", "/api/v1/nango/connections/{connectionId}/credentials", ""},
	{"NangoUpdateConnectionFunction", "nango-update-connection", "PATCH", "/api/v1/nango/connections/{connectionId}", ""},
	{"NangoListConnectorsFunction", "nango-list-connectors", "GET", "/api/v1/nango/connectors", ""},
	{"NangoGetConnectorFunction", "nango-get-connector", "GET", "/api/v1/nango/connectors/{connector}", ""},
	{"NangoListExecutionsFunction", "nango-list-executions", "GET", "/api/v1/nango/connections/{connectionId}/executions", ""},
	{"NangoWebhookFunction", "nango-webhook", "POST", "/api/v1/nango/webhooks", ""},
	{"ExecuteConnectorFunction", "execute-connector", "", "", ""},
	{"ConnectionSweeperFunction", "connection-sweeper", "", "", "rate(15 minutes)"},
}

func repoTemplate(t *testing.T) (*Template, string) {
	t.Helper()
	path, err := Locate(".")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tpl, filepath.Dir(path)
}

func TestTemplateMatchesDesign(t *testing.T) {
	tpl, _ := repoTemplate(t)
	if len(tpl.Functions) != len(designFunctions) {
		t.Errorf("template has %d functions, DESIGN §1 has %d", len(tpl.Functions), len(designFunctions))
	}
	for _, d := range designFunctions {
		f, ok := tpl.Function(d.logicalID)
		if !ok {
			t.Errorf("%s: not in template.yaml", d.logicalID)
			continue
		}
		if f.Folder != d.folder {
			t.Errorf("%s: folder %q, want %q", d.logicalID, f.Folder, d.folder)
		}
		var want []Route
		if d.path != "" {
			want = []Route{{Event: "Api", Method: d.method, Path: d.path}}
		}
		if !slices.Equal(f.Routes, want) {
			t.Errorf("%s: routes %+v, want %+v", d.logicalID, f.Routes, want)
		}
		var sched []string
		for _, s := range f.Schedules {
			sched = append(sched, s.Expression)
		}
		if d.schedule == "" && len(sched) != 0 || d.schedule != "" && !slices.Equal(sched, []string{d.schedule}) {
			t.Errorf("%s: schedules %v, want %q", d.logicalID, sched, d.schedule)
		}
		// sam build runs `make build-<LogicalId>` in CodeUri; the Makefile
		// is at the root, and the build needs the whole module.
		if f.BuildMethod != "makefile" || f.CodeURI != "." {
			t.Errorf("%s: BuildMethod %q CodeUri %q, want makefile and .", d.logicalID, f.BuildMethod, f.CodeURI)
		}
	}
	for id, typ := range map[string]string{
		"ConnectorCredentialsTable": "AWS::DynamoDB::Table",
		"ConnectorSecrets":          "AWS::SecretsManager::Secret",
		"ConnectorsHttpApi":         "AWS::Serverless::HttpApi",
	} {
		if got := tpl.ResourceTypes[id]; got != typ {
			t.Errorf("resource %s has type %q, want %q", id, got, typ)
		}
	}
}

// TestFoldersMatchResources holds functions/* and the template to each other,
// both ways.
func TestFoldersMatchResources(t *testing.T) {
	tpl, root := repoTemplate(t)
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	folders := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		folders[e.Name()] = true
		if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "main.go")); err != nil {
			t.Errorf("functions/%s has no main.go", e.Name())
		}
		if _, ok := tpl.Function(e.Name()); !ok {
			t.Errorf("functions/%s has no AWS::Serverless::Function in template.yaml", e.Name())
		}
	}
	for _, f := range tpl.Functions {
		if !folders[f.Folder] {
			t.Errorf("%s has no folder functions/%s", f.LogicalID, f.Folder)
		}
	}
}

// TestMakefileBuildTargets checks that sam build finds a build-<LogicalId>
// target for every function, and that it builds the function's own folder.
func TestMakefileBuildTargets(t *testing.T) {
	tpl, root := repoTemplate(t)
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^build-(\w+):.*\$\(call lambda-build,([a-z0-9-]+)\)`)
	targets := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		targets[m[1]] = m[2]
	}
	for _, f := range tpl.Functions {
		folder, ok := targets[f.LogicalID]
		if !ok {
			t.Errorf("Makefile has no target build-%s", f.LogicalID)
			continue
		}
		if folder != f.Folder {
			t.Errorf("build-%s builds functions/%s, want functions/%s", f.LogicalID, folder, f.Folder)
		}
	}
	if len(targets) != len(tpl.Functions) {
		t.Errorf("Makefile has %d build-<LogicalId> targets, template has %d functions", len(targets), len(tpl.Functions))
	}
}
