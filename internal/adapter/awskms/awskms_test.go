package awskms_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/automators/connectors/internal/adapter/awskms"
	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/loopback"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/storetest"
)

// callCounter counts the KMS operations that reach the wire, by their
// X-Amz-Target (TrentService.GenerateDataKey, TrentService.Decrypt).
type callCounter struct {
	mu    sync.Mutex
	calls map[string]int
	next  http.RoundTripper
}

func (c *callCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	c.mu.Lock()
	c.calls[op]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *callCounter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("%d GenerateDataKey, %d Decrypt", c.calls["GenerateDataKey"], c.calls["Decrypt"])
}

func (c *callCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.calls)
}

// newKMS returns a client counting its calls and the ARN of a fresh key.
func newKMS(t testing.TB) (*kms.Client, *callCounter, string) {
	t.Helper()
	key := awstest.KMSKey(t, awstest.KMS(t))
	counter := &callCounter{calls: map[string]int{}, next: http.DefaultTransport}
	client := awstest.KMS(t, func(o *kms.Options) { o.HTTPClient = &http.Client{Transport: counter} })
	return client, counter, key
}

func TestGenerateAndDecrypt(t *testing.T) {
	client, _, key := newKMS(t)
	w := awskms.New(client, key)
	plain, wrapped, err := w.GenerateDataKey(t.Context(), "o1")
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) != 32 || len(wrapped) == 0 || bytes.Contains(wrapped, plain) {
		t.Fatalf("plaintext %d bytes, wrapped %d bytes", len(plain), len(wrapped))
	}
	got, err := w.DecryptDataKey(t.Context(), "o1", wrapped)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("DecryptDataKey: %v", err)
	}
	if w.KeyName() != key {
		t.Fatalf("KeyName = %q, want %q", w.KeyName(), key)
	}
}

// TestErrorsAgainstKMS: real KMS refusals become domain errors.
func TestErrorsAgainstKMS(t *testing.T) {
	client, _, key := newKMS(t)
	_, wrapped, err := awskms.New(client, key).GenerateDataKey(t.Context(), "o1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"another organization's key", func() error {
			_, err := awskms.New(client, key).DecryptDataKey(t.Context(), "o2", wrapped)
			return err
		}, connectors.EInternal},
		{"tampered wrapped key", func() error {
			bad := bytes.Clone(wrapped)
			bad[len(bad)-1] ^= 1
			_, err := awskms.New(client, key).DecryptDataKey(t.Context(), "o1", bad)
			return err
		}, connectors.EInternal},
		{"unknown key", func() error {
			_, _, err := awskms.New(client, "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000").GenerateDataKey(t.Context(), "o1")
			return err
		}, connectors.ENotConfigured},
		{"unreachable KMS", func() error {
			port, err := loopback.FreePort()
			if err != nil {
				return err
			}
			dead := awstest.KMS(t, func(o *kms.Options) {
				o.BaseEndpoint = aws.String(fmt.Sprintf("http://127.0.0.1:%d", port))
				o.RetryMaxAttempts = 1
			})
			_, _, err = awskms.New(dead, key).GenerateDataKey(t.Context(), "o1")
			return err
		}, connectors.EUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got := connectors.ErrorCode(err); got != tt.want {
				t.Fatalf("err = %v (code %q), want code %q", err, got, tt.want)
			}
		})
	}
}

// fakeAPI answers every call with err.
type fakeAPI struct{ err error }

func (f fakeAPI) GenerateDataKey(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	return nil, f.err
}
func (f fakeAPI) Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	return nil, f.err
}

// TestErrorMapping covers the codes moto cannot be made to answer
// (throttling, a disabled key: moto still serves it).
func TestErrorMapping(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&smithy.GenericAPIError{Code: "ThrottlingException"}, connectors.EUnavailable},
		{&smithy.GenericAPIError{Code: "KMSInternalException"}, connectors.EUnavailable},
		{&smithy.GenericAPIError{Code: "KeyUnavailableException"}, connectors.EUnavailable},
		{&smithy.GenericAPIError{Code: "AccessDeniedException"}, connectors.ENotConfigured},
		{&smithy.GenericAPIError{Code: "KMSInvalidStateException"}, connectors.ENotConfigured},
		{&smithy.GenericAPIError{Code: "DisabledException"}, connectors.ENotConfigured}, // moto does not enforce a disabled key
		{&smithy.GenericAPIError{Code: "InvalidCiphertextException"}, connectors.EInternal},
		{&smithy.GenericAPIError{Code: "SomethingNew"}, connectors.EInternal},
		{errors.New("dial tcp: connection refused"), connectors.EUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			_, err := awskms.New(fakeAPI{tt.err}, "k").DecryptDataKey(t.Context(), "o1", []byte("w"))
			if got := connectors.ErrorCode(err); got != tt.want {
				t.Fatalf("code %q, want %q (%v)", got, tt.want, err)
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("the cause is lost: %v", err)
			}
		})
	}
	_, err := awskms.New(fakeAPI{context.Canceled}, "k").DecryptDataKey(t.Context(), "o1", []byte("w"))
	if !errors.Is(err, context.Canceled) || connectors.ErrorCode(err) != connectors.EInternal {
		t.Fatalf("a canceled call: %v", err)
	}
}

// TestKMSCallsPerColdStart counts real KMS calls of a container on DynamoDB
// and KMS (both moto): a cold container sealing for a new organization makes
// 1 GenerateDataKey; after a restart, opening makes 1 Decrypt; a warm
// container makes none.
func TestKMSCallsPerColdStart(t *testing.T) {
	client, counter, key := newKMS(t)
	ddb := awstest.DynamoDB(t)
	store := dynamostore.New(ddb, awstest.Table(t, ddb), []byte("cursor"))
	container := func() *seal.Keyring { return seal.NewKeyring(store, awskms.New(client, key), seal.KeyringOptions{}) }
	aad := seal.AAD("o1", "c1")

	first := container()
	var values [][]byte
	for i := range 20 {
		v, err := first.SealFor(t.Context(), "o1", seal.PurposeToken, aad, []byte(fmt.Sprint("token-", i)))
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	for _, v := range values {
		if _, err := first.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, v); err != nil {
			t.Fatal(err)
		}
	}
	if got := counter.String(); got != "1 GenerateDataKey, 0 Decrypt" {
		t.Fatalf("cold container, 20 seals and opens: %s; want 1 GenerateDataKey, 0 Decrypt", got)
	}
	t.Logf("cold container sealing for a new organization: %s", counter)

	counter.reset()
	restarted := container()
	for _, v := range values {
		if _, err := restarted.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := restarted.SealFor(t.Context(), "o1", seal.PurposeToken, aad, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := counter.String(); got != "0 GenerateDataKey, 1 Decrypt" {
		t.Fatalf("restarted container, 20 opens and a seal: %s; want 0 GenerateDataKey, 1 Decrypt", got)
	}
	t.Logf("restarted container opening and sealing: %s", counter)
}

// TestCryptoShreddingWithKMS: with KMS-wrapped keys in DynamoDB, deleting
// the organization's data keys leaves its values unreadable.
func TestCryptoShreddingWithKMS(t *testing.T) {
	client, _, key := newKMS(t)
	ddb := awstest.DynamoDB(t)
	store := dynamostore.New(ddb, awstest.Table(t, ddb), []byte("cursor"))
	k := seal.NewKeyring(store, awskms.New(client, key), seal.KeyringOptions{})
	aad := seal.AAD("o1", "c1")
	v, err := k.SealFor(t.Context(), "o1", seal.PurposeToken, aad, []byte("token"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := store.DeleteDataKeys(t.Context(), "o1"); err != nil || n != 1 {
		t.Fatalf("DeleteDataKeys = %d, %v", n, err)
	}
	cold := seal.NewKeyring(store, awskms.New(client, key), seal.KeyringOptions{})
	if _, err := cold.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, v); !errors.Is(err, seal.ErrUnknownKey) {
		t.Fatalf("a shredded value: %v, want ErrUnknownKey", err)
	}
}

var benchPlain = bytes.Repeat([]byte("t"), 512)

// BenchmarkColdDataKey is the cost of a cold data key: each iteration is a
// new container opening a value, one KMS Decrypt over loopback (moto) and
// one in-memory store read.
func BenchmarkColdDataKey(b *testing.B) {
	client, counter, key := newKMS(b)
	store := &storetest.MemDataKeys{}
	aad := seal.AAD("o1", "c1")
	v, err := seal.NewKeyring(store, awskms.New(client, key), seal.KeyringOptions{}).SealFor(b.Context(), "o1", seal.PurposeToken, aad, benchPlain)
	if err != nil {
		b.Fatal(err)
	}
	counter.reset()
	b.ReportAllocs()
	for b.Loop() {
		k := seal.NewKeyring(store, awskms.New(client, key), seal.KeyringOptions{})
		if _, err := k.OpenFor(b.Context(), "o1", seal.PurposeToken, aad, v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(counter.calls["Decrypt"])/float64(b.N), "kms-calls/op")
}

// BenchmarkNewOrganizationDataKey is the cost of an organization's first
// seal: one KMS GenerateDataKey and one conditional store write.
func BenchmarkNewOrganizationDataKey(b *testing.B) {
	client, _, key := newKMS(b)
	store := &storetest.MemDataKeys{}
	k := seal.NewKeyring(store, awskms.New(client, key), seal.KeyringOptions{})
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		org := fmt.Sprint("org-", i)
		if _, err := k.SealFor(b.Context(), org, seal.PurposeToken, seal.AAD(org, "c1"), benchPlain); err != nil {
			b.Fatal(err)
		}
	}
}
