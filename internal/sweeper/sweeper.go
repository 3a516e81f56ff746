// Package sweeper keeps connections healthy between uses: every run finds
// connections whose token expires soon, whose API key is due for its daily
// test (CheckAt) or whose last refresh failed, and refreshes (built-in
// OAuth), re-tests (API keys) or health-checks (Nango) them, updating their
// status and auditing what it did. Work per run is bounded; a run that stops
// early returns a cursor to continue from. Two runs at once are safe: each
// connection is worked on under a lease.
package sweeper

import (
	"context"
	"errors"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/metrics"
)

// Store is what the sweeper needs of the store.
type Store interface {
	connectors.SweepStore
	connectors.LeaseStore
	connectors.AuditLog
}

// Checker refreshes or health-checks one connection and records its new
// status (the connection service).
type Checker interface {
	Check(ctx context.Context, c *connectors.Connection) (*connectors.Connection, error)
}

// Options bound a run.
type Options struct {
	Window    time.Duration // tokens expiring within it are refreshed; default 30 min
	PageSize  int           // default 25
	MaxPerRun int           // connections worked per run; default 200
	LeaseTTL  time.Duration // default 2 min
	Now       func() time.Time
	Owner     string // lease owner id of this container
}

// Sweeper runs sweeps.
type Sweeper struct {
	store   Store
	checker Checker
	opt     Options
}

// New returns a sweeper.
func New(store Store, checker Checker, opt Options) *Sweeper {
	if opt.Window == 0 {
		opt.Window = 30 * time.Minute
	}
	if opt.PageSize == 0 {
		opt.PageSize = 25
	}
	if opt.MaxPerRun == 0 {
		opt.MaxPerRun = 200
	}
	if opt.LeaseTTL == 0 {
		opt.LeaseTTL = 2 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Sweeper{store: store, checker: checker, opt: opt}
}

// Result counts what a run did. Cursor is where the next run should
// continue; "" when the run reached the end.
type Result struct {
	Checked        int    `json:"checked"`
	Healthy        int    `json:"healthy"`
	Failed         int    `json:"failed"`
	ReauthRequired int    `json:"reauthRequired"`
	Skipped        int    `json:"skipped"` // leased by another run
	Cursor         string `json:"cursor,omitempty"`
}

// Run is a scheduled run: it continues from cursor, or when that is ""
// from where the last run stopped (the store keeps it), and records where
// the next one continues, so that past MaxPerRun due connections every one
// is still visited, over several runs.
func (s *Sweeper) Run(ctx context.Context, cursor string) (Result, error) {
	saved := cursor == ""
	if saved {
		var err error
		if cursor, err = s.store.SweepCursor(ctx); err != nil {
			return Result{}, err
		}
	}
	res, err := s.Sweep(ctx, cursor)
	if saved && cursor != "" && connectors.ErrorCode(err) == connectors.EInvalid {
		// A kept cursor that no longer opens (the store's cursor key
		// changed): start again from the beginning rather than fail every
		// run from now on.
		logging.FromContext(ctx).Warn("the saved sweep cursor is refused; starting from the beginning", "err", err)
		res, err = s.Sweep(ctx, "")
	}
	if err != nil {
		return res, err
	}
	if err := s.store.SaveSweepCursor(ctx, res.Cursor); err != nil {
		return res, err
	}
	return res, nil
}

// Sweep works through due connections from cursor ("" to start), until it
// has checked MaxPerRun of them, the context is nearly out of time, or none
// are left.
func (s *Sweeper) Sweep(ctx context.Context, cursor string) (res Result, err error) {
	defer func() {
		metrics.Add(ctx, metrics.SweepVisited, float64(res.Checked))
		metrics.Add(ctx, metrics.SweepRefreshed, float64(res.Healthy))
		metrics.Add(ctx, metrics.SweepFailed, float64(res.Failed+res.ReauthRequired))
	}()
	log := logging.FromContext(ctx)
	before := s.opt.Now().Add(s.opt.Window)
	for {
		// A page never holds more than the work left, so that a run that
		// uses up MaxPerRun ends on a page boundary and its continuation is
		// the store's cursor (the first page has no cursor of its own to
		// resume from: "" means "reached the end").
		budget := s.opt.MaxPerRun - (res.Checked + res.Skipped)
		page, err := s.store.ListDueConnections(ctx, before, min(s.opt.PageSize, budget), cursor)
		if err != nil {
			return res, err
		}
		for _, c := range page.Connections {
			if s.nearDeadline(ctx) {
				// Resume from this page next time: re-checking a few is harmless.
				res.Cursor = cursor
				return res, nil
			}
			if c.Status == connectors.StatusReauthRequired || c.Status == connectors.StatusRevoked {
				// Only the user reconnecting changes these: refreshing them
				// again would only be refused again, every run, and they
				// would hold the run's budget forever.
				continue
			}
			s.one(ctx, c, &res)
		}
		cursor = page.NextCursor
		if cursor == "" {
			log.Info("sweep done", "checked", res.Checked, "healthy", res.Healthy, "failed", res.Failed, "reauth", res.ReauthRequired, "skipped", res.Skipped)
			return res, nil
		}
		if res.Checked+res.Skipped >= s.opt.MaxPerRun {
			res.Cursor = cursor
			return res, nil
		}
	}
}

func (s *Sweeper) one(ctx context.Context, c *connectors.Connection, res *Result) {
	lease := "sweep/" + c.OrganizationID + "/" + c.ID
	if err := s.store.AcquireLease(ctx, lease, s.opt.Owner, s.opt.LeaseTTL); err != nil {
		res.Skipped++
		return
	}
	defer s.store.ReleaseLease(context.WithoutCancel(ctx), lease, s.opt.Owner)
	res.Checked++
	got, err := s.checker.Check(ctx, c)
	status := c.Status
	if got != nil {
		status = got.Status
	}
	outcome := "success"
	switch {
	case err == nil && status == connectors.StatusActive:
		res.Healthy++
	case status == connectors.StatusReauthRequired || errors.Is(err, connectors.ErrReauthRequired):
		res.ReauthRequired++
		outcome = connectors.EReauthRequired
	default:
		res.Failed++
		outcome = connectors.ErrorCode(err)
	}
	if err != nil {
		logging.FromContext(ctx).Warn("sweep check failed", "connection", c.ID, "errorCode", connectors.ErrorCode(err))
	}
	if aerr := s.store.AppendAudit(ctx, connectors.AuditEvent{
		OrganizationID: c.OrganizationID, Actor: "sweeper", Action: "health_check",
		ConnectionID: c.ID, Connector: c.Connector, Outcome: outcome, Detail: string(status),
	}); aerr != nil {
		logging.FromContext(ctx).Error("audit write failed", "err", aerr)
	}
}

// nearDeadline leaves the last 5 seconds of an invocation for wrapping up.
func (s *Sweeper) nearDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < 5*time.Second
}
