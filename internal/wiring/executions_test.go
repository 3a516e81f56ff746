package wiring_test

import (
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/wiring"
)

// TestExecutorKeepsHistory: the executor is given the store's execution
// log and EXECUTION_RETENTION_DAYS, or the default retention.
func TestExecutorKeepsHistory(t *testing.T) {
	for _, tc := range []struct {
		days string
		want time.Duration
	}{
		{"", connectors.DefaultExecutionRetention},
		{"7", 7 * 24 * time.Hour},
	} {
		t.Run("days="+tc.days, func(t *testing.T) {
			store := boltStore(t)
			app, err := wiring.New(t.Context(), "test", wiring.Options{
				Store:  store,
				Getenv: env(merge(legacyKeys(), map[string]string{"EXECUTION_RETENTION_DAYS": tc.days, "LOG_LEVEL": "error"})),
			})
			if err != nil {
				t.Fatal(err)
			}
			if app.Executor.Retention != tc.want {
				t.Errorf("retention %v, want %v", app.Executor.Retention, tc.want)
			}
			if app.Executor.Executions != connectors.ExecutionLog(store) {
				t.Errorf("the executor's history goes to %T, not the store", app.Executor.Executions)
			}
		})
	}
}
