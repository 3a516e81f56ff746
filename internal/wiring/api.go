package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/automators/connectors/internal/adapter/apigw"
	"github.com/automators/connectors/internal/adapter/httpapi"
	"github.com/automators/connectors/internal/logging"
)

// API returns the HTTP API of the function named function.
func (a *App) API(function string) *httpapi.API {
	return httpapi.New(a.Auth, a.Connections, a.webhookKeys, httpapi.Middleware{
		// The logger names the function once; the middleware adds only the
		// request id.
		Logger:    a.Logger.With(slog.String(logging.KeyFunction, function)),
		CORS:      httpapi.CORS{AllowOrigins: a.Config.CORSAllowOrigins},
		RequestID: apigw.RequestID,
	})
}

// Lambda returns the Lambda handler of function's route: its net/http
// handler behind the API Gateway adapter.
func (a *App) Lambda(function string) (apigw.Handler, error) {
	h := a.API(function).Handler(function)
	if h == nil {
		return nil, fmt.Errorf("no HTTP route is served by function %q", function)
	}
	return apigw.Wrap(h), nil
}

// MustAPI builds the Lambda handler of a function's route at cold start, or
// exits: a function that cannot wire itself must fail its init, loudly, not
// serve.
func MustAPI(ctx context.Context, function string) apigw.Handler {
	h, err := must(New(ctx, "", Options{})).Lambda(function)
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("cold start failed", "err", err)
		os.Exit(1)
	}
	return h
}
