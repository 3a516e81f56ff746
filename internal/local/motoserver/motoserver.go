// Package motoserver builds the command that runs moto_server, the AWS
// emulator of the tests and of make invoke, on a loopback port.
//
// It serves one request at a time. moto's TransactWriteItems snapshots the
// table before it starts and restores that snapshot when a condition fails,
// which, with concurrent requests, wipes out the writes that landed in
// between; DynamoDB itself is atomic. Serving requests one by one makes the
// emulator as atomic as the service it stands for.
package motoserver

import (
	"fmt"
	"os/exec"
)

// script runs moto's own entry point with werkzeug's threading turned off.
const script = `import moto.server as s
run = s.run_simple
s.run_simple = lambda *a, **k: run(*a, **dict(k, threaded=False))
s.main()`

// Command returns the command that serves moto on 127.0.0.1:port, with
// the Python that has moto installed (python3, as `pip install
// 'moto[server]'` puts it).
func Command(port int) (*exec.Cmd, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, fmt.Errorf("python3 not found on PATH: %w", err)
	}
	if err := exec.Command(py, "-c", "import moto.server").Run(); err != nil {
		return nil, fmt.Errorf("moto is not installed for %s (pip install 'moto[server]'): %w", py, err)
	}
	return exec.Command(py, "-c", script, "-H", "127.0.0.1", "-p", fmt.Sprint(port)), nil
}
