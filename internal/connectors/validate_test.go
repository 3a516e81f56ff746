package connectors_test

import (
	"strings"
	"testing"

	"github.com/automators/connectors/internal/connectors"
)

func TestValidate(t *testing.T) {
	conn := func(mutate func(c *connectors.Connection)) *connectors.Connection {
		c := &connectors.Connection{
			ID: "c1", OrganizationID: "o1", UserID: "u1", Connector: "slack",
			AuthProvider: connectors.ProviderNango, ProviderConfigKey: "slack", Status: connectors.StatusActive,
		}
		mutate(c)
		return c
	}
	key := func(mutate func(k *connectors.DataKey)) *connectors.DataKey {
		k := &connectors.DataKey{OrganizationID: "o1", ID: connectors.DataKeyID(1), Wrapped: []byte("w")}
		mutate(k)
		return k
	}
	for _, tt := range []struct {
		name string
		v    interface{ Validate() error }
		ok   bool
	}{
		{"connection", conn(func(*connectors.Connection) {}), true},
		{"connection with '#' in ids", conn(func(c *connectors.Connection) { c.ID, c.UserID = "a#b", "u#1" }), true},
		{"connection without id", conn(func(c *connectors.Connection) { c.ID = "" }), false},
		{"connection without organization", conn(func(c *connectors.Connection) { c.OrganizationID = "" }), false},
		{"connection without user", conn(func(c *connectors.Connection) { c.UserID = "" }), false},
		{"connection without connector", conn(func(c *connectors.Connection) { c.Connector = "" }), false},
		{"connection without status", conn(func(c *connectors.Connection) { c.Status = "" }), false},
		{"connection with unknown status", conn(func(c *connectors.Connection) { c.Status = "bogus" }), false},
		{"connection id with NUL", conn(func(c *connectors.Connection) { c.ID = "c\x001" }), false},
		{"organization with NUL", conn(func(c *connectors.Connection) { c.OrganizationID = "o\x00" }), false},
		{"user with NUL", conn(func(c *connectors.Connection) { c.UserID = "\x00u" }), false},
		{"connector with NUL", conn(func(c *connectors.Connection) { c.Connector = "sl\x00ack" }), false},
		{"auth provider with NUL", conn(func(c *connectors.Connection) { c.AuthProvider = "nango\x00" }), false},
		{"config key with NUL", conn(func(c *connectors.Connection) { c.ProviderConfigKey = "k\x00" }), false},

		{"state", &connectors.OAuthState{Nonce: "n"}, true},
		{"state without nonce", &connectors.OAuthState{OrganizationID: "o1"}, false},

		{"audit event", &connectors.AuditEvent{OrganizationID: "o1"}, true},
		{"audit event without organization", &connectors.AuditEvent{Action: "delete"}, false},
		{"audit event organization with NUL", &connectors.AuditEvent{OrganizationID: "o\x001"}, false},

		{"data key", key(func(*connectors.DataKey) {}), true},
		{"data key without organization", key(func(k *connectors.DataKey) { k.OrganizationID = "" }), false},
		{"data key without id", key(func(k *connectors.DataKey) { k.ID = "" }), false},
		{"data key without wrapped bytes", key(func(k *connectors.DataKey) { k.Wrapped = nil }), false},
		{"data key organization with NUL", key(func(k *connectors.DataKey) { k.OrganizationID = "o\x00" }), false},
		{"data key id with NUL", key(func(k *connectors.DataKey) { k.ID = "0\x00" }), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.v.Validate()
			switch {
			case tt.ok && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case !tt.ok && connectors.ErrorCode(err) != connectors.EInvalid:
				t.Fatalf("Validate() = %v, want an %s error", err, connectors.EInvalid)
			}
		})
	}
}

// TestValidateMessagesHoldNoValues: a refused record's message is shown to
// callers, so it names the fault and never echoes a nonce or key bytes.
func TestValidateMessagesHoldNoValues(t *testing.T) {
	for _, v := range []interface{ Validate() error }{
		&connectors.Connection{ID: "secret\x00", OrganizationID: "o1", UserID: "u1", Connector: "slack", Status: connectors.StatusActive},
		&connectors.DataKey{OrganizationID: "o1", ID: "secret\x00", Wrapped: []byte("secret")},
		&connectors.AuditEvent{OrganizationID: "secret\x00"},
	} {
		if msg := connectors.ErrorMessage(v.Validate()); msg == "" || strings.Contains(msg, "secret") {
			t.Errorf("message %q: want a fault without the value", msg)
		}
	}
}
