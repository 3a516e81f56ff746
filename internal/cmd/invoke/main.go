// Command invoke runs one function's bootstrap once under the Lambda Runtime
// Interface Emulator with one event, like `sam local invoke`, and gives it
// what a deployed function has: a DynamoDB table and a Secrets Manager
// secret (development values) in a moto_server it starts, and Nango (the
// offline fake). It stops everything afterwards.
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
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/config"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/dynamostore"
	"github.com/automators/connectors/internal/lambdarie"
	"github.com/automators/connectors/internal/motoserver"
	"github.com/automators/connectors/internal/nango"
	"github.com/automators/connectors/internal/nangofake"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/samtemplate"
)

const (
	region    = "us-east-1"
	tableName = "ConnectorCredentials"
	secretID  = "automators-connectors/local"
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
	user := flag.String("user", "user_123", "user id of the development token")
	org := flag.String("org", "org_456", "organization id of the development token")
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

	moto, stopMoto, err := startMoto(ctx)
	if err != nil {
		return err
	}
	defer stopMoto()

	sec := lambdarie.NewSecrets()
	secretARN, err := provision(ctx, moto, sec)
	if err != nil {
		return err
	}
	fake := nangoSandbox(sec)
	nangoURL := fake.Start()
	defer fake.Close()

	token, err := auth.Issue([]byte(sec.JWTHS256Secret), auth.DevClaims{
		UserID: *user, OrgID: *org, Roles: config.SplitList(*roles), TTL: time.Hour,
	}, "")
	if err != nil {
		return err
	}
	event, err := lambdarie.PrepareEvent(raw, token, func(body []byte) string {
		return nango.SignWebhook(body, sec.WebhookSigningKey)
	})
	if err != nil {
		return err
	}

	emu, err := lambdarie.Start(ctx, lambdarie.Config{
		RIE: rie, Bootstrap: bin, FunctionName: *fn, Output: os.Stderr,
		Env: []string{
			"TABLE_NAME=" + tableName,
			"SECRETS_ID=" + secretARN,
			"AWS_ENDPOINT_URL=" + moto,
			"AWS_ACCESS_KEY_ID=test",
			"AWS_SECRET_ACCESS_KEY=test",
			"AWS_REGION=" + region,
			"AWS_EC2_METADATA_DISABLED=true",
			"NANGO_HOST=" + nangoURL,
			"REDIRECT_ALLOWLIST=https://app.automators.dev",
			"CORS_ALLOW_ORIGINS=https://app.automators.dev",
			"LOG_LEVEL=" + envOr("LOG_LEVEL", "debug"),
		},
	})
	if err != nil {
		return err
	}
	defer emu.Stop()
	res, err := emu.Invoke(ctx, event)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "invoke: emulator answered %d after %s (start to answer %s)\n",
		res.StatusCode, res.Duration.Round(time.Millisecond), time.Since(emu.Started).Round(time.Millisecond))
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

// startMoto runs moto_server on a free loopback port until stop is called.
func startMoto(ctx context.Context) (url string, stop func(), err error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cmd, err := motoserver.Command(port)
	if err != nil {
		return "", nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start moto_server: %w", err)
	}
	stop = func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
	url = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url, stop, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return "", nil, fmt.Errorf("moto_server did not start: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// provision creates the table and the secret a deployed function reads, and
// returns the secret's ARN.
func provision(ctx context.Context, endpoint string, sec lambdarie.Secrets) (string, error) {
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	ddb := dynamodb.New(dynamodb.Options{Region: region, BaseEndpoint: aws.String(endpoint), Credentials: creds})
	if err := dynamostore.EnsureTable(ctx, ddb, tableName); err != nil {
		return "", err
	}
	sm := secretsmanager.New(secretsmanager.Options{Region: region, BaseEndpoint: aws.String(endpoint), Credentials: creds})
	out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(secretID),
		SecretString: aws.String(sec.JSON()),
	})
	if err != nil {
		return "", fmt.Errorf("create secret: %w", err)
	}
	return aws.ToString(out.ARN), nil
}

// nangoSandbox is the offline fake Nango, knowing every Nango-served
// connector's integration.
func nangoSandbox(sec lambdarie.Secrets) *nangofake.Server {
	var ins []nangofake.Integration
	for _, m := range registry.Default().All() {
		if m.OAuthProvider == connectors.ProviderNango {
			ins = append(ins, nangofake.Integration{UniqueKey: m.ProviderConfigKey, Provider: m.NangoProvider})
		}
	}
	return nangofake.New(nangofake.Options{SecretKey: sec.NangoSecretKey, WebhookSigningKey: sec.WebhookSigningKey, Integrations: ins})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
