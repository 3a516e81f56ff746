package dynamostore_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/storetest"
)

func newStore(t *testing.T) connectors.Store {
	client := awstest.DynamoDB(t)
	return dynamostore.New(client, awstest.Table(t, client), []byte("test cursor key"))
}

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore)
}

func TestEnsureTableIsIdempotent(t *testing.T) {
	client := awstest.DynamoDB(t)
	name := awstest.Table(t, client)
	if err := dynamostore.EnsureTable(t.Context(), client, name); err != nil {
		t.Fatalf("second EnsureTable: %v", err)
	}
	ttl, err := client.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err == nil && ttl.TimeToLiveDescription != nil && ttl.TimeToLiveDescription.TimeToLiveStatus == types.TimeToLiveStatusDisabled {
		// Some emulators describe TTL but cannot enable it; EnsureTable
		// tolerates exactly that, so the test does too.
		_, err = client.UpdateTimeToLive(t.Context(), &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(dynamostore.AttrTTL), Enabled: aws.Bool(true)},
		})
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "UnknownOperationException" {
		t.Log("this emulator has no TTL API; TTL not checked")
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != dynamostore.AttrTTL ||
		(d.TimeToLiveStatus != types.TimeToLiveStatusEnabled && d.TimeToLiveStatus != types.TimeToLiveStatusEnabling) {
		t.Fatalf("TTL = %+v, want enabled on %s", ttl.TimeToLiveDescription, dynamostore.AttrTTL)
	}
}

// scanAll returns every raw item of the table.
func scanAll(t *testing.T, client *dynamodb.Client, table string) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(table)})
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, out.Items...)
	}
	return items
}

func TestRawItemsHoldNoPlaintextToken(t *testing.T) {
	client := awstest.DynamoDB(t)
	table := awstest.Table(t, client)
	s := dynamostore.New(client, table, []byte("k"))
	f := storetest.NewSealedConnection(t, "o1", "c1")
	if err := s.CreateConnection(t.Context(), f.Conn); err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	for _, item := range scanAll(t, client, table) {
		// Every attribute, binary ones as their raw bytes.
		for name, v := range item {
			fmt.Fprintf(&raw, "%s=", name)
			switch v := v.(type) {
			case *types.AttributeValueMemberB:
				raw.Write(v.Value)
			case *types.AttributeValueMemberS:
				raw.WriteString(v.Value)
			default:
				fmt.Fprintf(&raw, "%v", v)
			}
			raw.WriteByte('\n')
		}
	}
	storetest.CheckSealed(t, s, f, raw.Bytes())
}

func TestItemLayout(t *testing.T) {
	client := awstest.DynamoDB(t)
	table := awstest.Table(t, client)
	s := dynamostore.New(client, table, []byte("k"))
	ctx := t.Context()
	c := storetest.Connection("o1", "u1", "slack", "c1")
	if err := s.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateState(ctx, &connectors.OAuthState{Nonce: "n1", OrganizationID: "o1", UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginIdempotent(ctx, "k1", "w1", time.Minute); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := s.AppendAudit(ctx, connectors.AuditEvent{ID: "e1", OrganizationID: "o1", Time: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.AcquireLease(ctx, "l1", "w1", time.Minute); err != nil {
		t.Fatal(err)
	}
	// A labelled connection shared with its organization, with a check due.
	checked := storetest.Connection("o1", "u2", "stripe", "c2")
	checked.Label, checked.Shared = "Stripe live key", true
	checked.CheckAt = time.Date(2025, 6, 2, 8, 30, 0, 500, time.FixedZone("CET", 3600))
	if err := s.CreateConnection(ctx, checked); err != nil {
		t.Fatal(err)
	}

	type row struct {
		PK, SK, GSI1PK, GSI1SK string
		ExpiresAtEpoch         int64 `dynamodbav:"expiresAtEpoch"`
	}
	got := map[string]row{}
	raw := map[string]map[string]types.AttributeValue{}
	for _, item := range scanAll(t, client, table) {
		var r row
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			t.Fatal(err)
		}
		got[r.PK+" "+r.SK] = r
		raw[r.PK+" "+r.SK] = item
	}
	now := time.Now().Unix()
	tests := []struct {
		pk, sk       string
		gsiPK, gsiSK string
		ttlMin       int64 // 0: no TTL attribute allowed
		ttlMax       int64
	}{
		{"ORG#o1", "CONN#c1", "USER#o1#u1", "CONN#slack#c1", 0, 0},
		{"ORG#o1", "CONN#c2", "USER#o1#u2", "CONN#stripe#c2", 0, 0},
		// The owner lives as long as its connection: no TTL either.
		{"OWNER#nango#slack-prod#c1", "OWNER", "", "", 0, 0},
		{"OWNER#nango#stripe-prod#c2", "OWNER", "", "", 0, 0},
		{"STATE#n1", "STATE", "", "", now + 9*60, now + 11*60},
		{"IDEMP#k1", "IDEMP", "", "", now + 86400 - 60, now + 86400 + 60},
		{"AUDIT#o1", "2025-06-01T12:00:00.000000000Z#e1", "", "", at.Unix() + 90*86400, at.Unix() + 90*86400},
		{"LEASE#l1", "LEASE", "", "", now + 59, now + 61},
	}
	if len(got) != len(tests) {
		t.Errorf("table has %d items, want %d: %v", len(got), len(tests), got)
	}
	for _, tt := range tests {
		r, ok := got[tt.pk+" "+tt.sk]
		if !ok {
			t.Errorf("no item %s / %s", tt.pk, tt.sk)
			continue
		}
		if r.GSI1PK != tt.gsiPK || r.GSI1SK != tt.gsiSK {
			t.Errorf("%s: GSI1 = %q/%q, want %q/%q", tt.pk, r.GSI1PK, r.GSI1SK, tt.gsiPK, tt.gsiSK)
		}
		if r.ExpiresAtEpoch < tt.ttlMin || r.ExpiresAtEpoch > tt.ttlMax {
			t.Errorf("%s: %s = %d, want in [%d, %d]", tt.pk, dynamostore.AttrTTL, r.ExpiresAtEpoch, tt.ttlMin, tt.ttlMax)
		}
	}

	// The optional connection attributes: present as these types and
	// values when set, absent when empty (no label, not shared, no check).
	optional := []string{"label", "shared", "checkAt"}
	for _, name := range optional {
		if v, ok := raw["ORG#o1 CONN#c1"][name]; ok {
			t.Errorf("unlabelled, unshared connection has attribute %s = %#v", name, v)
		}
	}
	want := map[string]types.AttributeValue{
		"label":   &types.AttributeValueMemberS{Value: "Stripe live key"},
		"shared":  &types.AttributeValueMemberBOOL{Value: true},
		"checkAt": &types.AttributeValueMemberS{Value: "2025-06-02T07:30:00.000000500Z"}, // UTC, fixed width, like expiresAt
	}
	for _, name := range optional {
		if got := raw["ORG#o1 CONN#c2"][name]; !reflect.DeepEqual(got, want[name]) {
			t.Errorf("connection attribute %s = %#v, want %#v", name, got, want[name])
		}
	}
}

func TestNewPanicsOnEmptyCursorKey(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New accepted an empty cursor key")
		}
	}()
	dynamostore.New(nil, "t", nil)
}
