package panora

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/automators/connectors/internal/connectors"
)

// DefaultOriginPrefix starts every origin id this service gives Panora.
const DefaultOriginPrefix = "automators:"

// OriginID is the linked_user_origin_id of a user of an organization:
// prefix, then the organization and the user, each URL path-escaped (so
// neither holds a "/"), joined by "/". Distinct (organization, user) pairs
// never share one: "a/b" + "c" is "a%2Fb/c", "a" + "b/c" is "a/b%2Fc".
func OriginID(prefix, orgID, userID string) string {
	return prefix + url.PathEscape(orgID) + "/" + url.PathEscape(userID)
}

// ParseOriginID is OriginID's inverse. ok is false for an origin id this
// service did not make with prefix.
func ParseOriginID(prefix, origin string) (orgID, userID string, ok bool) {
	rest, found := strings.CutPrefix(origin, prefix)
	if !found {
		return "", "", false
	}
	o, u, found := strings.Cut(rest, "/")
	if !found || strings.Contains(u, "/") {
		return "", "", false
	}
	var err error
	if orgID, err = url.PathUnescape(o); err != nil {
		return "", "", false
	}
	if userID, err = url.PathUnescape(u); err != nil {
		return "", "", false
	}
	if OriginID(prefix, orgID, userID) != origin { // one spelling only
		return "", "", false
	}
	return orgID, userID, true
}

// project returns the API key's Panora project, when known.
func (p *Provider) project() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.projectID, p.projectID != ""
}

// learnProject records the API key's project from an answer bound to it
// (a linked user it created, the project's lists). The first one wins: a
// later, different one is ignored (it cannot be the key's).
func (p *Provider) learnProject(id string) {
	if id == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.projectID == "" {
		p.projectID = id
	}
}

func (p *Provider) cached(origin string) (*LinkedUser, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	lu, ok := p.users[origin]
	return lu, ok
}

func (p *Provider) remember(lu *LinkedUser) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.users) >= maxCachedUsers {
		clear(p.users) // a bound, not an LRU: a container serves few users
	}
	p.users[lu.OriginID] = lu
}

// maxCachedUsers bounds the linked users a Provider remembers.
const maxCachedUsers = 10000

// linkedUser returns the linked user of (orgID, userID) in the API key's
// project, creating it when create is set and there is none. Concurrent
// calls for one user in this container are one (so two concurrent connects
// create one linked user); across containers, Panora has no unique
// constraint on linked_user_origin_id, so two may be created at once: the
// lookups return one of them, and Complete accepts a connection filed
// under either (ownedBy).
func (p *Provider) linkedUser(ctx context.Context, orgID, userID string, create bool) (*LinkedUser, error) {
	origin := OriginID(p.prefix, orgID, userID)
	if lu, ok := p.cached(origin); ok {
		return lu, nil
	}
	key := "find\x00" + origin
	if create {
		key = "create\x00" + origin
	}
	// The shared call outlives a caller that gives up (the others still
	// wait for it), bounded by the caller's deadline or flightTimeout.
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(flightTimeout)
	}
	ch := p.flight.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		defer cancel()
		return p.findOrCreate(fctx, origin, orgID, create)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*LinkedUser), nil
	case <-ctx.Done():
		return nil, &callError{op: "linked user", err: ctx.Err()}
	}
}

// flightTimeout bounds a shared linked-user lookup whose caller has no
// deadline.
const flightTimeout = 30 * time.Second

func (p *Provider) findOrCreate(ctx context.Context, origin, orgID string, create bool) (*LinkedUser, error) {
	lu, err := p.findLinkedUser(ctx, origin)
	if err == nil || !IsNotFound(err) || !create {
		return lu, err
	}
	lu, err = p.client.CreateLinkedUser(ctx, CreateLinkedUserRequest{OriginID: origin, Alias: orgID})
	if IsConflict(err) {
		// A Panora that refuses a second linked user with the same origin
		// id: another container made it; read it back.
		return p.findLinkedUser(ctx, origin)
	}
	if err != nil {
		return nil, err
	}
	p.learnProject(lu.ProjectID)
	p.remember(lu)
	return lu, nil
}

// duplicates returns the ids of the project's linked users with origin
// (more than one when containers raced to create it).
func (p *Provider) duplicates(ctx context.Context, origin string) (map[string]bool, error) {
	list, err := p.client.ListLinkedUsers(ctx)
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, u := range list {
		p.learnProject(u.ProjectID)
		if u.OriginID == origin && u.ID != "" {
			ids[u.ID] = true
		}
	}
	return ids, nil
}

// findLinkedUser looks origin up in the API key's project. The lookup by
// origin id (GET /linked_users/fromRemoteId) searches every project of
// Panora's, so its answer is used only when it is in the key's project;
// otherwise (another project's user, or the project not known yet) the
// project's own list decides, and teaches the project.
func (p *Provider) findLinkedUser(ctx context.Context, origin string) (*LinkedUser, error) {
	lu, err := p.client.LinkedUserByOrigin(ctx, origin)
	if err != nil && !IsNotFound(err) {
		return nil, err
	}
	if err != nil {
		return nil, err // nobody in any project has this origin id
	}
	if project, known := p.project(); known && lu.ProjectID == project && lu.OriginID == origin {
		p.remember(lu)
		return lu, nil
	}
	list, err := p.client.ListLinkedUsers(ctx)
	if err != nil {
		return nil, err
	}
	var found *LinkedUser
	for i := range list {
		p.learnProject(list[i].ProjectID)
		if list[i].OriginID == origin && found == nil {
			found = &list[i]
		}
	}
	if found == nil {
		return nil, &APIError{Op: "GET /linked_users", Status: 404, Message: "no linked user with this origin id in the project"}
	}
	p.remember(found)
	return found, nil
}

// ownedBy reports whether Panora's connection c belongs to the user whose
// linked user is lu (origin): filed under lu, or under another linked user
// of the same project with the same origin id (a duplicate made by a race).
func (p *Provider) ownedBy(ctx context.Context, c *Connection, lu *LinkedUser) (bool, error) {
	if c.LinkedUserID == lu.ID {
		return true, nil
	}
	if c.LinkedUserID == "" {
		return false, nil
	}
	other, err := p.client.LinkedUser(ctx, c.LinkedUserID)
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return other.OriginID == lu.OriginID && other.ProjectID == c.ProjectID, nil
}

// owner is whom Panora's connection c is for, from its linked user's origin
// id; an empty Owner (never nil, so that it matches no state) when the
// linked user is not one this service made.
func (p *Provider) owner(ctx context.Context, c *Connection) (*connectors.Owner, error) {
	none := &connectors.Owner{ConnectionID: c.ID}
	if c.LinkedUserID == "" {
		return none, nil
	}
	lu, err := p.client.LinkedUser(ctx, c.LinkedUserID)
	if IsNotFound(err) {
		return none, nil
	}
	if err != nil {
		return nil, err
	}
	org, user, ok := ParseOriginID(p.prefix, lu.OriginID)
	if !ok || lu.ProjectID != c.ProjectID || !connectors.ValidID(org) || !connectors.ValidID(user) {
		return none, nil
	}
	return &connectors.Owner{OrganizationID: org, UserID: user, ConnectionID: c.ID}, nil
}
