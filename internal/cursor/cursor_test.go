package cursor

import (
	"bytes"
	"testing"

	"github.com/automators/connectors/internal/connectors"
)

func TestRoundTripAndScope(t *testing.T) {
	c := Codec{Key: []byte("k")}
	scope := []string{"list", "org1", "user1"}
	cur := c.Seal(scope, []byte("PK#1"))
	got, err := c.Open(scope, cur)
	if err != nil || string(got) != "PK#1" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	for name, tc := range map[string]struct {
		codec Codec
		scope []string
		cur   string
	}{
		"other org":          {c, []string{"list", "org2", "user1"}, cur},
		"shifted boundaries": {c, []string{"list", "org1u", "ser1"}, cur},
		"other key":          {Codec{Key: []byte("k2")}, scope, cur},
		"edited":             {c, scope, cur[:len(cur)-1] + "A"},
		"garbage":            {c, scope, "!!"},
		"too short":          {c, scope, "AAAA"},
	} {
		if _, err := tc.codec.Open(tc.scope, tc.cur); connectors.ErrorCode(err) != connectors.EInvalid {
			t.Errorf("%s: err = %v, want invalid_request", name, err)
		}
	}
	if c.Seal(scope, nil) != "" {
		t.Error("an empty position must seal to the empty cursor")
	}
	if got, err := c.Open(scope, ""); got != nil || err != nil {
		t.Errorf("Open(\"\") = %q, %v", got, err)
	}
}

// FuzzOpen feeds arbitrary cursors: no panic, and only sealed payloads open.
func FuzzOpen(f *testing.F) {
	c := Codec{Key: []byte("fuzz-key")}
	scope := []string{"list", "o", "u"}
	f.Add(c.Seal(scope, []byte(`{"PK":"ORG#o","SK":"CONN#1"}`)))
	f.Add("")
	f.Add("AAAA")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, cur string) {
		payload, err := c.Open(scope, cur)
		if err != nil {
			if connectors.ErrorCode(err) != connectors.EInvalid {
				t.Fatalf("error code %q, want invalid_request", connectors.ErrorCode(err))
			}
			return
		}
		if cur != "" && len(payload) == 0 {
			t.Fatal("accepted a cursor with no payload")
		}
		if cur != "" {
			if _, err := c.Open([]string{"list", "o", "other"}, cur); err == nil {
				t.Fatal("a cursor opened under another scope")
			}
			again, err := c.Open(scope, c.Seal(scope, payload))
			if err != nil || !bytes.Equal(again, payload) {
				t.Fatal("re-sealed payload does not round-trip")
			}
		}
	})
}
