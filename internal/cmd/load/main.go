// Command load is a bounded load test on loopback (make load): the local
// API, served over real HTTP as make run serves it, and the executor, each
// under concurrent callers for a fixed time, with the store, the offline
// Nango and a stand-in for Slack's API all in this process. It prints, per
// operation, requests per second, p50/p99 latency and errors.
//
//	go run ./internal/cmd/load -c 8 -d 10s
//
// It measures this service's own work on one machine (the embedded store,
// no network): a floor for the capacity arithmetic of the README, not a
// prediction of a deployment's latency.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/local/localapi"
	"github.com/automators/connectors/internal/local/localdev"
	"github.com/automators/connectors/internal/local/samtemplate"
	"github.com/automators/connectors/internal/logging"
)

func main() {
	conc := flag.Int("c", 8, "concurrent callers per operation")
	dur := flag.Duration("d", 10*time.Second, "how long each operation runs")
	flag.Parse()
	if *conc < 1 || *dur <= 0 || *dur > 10*time.Minute {
		fmt.Fprintln(os.Stderr, "load: want -c >= 1 and 0 < -d <= 10m")
		os.Exit(2)
	}
	if err := run(context.Background(), *conc, *dur, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// result is what one operation's callers measured.
type result struct {
	name      string
	latencies []time.Duration
	errors    int64
	elapsed   time.Duration
}

func run(ctx context.Context, conc int, dur time.Duration, out io.Writer) error {
	dir, err := os.MkdirTemp("", "connectors-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"channel":"C0123","ts":"1700000000.000100","message":{"text":"hi"}}`)
	}))
	defer slack.Close()
	vars := map[string]string{"PROVIDER_BASE_URLS": "slack=" + slack.URL, "LOG_LEVEL": "error"}
	app, err := localdev.New(ctx, localdev.Options{Dir: dir, Getenv: func(k string) string { return vars[k] }, LogOutput: io.Discard, PublicURL: "http://127.0.0.1:3000"})
	if err != nil {
		return err
	}
	defer app.Close()

	path, err := samtemplate.Locate(".")
	if err != nil {
		return err
	}
	tpl, err := samtemplate.Load(path)
	if err != nil {
		return err
	}
	hs := map[string]localapi.Handler{}
	for name, h := range app.Handlers() {
		hs[name] = localapi.Handler(h)
	}
	srv, err := localapi.New(localapi.RoutesFromTemplate(tpl), hs, localapi.Options{Logger: logging.New(io.Discard, "error")})
	if err != nil {
		return err
	}
	api := httptest.NewServer(srv)
	defer api.Close()

	p := connectors.Principal{UserID: "load-user", OrganizationID: "load-org"}
	sec, err := app.Secrets.LoadSecrets(ctx)
	if err != nil {
		return err
	}
	token, err := auth.Issue([]byte(sec.JWTHS256Secret), auth.DevClaims{UserID: p.UserID, OrgID: p.OrganizationID, TTL: time.Hour}, "")
	if err != nil {
		return err
	}
	if err := seedSlack(ctx, app, p); err != nil {
		return err
	}

	var seq atomic.Int64
	ops := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"GET /api/v1/nango/connections (local API over HTTP)", func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api.URL+"/api/v1/nango/connections", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := api.Client().Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("HTTP %d", resp.StatusCode)
			}
			return nil
		}},
		{"execute integration.slack.send_message (executor, a new node each)", func(ctx context.Context) error {
			_, err := app.Executor.Execute(ctx, executor.Input{
				ExecutionID: "load", NodeID: fmt.Sprintf("n%d", seq.Add(1)), NodeType: "integration.slack.send_message",
				UserID: p.UserID, OrganizationID: p.OrganizationID, Params: map[string]any{"channel": "C0123", "text": "hi"},
			})
			return err
		}},
	}
	fmt.Fprintf(out, "%d callers per operation, %s each, on %s\n\n", conc, dur, "loopback")
	fmt.Fprintf(out, "%-70s %10s %10s %10s %8s\n", "operation", "req/s", "p50", "p99", "errors")
	for _, op := range ops {
		r := measure(ctx, op.name, conc, dur, op.call)
		fmt.Fprintf(out, "%-70s %10.0f %10s %10s %8d\n", r.name, float64(len(r.latencies))/r.elapsed.Seconds(),
			percentile(r.latencies, 50), percentile(r.latencies, 99), r.errors)
	}
	return nil
}

// seedSlack connects Slack for p through the offline Nango, as a user
// would: authorize, the sandbox completes the session, the callback.
func seedSlack(ctx context.Context, app *localdev.App, p connectors.Principal) error {
	a, err := app.Connections.Authorize(ctx, p, connect.AuthorizeParams{Connector: "slack"})
	if err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	id, err := app.Sandbox.CompleteSession(a.ConnectSessionToken)
	if err != nil {
		return fmt.Errorf("complete the sandbox session: %w", err)
	}
	if _, err := app.Connections.Callback(ctx, nil, connect.CallbackParams{Connector: "slack", State: a.State, ConnectionID: id}); err != nil {
		return fmt.Errorf("callback: %w", err)
	}
	return nil
}

// measure runs call from conc goroutines for dur.
func measure(ctx context.Context, name string, conc int, dur time.Duration, call func(context.Context) error) result {
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var (
		mu  sync.Mutex
		res = result{name: name}
		wg  sync.WaitGroup
	)
	start := time.Now()
	for range conc {
		wg.Go(func() {
			var mine []time.Duration
			var errs int64
			for ctx.Err() == nil {
				t := time.Now()
				err := call(context.WithoutCancel(ctx))
				mine = append(mine, time.Since(t))
				if err != nil {
					errs++
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, mine...)
			res.errors += errs
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// percentile returns the p-th percentile of ds (nearest rank).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(i, 0)].Round(time.Microsecond)
}
