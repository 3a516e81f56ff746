package dynamostore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/storetest"
)

func TestExecutionsConformance(t *testing.T) {
	storetest.RunExecutions(t, func(t *testing.T) connectors.ExecutionLog { return newStore(t) })
}

// TestExecutionItems reads the raw items: one connection's history is
// spread over every shard's partition, each item's shard is its id's, and
// its TTL attribute is its expiry in epoch seconds.
func TestExecutionItems(t *testing.T) {
	client := awstest.DynamoDB(t)
	table := awstest.Table(t, client)
	s := dynamostore.New(client, table, []byte("k"))
	base := time.Date(2026, 12, 3, 9, 0, 0, 500, time.UTC)
	const n = 40
	for i := range n {
		e := storetest.Execution("o1", "c1", fmt.Sprint("e", i), base.Add(time.Duration(i)*time.Second))
		e.ExpiresAt = e.Time.Add(7 * 24 * time.Hour)
		if err := s.RecordExecution(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	perPK := map[string]int{}
	for _, raw := range scanAll(t, client, table) {
		var it struct {
			PK, SK         string
			ID             string `dynamodbav:"id"`
			Time           string `dynamodbav:"time"`
			ExpiresAtEpoch int64  `dynamodbav:"expiresAtEpoch"`
		}
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			t.Fatal(err)
		}
		id := it.ID
		perPK[it.PK]++
		if want := fmt.Sprintf("#c1#%d", connectors.ExecutionShard(id)); !strings.HasSuffix(it.PK, want) {
			t.Errorf("item %s is under %s, want its shard %s", id, it.PK, want)
		}
		if !strings.HasSuffix(it.SK, "#"+id) || !strings.HasPrefix(it.SK, it.Time) {
			t.Errorf("item %s has sort key %q, want <time>#<id>", id, it.SK)
		}
		tm, _ := time.Parse(time.RFC3339Nano, it.Time)
		if want := tm.Add(7*24*time.Hour).Unix() + 1; it.ExpiresAtEpoch != want { // rounded up: a fraction of a second
			t.Errorf("item %s: %s = %d, want %d", id, dynamostore.AttrTTL, it.ExpiresAtEpoch, want)
		}
		for name := range raw {
			switch name {
			case "PK", "SK", "id", "organizationId", "connectionId", "connector", "action", "routeStep", "routeTarget",
				"outcome", "attempts", "durationMs", "time", "expiresAt", dynamostore.AttrTTL:
			default:
				t.Errorf("item %s has attribute %q, which history does not keep", id, name)
			}
		}
	}
	if len(perPK) != connectors.ExecutionShards {
		t.Fatalf("%d executions fell on %d partitions, want all %d shards: %v", n, len(perPK), connectors.ExecutionShards, perPK)
	}
	for pk, c := range perPK {
		if c > n/2 {
			t.Errorf("partition %s holds %d of %d executions", pk, c, n)
		}
	}
}
