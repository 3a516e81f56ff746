package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
)

// Execution is the JSON form of one entry of a connection's execution
// history. Like the entry, it holds no parameters, output, token or error
// message: names, numbers and times only.
type Execution struct {
	ID         string         `json:"id"`
	Connector  string         `json:"connector"`
	Action     string         `json:"action"`
	Route      ExecutionRoute `json:"route"`
	Outcome    string         `json:"outcome"` // "ok" or the executor's error name
	Attempts   int            `json:"attempts"`
	DurationMs int64          `json:"durationMs"`
	Time       time.Time      `json:"time"`
}

// ExecutionRoute is the routing step that served an execution: step 0 and
// target "" when it failed before routing.
type ExecutionRoute struct {
	Step   int    `json:"step"`
	Target string `json:"target"`
}

type executionsBody struct {
	ConnectionID string      `json:"connectionId"`
	Executions   []Execution `json:"executions"`
	NextCursor   *string     `json:"nextCursor"`
}

// executionsHandler serves GET /api/v1/nango/connections/{connectionId}/executions.
func (a *API) executionsHandler() HandlerFunc {
	return a.authed(func(w http.ResponseWriter, r *http.Request, p connectors.Principal) error {
		q, err := query(r)
		if err != nil {
			return err
		}
		in := connect.ExecutionsParams{Cursor: q.Get("cursor")}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > connectors.MaxPageSize {
				return connectors.Errorf(connectors.EInvalid, "limit must be a whole number from 1 to %d", connectors.MaxPageSize)
			}
			in.Limit = n
		}
		id := r.PathValue("connectionId")
		page, err := a.svc.Executions(r.Context(), p, id, in)
		if err != nil {
			return err
		}
		out := executionsBody{ConnectionID: id, Executions: make([]Execution, 0, len(page.Executions))}
		for _, x := range page.Executions {
			out.Executions = append(out.Executions, Execution{
				ID: x.ID, Connector: x.Connector, Action: x.Action,
				Route:   ExecutionRoute{Step: x.RouteStep, Target: string(x.RouteTarget)},
				Outcome: x.Outcome, Attempts: x.Attempts, DurationMs: x.DurationMs, Time: x.Time.UTC(),
			})
		}
		if page.NextCursor != "" {
			out.NextCursor = &page.NextCursor
		}
		WriteJSON(w, http.StatusOK, out)
		return nil
	})
}
