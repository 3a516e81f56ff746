package sweeper_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/metrics"
	"github.com/automators/connectors/internal/sweeper"
	"github.com/automators/connectors/internal/tstest/emftest"
)

// TestSweepMetrics: a run's SweepVisited, SweepRefreshed and SweepFailed
// are what it checked, left active, and could not (a refused refresh).
func TestSweepMetrics(t *testing.T) {
	w := newWorld(t, "bolt")
	now := time.Now()
	w.legacy(t, "gmail-due", now.Add(10*time.Minute), connectors.StatusActive)
	w.legacy(t, "gmail-not-due", now.Add(2*time.Hour), connectors.StatusActive)
	w.nangoConn(t, now.Add(5*time.Minute), connectors.StatusActive)
	refused := w.nangoConn(t, now.Add(-time.Minute), connectors.StatusActive)
	w.fake.ExpireToken(refused.ID)
	w.fake.FailRefresh(refused.ID)

	ctx, batch := metrics.Start(t.Context(), metrics.Function("connection-sweeper"))
	res, err := sweeper.New(w.store, w.service(t), sweeper.Options{Owner: "sweeper-1"}).Run(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := metrics.NewEMF(&out, nil).Flush(batch); err != nil {
		t.Fatal(err)
	}
	got := emftest.Index(emftest.Parse(t, out.Bytes()))
	want := map[string]float64{"SweepVisited{}": 3, "SweepRefreshed{}": 2, "SweepFailed{}": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (result %+v; points %v)", k, got[k], v, res, emftest.Keys(got))
		}
	}
}
