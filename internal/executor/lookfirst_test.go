package executor_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
)

// claims counts the idempotency writes a store is asked for.
type claims struct {
	connectors.Store
	begins, releases atomic.Int32
}

func (c *claims) BeginIdempotent(ctx context.Context, key, owner string, lease time.Duration) (*connectors.IdempotencyRecord, error) {
	c.begins.Add(1)
	return c.Store.BeginIdempotent(ctx, key, owner, lease)
}

func (c *claims) ReleaseIdempotent(ctx context.Context, key, owner string) error {
	c.releases.Add(1)
	return c.Store.ReleaseIdempotent(ctx, key, owner)
}

// TestExecuteLooksBeforeItClaims: a node with no connection to run with
// claims no idempotency key; a node that ran before its connection was
// deleted still answers its recorded result.
func TestExecuteLooksBeforeItClaims(t *testing.T) {
	e := newEnv(t, envOptions{})
	counted := &claims{Store: e.store}
	e.exec.Store = counted
	ctx := t.Context()

	_, err := e.exec.Execute(ctx, in("acme", "nobody", "integration.slack.send_message", slackParams()))
	if got := errName(t, err).Name; got != "Connectors.ConnectionNotFound" {
		t.Fatalf("no connection: %s", got)
	}
	if b, r := counted.begins.Load(), counted.releases.Load(); b != 0 || r != 0 {
		t.Fatalf("a node without a connection made %d claims and %d releases, want none", b, r)
	}

	id := e.nangoConn("acme", "u1", "slack")
	node := in("acme", "u1", "integration.slack.send_message", slackParams())
	first, err := e.exec.Execute(ctx, node)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeleteConnection(ctx, "acme", id); err != nil {
		t.Fatal(err)
	}
	again, err := e.exec.Execute(ctx, node)
	if err != nil || mustJSON(t, again) != mustJSON(t, first) {
		t.Fatalf("replay after the connection went away: %+v, %v; want the recorded %+v", again, err, first)
	}
	if n := e.slack.count(); n != 1 {
		t.Errorf("Slack got %d messages, want 1", n)
	}
}
