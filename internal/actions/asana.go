package actions

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/automators/connectors/internal/registry"
)

const isoDate = `^\d{4}-\d{2}-\d{2}$`

// asanaActions builds the connector's actions.
//
// Asana API 1.0 (https://developers.asana.com/reference). Bodies are
// wrapped in {"data":...}; failures are {"errors":[{"message"}]} (400,
// 401, 403, 404, 500 in asana.json; 429 with Retry-After per docs-rules
// asana.rate_limit). OAuth scopes: asana.json names a fine-grained scope
// per operation; the manifest requests "default", which includes them
// all, hence each action's "<scope>|default".
//
// Retries: creating a task or a story is not idempotent (Asana has no
// idempotency key: a retry creates another); update_task (PUT of the
// same fields) is.
func asanaActions() connector {
	taskGID := Param{Name: "task_gid", Kind: String, Required: true, Segment: true, SingleLine: true, Description: "The task's gid."}
	return connector{provider: &provider{id: "asana", auth: bearer}, verify: asanaVerify(), actions: []*spec{
		{
			name:       "create_task",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "asana.json createTask",
			scopes:     []string{"tasks:write|default"},
			output:     asanaTaskOutput,
			params: []Param{
				{Name: "name", Kind: String, Required: true, Description: "The task's name."},
				{Name: "notes", Kind: String, Description: "The task's description, plain text."},
				{Name: "workspace", Kind: String, SingleLine: true, Description: "The workspace's gid; needed unless projects says it."},
				{Name: "projects", Kind: Strings, SingleLine: true, Description: "Gids of the projects to add the task to."},
				{Name: "assignee", Kind: String, SingleLine: true, Description: "The assignee: a user's gid, email, or me."},
				{Name: "due_on", Kind: String, Pattern: isoDate, Description: "The due date, YYYY-MM-DD."},
			},
			// Asana needs a workspace, or projects to infer it from.
			constraints: `{"anyOf":[{"required":["workspace"]},{"required":["projects"]}]}`,
			// POST /tasks {"data":{...}}; 201 with the task. Not
			// idempotent: a retry creates another task.
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
			operation:  "asana.json getTasks",
			scopes:     []string{"tasks:read|default"},
			output:     asanaListOutput,
			params: []Param{
				{Name: "project", Kind: String, SingleLine: true, Description: "The project's gid."},
				{Name: "assignee", Kind: String, SingleLine: true, Description: "The assignee (gid, email or me); with workspace."},
				{Name: "workspace", Kind: String, SingleLine: true, Description: "The workspace's gid; with assignee."},
				{Name: "limit", Kind: Int, Min: 1, Max: 100, Description: "Tasks per page (1-100; default 50)."},
				{Name: "offset", Kind: String, SingleLine: true, Description: "The next page's offset (next_page.offset)."},
				{Name: "opt_fields", Kind: Strings, SingleLine: true, Description: "Task fields to answer beyond the compact ones."},
			},
			// GET /tasks needs a project, or an assignee with a workspace
			// (written so that a validator names the missing field:
			// project, or workspace beside an assignee).
			constraints: `{"anyOf":[{"required":["project"]},{"required":["assignee"]}],"dependentSchemas":{"assignee":{"required":["workspace"]}}}`,
			// GET /tasks?project=...
			build: func(a args, _ Request, c *call) error {
				c.path = "/tasks"
				c.query = asanaListQuery(a, "project", "assignee", "workspace", "offset")
				return nil
			},
		},
		{
			name:       "update_task",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "asana.json updateTask",
			scopes:     []string{"tasks:write|default"},
			output:     asanaTaskOutput,
			params: []Param{
				taskGID,
				{Name: "name", Kind: String, SingleLine: true, Description: "The task's new name."},
				{Name: "notes", Kind: String, Description: "The task's new description, plain text."},
				{Name: "completed", Kind: Bool, Description: "Mark the task complete (true) or incomplete (false)."},
				{Name: "assignee", Kind: String, SingleLine: true, Description: "The new assignee: a user's gid, email, or me."},
				{Name: "due_on", Kind: String, Pattern: isoDate, Description: "The new due date, YYYY-MM-DD."},
			},
			// A PUT with nothing to change changes nothing: one field at least.
			constraints: `{"anyOf":[{"required":["name"]},{"required":["notes"]},{"required":["completed"]},{"required":["assignee"]},{"required":["due_on"]}]}`,
			// PUT /tasks/{task_gid} {"data":{...}}: only the fields given
			// change; 200 with the task. Idempotent: the same PUT leaves
			// the same task.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPut, "/tasks/"+seg(a.str("task_gid"))
				data := map[string]any{}
				for _, k := range []string{"name", "notes", "assignee", "due_on"} {
					if a.has(k) {
						data[k] = a.str(k)
					}
				}
				if v, ok := a.boolean("completed"); ok {
					data["completed"] = v
				}
				return c.json(map[string]any{"data": data})
			},
		},
		{
			name:       "add_comment",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "asana.json createStoryForTask",
			scopes:     []string{"stories:write|default"},
			output: `{"type":"object","required":["data"],"properties":{"data":{"type":"object","required":["gid"],"properties":{
				"gid":{"type":"string"},"resource_type":{"type":"string"},"type":{"type":"string"},"text":{"type":"string"},"created_at":{"type":"string"}}}}}`,
			params: []Param{
				taskGID,
				{Name: "text", Kind: String, Description: "The comment, plain text. Give text or html_text, not both."},
				{Name: "html_text", Kind: String, Description: "The comment as Asana's rich text (<body>...</body>). Give text or html_text, not both."},
			},
			// asana.json: text "Cannot be used with html_text".
			constraints: `{"oneOf":[{"required":["text"]},{"required":["html_text"]}]}`,
			// POST /tasks/{task_gid}/stories {"data":{"text"}}: a comment
			// story; 201 with it. Not idempotent: a retry comments again.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/tasks/"+seg(a.str("task_gid"))+"/stories"
				data := map[string]any{}
				for _, k := range []string{"text", "html_text"} {
					if a.has(k) {
						data[k] = a.str(k)
					}
				}
				return c.json(map[string]any{"data": data})
			},
		},
		{
			name:       "list_projects",
			credential: registry.CredentialConnection,
			operation:  "asana.json getProjects",
			scopes:     []string{"projects:read|default"},
			output:     asanaListOutput,
			params: []Param{
				{Name: "workspace", Kind: String, SingleLine: true, Description: "The workspace's gid."},
				{Name: "team", Kind: String, SingleLine: true, Description: "A team's gid: only its projects."},
				{Name: "archived", Kind: Bool, Description: "Only archived (true) or unarchived (false) projects."},
				{Name: "limit", Kind: Int, Min: 1, Max: 100, Description: "Projects per page (1-100; default 50)."},
				{Name: "offset", Kind: String, SingleLine: true, Description: "The next page's offset (next_page.offset)."},
				{Name: "opt_fields", Kind: Strings, SingleLine: true, Description: "Project fields to answer beyond the compact ones."},
			},
			// Asana lists the projects of a workspace or of a team.
			constraints: `{"anyOf":[{"required":["workspace"]},{"required":["team"]}]}`,
			// GET /projects?workspace=... (getProjects, the one project
			// listing asana.json has).
			build: func(a args, _ Request, c *call) error {
				c.path = "/projects"
				c.query = asanaListQuery(a, "workspace", "team", "offset")
				if v, ok := a.boolean("archived"); ok {
					c.query.Set("archived", strconv.FormatBool(v))
				}
				return nil
			},
		},
	}}
}

// asanaListQuery is a list request's query: limit (default 50), the
// given string parameters as they are named, and opt_fields comma-joined.
func asanaListQuery(a args, keys ...string) url.Values {
	q := url.Values{"limit": {strconv.FormatInt(defaultInt(a, "limit", 50), 10)}}
	for _, k := range keys {
		if a.has(k) {
			q.Set(k, a.str(k))
		}
	}
	if a.has("opt_fields") {
		q.Set("opt_fields", joinComma(a.strs("opt_fields")))
	}
	return q
}

// asanaTaskOutput is a task answer, {"data":{task}}, as far as callers read it.
const asanaTaskOutput = `{"type":"object","required":["data"],"properties":{"data":{"type":"object","required":["gid"],"properties":{
	"gid":{"type":"string"},"resource_type":{"type":"string"},"name":{"type":"string"},"notes":{"type":"string"},
	"completed":{"type":"boolean"},"due_on":{"type":["string","null"]},"permalink_url":{"type":"string"}}}}}`

// asanaListOutput is a list answer: {"data":[compact records], "next_page"}.
const asanaListOutput = `{"type":"object","required":["data"],"properties":{"data":{"type":"array","items":{"type":"object",
	"properties":{"gid":{"type":"string"},"name":{"type":"string"},"resource_type":{"type":"string"}}}},
	"next_page":{"type":["object","null"],"properties":{"offset":{"type":"string"},"path":{"type":"string"},"uri":{"type":"string"}}}}}`

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
