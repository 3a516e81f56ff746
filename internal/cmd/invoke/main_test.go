package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/automators/connectors/internal/local/motoserver"
	"github.com/automators/connectors/internal/local/samtemplate"
	"github.com/automators/connectors/internal/tstest/lambdarie"
	"github.com/automators/connectors/internal/tstest/reftest"
	"github.com/automators/connectors/internal/tstest/syncbuf"
)

func TestAnswerError(t *testing.T) {
	tests := []struct {
		name, payload string
		wantError     bool
	}{
		{"http success", `{"statusCode":200,"body":"{}"}`, false},
		{"http no content", `{"statusCode":204}`, false},
		{"http error", `{"statusCode":404,"body":"{\"error\":{\"code\":\"not_found\"}}"}`, true},
		{"lambda error", `{"errorType":"Connectors.ConnectionNotFound","errorMessage":"no connection"}`, true},
		{"executor output", `{"status":"succeeded","output":{}}`, false},
		{"not json", `oops`, false},
	}
	for _, tt := range tests {
		if got := answerError([]byte(tt.payload)); (got != "") != tt.wantError {
			t.Errorf("%s: answerError = %q, want error %v", tt.name, got, tt.wantError)
		}
	}
}

func TestWithQuery(t *testing.T) {
	raw := []byte(`{"rawQueryString":"state=old&x=1","queryStringParameters":{"state":"old","x":"1"},"requestContext":{"timeEpoch":1764100800123}}`)
	out, err := withQuery(raw, map[string]string{"state": "new&fresh", "connection_id": "c1"})
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Raw    string            `json:"rawQueryString"`
		Params map[string]string `json:"queryStringParameters"`
		Ctx    struct {
			TimeEpoch json.Number `json:"timeEpoch"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(out, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Raw != "connection_id=c1&state=new%26fresh&x=1" || ev.Params["state"] != "new&fresh" || ev.Params["connection_id"] != "c1" || ev.Params["x"] != "1" {
		t.Errorf("query %q %v, want both forms with state, connection_id and x", ev.Raw, ev.Params)
	}
	if ev.Ctx.TimeEpoch != "1764100800123" {
		t.Errorf("timeEpoch %s, want it as written", ev.Ctx.TimeEpoch)
	}
}

func TestWithConnectionID(t *testing.T) {
	raw := []byte(`{"rawPath":"/api/v1/nango/connections/old/credentials","pathParameters":{"connectionId":"old"},` +
		`"requestContext":{"http":{"path":"/api/v1/nango/connections/old/credentials"},"timeEpoch":1764100800123}}`)
	out, err := withConnectionID(raw, "key-n/w")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		RawPath string            `json:"rawPath"`
		Params  map[string]string `json:"pathParameters"`
		Ctx     struct {
			HTTP      struct{ Path string } `json:"http"`
			TimeEpoch json.Number           `json:"timeEpoch"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(out, &ev); err != nil {
		t.Fatal(err)
	}
	const want = "/api/v1/nango/connections/key-n%2Fw/credentials"
	if ev.Params["connectionId"] != "key-n/w" || ev.RawPath != want || ev.Ctx.HTTP.Path != want || ev.Ctx.TimeEpoch != "1764100800123" {
		t.Errorf("event %s", out)
	}
	if _, err := withConnectionID([]byte(`{"pathParameters":{}}`), "x"); err == nil {
		t.Error("an event without connectionId was accepted")
	}
}

// TestEverySampleEventAnswersSuccess is the acceptance of make invoke: each
// event of events/ (one per function; local-env.json is sam's variables
// file, not an event) is seeded and invoked as `make invoke` does, under the
// emulator with moto, and its function answers success: 2xx for HTTP
// functions, a payload without errorType for the executor and the sweeper.
func TestEverySampleEventAnswersSuccess(t *testing.T) {
	tpl, err := samtemplate.Locate(".")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(tpl)
	rie, err := lambdarie.FindRIE(root)
	if err == nil {
		_, err = motoserver.Command(0)
	}
	if err != nil {
		reftest.MissingTool(t, err.Error())
	}
	files, err := filepath.Glob(filepath.Join(root, "events", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	buildDir := t.TempDir()
	var buildMu sync.Mutex // one go build at a time: they share the CPU and the build cache
	invoked := 0
	for _, file := range files {
		fn := strings.TrimSuffix(filepath.Base(file), ".json")
		if _, err := os.Stat(filepath.Join(root, "functions", fn, "main.go")); err != nil {
			continue
		}
		invoked++
		t.Run(fn, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(buildDir, fn, "bootstrap")
			buildMu.Lock()
			err = lambdarie.Build(context.Background(), root, "./functions/"+fn, bin, "")
			buildMu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			var logs syncbuf.Buffer
			res, err := invoke(t.Context(), request{
				Fn: fn, Bootstrap: bin, RIE: rie, Event: raw, User: "user_123", Org: "org_456", Log: &logs,
			})
			if err != nil {
				t.Fatalf("invoke: %v\nlogs:\n%s", err, logs.String())
			}
			if verdict := answerError(res.Payload); verdict != "" || res.FunctionError() != nil {
				t.Fatalf("the function answered an error: %s\npayload %s\nlogs:\n%s", verdict, res.Payload, logs.String())
			}
			var http struct {
				StatusCode int `json:"statusCode"`
			}
			if json.Unmarshal(res.Payload, &http) == nil && http.StatusCode != 0 && (http.StatusCode < 200 || http.StatusCode > 299) {
				t.Fatalf("HTTP %d, want 2xx; payload %s", http.StatusCode, res.Payload)
			}
			if !json.Valid(res.Payload) {
				t.Fatalf("payload is not JSON: %s", res.Payload)
			}
		})
	}
	if invoked == 0 {
		t.Fatal("no sample event found in events/")
	}
}
