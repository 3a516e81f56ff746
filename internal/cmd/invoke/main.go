// Command invoke runs one function's bootstrap once under the Lambda Runtime
// Interface Emulator with one event, like `sam local invoke`, and gives it
// what a deployed function has: a DynamoDB table and a Secrets Manager
// secret (development values) in a moto_server it starts, Nango (the
// offline fake) and, for the executor, a local fake of the provider's API.
// Before the invocation it seeds what the event names (seed.go), so every
// sample event answers success. It stops everything afterwards.
//
//	make invoke FN=nango-list-connections [EVENT=events/nango-list-connections.json]
//	go run ./internal/cmd/invoke -fn nango-list-connections [-event FILE] [-user U -org O]
//
// The event's placeholders are filled: REPLACE_WITH_DEV_TOKEN with a JWT
// signed by the secret's jwt_hs256_secret, REPLACE_WITH_WEBHOOK_SIGNATURE
// with the body's Nango signature. The function's answer goes to stdout, the
// emulator's and function's logs to stderr.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/automators/connectors/internal/config"
	"github.com/automators/connectors/internal/local/samtemplate"
	"github.com/automators/connectors/internal/tstest/lambdarie"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

func run() error {
	fn := flag.String("fn", "", "function folder under functions/, e.g. nango-list-connections (required)")
	eventPath := flag.String("event", "", "event file (default events/<fn>.json)")
	user := flag.String("user", "user_123", "user id of the development token (and owner of what is seeded for it)")
	org := flag.String("org", "org_456", "organization id of the development token (and owner of what is seeded for it)")
	roles := flag.String("roles", "", "comma-separated roles of the development token")
	flag.Parse()
	if *fn == "" {
		flag.Usage()
		return fmt.Errorf("-fn is required")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tpl, err := samtemplate.Locate(".")
	if err != nil {
		return err
	}
	root := filepath.Dir(tpl)
	if _, err := os.Stat(filepath.Join(root, "functions", *fn, "main.go")); err != nil {
		return fmt.Errorf("no function functions/%s", *fn)
	}
	if *eventPath == "" {
		*eventPath = filepath.Join(root, "events", *fn+".json")
	}
	raw, err := os.ReadFile(*eventPath)
	if err != nil {
		return err
	}
	rie, err := lambdarie.FindRIE(root)
	if err != nil {
		return err
	}

	tmp, err := os.MkdirTemp("", "invoke-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bootstrap")
	fmt.Fprintf(os.Stderr, "invoke: building functions/%s\n", *fn)
	if err := lambdarie.Build(ctx, root, "./functions/"+*fn, bin, ""); err != nil {
		return err
	}

	res, err := invoke(ctx, request{
		Fn: *fn, Bootstrap: bin, RIE: rie, Event: raw,
		User: *user, Org: *org, Roles: config.SplitList(*roles), Log: os.Stderr,
	})
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, res.Payload, "", "  ") == nil {
		pretty.WriteByte('\n')
		io.Copy(os.Stdout, &pretty)
	} else {
		os.Stdout.Write(res.Payload)
		fmt.Println()
	}
	// The emulator answers 200 whatever the function said: say plainly
	// when the function's own answer is an error.
	if verdict := answerError(res.Payload); verdict != "" {
		return fmt.Errorf("the function answered an error: %s", verdict)
	}
	fmt.Fprintln(os.Stderr, "invoke: the function answered success")
	return nil
}

// request is one invocation: which bootstrap, which event, and whose
// development token.
type request struct {
	Fn        string // the function's folder, its name in the emulator
	Bootstrap string // the built bootstrap
	RIE       string // the emulator binary
	Event     []byte // the event as in events/, placeholders unfilled
	User, Org string // the token's principal
	Roles     []string
	Log       io.Writer // progress, emulator and function logs
}

// invoke starts the backend, seeds what the event names, and runs the
// bootstrap once under the emulator with the event.
func invoke(ctx context.Context, req request) (*lambdarie.Result, error) {
	b, err := startBackend(ctx, req.Log)
	if err != nil {
		return nil, err
	}
	defer b.Close()

	if len(req.Roles) == 0 && adminOnly(req.Event) {
		req.Roles = []string{"admin"}
		fmt.Fprintln(req.Log, "invoke: the route is an organization admin's: the development token has the admin role")
	}

	event, err := seed(ctx, b, principalOf(req), req.Event)
	if err != nil {
		return nil, fmt.Errorf("seed what the event names: %w", err)
	}
	event, err = b.prepare(event, req)
	if err != nil {
		return nil, err
	}

	emu, err := lambdarie.Start(ctx, lambdarie.Config{
		RIE: req.RIE, Bootstrap: req.Bootstrap, FunctionName: req.Fn, Output: req.Log, Env: b.env,
	})
	if err != nil {
		return nil, err
	}
	defer emu.Stop()
	res, err := emu.Invoke(ctx, event)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(req.Log, "invoke: emulator answered %d after %s (start to answer %s)\n",
		res.StatusCode, res.Duration.Round(time.Millisecond), time.Since(emu.Started).Round(time.Millisecond))
	return res, nil
}

// answerError describes the error in a function's answer, or returns "":
// a Lambda error ({"errorType","errorMessage"}) or an HTTP answer with a
// status of 400 or more.
func answerError(payload []byte) string {
	var a struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
		StatusCode   int    `json:"statusCode"`
		Body         string `json:"body"`
	}
	if json.Unmarshal(payload, &a) != nil {
		return ""
	}
	switch {
	case a.ErrorType != "":
		return a.ErrorType + ": " + a.ErrorMessage
	case a.StatusCode >= 400:
		return fmt.Sprintf("HTTP %d %s", a.StatusCode, a.Body)
	}
	return ""
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
