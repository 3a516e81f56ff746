package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/propagation"

	"github.com/automators/connectors/internal/adapter/apigw"
	"github.com/automators/connectors/internal/adapter/httpapi"
	"github.com/automators/connectors/internal/adapter/tracing"
	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/logging"
)

// API returns the HTTP API of the function named function.
func (a *App) API(function string) *httpapi.API {
	return newAPI(a.Auth, a.Connections, a.core, function)
}

func newAPI(verifier httpapi.Authenticator, svc *connect.Service, c *core, function string) *httpapi.API {
	return httpapi.New(verifier, svc, c.webhooks(), httpapi.Middleware{
		// The logger names the function once; the middleware adds only the
		// request id.
		Logger:    c.logger.With(slog.String(logging.KeyFunction, function)),
		CORS:      httpapi.CORS{AllowOrigins: c.cfg.CORSAllowOrigins},
		RequestID: apigw.RequestID,
		Metrics:   c.metrics,
	})
}

// Lambda returns the Lambda handler of function's route: its net/http
// handler behind the API Gateway adapter.
func (a *App) Lambda(function string) (apigw.Handler, error) {
	return lambdaHandler(a.API(function), a.core.tracing, function)
}

// lambdaHandler is a route's Lambda handler in a span continuing the
// invocation's trace, or the request's W3C traceparent.
func lambdaHandler(api *httpapi.API, tr *tracing.Tracing, function string) (apigw.Handler, error) {
	h := api.Handler(function)
	if h == nil {
		return nil, fmt.Errorf("no HTTP route is served by function %q", function)
	}
	return tracing.Handler(tr, function, apigw.Wrap(h), tracing.HandlerOptions[events.APIGatewayV2HTTPRequest, events.APIGatewayV2HTTPResponse]{
		Carrier: func(ev events.APIGatewayV2HTTPRequest) propagation.TextMapCarrier {
			return propagation.MapCarrier(ev.Headers)
		},
		Failed: func(res events.APIGatewayV2HTTPResponse) bool { return res.StatusCode >= 500 },
	}), nil
}

// MustAPI builds the Lambda handler of a function's route at cold start, or
// exits: a function that cannot wire itself must fail its init, loudly, not
// serve. It builds no executor and no sweeper, and a signed route (the
// webhook) no JWT verifier.
func MustAPI(ctx context.Context, function string) apigw.Handler {
	c := must(newCore(ctx, "", Options{Tracing: must(tracing.FromEnv(os.Getenv, function))}))
	var verifier httpapi.Authenticator = notConfiguredAuth{}
	if r, ok := httpapi.RouteOf(function); ok && !r.Signed {
		verifier = must(c.verifier(ctx))
	}
	api := newAPI(verifier, c.service(), c, function)
	h, err := lambdaHandler(api, c.tracing, function)
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("cold start failed", "err", err)
		os.Exit(1)
	}
	return h
}
