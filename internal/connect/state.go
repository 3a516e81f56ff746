package connect

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/automators/connectors/internal/connectors"
)

// stateClaims is what the signed state string carries. The store keeps the
// same facts; the signature lets a forged or edited state be refused before
// any store or Nango call, and the store makes it single use.
type stateClaims struct {
	Nonce     string `json:"n"`
	OrgID     string `json:"o"`
	UserID    string `json:"u"`
	Connector string `json:"c"`
	Expires   int64  `json:"e"`
}

// maxStateLen bounds the work spent on a hostile state parameter.
const maxStateLen = 2048

// signState encodes claims as base64url(JSON) "." base64url(HMAC-SHA256).
func signState(key []byte, c stateClaims) string {
	payload, _ := json.Marshal(c) // plain strings and an int: cannot fail
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(stateMAC(key, p))
}

func stateMAC(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("automators-connectors/state/v1\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// verifyState checks the signature and expiry of a state string and returns
// its claims. Every failure is the same invalid_state error: a caller learns
// nothing about why.
func verifyState(key []byte, state string, now time.Time) (stateClaims, error) {
	bad := connectors.Errorf(connectors.EInvalidState, "the state is invalid, expired or already used")
	if state == "" || len(state) > maxStateLen {
		return stateClaims{}, bad
	}
	p, sig, ok := strings.Cut(state, ".")
	if !ok {
		return stateClaims{}, bad
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, stateMAC(key, p)) {
		return stateClaims{}, bad
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return stateClaims{}, bad
	}
	var c stateClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Nonce == "" {
		return stateClaims{}, bad
	}
	if now.Unix() >= c.Expires {
		return stateClaims{}, bad
	}
	return c, nil
}
