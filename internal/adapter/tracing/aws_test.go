package tracing_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/automators/connectors/internal/adapter/tracing"
	"github.com/automators/connectors/internal/tstest/awstest"
)

// headerTap records the X-Ray header of every attempt.
type headerTap struct {
	mu   sync.Mutex
	seen []string
}

func (h *headerTap) Do(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.seen = append(h.seen, r.Header.Get("X-Amzn-Trace-Id"))
	h.mu.Unlock()
	return http.DefaultClient.Do(r)
}

// TestAWSSpans: each AWS SDK call (DynamoDB on moto) is a client span
// named Service.Operation under the caller's span, with the aws-api
// attributes and the request id; a failed call has the error's code as
// its status, not its message; each attempt carries the call span's X-Ray
// header, so X-Ray joins DynamoDB's segment to it.
func TestAWSSpans(t *testing.T) {
	endpoint := awstest.Endpoint(t, "dynamodb")
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.New(exp, "fn")
	cfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tr.AppendAWS(&cfg)
	tap := &headerTap{}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint, o.HTTPClient = aws.String(endpoint), tap })

	h := tracing.Handler(tr, "fn", func(ctx context.Context, _ struct{}) (struct{}, error) {
		if _, err := db.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
			return struct{}{}, err
		}
		_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("no-such-table"), Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "secret-key-value"}}})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("GetItem = %v, want ResourceNotFoundException", err)
		}
		return struct{}{}, nil
	}, tracing.HandlerOptions[struct{}, struct{}]{})
	if _, err := h(t.Context(), struct{}{}); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans (%v), want ListTables, GetItem and the handler's", len(spans), spans)
	}
	list, get, handler := spans[0], spans[1], spans[2]
	for _, s := range []tracetest.SpanStub{list, get} {
		if s.SpanKind != trace.SpanKindClient || s.Parent.SpanID() != handler.SpanContext.SpanID() {
			t.Errorf("%s: kind %v parent %s, want a client span under the handler's", s.Name, s.SpanKind, s.Parent.SpanID())
		}
		a := attribute.NewSet(s.Attributes...)
		if v, _ := a.Value("rpc.system"); v.AsString() != "aws-api" {
			t.Errorf("%s: rpc.system %q", s.Name, v.AsString())
		}
		if v, _ := a.Value("rpc.service"); v.AsString() != "DynamoDB" {
			t.Errorf("%s: rpc.service %q", s.Name, v.AsString())
		}
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.Emit(), "secret-key-value") {
				t.Errorf("%s: attribute %s holds the item's key", s.Name, kv.Key)
			}
		}
	}
	if list.Name != "DynamoDB.ListTables" || list.Status.Code != codes.Unset {
		t.Errorf("first span %s status %v, want DynamoDB.ListTables, unset", list.Name, list.Status)
	}
	if a := attribute.NewSet(list.Attributes...); !a.HasValue("aws.request_id") {
		t.Errorf("ListTables has no aws.request_id: %v", list.Attributes)
	}
	if get.Name != "DynamoDB.GetItem" || get.Status.Code != codes.Error || get.Status.Description != "ResourceNotFoundException" {
		t.Errorf("second span %s status %v, want DynamoDB.GetItem, error ResourceNotFoundException", get.Name, get.Status)
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	if len(tap.seen) != 2 {
		t.Fatalf("%d attempts, want 2", len(tap.seen))
	}
	for i, s := range []tracetest.SpanStub{list, get} {
		tid := s.SpanContext.TraceID().String()
		want := "Root=1-" + tid[:8] + "-" + tid[8:] + ";Parent=" + s.SpanContext.SpanID().String() + ";Sampled=1"
		if tap.seen[i] != want {
			t.Errorf("attempt %d sent X-Amzn-Trace-Id %q, want %q", i, tap.seen[i], want)
		}
	}
}

// TestAWSDisabled: disabled tracing adds no middleware (the SDK's own
// Lambda trace header stays the only one).
func TestAWSDisabled(t *testing.T) {
	var cfg aws.Config
	tracing.Disabled().AppendAWS(&cfg)
	if len(cfg.APIOptions) != 0 {
		t.Errorf("%d API options, want none", len(cfg.APIOptions))
	}
}
