package executor

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	"github.com/automators/connectors/internal/actions"
	"github.com/automators/connectors/internal/adapter/jsonschema"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
)

// FuzzExecuteInput decodes arbitrary task input as the Lambda runtime does
// and runs it against an empty store: whatever the input, the executor
// answers with a named error (never a panic, never Connectors.Internal) and
// makes no outbound call.
func FuzzExecuteInput(f *testing.F) {
	for _, seed := range []string{
		`{"executionId":"e1","nodeId":"n1","nodeType":"integration.slack.send_message","userId":"u1","organizationId":"o1","params":{"channel":"C1","text":"hi"}}`,
		`{"executionId":"e1","nodeId":"n1","nodeType":"integration.nope.x","userId":"u1","organizationId":"o1"}`,
		`{"nodeType":"integration..","params":null}`,
		`{"executionId":"e","nodeId":"n","nodeType":"integration.stripe.create_customer","userId":"u","organizationId":"o","params":{"email":42}}`,
		`{}`, `[]`, `null`,
	} {
		f.Add([]byte(seed))
	}
	store, err := boltstore.Open(filepath.Join(f.TempDir(), "fuzz.db"), []byte("cursor-key"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	cat, err := actions.NewCatalogue(registry.Default(), jsonschema.Compiler{})
	if err != nil {
		f.Fatal(err)
	}
	e := New(Deps{
		Store: store, Registry: cat.Registry(), Router: router.New(router.Policy{}), Actions: cat,
		HTTP: doerFunc(func() { f.Error("outbound call from fuzzed input") }),
	})
	known := []string{NameInvalidInput, NameUnknownConnector, NameConnectionNotFound, NameReauthRequired}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in Input
		if json.Unmarshal(data, &in) != nil {
			return // the Lambda runtime refuses it before the handler runs
		}
		_, err := e.Execute(context.Background(), in)
		var xe *Error
		if !errors.As(err, &xe) {
			t.Fatalf("Execute(%s) = %v, want a named error", data, err)
		}
		if !slices.Contains(known, xe.Name) {
			t.Fatalf("Execute(%s) failed as %s: %s", data, xe.Name, xe.Message)
		}
	})
}

// doerFunc is a Doer that must not be called.
type doerFunc func()

func (d doerFunc) Do(*http.Request) (*http.Response, error) {
	d()
	return nil, errors.New("no network in this test")
}
