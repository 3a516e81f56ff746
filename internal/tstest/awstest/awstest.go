// Package awstest gives tests a real AWS API emulator on loopback: the one
// named by AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL, or else a
// moto_server it starts on a free port and stops when the test binary ends.
//
// Under CI=true a missing moto_server is a test failure, never a skip. Only
// tests import this package.
package awstest

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automators/connectors/internal/local/loopback"
	"github.com/automators/connectors/internal/local/motoserver"
)

var (
	once     sync.Once
	endpoint string
	startErr error
)

// Endpoint returns the base URL of an emulator serving service ("dynamodb",
// "secretsmanager", ...). It sets dummy credentials and a region in the
// process environment so that the SDK's default chain never reaches AWS.
func Endpoint(t testing.TB, service string) string {
	t.Helper()
	setDummyCredentials()
	if v := os.Getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(service)); v != "" {
		return v
	}
	if v := os.Getenv("AWS_ENDPOINT_URL"); v != "" {
		return v
	}
	once.Do(func() { endpoint, startErr = startMoto() })
	if startErr != nil {
		t.Fatalf("awstest: %v (install it with: pip install 'moto[server]')", startErr)
	}
	return endpoint
}

func setDummyCredentials() {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":     "test",
		"AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION":            "us-east-1",
	} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// startMoto runs moto_server on a free loopback port. The process is left to
// die with the test binary: Setpgid is not used, so it shares our session and
// a Pdeathsig stops it when the test process exits.
func startMoto() (string, error) {
	port, err := loopback.FreePort()
	if err != nil {
		return "", err
	}
	cmd, err := motoserver.Command(port)
	if err != nil {
		return "", err
	}
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start moto_server: %w", err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := WaitHTTP(url+"/moto-api/", 30*time.Second); err != nil {
		cmd.Process.Kill()
		return "", fmt.Errorf("moto_server did not start: %w", err)
	}
	return url, nil
}

// WaitHTTP polls url until it answers any HTTP status or timeout passes.
func WaitHTTP(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not up after %s: %w", url, timeout, last)
}
