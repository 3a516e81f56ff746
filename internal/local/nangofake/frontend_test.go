package nangofake_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/local/nangofake"
)

// readFrame reads one unmasked server frame (the fake sends short ones).
func readFrame(t *testing.T, br *bufio.Reader, what string) (byte, []byte) {
	t.Helper()
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil {
		t.Fatalf("%s: frame header: %v", what, err)
	}
	n := int(hdr[1] & 0x7f)
	if n == 126 {
		ext := make([]byte, 2)
		io.ReadFull(br, ext)
		n = int(ext[0])<<8 | int(ext[1])
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		t.Fatalf("%s: frame body: %v", what, err)
	}
	return hdr[0] & 0x0f, b
}

// TestSDKAuthWebSocket plays @nangohq/frontend's auth(): WebSocket on "/",
// connection_ack with a client id, the popup on the connect URL with that
// id, the result on the WebSocket.
func TestSDKAuthWebSocket(t *testing.T) {
	tests := []struct {
		name, integration, wantType string
	}{
		{"success", "slack", "success"},
		{"integration not allowed", "asana", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nangofake.Options{})
			_, _, m := h.do(t, "POST", "/connect/sessions", "Bearer "+key, `{"allowed_integrations":["slack"]}`)
			tok := m["data"].(map[string]any)["token"].(string)
			conn, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
				t.Fatalf("handshake: %v %v", resp, err)
			}
			_, b := readFrame(t, br, "ack")
			var ack map[string]string
			if json.Unmarshal(b, &ack) != nil || ack["message_type"] != "connection_ack" || ack["ws_client_id"] == "" {
				t.Fatalf("ack: %s", b)
			}
			popup := h.fake.ConnectURL(tt.integration, tok) + "&ws_client_id=" + url.QueryEscape(ack["ws_client_id"])
			req, _ := http.NewRequest("GET", popup, nil)
			req.Header.Set("Accept", "text/html")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			_, b = readFrame(t, br, "result")
			var msg map[string]any
			if json.Unmarshal(b, &msg) != nil || msg["message_type"] != tt.wantType {
				t.Fatalf("result: %s", b)
			}
			if tt.wantType == "success" && (msg["connection_id"] == "" || msg["provider_config_key"] != "slack") {
				t.Errorf("success without the connection: %s", b)
			}
			if op, _ := readFrame(t, br, "close"); op != 0x8 {
				t.Errorf("opcode %x after the result, want a close frame", op)
			}
		})
	}
}

func TestConnectURLReturnTo(t *testing.T) {
	tests := []struct {
		name, returnTo, wantLocation string
	}{
		{"allowed", "http://127.0.0.1:3000/cb?state=s1", "http://127.0.0.1:3000/cb?connection_id="},
		{"not allowed: no redirect", "https://evil.example/cb", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nangofake.Options{ReturnURLPrefixes: []string{"http://127.0.0.1:3000/"}})
			_, _, m := h.do(t, "POST", "/connect/sessions", "Bearer "+key, `{"allowed_integrations":["slack"]}`)
			tok := m["data"].(map[string]any)["token"].(string)
			req, _ := http.NewRequest("GET", h.fake.ConnectURL("slack", tok)+"&return_to="+url.QueryEscape(tt.returnTo), nil)
			req.Header.Set("Accept", "text/html")
			res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			loc := res.Header.Get("Location")
			if tt.wantLocation == "" {
				if res.StatusCode != 200 || loc != "" {
					t.Errorf("%d to %q, want the sandbox page", res.StatusCode, loc)
				}
				return
			}
			if res.StatusCode != 302 || !strings.HasPrefix(loc, tt.wantLocation) || !strings.Contains(loc, "state=s1") {
				t.Errorf("%d to %q", res.StatusCode, loc)
			}
		})
	}
}
