package executor

import "testing"

func TestKeysNeverCollide(t *testing.T) {
	inputs := []Input{
		{OrganizationID: "o", ExecutionID: "x", NodeID: "y"},
		{OrganizationID: "o", IdempotencyKey: "x/y"},
		{OrganizationID: "o", IdempotencyKey: "node/x/y"},
		{OrganizationID: "o/x", ExecutionID: "y", NodeID: "z"},
		{OrganizationID: "o", ExecutionID: "x/y", NodeID: "z"},
		{OrganizationID: "o2", ExecutionID: "x", NodeID: "y"},
	}
	seen := map[string]int{}
	for i, in := range inputs {
		k := in.Key()
		if j, ok := seen[k]; ok {
			t.Errorf("inputs %d and %d share key %q", j, i, k)
		}
		seen[k] = i
	}
	if a, b := inputs[0].Key(), inputs[0].Key(); a != b {
		t.Errorf("Key is not stable: %q, %q", a, b)
	}
}
