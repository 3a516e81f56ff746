package tracing

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// AppendAWS adds to cfg a client span per AWS SDK call (DynamoDB, KMS,
// Secrets Manager), named Service.Operation with OpenTelemetry's aws-api
// attributes, its retries inside it; and sends the span's X-Ray trace
// header with each attempt, so that X-Ray joins the service's segment to
// it. Disabled tracing adds nothing: the SDK already sends Lambda's own
// trace header.
func (t *Tracing) AppendAWS(cfg *aws.Config) {
	if t.flush == nil {
		return
	}
	tracer := t.provider.Tracer(instrumentation)
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		// After the SDK's own initialize steps, which name the service and
		// the operation.
		if err := st.Initialize.Add(middleware.InitializeMiddlewareFunc("tracing.Span", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
			ctx, span := tracer.Start(ctx, service+"."+op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
				attribute.String("rpc.system", "aws-api"),
				attribute.String("rpc.service", service),
				attribute.String("rpc.method", op),
				attribute.String("cloud.region", awsmiddleware.GetRegion(ctx)),
			))
			defer span.End()
			out, md, err := next.HandleInitialize(ctx, in)
			if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok {
				span.SetAttributes(attribute.String("aws.request_id", id))
			}
			if err != nil {
				// The error's code only: its message may quote the request.
				name := "error"
				var ae smithy.APIError
				if errors.As(err, &ae) {
					name = ae.ErrorCode()
				}
				span.SetStatus(codes.Error, name)
			}
			return out, md, err
		}), middleware.After); err != nil {
			return err
		}
		return st.Build.Add(middleware.BuildMiddlewareFunc("tracing.Header", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				xray.Propagator{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
			}
			return next.HandleBuild(ctx, in)
		}), middleware.After)
	})
}
