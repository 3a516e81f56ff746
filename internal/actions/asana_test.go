package actions

import (
	"net/url"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
)

func init() { moreCases = append(moreCases, asanaCases) }

// asanaCases are Asana's actions as asana.json describes them.
func asanaCases() []requestCase {
	auth := map[string]string{"Authorization": "Bearer " + tok}
	post := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC}
	task := `{"data":{"gid":"12345","resource_type":"task","name":"Ship it","notes":"n","completed":false,"due_on":"2026-09-01","permalink_url":"https://app.asana.com/0/1200/12345"}}`
	return []requestCase{
		{
			connector: "asana", action: "create_task",
			params: map[string]any{"name": "Ship it", "projects": []any{"1200"}, "due_on": "2026-09-01", "notes": "n"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/api/1.0/tasks",
				header: post, json: `{"data":{"name":"Ship it","projects":["1200"],"due_on":"2026-09-01","notes":"n"}}`,
				operation: [2]string{"asana.json", "createTask"},
			},
			status: 201, answer: task,
		},
		{
			connector: "asana", action: "list_tasks",
			params: map[string]any{"project": "1200", "limit": float64(20), "opt_fields": []any{"name", "completed"}},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/api/1.0/tasks",
				query:     url.Values{"project": {"1200"}, "limit": {"20"}, "opt_fields": {"name,completed"}},
				header:    auth,
				operation: [2]string{"asana.json", "getTasks"},
			},
			status: 200, answer: `{"data":[{"gid":"1","name":"a","resource_type":"task"}],"next_page":null}`,
		},
		{
			connector: "asana", action: "update_task",
			params: map[string]any{"task_gid": "12345", "completed": true, "notes": "done"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "PUT", path: "/api/1.0/tasks/12345",
				header: post, json: `{"data":{"completed":true,"notes":"done"}}`,
				operation: [2]string{"asana.json", "updateTask"},
			},
			status: 200, answer: task,
		},
		{
			connector: "asana", action: "add_comment",
			params: map[string]any{"task_gid": "12345", "text": "Shipped."},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/api/1.0/tasks/12345/stories",
				header: post, json: `{"data":{"text":"Shipped."}}`,
				operation: [2]string{"asana.json", "createStoryForTask"},
			},
			status: 201, answer: `{"data":{"gid":"67890","resource_type":"story","created_at":"2026-05-01T09:00:00.000Z","resource_subtype":"comment_added","text":"Shipped.","type":"comment","is_edited":false}}`,
		},
		{
			connector: "asana", action: "list_projects",
			params: map[string]any{"workspace": "1100", "archived": false, "limit": float64(10)},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/api/1.0/projects",
				query:     url.Values{"workspace": {"1100"}, "archived": {"false"}, "limit": {"10"}},
				header:    auth,
				operation: [2]string{"asana.json", "getProjects"},
			},
			status: 200, answer: `{"data":[{"gid":"1200","name":"Launch","resource_type":"project"}],"next_page":{"offset":"eyJ0eXAiOJiKV1iQLCJhbGciOiJIUzI1NiJ9","path":"/projects?limit=10&offset=eyJ0eXAiOJiKV1iQLCJhbGciOiJIUzI1NiJ9","uri":"https://app.asana.com/api/1.0/projects?limit=10&offset=eyJ0eXAiOJiKV1iQLCJhbGciOiJIUzI1NiJ9"}}`,
		},
	}
}

// TestAsanaFailures: Asana's documented failures (404, 403 in asana.json;
// 429 with Retry-After per docs-rules asana.rate_limit) map to the
// connectors codes.
func TestAsanaFailures(t *testing.T) {
	cat := testCatalogue(t)
	failures := []failure{
		{name: "not found", status: 404, body: `{"errors":[{"message":"task: Unknown object: 12345","help":"For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors"}]}`, wantCode: connectors.EUpstream, wantMsg: "task: Unknown object: 12345"},
		{name: "forbidden", status: 403, body: `{"errors":[{"message":"You do not have access to this resource."}]}`, wantCode: connectors.EUpstream, wantMsg: "You do not have access"},
		{name: "rate limited", status: 429, header: map[string]string{"Retry-After": "30"}, body: `{"errors":[{"message":"You have made too many requests recently. Please, be chill."}]}`, wantCode: connectors.ERateLimited, wantMsg: "too many requests", wantRetry: 30 * time.Second},
		{name: "token refused", status: 401, body: `{"errors":[{"message":"Not Authorized"}]}`, wantCode: connectors.EUnauthorized, wantMsg: "Not Authorized"},
	}
	for _, action := range []string{"update_task", "add_comment", "list_projects"} {
		tc := caseFor(t, asanaCases(), "asana", action)
		for _, f := range failures {
			t.Run(action+"/"+f.name, func(t *testing.T) {
				if f.status != 429 { // asana.json documents 400, 401, 403, 404 and 500
					r := &recorder{}
					checkOpenAPIAnswer(r, t, "asana.json", tc.want.operation[1], f.status, []byte(f.body))
					if len(r.errs) != 0 {
						t.Errorf("failure answer not documented: %v", r.errs)
					}
				}
				runFailure(t, cat, tc, f)
			})
		}
	}
}
