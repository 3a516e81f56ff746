package browsertest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/config"
	"github.com/automators/connectors/internal/tstest/reftest"
	"github.com/automators/connectors/internal/tstest/reporoot"
)

// missing skips the test, or fails it under CI=true, where every tool must
// be installed.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	reftest.MissingTool(t, fmt.Sprintf(format, args...)+" (make tools installs it)")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// localAPI builds internal/cmd/localapi and runs it as `make run` does, on
// a state directory of its own, allowing the page's origin. It returns the
// API base URL and the state directory.
func localAPI(t *testing.T, root, pageOrigin string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "localapi")
	build := exec.Command("go", "build", "-o", bin, "./internal/cmd/localapi")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build localapi: %v\n%s", err, out)
	}
	port := freePort(t)
	state := filepath.Join(dir, "state")
	cmd := exec.Command(bin)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "LOCAL_DIR="+state,
		"CORS_ALLOW_ORIGINS="+pageOrigin, "REDIRECT_ALLOWLIST="+pageOrigin, "LOG_LEVEL=warn",
		"NANGO_SECRET_KEY=", "GOOGLE_CLIENT_ID=", "MICROSOFT_CLIENT_ID=")
	logFile, err := os.Create(filepath.Join(dir, "localapi.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start localapi: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("local API log:\n%s", b)
		}
	})
	api := fmt.Sprintf("http://127.0.0.1:%d/api/v1/nango", port)
	for i := 0; ; i++ {
		resp, err := http.Get(api + "/connections")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return api, state
			}
		}
		if i == 300 {
			t.Fatalf("the local API did not answer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// devToken signs a token as `make token` does, with the state's secret.
func devToken(t *testing.T, state, user, org string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(state, "secrets.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars, err := config.ParseEnvFile(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Issue([]byte(vars["JWT_HS256_SECRET"]), auth.DevClaims{UserID: user, OrgID: org, TTL: time.Hour}, "")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// servePage serves page/ and the SDK's dist/ at /sdk/ on localhost (the
// front end's dev server stands there), and returns its origin.
func servePage(t *testing.T, sdk string) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/sdk/", http.StripPrefix("/sdk/", http.FileServer(http.Dir(sdk))))
	mux.Handle("/", http.FileServer(http.Dir("page")))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
}

// TestFrontendSDK: authorize -> connect -> callback -> list -> delete in
// Chromium, for Slack through the SDK's Connect UI and through its auth()
// popup, and for Gmail through the built-in OAuth redirect, asserting what
// the page shows. The page's screenshot is kept in artifacts/.
func TestFrontendSDK(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		missing(t, "chromium not found")
	}
	sdk, err := filepath.Abs("node_modules/@nangohq/frontend/dist")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(sdk, "index.js")); err != nil {
		missing(t, "@nangohq/frontend not installed in internal/tstest/browsertest/node_modules")
	}
	root, err := reporoot.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	page := servePage(t, sdk)
	api, state := localAPI(t, root, page)
	token := devToken(t, state, "u1", "o1")

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-popup-blocking", true), chromedp.WindowSize(1000, 800))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	first := page + "/?" + url.Values{"api": {api}, "token": {token}}.Encode()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(first)); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.WaitVisible(`body[data-ready="true"]`)); err != nil {
		t.Fatalf("the page did not load its script: %v", err)
	}
	flows := []struct {
		button, result, want string
	}{
		{"#slack-connect-ui", "#slack-connect-ui-result", "callback active, listed 1, delete 204, left 0"},
		{"#slack-popup", "#slack-popup-result", "callback active, listed 1, delete 204, left 0"},
		{"#gmail", "#gmail-result", "callback active, listed 1, delete 204, left 0"},
	}
	for _, f := range flows {
		_, err := chromedp.Run(ctx, chromedp.Click(f.button, chromedp.NodeVisible))
		var got string
		poll := chromedp.Poll[string](fmt.Sprintf(
			`(() => { const t = document.querySelector(%q)?.textContent || ''; return t !== '' && t !== 'redirecting' ? t : null; })()`, f.result))
		// The Gmail flow leaves the page and comes back (consent, callback,
		// redirect): a poll cut by the navigation ("target navigated",
		// "cannot find context") is started again in the new document.
		for i := 0; err == nil && i < 20; i++ {
			if got, err = chromedp.Run(ctx, poll); err == nil || ctx.Err() != nil {
				break
			}
			if i < 19 {
				err = nil
				time.Sleep(100 * time.Millisecond)
			}
		}
		logText, _ := chromedp.Run(ctx, chromedp.TextContent("#log"))
		if err != nil || got != f.want {
			t.Errorf("%s: page shows %q (%v), want %q\npage log:\n%s", f.button, got, err, f.want, logText)
		}
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll("artifacts", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("artifacts", "frontend-sdk.jpg"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("browser flows done in %s (local API build and start included); screenshot artifacts/frontend-sdk.jpg", time.Since(start).Round(time.Millisecond))
}
