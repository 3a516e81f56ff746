// Package lambdarie runs a Lambda bootstrap under the AWS Lambda Runtime
// Interface Emulator (aws-lambda-rie) on loopback, as `sam local invoke`
// does in a container, but without Docker: the emulator and the bootstrap
// run as host processes. The tests and `make invoke` use it.
//
// One emulator serves one invocation at a time (it fails on concurrent
// invokes), so each test starts its own, on its own free ports.
package lambdarie

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/automators/connectors/internal/local/loopback"
)

// RIEVersion is the pinned emulator version; the Makefile installs it into
// ./bin (make tools).
const RIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"

// RIEModule is the emulator's command package.
const RIEModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// InvokePath is the emulator's invocation endpoint.
const InvokePath = "/2015-03-31/functions/function/invocations"

// FindRIE returns the emulator binary: $AWS_LAMBDA_RIE, else root/bin/
// aws-lambda-rie (where make tools puts it), else aws-lambda-rie on PATH.
func FindRIE(root string) (string, error) {
	if p := os.Getenv("AWS_LAMBDA_RIE"); p != "" {
		return p, nil
	}
	p := filepath.Join(root, "bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("aws-lambda-rie not found in %s/bin or on PATH: run make tools (GOBIN=$PWD/bin go install %s@%s)",
		root, RIEModule, RIEVersion)
}

// BuildFlags are the deploy build flags, as the Makefile and sam build pass them, after "go build".
var BuildFlags = []string{"-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w -buildid="}

// Build compiles the main package pkg (e.g. "./functions/nango-authorize",
// relative to the module root dir) into out, statically, for linux/goarch
// ("" = the host's, what the emulator runs).
func Build(ctx context.Context, dir, pkg, out, goarch string) error {
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// Config configures an emulator.
type Config struct {
	RIE       string   // emulator binary (FindRIE)
	Bootstrap string   // the function's bootstrap
	Env       []string // the function's environment, KEY=VALUE; nothing else is inherited but PATH
	// FunctionName sets AWS_LAMBDA_FUNCTION_NAME; default "function".
	FunctionName string
	Timeout      time.Duration // function timeout; default 30s
	Output       io.Writer     // emulator and function logs; default discarded
}

// Emulator is a running aws-lambda-rie with one function.
type Emulator struct {
	URL     string    // base URL of the emulator, http://127.0.0.1:PORT
	Started time.Time // when the emulator process was started

	cmd    *exec.Cmd
	done   chan struct{}
	waitMu sync.Mutex
	err    error
}

// Start starts the emulator on free loopback ports and waits until it
// accepts connections. The bootstrap itself starts on the first invoke, as
// in Lambda: the first Invoke's time includes the cold start.
func Start(ctx context.Context, cfg Config) (*Emulator, error) {
	if _, err := os.Stat(cfg.Bootstrap); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	// A free port can be taken by another process between our look and the
	// emulator's bind (other test binaries run beside us): the emulator then
	// exits at once, and fresh ports fix it.
	var err error
	for range 3 {
		var e *Emulator
		if e, err = start(ctx, cfg); !errors.Is(err, errExitedAtStart) {
			return e, err
		}
	}
	return nil, err
}

// errExitedAtStart marks an emulator that exited before it listened.
var errExitedAtStart = errors.New("aws-lambda-rie exited at start")

func start(ctx context.Context, cfg Config) (*Emulator, error) {
	// Two ports: the invoke API, and the Runtime API the bootstrap polls
	// (default 9001, which parallel emulators would fight over).
	invokePort, err := loopback.FreePort()
	if err != nil {
		return nil, err
	}
	runtimePort, err := loopback.FreePort()
	if err != nil {
		return nil, err
	}
	if cfg.FunctionName == "" {
		cfg.FunctionName = "function"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	addr := fmt.Sprintf("127.0.0.1:%d", invokePort)
	cmd := exec.Command(cfg.RIE,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", runtimePort),
		"--log-level", "error",
		cfg.Bootstrap)
	cmd.Dir = filepath.Dir(cfg.Bootstrap)
	// A clean environment, as in Lambda: nothing of the developer's (AWS
	// profiles, real credentials) leaks into the function.
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_FUNCTION_NAME=" + cfg.FunctionName,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + fmt.Sprint(int(cfg.Timeout/time.Second)),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
	}, cfg.Env...)
	cmd.Stdout, cmd.Stderr = cfg.Output, cfg.Output
	cmd.SysProcAttr = sysProcAttr()

	e := &Emulator{URL: "http://" + addr, cmd: cmd, done: make(chan struct{})}
	e.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.RIE, err)
	}
	go func() {
		err := cmd.Wait()
		e.waitMu.Lock()
		e.err = err
		e.waitMu.Unlock()
		close(e.done)
	}()
	if err := e.waitListening(ctx, addr, 10*time.Second); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

func (e *Emulator) waitListening(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-e.done:
			return fmt.Errorf("%w: %v", errExitedAtStart, e.exitErr())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("aws-lambda-rie not listening on %s after %s: %w", addr, timeout, err)
		}
	}
}

func (e *Emulator) exitErr() error {
	e.waitMu.Lock()
	defer e.waitMu.Unlock()
	return e.err
}

// Result is the emulator's answer to an invocation.
type Result struct {
	StatusCode int    // HTTP status of the emulator's answer
	Payload    []byte // the function's response, or its error document
	Duration   time.Duration
}

// FunctionError is the error document Lambda returns for a failed
// invocation, e.g. {"errorType":"Connectors.ConnectionNotFound",...}.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

// Error implements error.
func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// FunctionError returns the invocation's error, or nil when it succeeded:
// a payload with an errorType and nothing else a handler would return.
func (r *Result) FunctionError() *FunctionError {
	var doc map[string]json.RawMessage
	if json.Unmarshal(r.Payload, &doc) != nil {
		return nil
	}
	for k := range doc {
		if k != "errorType" && k != "errorMessage" && k != "stackTrace" {
			return nil
		}
	}
	var fe FunctionError
	if json.Unmarshal(r.Payload, &fe) != nil || fe.Type == "" {
		return nil
	}
	return &fe
}

// Invoke sends one event and returns the answer. Calls must not overlap.
func (e *Emulator) Invoke(ctx context.Context, event []byte) (*Result, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+InvokePath, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	for retry := 0; err != nil && retry < 2 && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)); retry++ {
		// Under load the emulator sometimes drops the first connection
		// while its runtime API comes up; it answers the next one.
		select {
		case <-e.done:
		case <-time.After(200 * time.Millisecond):
			req, _ = http.NewRequestWithContext(ctx, http.MethodPost, e.URL+InvokePath, bytes.NewReader(event))
			req.Header.Set("Content-Type", "application/json")
			resp, err = http.DefaultClient.Do(req)
		}
	}
	if err != nil {
		select {
		case <-e.done:
			return nil, fmt.Errorf("invoke: aws-lambda-rie exited: %v", e.exitErr())
		default:
		}
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke: read answer: %w", err)
	}
	return &Result{StatusCode: resp.StatusCode, Payload: body, Duration: time.Since(start)}, nil
}

// Stop stops the emulator. SIGTERM first: the emulator then shuts its
// runtime down, and the bootstrap runs in a process group of its own that
// only the emulator knows. SIGKILL to the emulator's group if that hangs.
func (e *Emulator) Stop() error {
	select {
	case <-e.done:
		return nil
	default:
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
		return nil
	case <-time.After(3 * time.Second):
	}
	if err := syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop aws-lambda-rie: %w", err)
	}
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		return errors.New("stop aws-lambda-rie: still running after SIGKILL")
	}
	return nil
}

// Placeholders the sample events in events/ carry where a real value is
// only known at run time.
const (
	// TokenPlaceholder stands for a development JWT ("Bearer <token>").
	TokenPlaceholder = "REPLACE_WITH_DEV_TOKEN"
	// SignaturePlaceholder stands for the X-Nango-Hmac-Sha256 of the body.
	SignaturePlaceholder = "REPLACE_WITH_WEBHOOK_SIGNATURE"
)

// PrepareEvent fills the placeholders of a sample event: the bearer token,
// and the webhook signature computed by sign over the event's body (as API
// Gateway passes it: base64-decoded when flagged). A nil sign leaves the
// signature placeholder.
func PrepareEvent(event []byte, token string, sign func(body []byte) string) ([]byte, error) {
	out := bytes.ReplaceAll(event, []byte(TokenPlaceholder), []byte(token))
	if sign == nil || !bytes.Contains(out, []byte(SignaturePlaceholder)) {
		return out, nil
	}
	var ev struct {
		Body            string `json:"body"`
		IsBase64Encoded bool   `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(out, &ev); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("event body: %w", err)
		}
	}
	return bytes.ReplaceAll(out, []byte(SignaturePlaceholder), []byte(sign(body))), nil
}
