package dynamostore_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/storetest"
)

// loseAnswers delivers every request, but drops the answer of the first
// write (PutItem, UpdateItem, DeleteItem, TransactWriteItems) each time it is armed, as a network failure after the write
// would: the SDK then retries a write that has already landed.
type loseAnswers struct {
	armed atomic.Bool
	lost  atomic.Int32
}

func (l *loseAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && (strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutItem") || strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".TransactWriteItems") || strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".UpdateItem") || strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DeleteItem")) && l.armed.CompareAndSwap(true, false) {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		l.lost.Add(1)
		return nil, syscall.ECONNRESET
	}
	return resp, err
}

// TestRetriedWriteIsNotAConflict: a conditional put retried by the SDK after
// a lost answer finds its own item and succeeds, instead of answering
// "already exists" or "stale version" for a write that did happen.
func TestRetriedWriteIsNotAConflict(t *testing.T) {
	lose := &loseAnswers{}
	client := awstest.DynamoDB(t, func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: lose}
	})
	store := dynamostore.New(client, awstest.Table(t, awstest.DynamoDB(t)), []byte("k"))
	ctx := t.Context()

	steps := []struct {
		name string
		run  func() error
	}{
		{"create connection", func() error {
			return store.CreateConnection(ctx, storetest.Connection("org-1", "user-1", "slack", "conn-1"))
		}},
		{"update connection", func() error {
			c, err := store.GetConnection(ctx, "org-1", "conn-1")
			if err != nil {
				return err
			}
			c.Status = connectors.StatusRefreshFailed
			if err := store.UpdateConnection(ctx, c); err != nil {
				return err
			}
			if c.Version != 2 {
				return errors.New("version not bumped once")
			}
			return nil
		}},
		{"create state", func() error {
			now := time.Now()
			return store.CreateState(ctx, &connectors.OAuthState{Nonce: "n-1", OrganizationID: "org-1", UserID: "user-1", Connector: "slack", CreatedAt: now, ExpiresAt: now.Add(time.Minute)})
		}},
		{"consume state", func() error {
			st, err := store.ConsumeState(ctx, "n-1")
			if err == nil && st.UserID != "user-1" {
				return errors.New("another state")
			}
			return err
		}},
		{"begin idempotent", func() error {
			rec, err := store.BeginIdempotent(ctx, "key-1", "owner-1", time.Minute)
			if err == nil && rec.Owner != "owner-1" {
				return errors.New("claim is not ours")
			}
			return err
		}},
	}
	for _, s := range steps {
		lose.armed.Store(true)
		before := lose.lost.Load()
		if err := s.run(); err != nil {
			t.Errorf("%s after a lost answer: %v", s.name, err)
		}
		if lose.lost.Load() != before+1 {
			t.Errorf("%s: no answer was lost; the test proves nothing", s.name)
		}
	}
	// A spent state stays spent, for another consumer and for a read.
	if _, err := store.ConsumeState(ctx, "n-1"); !errors.Is(err, connectors.ErrInvalidState) {
		t.Errorf("second consume of n-1: %v, want invalid state", err)
	}
	if _, err := store.GetState(ctx, "n-1"); !errors.Is(err, connectors.ErrInvalidState) {
		t.Errorf("read of the spent n-1: %v, want invalid state", err)
	}
	// A real conflict is still one.
	if err := store.CreateConnection(ctx, storetest.Connection("org-1", "user-1", "slack", "conn-1")); !errors.Is(err, connectors.ErrConflict) {
		t.Errorf("second create of conn-1: %v, want conflict", err)
	}
}
