package connect

import (
	"testing"
	"time"
)

// FuzzVerifyState feeds arbitrary state strings to the verifier: it must
// never panic, and it may only accept what signState made with the key.
func FuzzVerifyState(f *testing.F) {
	key := []byte("fuzz-state-key-0123456789abcdef0123")
	now := time.Unix(1_800_000_000, 0)
	good := signState(key, stateClaims{Nonce: "n1", OrgID: "o1", UserID: "u1", Connector: "slack", Expires: now.Add(time.Minute).Unix()})
	f.Add(good)
	f.Add("")
	f.Add(".")
	f.Add("e30.AAAA")
	f.Add(good + "x")
	f.Fuzz(func(t *testing.T, state string) {
		c, err := verifyState(key, state, now)
		if err != nil {
			return
		}
		if c.Nonce == "" || c.Expires <= now.Unix() {
			t.Fatalf("accepted a state without nonce or expired: %+v", c)
		}
		// Anything accepted must verify again after re-signing its claims:
		// the signature covers exactly what was decoded.
		if _, err := verifyState(key, signState(key, c), now); err != nil {
			t.Fatalf("re-signed accepted claims do not verify: %v", err)
		}
		if _, err := verifyState([]byte("another-key-0123456789abcdef012345"), state, now); err == nil {
			t.Fatal("a state verified under two keys")
		}
	})
}
