package actions

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/automators/connectors/internal/registry"
)

var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// asanaActions builds the connector's actions.
//
// Asana API 1.0 (https://developers.asana.com/reference). Bodies are
// wrapped in {"data":...}; failures are {"errors":[{"message"}]}.
func asanaActions() connector {
	return connector{provider: &provider{id: "asana", auth: bearer}, verify: asanaVerify(), actions: []*spec{
		{
			name:       "create_task",
			write:      true,
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "name", Kind: String, Required: true},
				{Name: "notes", Kind: String},
				{Name: "workspace", Kind: String, SingleLine: true},
				{Name: "projects", Kind: Strings, SingleLine: true},
				{Name: "assignee", Kind: String, SingleLine: true},
				{Name: "due_on", Kind: String, Pattern: isoDate},
			},
			rule: func(s *spec, a args) error {
				// Asana needs a workspace, or projects to infer it from.
				if !a.has("workspace") && len(a.strs("projects")) == 0 {
					return s.paramErr("workspace", "is required when projects is not given")
				}
				return nil
			},
			// POST /tasks {"data":{...}}
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/tasks"
				data := map[string]any{"name": a.str("name")}
				for _, k := range []string{"notes", "workspace", "assignee", "due_on"} {
					if a.has(k) {
						data[k] = a.str(k)
					}
				}
				if a.has("projects") {
					data["projects"] = a.strs("projects")
				}
				return c.json(map[string]any{"data": data})
			},
		},
		{
			name:       "list_tasks",
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "project", Kind: String, SingleLine: true},
				{Name: "assignee", Kind: String, SingleLine: true},
				{Name: "workspace", Kind: String, SingleLine: true},
				{Name: "limit", Kind: Int, Min: 1, Max: 100},
				{Name: "offset", Kind: String, SingleLine: true},
				{Name: "opt_fields", Kind: Strings, SingleLine: true},
			},
			rule: func(s *spec, a args) error {
				// GET /tasks needs a project, or an assignee with a workspace.
				if a.has("project") {
					return nil
				}
				if a.has("assignee") != a.has("workspace") {
					missing := "workspace"
					if !a.has("assignee") {
						missing = "assignee"
					}
					return s.paramErr(missing, "is required with %s", map[string]string{"workspace": "assignee", "assignee": "workspace"}[missing])
				}
				if !a.has("assignee") {
					return s.paramErr("project", "is required unless assignee and workspace are given")
				}
				return nil
			},
			// GET /tasks?project=...
			build: func(a args, _ Request, c *call) error {
				c.path = "/tasks"
				q := url.Values{"limit": {strconv.FormatInt(defaultInt(a, "limit", 50), 10)}}
				for _, k := range []string{"project", "assignee", "workspace", "offset"} {
					if a.has(k) {
						q.Set(k, a.str(k))
					}
				}
				if a.has("opt_fields") {
					q.Set("opt_fields", joinComma(a.strs("opt_fields")))
				}
				c.query = q
				return nil
			},
		},
	}}
}

// asanaVerify proves a personal access token: GET /api/1.0/users/me
// (Asana's "Get a user" with the documented id "me",
// https://developers.asana.com/reference/getuser), with the token as
// Bearer (asana.json's personalAccessToken scheme). It is not in the
// excerpt asana.json.
func asanaVerify() *spec {
	return &spec{build: func(_ args, _ Request, c *call) error {
		c.path = "/users/me"
		return nil
	}}
}
