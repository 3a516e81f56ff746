// Command localapi serves the HTTP API of template.yaml on 127.0.0.1:$PORT
// (default 3000) in process: `make run`. Routes are read from template.yaml,
// so local and deployed routes cannot drift; the handlers are the functions'
// own, wired by internal/local/localdev (embedded store under .local/, secrets
// from the environment, the offline Nango sandbox unless NANGO_SECRET_KEY is
// set).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/automators/connectors/internal/local/localapi"
	"github.com/automators/connectors/internal/local/localdev"
	"github.com/automators/connectors/internal/local/samtemplate"
	"github.com/automators/connectors/internal/logging"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "localapi:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	// Loopback only: the local API has development secrets and no TLS.
	addr := net.JoinHostPort("127.0.0.1", port)
	logger := logging.New(os.Stdout, os.Getenv("LOG_LEVEL"), slog.String("function", "localapi"))

	path, err := samtemplate.Locate(".")
	if err != nil {
		return err
	}
	tpl, err := samtemplate.Load(path)
	if err != nil {
		return err
	}
	// LOCAL_DIR moves the local state (default .local); the browser test
	// runs this command on a state of its own.
	handlers, cleanup, err := localdev.Handlers(ctx, localdev.Options{Dir: os.Getenv("LOCAL_DIR"), PublicURL: "http://" + addr})
	if err != nil {
		return err
	}
	defer cleanup()

	hs := map[string]localapi.Handler{}
	for name, h := range handlers {
		hs[name] = localapi.Handler(h)
	}
	srv, err := localapi.New(localapi.RoutesFromTemplate(tpl), hs, localapi.Options{
		Logger: logger,
		CORS:   corsFromEnv(),
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	server := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		server.Shutdown(shutdown)
	}()
	for _, r := range localapi.RoutesFromTemplate(tpl) {
		logger.Debug("route", "key", r.Method+" "+r.Path, "function", r.Function)
	}
	logger.Info("local API listening", "url", "http://"+addr, "routes", len(tpl.Routes()), "template", path)
	if err := server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// corsFromEnv mirrors the template's CorsConfiguration, with the origins of
// CORS_ALLOW_ORIGINS (default: localdev.DefaultCORSOrigin, which the
// handlers' answers use too).
func corsFromEnv() *localapi.CORS {
	origins := os.Getenv("CORS_ALLOW_ORIGINS")
	if origins == "" {
		origins = localdev.DefaultCORSOrigin
	}
	var list []string
	for o := range strings.SplitSeq(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			list = append(list, o)
		}
	}
	return &localapi.CORS{
		AllowOrigins: list,
		AllowMethods: []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
		AllowHeaders: []string{"authorization", "content-type", "if-none-match"},
		MaxAge:       600,
	}
}
