// Package loopback hands out loopback TCP ports: the emulator, moto and the
// local fakes of the tests and of make invoke all take theirs here.
package loopback

import (
	"fmt"
	"net"
)

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
