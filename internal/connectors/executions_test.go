package connectors_test

import (
	"fmt"
	"testing"

	"github.com/automators/connectors/internal/connectors"
)

// TestExecutionShardSpreads: ids spread evenly over the shards (within a
// quarter of the mean), and an id always has the same shard.
func TestExecutionShardSpreads(t *testing.T) {
	const n = 10000
	counts := make([]int, connectors.ExecutionShards)
	for i := range n {
		id := fmt.Sprintf("%08x-exec", i)
		s := connectors.ExecutionShard(id)
		if s != connectors.ExecutionShard(id) {
			t.Fatalf("shard of %s changed", id)
		}
		counts[s]++
	}
	mean := n / connectors.ExecutionShards
	for s, c := range counts {
		if c < mean*3/4 || c > mean*5/4 {
			t.Errorf("shard %d has %d of %d ids (mean %d): %v", s, c, n, mean, counts)
		}
	}
}
