package statemachine_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/automators/connectors/internal/executor"
)

// The definition's contract with the executor, checked without running it:
// what is retried, what is caught where, and how template.yaml deploys it.

// executorErrors are every error name the executor fails a task with.
var executorErrors = []string{
	executor.NameInvalidInput, executor.NameUnknownConnector, executor.NameConnectionNotFound,
	executor.NameReauthRequired, executor.NameRateLimited, executor.NameProviderUnavailable,
	executor.NameActionFailed, executor.NameInternal,
}

// lambdaServiceErrors are the Lambda errors AWS recommends retrying for a
// lambda:invoke task.
var lambdaServiceErrors = []string{
	"Lambda.ServiceException", "Lambda.AWSLambdaException",
	"Lambda.SdkClientException", "Lambda.TooManyRequestsException",
}

type retrier struct {
	ErrorEquals     []string
	IntervalSeconds float64
	BackoffRate     float64
	MaxAttempts     int
	MaxDelaySeconds float64
	JitterStrategy  string
}

type catcher struct {
	ErrorEquals []string
	ResultPath  string
	Next        string
}

type state struct {
	Type       string
	Resource   string
	Parameters map[string]string
	OutputPath string
	Retry      []retrier
	Catch      []catcher
	ErrorPath  string
	CausePath  string
	End        bool
}

type definition struct {
	StartAt string
	States  map[string]state
}

const taskState = "ExecuteConnector"

func loadDefinition(t *testing.T) definition {
	t.Helper()
	b, err := os.ReadFile(definitionFile)
	if err != nil {
		t.Fatal(err)
	}
	var d definition
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", definitionFile, err)
	}
	return d
}

// retrierFor returns the task's retrier matching name, failing when none does.
func retrierFor(t *testing.T, name string) retrier {
	t.Helper()
	for _, r := range loadDefinition(t).States[taskState].Retry {
		if slices.Contains(r.ErrorEquals, name) {
			return r
		}
	}
	t.Fatalf("no retrier for %s", name)
	return retrier{}
}

func TestDefinitionTask(t *testing.T) {
	d := loadDefinition(t)
	task, ok := d.States[taskState]
	if d.StartAt != taskState || !ok {
		t.Fatalf("StartAt %q, want the task %s", d.StartAt, taskState)
	}
	if task.Type != "Task" || task.Resource != "arn:aws:states:::lambda:invoke" || !task.End {
		t.Errorf("task %s: Type %q Resource %q End %v, want an ending lambda:invoke Task", taskState, task.Type, task.Resource, task.End)
	}
	want := map[string]string{"FunctionName": "${ExecuteConnectorFunctionArn}", "Payload.$": "$"}
	if !maps.Equal(task.Parameters, want) || task.OutputPath != "$.Payload" {
		t.Errorf("Parameters %v OutputPath %q, want %v and $.Payload", task.Parameters, task.OutputPath, want)
	}
}

// TestDefinitionRetries holds the Retry field to executor.Error.Retryable:
// exactly the retryable names and Lambda's service errors are retried, with
// exponential backoff and full jitter.
func TestDefinitionRetries(t *testing.T) {
	task := loadDefinition(t).States[taskState]
	var retried []string
	for _, r := range task.Retry {
		retried = append(retried, r.ErrorEquals...)
		if r.IntervalSeconds <= 0 || r.BackoffRate != 2 || r.MaxAttempts < 1 || r.JitterStrategy != "FULL" {
			t.Errorf("retrier %v: IntervalSeconds %v BackoffRate %v MaxAttempts %d JitterStrategy %q, want >0, 2, >=1, FULL",
				r.ErrorEquals, r.IntervalSeconds, r.BackoffRate, r.MaxAttempts, r.JitterStrategy)
		}
		// The worst case must stay well within the execution's timeout.
		if r.MaxDelaySeconds <= 0 || r.MaxDelaySeconds > 60 {
			t.Errorf("retrier %v: MaxDelaySeconds %v, want a cap of at most 60", r.ErrorEquals, r.MaxDelaySeconds)
		}
	}
	for _, name := range executorErrors {
		retryable := (&executor.Error{Name: name}).Retryable()
		if got := slices.Contains(retried, name); got != retryable {
			t.Errorf("%s: retried %v, want %v (executor.Error.Retryable)", name, got, retryable)
		}
	}
	for _, name := range lambdaServiceErrors {
		if !slices.Contains(retried, name) {
			t.Errorf("%s is not retried", name)
		}
	}
	for _, name := range retried {
		if strings.HasPrefix(name, "States.") {
			t.Errorf("retrier matches %s, which would retry non-retryable errors", name)
		}
	}
}

// TestDefinitionCatches checks that every executor error is caught by name
// (States.ALL only last, for anything else) into a Fail state that ends the
// execution with the task's own error and cause.
func TestDefinitionCatches(t *testing.T) {
	d := loadDefinition(t)
	task := d.States[taskState]
	if len(task.Catch) == 0 {
		t.Fatal("the task has no Catch")
	}
	caughtBy := map[string]string{}
	for i, c := range task.Catch {
		if c.ResultPath != "$.error" {
			t.Errorf("catcher %v: ResultPath %q, want $.error (keeps the input and adds the error)", c.ErrorEquals, c.ResultPath)
		}
		if slices.Contains(c.ErrorEquals, "States.ALL") && (i != len(task.Catch)-1 || len(c.ErrorEquals) != 1) {
			t.Errorf("States.ALL must be alone in the last catcher")
		}
		next, ok := d.States[c.Next]
		if !ok || next.Type != "Fail" || next.ErrorPath != "$.error.Error" || next.CausePath != "$.error.Cause" {
			t.Errorf("catcher %v goes to %s (%+v), want a Fail state with ErrorPath $.error.Error and CausePath $.error.Cause",
				c.ErrorEquals, c.Next, next)
		}
		for _, name := range c.ErrorEquals {
			caughtBy[name] = c.Next
		}
	}
	if last := task.Catch[len(task.Catch)-1]; !slices.Equal(last.ErrorEquals, []string{"States.ALL"}) {
		t.Errorf("last catcher matches %v, want [States.ALL]", last.ErrorEquals)
	}
	for _, name := range executorErrors {
		want := "NodeFailed"
		if (&executor.Error{Name: name}).Retryable() {
			want = "RetriesExhausted"
		}
		if got := caughtBy[name]; got != want {
			t.Errorf("%s is caught into %q, want %q", name, got, want)
		}
	}
}

// TestTemplateDeploysDefinition checks template.yaml's state machine: this
// file, a value for each of its placeholders, permission to invoke the
// function, and an output with its ARN.
func TestTemplateDeploysDefinition(t *testing.T) {
	root := moduleRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources map[string]struct {
			Type       string    `yaml:"Type"`
			Properties yaml.Node `yaml:"Properties"`
		} `yaml:"Resources"`
		Outputs map[string]struct {
			Value yaml.Node `yaml:"Value"`
		} `yaml:"Outputs"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	res, ok := doc.Resources["ExecuteNodeStateMachine"]
	if !ok || res.Type != "AWS::Serverless::StateMachine" {
		t.Fatalf("template.yaml has no AWS::Serverless::StateMachine ExecuteNodeStateMachine (type %q)", res.Type)
	}
	var props struct {
		DefinitionURI           string                 `yaml:"DefinitionUri"`
		DefinitionSubstitutions map[string]yaml.Node   `yaml:"DefinitionSubstitutions"`
		Policies                []map[string]yaml.Node `yaml:"Policies"`
	}
	if err := res.Properties.Decode(&props); err != nil {
		t.Fatalf("ExecuteNodeStateMachine properties: %v", err)
	}

	here, err := filepath.Abs(definitionFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := filepath.Join(root, props.DefinitionURI); got != here {
		t.Errorf("DefinitionUri %q is not %s", props.DefinitionURI, here)
	}

	asl, err := os.ReadFile(definitionFile)
	if err != nil {
		t.Fatal(err)
	}
	var placeholders []string
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`).FindAllStringSubmatch(string(asl), -1) {
		placeholders = append(placeholders, m[1])
	}
	var subs []string
	for k := range props.DefinitionSubstitutions {
		subs = append(subs, k)
	}
	slices.Sort(placeholders)
	slices.Sort(subs)
	if !slices.Equal(slices.Compact(placeholders), subs) {
		t.Errorf("DefinitionSubstitutions %v, the definition's placeholders %v", subs, placeholders)
	}
	if arn := props.DefinitionSubstitutions["ExecuteConnectorFunctionArn"]; arn.Tag != "!GetAtt" || arn.Value != "ExecuteConnectorFunction.Arn" {
		t.Errorf("ExecuteConnectorFunctionArn is %s %q, want !GetAtt ExecuteConnectorFunction.Arn", arn.Tag, arn.Value)
	}

	invokes := false
	for _, p := range props.Policies {
		if n, ok := p["LambdaInvokePolicy"]; ok {
			var pol map[string]yaml.Node
			if err := n.Decode(&pol); err != nil {
				t.Fatalf("LambdaInvokePolicy: %v", err)
			}
			fn := pol["FunctionName"]
			invokes = invokes || fn.Tag == "!Ref" && fn.Value == "ExecuteConnectorFunction"
		}
	}
	if !invokes {
		t.Error("no LambdaInvokePolicy for !Ref ExecuteConnectorFunction")
	}

	output := false
	for _, o := range doc.Outputs {
		output = output || o.Value.Tag == "!Ref" && o.Value.Value == "ExecuteNodeStateMachine" ||
			o.Value.Tag == "!GetAtt" && o.Value.Value == "ExecuteNodeStateMachine.Arn"
	}
	if !output {
		t.Error("no output with the state machine's ARN")
	}
}

// TestRunnerRefusesMissingSubstitution: like CloudFormation, the runner
// does not run a definition with a placeholder left unfilled.
func TestRunnerRefusesMissingSubstitution(t *testing.T) {
	node := nodeRunner(t)
	_, stderr, err := runNode(t, node, []byte(`{}`), "--definition", definitionFile, "--lambda-url", "http://127.0.0.1:1")
	if err == nil || !strings.Contains(stderr, "ExecuteConnectorFunctionArn") {
		t.Errorf("runner error %v, stderr %q; want a refusal naming ExecuteConnectorFunctionArn", err, stderr)
	}
}
