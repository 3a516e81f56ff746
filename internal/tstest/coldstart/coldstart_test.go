package coldstart

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/local/samtemplate"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/lambdarie"
	"github.com/automators/connectors/internal/tstest/reporoot"
)

// floorPkg is the SDK-init floor's main package, relative to the root.
const floorPkg = "./internal/tstest/coldstart/testdata/floor"

// clientsPkg is the floor plus the DynamoDB and KMS clients every function
// links (the "sdk-clients" row): the share of a function's ratio that is
// the SDK's, not the service's.
const clientsPkg = "./internal/tstest/coldstart/testdata/clients"

// subject is one bootstrap to measure, with the event it is invoked with.
type subject struct {
	name  string // the function's folder, or "floor"
	bin   string // its bootstrap, built for the host
	event []byte
	// traced: a function of today's build, which exports its spans to the
	// backend's collector.
	traced bool
}

// BenchmarkColdStart reports, per function of template.yaml, with each
// bootstrap run against a fake Lambda Runtime API (runtimeAPI) in the
// environment it is deployed with (moto, the fake Nango):
//
//   - init-ms: its init, from the process's start to its first GET
//     /2018-06-01/runtime/invocation/next (made when init is done);
//   - floor-init-ms: the floor's init, measured beside it;
//   - x-floor: init-ms over floor-init-ms, the acceptance figure (at most
//     1.25);
//   - answer-ms, floor-answer-ms: to the first invocation's answer, init
//     plus that invocation's work (a DynamoDB query, a call to Nango, or
//     nothing for the floor): for information, not the acceptance figure.
//
// Each iteration runs the floor and the function one after the other, in
// alternating order, so that drift in the machine's load hits both alike;
// the figures are medians over the iterations, the ratio being taken per
// iteration. The "floor" row pairs the floor with itself: its x-floor
// shows the noise.
//
// make coldstart runs it. ns/op is suppressed: it would be the sum of both
// runs and the processes' teardown.
func BenchmarkColdStart(b *testing.B) {
	root, err := reporoot.Find(".")
	if err != nil {
		b.Fatal(err)
	}
	tpl, err := samtemplate.Load(filepath.Join(root, samtemplate.FileName))
	if err != nil {
		b.Fatal(err)
	}
	be := newBackend(b)
	ctx := b.Context()

	// The builds come first and are not measured: the host's build of
	// each bootstrap, with the deploy flags.
	dir := b.TempDir()
	build := func(name, pkg string) string {
		out := filepath.Join(dir, name, "bootstrap")
		if err := lambdarie.Build(ctx, root, pkg, out, ""); err != nil {
			b.Fatal(err)
		}
		return out
	}
	floor := subject{name: "floor", bin: build("floor", floorPkg), event: []byte(`{}`)}
	subjects := []subject{floor, {name: "sdk-clients", bin: build("sdk-clients", clientsPkg), event: []byte(`{}`)}}
	for _, f := range tpl.Functions {
		subjects = append(subjects, subject{name: f.Folder, bin: build(f.Folder, "./functions/"+f.Folder), event: be.event(b, root, f.Folder), traced: true})
	}
	// COLDSTART_BASELINE=<git revision> adds each function as built at that
	// revision, measured against the same floor: "at or under today's".
	if rev := os.Getenv("COLDSTART_BASELINE"); rev != "" {
		src := filepath.Join(dir, "baseline-src")
		if out, err := exec.CommandContext(ctx, "git", "-C", root, "worktree", "add", "--detach", src, rev).CombinedOutput(); err != nil {
			b.Fatalf("git worktree add %s: %v\n%s", rev, err, out)
		}
		b.Cleanup(func() { exec.Command("git", "-C", root, "worktree", "remove", "--force", src).Run() })
		for _, f := range tpl.Functions {
			out := filepath.Join(dir, "baseline", f.Folder, "bootstrap")
			if err := lambdarie.Build(ctx, src, "./functions/"+f.Folder, out, ""); err != nil {
				b.Fatalf("build %s at %s: %v", f.Folder, rev, err)
			}
			subjects = append(subjects, subject{name: f.Folder + "@" + rev, bin: out, event: be.event(b, root, f.Folder)})
		}
	}
	b.Logf("bootstraps built for linux/%s with %s (Lambda runs the linux/arm64 build)", runtime.GOARCH, strings.Join(lambdarie.BuildFlags, " "))

	// One unmeasured start of each, so that every measured one finds its
	// binary in the page cache alike, and a function that cannot start
	// fails here, by name.
	for _, s := range subjects {
		before := be.exports.Load()
		if _, err := measure(ctx, s, be.env); err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
		if traced := be.exports.Load() > before; s.traced && !traced {
			b.Fatalf("%s: exported no trace of its first invocation", s.name)
		}
	}

	for _, s := range subjects {
		b.Run(s.name, func(b *testing.B) {
			var own, base, ratio, ans, baseAns []float64
			i := 0
			for b.Loop() {
				first, second := floor, s
				swapped := i%2 == 1 // alternate the order, so neither always goes first
				if swapped {
					first, second = s, floor
				}
				i++
				r1, err := measure(ctx, first, be.env)
				if err != nil {
					b.Fatalf("%s: %v", first.name, err)
				}
				r2, err := measure(ctx, second, be.env)
				if err != nil {
					b.Fatalf("%s: %v", second.name, err)
				}
				fl, fn := r1, r2
				if swapped {
					fl, fn = r2, r1
				}
				own, base = append(own, ms(fn.init)), append(base, ms(fl.init))
				ratio = append(ratio, float64(fn.init)/float64(fl.init))
				ans, baseAns = append(ans, ms(fn.answer)), append(baseAns, ms(fl.answer))
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(median(own), "init-ms")
			b.ReportMetric(median(base), "floor-init-ms")
			b.ReportMetric(median(ratio), "x-floor")
			b.ReportMetric(median(ans), "answer-ms")
			b.ReportMetric(median(baseAns), "floor-answer-ms")
		})
	}
}

// answered returns why res is not a started function's answer, or nil.
func answered(res *lambdarie.Result) error {
	if res.StatusCode != 200 {
		return fmt.Errorf("emulator answered %d: %s", res.StatusCode, res.Payload)
	}
	if fe := res.FunctionError(); fe != nil && strings.HasPrefix(fe.Type, "Runtime.") {
		return fmt.Errorf("the function did not start: %v", fe)
	}
	var http struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if json.Unmarshal(res.Payload, &http) == nil && http.StatusCode >= 500 {
		return fmt.Errorf("HTTP %d: %s", http.StatusCode, res.Payload)
	}
	return nil
}

// backend is what a deployed function has around it, as template.yaml
// gives it: a table, the secret in Secrets Manager, a KMS key (all in
// moto), and Nango (the fake, on loopback).
type backend struct {
	exports *atomic.Int64 // trace exports the collector received
	env     []string
	secrets lambdarie.Secrets
	token   string
}

func newBackend(b testing.TB) *backend {
	b.Helper()
	endpoint := awstest.Endpoint(b, "secretsmanager")
	table := awstest.Table(b, awstest.DynamoDB(b))
	kmsKey := awstest.KMSKey(b, awstest.KMS(b))

	sec := lambdarie.NewSecrets()
	cfg, err := awsconfig.LoadDefaultConfig(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(endpoint) })
	name := "coldstart/" + strconv.FormatInt(time.Now().UnixNano(), 36)
	// A deployment configured for every connector: the built-in OAuth's
	// clients too, so that no "configuration value missing" line is part
	// of the measure.
	doc := map[string]any{}
	if err := json.Unmarshal([]byte(sec.JSON()), &doc); err != nil {
		b.Fatal(err)
	}
	for _, k := range []string{"google_client_id", "google_client_secret", "microsoft_client_id", "microsoft_client_secret", "discord_bot_token"} {
		doc[k] = k + "-coldstart"
	}
	secretJSON, err := json.Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	created, err := sm.CreateSecret(b.Context(), &secretsmanager.CreateSecretInput{Name: &name, SecretString: aws.String(string(secretJSON))})
	if err != nil {
		b.Fatal(err)
	}

	ins := nangofake.RegistryIntegrations(registry.Default())
	fake := nangofake.New(nangofake.Options{SecretKey: sec.NangoSecretKey, WebhookSigningKey: sec.WebhookSigningKey, Integrations: ins})
	nangoURL := fake.Start()
	b.Cleanup(fake.Close)
	// Stripe's balance read, the test call of the sample events' API key.
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"balance","livemode":false,"available":[],"pending":[]}`)
	}))
	b.Cleanup(stripe.Close)
	exports := new(atomic.Int64)
	// The ADOT collector layer's OTLP/HTTP receiver: the functions are
	// measured traced, as deployed with AdotLayerArn set.
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" {
			exports.Add(1)
		}
		io.WriteString(w, `{}`)
	}))
	b.Cleanup(collector.Close)

	token, err := auth.Issue([]byte(sec.JWTHS256Secret), auth.DevClaims{UserID: "user_123", OrgID: "org_456", TTL: time.Hour}, "")
	if err != nil {
		b.Fatal(err)
	}
	return &backend{
		exports: exports,
		secrets: sec,
		token:   token,
		env: []string{
			"TABLE_NAME=" + table,
			"SECRETS_ID=" + aws.ToString(created.ARN),
			"KMS_KEY_ID=" + kmsKey,
			"AWS_ENDPOINT_URL=" + endpoint,
			"AWS_ACCESS_KEY_ID=test",
			"AWS_SECRET_ACCESS_KEY=test",
			"AWS_REGION=us-east-1",
			"AWS_EC2_METADATA_DISABLED=true",
			"NANGO_HOST=" + nangoURL,
			"PROVIDER_BASE_URLS=stripe=" + stripe.URL,
			"PUBLIC_URL=https://api.automators.dev",
			"REDIRECT_ALLOWLIST=https://app.automators.dev",
			"CORS_ALLOW_ORIGINS=https://app.automators.dev",
			"LOG_LEVEL=info", // template.yaml's default
			"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.URL,
		},
	}
}

// event reads folder's sample event from events/ and fills its
// placeholders (token, webhook signature).
func (be *backend) event(b *testing.B, root, folder string) []byte {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "events", folder+".json"))
	if err != nil {
		b.Fatal(err)
	}
	ev, err := lambdarie.PrepareEvent(raw, be.token, func(body []byte) string { return nango.SignWebhook(body, be.secrets.WebhookSigningKey) })
	if err != nil {
		b.Fatalf("events/%s.json: %v", folder, err)
	}
	return ev
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
