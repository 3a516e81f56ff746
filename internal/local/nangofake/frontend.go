package nangofake

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// This file is the part of Nango that @nangohq/frontend talks to, as read in
// that package's source (0.71.10):
//
//   - openConnectUI({baseURL, apiURL}) mounts an iframe at baseURL (path
//     ending in "/", ?apiURL=...). The page posts {type:"ready"} to its
//     parent, receives {type:"session_token", sessionToken}, and reports
//     {type:"connect", payload:{providerConfigKey, connectionId}},
//     {type:"error", payload:{errorType, errorMessage}} and {type:"close"}.
//     The SDK only listens to messages from baseURL's origin. The fake
//     serves that page at "/" (GET without Upgrade).
//   - auth(providerConfigKey) opens a popup, opens a WebSocket on the host
//     ("/"), waits for {message_type:"connection_ack", ws_client_id}, then
//     points the popup at /oauth/connect/{key}?connect_session_token=...
//     &ws_client_id=...; the result comes back on the WebSocket as
//     {message_type:"success", provider_config_key, connection_id,
//     is_pending} or {message_type:"error", error_type, error_desc}.

// wsGUID is the WebSocket handshake's fixed GUID (RFC 6455 §1.3).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// wsClient is one SDK auth() waiting for its result.
type wsClient struct {
	conn net.Conn
	mu   sync.Mutex // one frame at a time
	done chan struct{}
}

// isWebSocket reports whether r asks to upgrade to a WebSocket.
func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") && r.Header.Get("Sec-WebSocket-Key") != ""
}

// serveWebSocket accepts the SDK's WebSocket and acknowledges it with a
// client id. The connection stays open until the connect URL of that id
// reports, the client goes away, or the session lifetime passes. Only the
// server's side of RFC 6455 that the SDK uses is implemented: unmasked text
// frames out, frames in read and dropped.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "websocket: cannot hijack", http.StatusInternalServerError)
		return
	}
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + wsGUID))
	conn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	// Frames go to the connection itself, not through the hijacked
	// bufio.Writer: under load its Flush reported short writes, and the
	// result of a connect flow was lost.
	c := &wsClient{conn: conn, done: make(chan struct{})}
	if _, err := fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:])); err != nil {
		conn.Close()
		return
	}
	id := "ws_" + randomHex(12)
	s.mu.Lock()
	if s.wsClients == nil {
		s.wsClients = map[string]*wsClient{}
	}
	s.wsClients[id] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.wsClients, id)
		s.mu.Unlock()
		conn.Close()
	}()
	if c.send(map[string]any{"message_type": "connection_ack", "ws_client_id": id}) != nil {
		return
	}
	gone := make(chan struct{})
	go func() { // drain the client's frames; EOF means it closed
		defer close(gone)
		buf := make([]byte, 512)
		for {
			if _, err := rw.Read(buf); err != nil {
				return
			}
		}
	}()
	select {
	case <-c.done:
		// RFC 6455 §7.1.1: after its closing frame the server waits for
		// the client to close, so no unread byte turns the close into a
		// reset that would lose the result.
		select {
		case <-gone:
		case <-time.After(2 * time.Second):
		}
	case <-gone:
	case <-time.After(SessionTTL):
	}
}

// send writes v as one text frame.
func (c *wsClient) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	hdr := []byte{0x81}
	switch n := len(b); {
	case n < 126:
		hdr = append(hdr, byte(n))
	case n < 1<<16:
		hdr = append(hdr, 126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err = c.conn.Write(append(hdr, b...))
	return err
}

// notifyWebSocket sends the result of a connect URL to the SDK waiting on
// wsClientID, if any, and ends that WebSocket (closing frame).
func (s *Server) notifyWebSocket(wsClientID string, msg map[string]any) {
	if wsClientID == "" {
		return
	}
	s.mu.Lock()
	c := s.wsClients[wsClientID]
	delete(s.wsClients, wsClientID)
	s.mu.Unlock()
	if c == nil {
		return
	}
	_ = c.send(msg)
	c.mu.Lock()
	_, _ = c.conn.Write([]byte{0x88, 0})
	c.mu.Unlock()
	close(c.done)
}

// connectUI serves the sandbox's Connect UI, the page openConnectUI mounts.
// It completes the session's connection at once (the sandbox has no
// provider to sign in to) and reports it to the SDK, then closes.
func (s *Server) connectUI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, connectUIPage)
}

// connectUIPage: the script asks the fake to complete the session through
// the same connect URL as auth() (JSON), so both paths share one code path.
const connectUIPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Nango sandbox: Connect</title>
<style>body{font:16px system-ui,sans-serif;background:rgba(0,0,0,.4);margin:0}
main{background:#fff;max-width:420px;margin:10vh auto;padding:24px;border-radius:12px}</style></head>
<body><main><h1>Nango sandbox</h1><p id="status">Waiting for the session token…</p>
<button id="close" type="button">Close</button></main>
<script>
const params = new URLSearchParams(location.search);
const apiURL = (params.get('apiURL') || location.origin).replace(/\/+$/, '');
const status = document.getElementById('status');
const post = (msg) => window.parent.postMessage(msg, '*');
document.getElementById('close').onclick = () => post({ type: 'close' });
let started = false;
window.addEventListener('message', async (event) => {
  if (!event.data || event.data.type !== 'session_token' || started) return;
  started = true;
  const token = event.data.sessionToken;
  try {
    const session = await (await fetch(apiURL + '/connect/session', { headers: { Authorization: 'Bearer ' + token } })).json();
    if (!session.data) throw Object.assign(new Error(session.error?.message || 'invalid session'), { code: session.error?.code });
    const key = (session.data.allowed_integrations || [])[0];
    if (!key) throw Object.assign(new Error('the session allows no integration'), { code: 'missing_integration' });
    status.textContent = 'Connecting ' + key + '…';
    const res = await fetch(apiURL + '/oauth/connect/' + encodeURIComponent(key) + '?connect_session_token=' + encodeURIComponent(token), { headers: { Accept: 'application/json' } });
    const body = await res.json();
    if (!res.ok) throw Object.assign(new Error(body.error?.message || 'connect failed'), { code: body.error?.code });
    status.textContent = 'Connected ' + key + ' (' + body.connectionId + ')';
    post({ type: 'connect', payload: { providerConfigKey: body.providerConfigKey, connectionId: body.connectionId, isPending: false } });
  } catch (err) {
    status.textContent = 'Failed: ' + err.message;
    post({ type: 'error', payload: { errorType: err.code || 'unknown_error', errorMessage: err.message } });
  }
});
post({ type: 'ready' });
</script></body></html>
`

// getConnectSession answers GET /connect/session, authenticated by the
// connect session token itself (as Nango's Connect UI calls it).
func (s *Server) getConnectSession(w http.ResponseWriter, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[token]
	if ss == nil || ss.used || !s.opts.Now().Before(ss.expires) {
		writeError(w, http.StatusUnauthorized, "invalid_connect_session_token", "Invalid connect session token", nil)
		return
	}
	allowed := ss.allowed
	if len(allowed) == 0 {
		allowed = s.order
	}
	data := map[string]any{"allowed_integrations": allowed, "tags": ss.tags, "connect_session_id": 0}
	if ss.reconnectID != "" {
		data["is_reconnecting"] = true
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

// connectedPage is the HTML answer of the connect URL in a browser. In a
// popup (auth()), it tells the opener and closes, as Nango's callback page
// does; the SDK itself learns the result on its WebSocket.
func connectedPage(w http.ResponseWriter, id, key, errMsg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	title, body := "Connected", fmt.Sprintf("Sandbox connection <code>%s</code> to <code>%s</code> is ready. You can close this page.",
		html.EscapeString(id), html.EscapeString(key))
	event := "AUTHORIZATION_SUCEEDED" // sic: Nango's spelling
	if errMsg != "" {
		title, body, event = "Not connected", html.EscapeString(errMsg), "AUTHORIZATION_FAILED"
	}
	msg, _ := json.Marshal(map[string]any{"eventType": event, "data": map[string]string{"connectionId": id, "providerConfigKey": key, "error": errMsg}})
	fmt.Fprintf(w, "<!doctype html><html><head><meta charset=\"utf-8\"><title>%s</title></head><body><h1>%s</h1><p>%s</p>"+
		"<script>if (window.opener) { try { window.opener.postMessage(%s, '*'); } catch (e) {} setTimeout(() => window.close(), 300); }</script></body></html>\n",
		title, title, body, msg)
}

// returnURL is where a connect URL opened in the browser itself (no popup,
// no Connect UI) sends the user back: its return_to, when it starts with
// one of Options.ReturnURLPrefixes, with connection_id and
// provider_config_key added. "" when there is none.
func (s *Server) returnURL(r *http.Request, id, key string) string {
	raw := r.URL.Query().Get("return_to")
	if raw == "" {
		return ""
	}
	ok := false
	for _, p := range s.opts.ReturnURLPrefixes {
		if p != "" && strings.HasPrefix(raw, p) {
			ok = true
		}
	}
	u, err := url.Parse(raw)
	if !ok || err != nil {
		return ""
	}
	q := u.Query()
	q.Set("connection_id", id)
	q.Set("provider_config_key", key)
	u.RawQuery = q.Encode()
	return u.String()
}
