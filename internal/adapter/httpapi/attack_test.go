package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/loopback"
	"github.com/automators/connectors/internal/local/nangofake"
)

// rawJWT signs claims with HS256 under secret, or leaves it unsigned
// (alg none) when secret is nil.
func rawJWT(t *testing.T, secret []byte, claims jwt.MapClaims) string {
	t.Helper()
	if secret == nil {
		enc := base64.RawURLEncoding
		h := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		p, _ := json.Marshal(claims)
		return h + "." + enc.EncodeToString(p) + "."
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// seeded is an env with connections in two organizations.
type seeded struct {
	*env
	a1, a2, b1 connectionJSON // userA1's slack, userA2's hubspot, userB1's slack (org B)
}

func newSeeded(t *testing.T, e *env) *seeded {
	t.Helper()
	return &seeded{env: e,
		a1: e.connect(t, userA1, orgA, "slack"),
		a2: e.connect(t, userA2, orgA, "hubspot"),
		b1: e.connect(t, userB1, orgB, "slack"),
	}
}

// attack is one hostile request and the refusal it must get.
type attack struct {
	name   string
	req    func(t *testing.T, s *seeded) request
	status int
	code   string
}

// runAttacks sends each attack and checks the refusal, that the stored data
// did not change, and (through env.Do) that no secret reached the answer or
// the logs and the answer conforms to the OpenAPI document.
func runAttacks(t *testing.T, s *seeded, attacks []attack) {
	t.Helper()
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			r := a.req(t, s)
			before := s.snapshot(t)
			s.expectError(t, r, a.status, a.code)
			s.unchanged(t, before)
		})
	}
}

func TestAttacksOnAuthentication(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := newSeeded(t, e)
		now := time.Now()
		claims := func(mut func(jwt.MapClaims)) jwt.MapClaims {
			c := jwt.MapClaims{"sub": userA1, "org_id": orgA, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
			if mut != nil {
				mut(c)
			}
			return c
		}
		tokens := []struct {
			name   string
			header func(t *testing.T) string // the Authorization header
			status int
			code   string
		}{
			{"no token", func(*testing.T) string { return "" }, 401, connectors.EUnauthorized},
			{"not bearer", func(*testing.T) string { return "Basic dXNlcjpwYXNz" }, 401, connectors.EUnauthorized},
			{"empty bearer", func(*testing.T) string { return "Bearer " }, 401, connectors.EUnauthorized},
			{"garbage", func(*testing.T) string { return "Bearer not.a.jwt" }, 401, connectors.EUnauthorized},
			{"expired", func(t *testing.T) string {
				return "Bearer " + rawJWT(t, []byte(jwtSecret), claims(func(c jwt.MapClaims) {
					c["iat"], c["exp"] = now.Add(-3*time.Hour).Unix(), now.Add(-2*time.Hour).Unix()
				}))
			}, 401, connectors.EUnauthorized},
			{"no exp", func(t *testing.T) string {
				return "Bearer " + rawJWT(t, []byte(jwtSecret), claims(func(c jwt.MapClaims) { delete(c, "exp") }))
			}, 401, connectors.EUnauthorized},
			{"forged signature", func(t *testing.T) string {
				return "Bearer " + rawJWT(t, []byte("another-secret-of-at-least-32-bytes!!"), claims(nil))
			}, 401, connectors.EUnauthorized},
			{"alg none", func(t *testing.T) string { return "Bearer " + rawJWT(t, nil, claims(nil)) }, 401, connectors.EUnauthorized},
			{"edited payload", func(t *testing.T) string {
				good := rawJWT(t, []byte(jwtSecret), claims(nil))
				parts := strings.Split(good, ".")
				p, _ := json.Marshal(claims(func(c jwt.MapClaims) { c["roles"] = []string{"admin"} }))
				return "Bearer " + parts[0] + "." + base64.RawURLEncoding.EncodeToString(p) + "." + parts[2]
			}, 401, connectors.EUnauthorized},
			{"no organization claim", func(t *testing.T) string {
				return "Bearer " + rawJWT(t, []byte(jwtSecret), claims(func(c jwt.MapClaims) { delete(c, "org_id") }))
			}, 403, connectors.EForbidden},
		}
		fns := []struct {
			fn     string
			params map[string]string
			query  string
			body   string
		}{
			{"nango-authorize", map[string]string{"provider": "slack"}, "", ""},
			{"nango-refresh", map[string]string{"provider": "slack"}, "", `{"connectionId":"` + s.a1.ID + `"}`},
			{"nango-list-connections", nil, "", ""},
			{"nango-get-connection", map[string]string{"connectionId": s.a1.ID}, "", ""},
			{"nango-delete-connection", map[string]string{"connectionId": s.a1.ID}, "", ""},
			{"nango-create-connection", nil, "", stripeBody(t, e.stripeKey(t, ""), "")},
			{"nango-rotate-credentials", map[string]string{"connectionId": s.a1.ID}, "", rotateBody(t, e.stripeKey(t, ""))},
			{"nango-update-connection", map[string]string{"connectionId": s.a1.ID}, "", `{"shared":true}`},
			{"nango-list-executions", map[string]string{"connectionId": s.a1.ID}, "", ""},
		}
		for _, tk := range tokens {
			for _, f := range fns {
				t.Run(tk.name+"/"+f.fn, func(t *testing.T) {
					h := tk.header(t)
					e.addSecret(strings.TrimPrefix(h, "Bearer "))
					before := e.snapshot(t)
					e.expectError(t, request{Fn: f.fn, Params: f.params, Query: f.query, Body: f.body,
						Headers: map[string]string{"authorization": h}}, tk.status, tk.code)
					e.unchanged(t, before)
				})
			}
		}
		if n := e.Nango.Requests(http.MethodDelete, "/connections/"); n != 0 {
			t.Errorf("refused requests reached Nango: %d deletes", n)
		}
		if n := e.keys.calls.Load(); n != 0 {
			t.Errorf("refused requests had %d keys tested", n)
		}
	})
}

func TestAttacksOnTenantIsolation(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := newSeeded(t, e)
		id := func(c *connectionJSON) func(*testing.T, *seeded) string {
			return func(*testing.T, *seeded) string { return c.ID }
		}
		var attacks []attack
		for _, who := range []struct {
			name  string
			user  string
			org   string
			roles []string
			id    func(*testing.T, *seeded) string
			conn  string
			ops   string // which of get, refresh, delete, credentials (rotate), patch (share) to try
		}{
			{"another user's connection", userA2, orgA, nil, id(&s.a1), "slack", "grdcp"},
			{"another organization's connection", userB1, orgB, nil, id(&s.a1), "slack", "grdcp"},
			{"another organization's admin", "admin-b", orgB, []string{"admin"}, id(&s.a1), "slack", "grdcp"},
			{"admin of org A on org B's connection", adminA, orgA, []string{"admin"}, id(&s.b1), "slack", "grdcp"},
			{"same id in another organization", userA1, orgA, nil, id(&s.b1), "slack", "grdc"},
			{"same id in another organization, as its admin", adminA, orgA, []string{"admin"}, id(&s.b1), "slack", "p"},
			{"unknown connection", userA1, orgA, nil, func(*testing.T, *seeded) string { return "no-such-connection" }, "slack", "grdc"},
			{"unknown connection, as an admin", adminA, orgA, []string{"admin"}, func(*testing.T, *seeded) string { return "no-such-connection" }, "slack", "p"},
			{"overlong id", userA1, orgA, nil, func(*testing.T, *seeded) string { return strings.Repeat("i", 300) }, "slack", "grdcp"},
			{"own connection under another connector", userA2, orgA, nil, id(&s.a2), "slack", "r"},
		} {
			if strings.Contains(who.ops, "g") {
				attacks = append(attacks, attack{who.name + "/get", func(t *testing.T, s *seeded) request {
					return request{Fn: "nango-get-connection", Token: s.token(t, who.user, who.org, who.roles...), Params: map[string]string{"connectionId": who.id(t, s)}}
				}, 404, connectors.ENotFound})
			}
			if strings.Contains(who.ops, "r") {
				attacks = append(attacks, attack{who.name + "/refresh", func(t *testing.T, s *seeded) request {
					return request{Fn: "nango-refresh", Token: s.token(t, who.user, who.org, who.roles...), Params: map[string]string{"provider": who.conn},
						Body: `{"connectionId":"` + who.id(t, s) + `"}`}
				}, 404, connectors.ENotFound})
			}
			if strings.Contains(who.ops, "d") {
				attacks = append(attacks, attack{who.name + "/delete", func(t *testing.T, s *seeded) request {
					return request{Fn: "nango-delete-connection", Token: s.token(t, who.user, who.org, who.roles...), Params: map[string]string{"connectionId": who.id(t, s)}}
				}, 404, connectors.ENotFound})
			}
			if strings.Contains(who.ops, "c") {
				attacks = append(attacks, attack{who.name + "/rotate credentials", func(t *testing.T, s *seeded) request {
					return rotateReq(s.token(t, who.user, who.org, who.roles...), who.id(t, s), rotateBody(t, s.stripeKey(t, "")))
				}, 404, connectors.ENotFound})
			}
			if strings.Contains(who.ops, "p") {
				attacks = append(attacks, attack{who.name + "/share", func(t *testing.T, s *seeded) request {
					return updateReq(s.token(t, who.user, who.org, who.roles...), who.id(t, s), `{"shared":true}`)
				}, 404, connectors.ENotFound})
			}
		}
		attacks = append(attacks,
			attack{"non-admin lists the organization", func(t *testing.T, s *seeded) request {
				return request{Fn: "nango-list-connections", Token: s.token(t, userA1, orgA), Query: "scope=organization"}
			}, 403, connectors.EForbidden},
			attack{"reconnect another user's connection", func(t *testing.T, s *seeded) request {
				return request{Fn: "nango-authorize", Token: s.token(t, userA2, orgA), Params: map[string]string{"provider": "slack"},
					Query: "connection_id=" + url.QueryEscape(s.a1.ID)}
			}, 404, connectors.ENotFound},
		)
		runAttacks(t, s, attacks)
		if n := e.Nango.Requests(http.MethodDelete, "/connections/"); n != 0 {
			t.Errorf("refused deletes reached Nango: %d", n)
		}

		t.Run("lists are tenant-scoped", func(t *testing.T) {
			ids, _ := e.list(t, e.token(t, userA1, orgA), "")
			if len(ids) != 1 || ids[0] != s.a1.ID {
				t.Errorf("userA1 lists %v, want only %s", ids, s.a1.ID)
			}
			admin := e.token(t, adminA, orgA, "admin")
			got := e.listAll(t, admin, "scope=organization", 1)
			want := []string{s.a1.ID, s.a2.ID}
			if len(got) != 2 || !(got[0] == want[0] && got[1] == want[1] || got[0] == want[1] && got[1] == want[0]) {
				t.Errorf("admin of org A lists %v, want %v", got, want)
			}
			if ids, _ := e.list(t, admin, ""); len(ids) != 0 {
				t.Errorf("admin's own list = %v, want none", ids)
			}
			// An admin manages the organization's connections.
			if resp := e.get(t, admin, s.a1.ID); resp.StatusCode != 200 {
				t.Errorf("admin get of a member's connection: %d", resp.StatusCode)
			}
			ids, _ = e.list(t, e.token(t, "admin-b", orgB, "admin"), "scope=organization")
			if len(ids) != 1 || ids[0] != s.b1.ID {
				t.Errorf("admin of org B lists %v", ids)
			}
			// A cursor of one organization's listing is refused in another's.
			_, next := e.list(t, admin, "scope=organization&limit=1")
			if next == nil {
				t.Fatal("no cursor")
			}
			e.expectError(t, request{Fn: "nango-list-connections", Token: e.token(t, "admin-b", orgB, "admin"),
				Query: "scope=organization&limit=1&cursor=" + url.QueryEscape(*next)}, 400, connectors.EInvalid)
			e.expectError(t, request{Fn: "nango-list-connections", Token: e.token(t, userA1, orgA),
				Query: "limit=1&cursor=" + url.QueryEscape(*next)}, 400, connectors.EInvalid)
		})
	})
}

func TestAttacksOnCallback(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := newSeeded(t, e)
		cb := func(provider string, q url.Values) request {
			return request{Fn: "nango-callback", Params: map[string]string{"provider": provider}, Query: q.Encode()}
		}
		// fresh authorizes slack for userA1 and completes it at the fake.
		fresh := func(t *testing.T, s *seeded) (authorization, string) {
			a := s.authorize(t, s.token(t, userA1, orgA), "slack", "")
			return a, s.ConnectAtFake(t, a)
		}
		attacks := []attack{
			{"replayed state", func(t *testing.T, s *seeded) request {
				a, id := fresh(t, s)
				if resp := s.callback(t, "slack", a.State, id); resp.StatusCode != 200 {
					t.Fatalf("first callback: %d %s", resp.StatusCode, resp.Body)
				}
				return cb("slack", url.Values{"state": {a.State}, "connection_id": {id}})
			}, 400, connectors.EInvalidState},
			{"no state", func(t *testing.T, s *seeded) request {
				_, id := fresh(t, s)
				return cb("slack", url.Values{"connection_id": {id}})
			}, 400, connectors.EInvalidState},
			{"random state", func(t *testing.T, s *seeded) request {
				_, id := fresh(t, s)
				return cb("slack", url.Values{"state": {"eyJuIjoieCJ9.AAAA"}, "connection_id": {id}})
			}, 400, connectors.EInvalidState},
			{"huge state", func(t *testing.T, s *seeded) request {
				_, id := fresh(t, s)
				return cb("slack", url.Values{"state": {strings.Repeat("A", 10000) + ".x"}, "connection_id": {id}})
			}, 400, connectors.EInvalidState},
			{"edited state payload", func(t *testing.T, s *seeded) request {
				a, id := fresh(t, s)
				p, sig, _ := strings.Cut(a.State, ".")
				raw, _ := base64.RawURLEncoding.DecodeString(p)
				edited := strings.Replace(string(raw), userA1, userA2, 1)
				if edited == string(raw) {
					t.Fatalf("state payload does not name the user: %s", raw)
				}
				return cb("slack", url.Values{"state": {base64.RawURLEncoding.EncodeToString([]byte(edited)) + "." + sig}, "connection_id": {id}})
			}, 400, connectors.EInvalidState},
			{"forged state signature", func(t *testing.T, s *seeded) request {
				a, id := fresh(t, s)
				p, sig, _ := strings.Cut(a.State, ".")
				b := []byte(sig)
				b[0] ^= 1
				if b[0] == sig[0] || !isB64(string(b[0])) {
					b[0] = 'A'
					if sig[0] == 'A' {
						b[0] = 'B'
					}
				}
				return cb("slack", url.Values{"state": {p + "." + string(b)}, "connection_id": {id}})
			}, 400, connectors.EInvalidState},
			{"state of another provider", func(t *testing.T, s *seeded) request {
				a, id := fresh(t, s)
				return cb("hubspot", url.Values{"state": {a.State}, "connection_id": {id}})
			}, 400, connectors.EInvalidState},
			{"bearer of another user", func(t *testing.T, s *seeded) request {
				a, id := fresh(t, s)
				r := cb("slack", url.Values{"state": {a.State}, "connection_id": {id}})
				r.Token = s.token(t, userA2, orgA)
				return r
			}, 403, connectors.EForbidden},
			{"bearer of another organization", func(t *testing.T, s *seeded) request {
				a, id := fresh(t, s)
				r := cb("slack", url.Values{"state": {a.State}, "connection_id": {id}})
				r.Token = s.token(t, userA1, orgB)
				return r
			}, 403, connectors.EForbidden},
			{"invalid bearer", func(t *testing.T, s *seeded) request {
				a, id := fresh(t, s)
				r := cb("slack", url.Values{"state": {a.State}, "connection_id": {id}})
				r.Token = rawJWT(t, nil, jwt.MapClaims{"sub": userA1, "org_id": orgA, "exp": time.Now().Add(time.Hour).Unix()})
				s.addSecret(r.Token)
				return r
			}, 401, connectors.EUnauthorized},
			{"Nango connection of another user", func(t *testing.T, s *seeded) request {
				a, _ := fresh(t, s)
				other := s.authorize(t, s.token(t, userA2, orgA), "slack", "")
				return cb("slack", url.Values{"state": {a.State}, "connection_id": {s.ConnectAtFake(t, other)}})
			}, 403, connectors.EForbidden},
			{"Nango connection of another organization", func(t *testing.T, s *seeded) request {
				a, _ := fresh(t, s)
				return cb("slack", url.Values{"state": {a.State}, "connection_id": {s.b1.ID}})
			}, 403, connectors.EForbidden},
			{"connection unknown to Nango", func(t *testing.T, s *seeded) request {
				a, _ := fresh(t, s)
				return cb("slack", url.Values{"state": {a.State}, "connection_id": {s.a1.ID + "x"}})
			}, 400, connectors.EInvalid},
			{"neither connection_id nor code", func(t *testing.T, s *seeded) request {
				a, _ := fresh(t, s)
				return cb("slack", url.Values{"state": {a.State}})
			}, 400, connectors.EInvalid},
		}
		runAttacks(t, s, attacks)

		t.Run("state of the other flow", func(t *testing.T) {
			// A built-in OAuth state with a Nango connection id, and a Nango
			// state with an authorization code: refused, nothing stored.
			g := e.authorize(t, e.token(t, userA1, orgA), "gmail", "")
			before := e.snapshot(t)
			resp := e.Do(t, cb("gmail", url.Values{"state": {g.State}, "connection_id": {s.a1.ID}}))
			if resp.StatusCode != 400 {
				t.Fatalf("gmail state with connection_id: %d %s", resp.StatusCode, resp.Body)
			}
			e.unchanged(t, before)

			a, _ := fresh(t, s)
			ids := func() []string {
				ids, _ := e.list(t, e.token(t, adminA, orgA, "admin"), "scope=organization")
				return ids
			}
			n := len(ids())
			e.expectError(t, cb("slack", url.Values{"state": {a.State}, "code": {"stolen-code"}}), 400, connectors.EInvalidState)
			if len(ids()) != n {
				t.Errorf("a connection was stored")
			}
			if got := e.Google.Stats().Exchanges; got != 0 {
				t.Errorf("the code was sent to Google %d times", got)
			}
		})

		t.Run("expired state", func(t *testing.T) {
			a, id := fresh(t, s)
			e.clock.Advance(11 * time.Minute)
			t.Cleanup(func() { e.clock.Advance(-11 * time.Minute) })
			before := e.snapshot(t)
			e.expectError(t, cb("slack", url.Values{"state": {a.State}, "connection_id": {id}}), 400, connectors.EInvalidState)
			e.unchanged(t, before)
		})

		t.Run("refused states stay usable by their owner", func(t *testing.T) {
			// A state refused for its provider or bearer is not burnt: the
			// attacker cannot deny the real user's callback.
			a, id := fresh(t, s)
			e.expectError(t, cb("hubspot", url.Values{"state": {a.State}, "connection_id": {id}}), 400, connectors.EInvalidState)
			r := cb("slack", url.Values{"state": {a.State}, "connection_id": {id}})
			r.Token = e.token(t, userA2, orgA)
			e.expectError(t, r, 403, connectors.EForbidden)
			r.Token = e.token(t, userA1, orgA)
			if resp := e.Do(t, r); resp.StatusCode != 200 {
				t.Fatalf("owner's callback after refusals: %d %s", resp.StatusCode, resp.Body)
			}
		})
	})
}

func isB64(s string) bool {
	_, err := base64.RawURLEncoding.DecodeString(s + "AAA")
	return err == nil
}

func TestAttacksOnRedirect(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := newSeeded(t, e)
		var attacks []attack
		for _, uri := range []string{
			"https://evil.com/cb",
			"javascript:alert(document.cookie)",
			"//evil.com/cb",
			"/relative/path",
			"https://app.example.com@evil.com/cb",
			"https://user:pass@app.example.com/cb",
			"https://app.example.com.evil.com/cb",
			"https://evil.com\\@app.example.com/cb",
			"https://evil.com#@app.example.com",
			"http://app.example.com/cb",
			"https://app.example.com:8443/cb",
			"data:text/html,<script>alert(1)</script>",
			"https:app.example.com",
			"https://evil.com/?https://app.example.com",
		} {
			attacks = append(attacks, attack{uri, func(t *testing.T, s *seeded) request {
				return request{Fn: "nango-authorize", Token: s.token(t, userA1, orgA), Params: map[string]string{"provider": "slack"},
					Query: url.Values{"redirect_uri": {uri}}.Encode()}
			}, 400, connectors.EInvalid})
		}
		before := e.Nango.Requests(http.MethodPost, "/connect/sessions")
		runAttacks(t, s, attacks)
		if n := e.Nango.Requests(http.MethodPost, "/connect/sessions") - before; n != 0 {
			t.Errorf("refused authorizations created %d Nango sessions", n)
		}
	})
}

func TestAttacksOnBodies(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := newSeeded(t, e)
		refresh := func(body string) func(*testing.T, *seeded) request {
			return func(t *testing.T, s *seeded) request {
				return request{Fn: "nango-refresh", Token: s.token(t, userA1, orgA), Params: map[string]string{"provider": "slack"}, Body: body}
			}
		}
		big := `{"connectionId":"` + strings.Repeat("x", 64<<10) + `"}`
		attacks := []attack{
			{"refresh body over 64 KiB", refresh(big), 413, connectors.ETooLarge},
			{"refresh base64 body over 64 KiB", func(t *testing.T, s *seeded) request {
				r := refresh("")(t, s)
				r.Body, r.Base64 = base64.StdEncoding.EncodeToString([]byte(big)), true
				return r
			}, 413, connectors.ETooLarge},
			{"webhook body over 64 KiB", func(t *testing.T, s *seeded) request {
				body := `{"type":"auth","pad":"` + strings.Repeat("x", 64<<10) + `"}`
				return request{Fn: "nango-webhook", Body: body, Headers: map[string]string{"x-nango-hmac-sha256": nango.SignWebhook([]byte(body), webhookKey)}}
			}, 413, connectors.ETooLarge},
			{"malformed JSON", refresh(`{"connectionId":`), 400, connectors.EInvalid},
			{"not JSON", refresh(`connectionId=x`), 400, connectors.EInvalid},
			{"empty body", refresh(""), 400, connectors.EInvalid},
			{"wrong type", refresh(`{"connectionId":42}`), 400, connectors.EInvalid},
			{"unknown field", refresh(`{"connectionId":"x","accessToken":"y"}`), 400, connectors.EInvalid},
			{"trailing data", refresh(`{"connectionId":"x"}{}`), 400, connectors.EInvalid},
			{"missing connectionId", refresh(`{}`), 400, connectors.EInvalid},
			{"bad base64", func(t *testing.T, s *seeded) request {
				r := refresh("%%%")(t, s)
				r.Base64 = true
				return r
			}, 400, connectors.EInvalid},
			{"unknown provider on authorize", func(t *testing.T, s *seeded) request {
				return request{Fn: "nango-authorize", Token: s.token(t, userA1, orgA), Params: map[string]string{"provider": "myspace"}}
			}, 404, connectors.EUnknownConnector},
			{"unknown provider on refresh", func(t *testing.T, s *seeded) request {
				return request{Fn: "nango-refresh", Token: s.token(t, userA1, orgA), Params: map[string]string{"provider": "myspace"}, Body: `{"connectionId":"` + s.a1.ID + `"}`}
			}, 404, connectors.EUnknownConnector},
			{"path traversal provider", func(t *testing.T, s *seeded) request {
				return request{Fn: "nango-authorize", Token: s.token(t, userA1, orgA), Params: map[string]string{"provider": "../connections"}}
			}, 404, connectors.EUnknownConnector},
			{"malformed query", func(t *testing.T, s *seeded) request {
				return request{Fn: "nango-list-connections", Token: s.token(t, userA1, orgA), Query: "limit=%zz"}
			}, 400, connectors.EInvalid},
		}
		runAttacks(t, s, attacks)
	})
}

func TestAttacksOnWebhook(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := newSeeded(t, e)
		// A webhook that would take userA1's connection for userA2 if it were accepted.
		body := webhookBody(t, "creation", true, "webhook-conn-1", userA2, orgA)
		hijack := webhookBody(t, "override", true, s.a1.ID, userA2, orgA)
		wh := func(b []byte, h map[string]string) func(*testing.T, *seeded) request {
			return func(*testing.T, *seeded) request { return request{Fn: "nango-webhook", Body: string(b), Headers: h} }
		}
		attacks := []attack{
			{"no signature", wh(body, nil), 401, connectors.EUnauthorized},
			{"bad signature", wh(body, map[string]string{"x-nango-hmac-sha256": nango.SignWebhook(body, "wrong-key")}), 401, connectors.EUnauthorized},
			{"signature of another body", wh(body, map[string]string{"x-nango-hmac-sha256": nango.SignWebhook(hijack, webhookKey)}), 401, connectors.EUnauthorized},
			{"not hex", wh(body, map[string]string{"x-nango-hmac-sha256": "zz"}), 401, connectors.EUnauthorized},
			{"legacy signature only", wh(body, map[string]string{"x-nango-signature": legacySignature(body)}), 401, connectors.EUnauthorized},
			{"signed with the secret key", wh(body, map[string]string{"x-nango-hmac-sha256": nango.SignWebhook(body, nangoSecretKey)}), 401, connectors.EUnauthorized},
			{"signature over the base64 text", func(*testing.T, *seeded) request {
				b64 := base64.StdEncoding.EncodeToString(body)
				return request{Fn: "nango-webhook", Body: b64, Base64: true, Headers: map[string]string{"x-nango-hmac-sha256": nango.SignWebhook([]byte(b64), webhookKey)}}
			}, 401, connectors.EUnauthorized},
			{"signed but not JSON", wh([]byte("not json"), map[string]string{"x-nango-hmac-sha256": nango.SignWebhook([]byte("not json"), webhookKey)}), 400, connectors.EInvalid},
		}
		runAttacks(t, s, attacks)

		t.Run("good signature over base64-decoded bytes", func(t *testing.T) {
			// A real flow: the user connected at Nango, the webhook comes
			// before the callback, while our state is live.
			id := e.ConnectAtFake(t, e.authorize(t, e.token(t, userA2, orgA), "slack", ""))
			body := webhookBody(t, "creation", true, id, userA2, orgA)
			resp := e.Do(t, request{Fn: "nango-webhook", Body: base64.StdEncoding.EncodeToString(body), Base64: true,
				Headers: map[string]string{"x-nango-hmac-sha256": nango.SignWebhook(body, webhookKey)}})
			if resp.StatusCode != 200 || resp.Body != `{"received":true}` {
				t.Fatalf("webhook: %d %s", resp.StatusCode, resp.Body)
			}
			if resp := e.get(t, e.token(t, userA2, orgA), id); resp.StatusCode != 200 {
				t.Errorf("webhook connection not stored for its tags' user: %d", resp.StatusCode)
			}
		})

		t.Run("signed webhook for a connection Nango does not have records nothing", func(t *testing.T) {
			before := e.snapshot(t)
			if resp := e.webhook(t, body, webhookKey, nil); resp.StatusCode != 200 {
				t.Fatalf("webhook: %d %s", resp.StatusCode, resp.Body)
			}
			e.unchanged(t, before)
		})

		t.Run("signed hijack of another user's connection changes nothing", func(t *testing.T) {
			before := e.snapshot(t)
			resp := e.webhook(t, hijack, webhookKey, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("webhook: %d %s", resp.StatusCode, resp.Body)
			}
			e.unchanged(t, before)
		})

		for _, tt := range []struct {
			name string
			body string
		}{
			{"unknown type", `{"type":"sync","from":"nango","connectionId":"x","providerConfigKey":"slack","syncName":"s"}`},
			{"future type", `{"type":"something-new","payload":{"a":1}}`},
			{"auth for an integration we do not serve", `{"type":"auth","operation":"creation","success":true,"connectionId":"z","providerConfigKey":"zoom","tags":{"end_user_id":"u","organization_id":"o"}}`},
			{"auth without our tags", `{"type":"auth","operation":"creation","success":true,"connectionId":"z","providerConfigKey":"slack"}`},
			{"failed creation", `{"type":"auth","operation":"creation","success":false,"connectionId":"z","providerConfigKey":"slack","tags":{"end_user_id":"u","organization_id":"org-a"}}`},
		} {
			t.Run(tt.name+" is accepted and ignored", func(t *testing.T) {
				before := e.snapshot(t)
				resp := e.webhook(t, []byte(tt.body), webhookKey, nil)
				if resp.StatusCode != 200 || resp.Body != `{"received":true}` {
					t.Fatalf("webhook: %d %s", resp.StatusCode, resp.Body)
				}
				e.unchanged(t, before)
			})
		}

		t.Run("from the fake over HTTP", func(t *testing.T) {
			srv := newLambdaHTTP(t, e, "nango-webhook")
			id := e.ConnectAtFake(t, e.authorize(t, e.token(t, userA1, orgA), "hubspot", ""))
			res, err := e.Nango.SendAuthWebhook(t.Context(), srv, nangofake.AuthWebhook{Operation: "creation", Success: true, ConnectionID: id,
				ProviderConfigKey: "hubspot", Provider: "hubspot", Tags: map[string]string{"end_user_id": userA1, "organization_id": orgA}})
			if err != nil {
				t.Fatal(err)
			}
			if b := readAll(t, res.Body); res.StatusCode != 200 {
				t.Fatalf("webhook over HTTP: %d %s", res.StatusCode, b)
			}
			if resp := e.get(t, e.token(t, userA1, orgA), id); resp.StatusCode != 200 {
				t.Errorf("not stored: %d", resp.StatusCode)
			}
		})
	})
}

// legacySignature is Nango's old X-Nango-Signature: SHA-256 of secret key and body.
func legacySignature(body []byte) string {
	return fmt.Sprintf("%x", sha256Sum(append([]byte(nangoSecretKey), body...)))
}

func TestNangoOutages(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := newSeeded(t, e)
		authorize := func(t *testing.T, s *seeded) request {
			return request{Fn: "nango-authorize", Token: s.token(t, userA1, orgA), Params: map[string]string{"provider": "slack"}}
		}
		for _, tt := range []struct {
			name   string
			fault  nangofake.Fault
			req    func(*testing.T, *seeded) request
			status int
			code   string
		}{
			{"authorize on 500", nangofake.Fault{Status: 500}, authorize, 502, connectors.EUpstream},
			{"authorize on 503", nangofake.Fault{Status: 503}, authorize, 502, connectors.EUpstream},
			{"authorize on 429", nangofake.Fault{Status: 429, RetryAfter: "7"}, authorize, 429, connectors.ERateLimited},
			{"authorize when Nango refuses the secret key", nangofake.Fault{Status: 401, Code: "unknown_account"}, authorize, 503, connectors.ENotConfigured},
			{"authorize on 400", nangofake.Fault{Status: 400, Code: "invalid_body"}, authorize, 502, connectors.EUpstream},
			{"refresh on 500", nangofake.Fault{Status: 500}, func(t *testing.T, s *seeded) request {
				return request{Fn: "nango-refresh", Token: s.token(t, userA1, orgA), Params: map[string]string{"provider": "slack"}, Body: `{"connectionId":"` + s.a1.ID + `"}`}
			}, 502, connectors.EUpstream},
			{"delete on 500", nangofake.Fault{Status: 500}, func(t *testing.T, s *seeded) request {
				return request{Fn: "nango-delete-connection", Token: s.token(t, userA1, orgA), Params: map[string]string{"connectionId": s.a1.ID}}
			}, 502, connectors.EUpstream},
			{"delete on 429", nangofake.Fault{Status: 429, RetryAfter: "30"}, func(t *testing.T, s *seeded) request {
				return request{Fn: "nango-delete-connection", Token: s.token(t, userA1, orgA), Params: map[string]string{"connectionId": s.a1.ID}}
			}, 429, connectors.ERateLimited},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := tt.req(t, s)
				e.Nango.Inject(tt.fault)
				t.Cleanup(e.Nango.ClearFaults)
				before := e.snapshot(t)
				resp := e.expectError(t, r, tt.status, tt.code)
				e.unchanged(t, before)
				if tt.status == 429 && resp.Headers["Retry-After"] != tt.fault.RetryAfter {
					t.Errorf("Retry-After = %q, want %q", resp.Headers["Retry-After"], tt.fault.RetryAfter)
				}
			})
		}

		t.Run("callback on 500 keeps the state usable", func(t *testing.T) {
			a := e.authorize(t, e.token(t, userA1, orgA), "slack", "")
			id := e.ConnectAtFake(t, a)
			e.Nango.Inject(nangofake.Fault{Status: 500})
			before := e.snapshot(t)
			e.expectError(t, request{Fn: "nango-callback", Params: map[string]string{"provider": "slack"},
				Query: url.Values{"state": {a.State}, "connection_id": {id}}.Encode()}, 502, connectors.EUpstream)
			e.unchanged(t, before)
			e.Nango.ClearFaults()
			if resp := e.callback(t, "slack", a.State, id); resp.StatusCode != 200 {
				t.Fatalf("callback after the outage: %d %s", resp.StatusCode, resp.Body)
			}
		})
	})
}

func TestNangoUnreachable(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Run("timeout", func(t *testing.T) {
				e := newEnv(t, kind, envOptions{httpClient: &http.Client{Timeout: 300 * time.Millisecond}})
				e.Nango.Inject(nangofake.Fault{Latency: time.Second})
				before := e.snapshot(t)
				e.expectError(t, request{Fn: "nango-authorize", Token: e.token(t, userA1, orgA), Params: map[string]string{"provider": "slack"}}, 503, connectors.EUnavailable)
				e.unchanged(t, before)
			})
			t.Run("connection refused", func(t *testing.T) {
				port, err := loopback.FreePort()
				if err != nil {
					t.Fatal(err)
				}
				e := newEnv(t, kind, envOptions{nangoHost: fmt.Sprintf("http://127.0.0.1:%d", port)})
				before := e.snapshot(t)
				e.expectError(t, request{Fn: "nango-authorize", Token: e.token(t, userA1, orgA), Params: map[string]string{"provider": "slack"}}, 503, connectors.EUnavailable)
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
				defer cancel()
				e.expectError(t, request{Fn: "nango-callback", Ctx: ctx, Params: map[string]string{"provider": "slack"},
					Query: "state=x.y&connection_id=z"}, 400, connectors.EInvalidState)
				e.unchanged(t, before)
			})
		})
	}
}
