package deploycheck

import (
	"strings"
	"testing"
)

// TestExecutionHistoryDeploys: the history route's function may only read
// the table; the executor, which writes the history, gets the retention
// parameter; and the table's TTL attribute is the one history items set.
func TestExecutionHistoryDeploys(t *testing.T) {
	doc, _ := translate(t)

	fn, ok := doc.Resources["NangoListExecutionsFunction"]
	if !ok {
		t.Fatal("no NangoListExecutionsFunction")
	}
	policies := jsonString(doc.Resources[getAttID(fn.Properties["Role"])].Properties["Policies"])
	for _, write := range []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "kms:"} {
		if strings.Contains(policies, write) {
			t.Errorf("the history route's role allows %s: %s", write, policies)
		}
	}
	if !strings.Contains(policies, `"dynamodb:Query"`) {
		t.Errorf("the history route's role cannot query the table: %s", policies)
	}

	exec := doc.Resources["ExecuteConnectorFunction"]
	env, _ := exec.Properties["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	if ref(vars["EXECUTION_RETENTION_DAYS"]) != "ExecutionRetentionDays" {
		t.Errorf("the executor's EXECUTION_RETENTION_DAYS is %v, want the ExecutionRetentionDays parameter", vars["EXECUTION_RETENTION_DAYS"])
	}
	if _, ok := vars["TABLE_NAME"]; !ok {
		t.Error("the executor's own variables replaced the Globals' instead of adding to them")
	}
	p := doc.Parameters["ExecutionRetentionDays"]
	if jsonString(p["Default"]) != "30" && jsonString(p["Default"]) != `"30"` {
		t.Errorf("ExecutionRetentionDays default %v, want 30", p["Default"])
	}

	table := doc.Resources["ConnectorCredentialsTable"]
	ttl, _ := table.Properties["TimeToLiveSpecification"].(map[string]any)
	if ttl["AttributeName"] != "expiresAtEpoch" || ttl["Enabled"] != true {
		t.Errorf("the table's TTL is %v, want enabled on expiresAtEpoch (dynamostore.AttrTTL)", ttl)
	}
}
