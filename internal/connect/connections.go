package connect

import (
	"context"
	"errors"
	"fmt"

	"github.com/automators/connectors/internal/connectors"
)

// ListParams are the filters of list.
type ListParams struct {
	Connector    string
	Status       connectors.Status
	Limit        int
	Cursor       string
	Organization bool // an admin lists the whole organization
}

// List returns the caller's connections and those shared with the
// organization, or an admin's whole organization's.
func (s *Service) List(ctx context.Context, p connectors.Principal, in ListParams) (connectors.ConnectionPage, error) {
	f := connectors.ConnectionFilter{OrganizationID: p.OrganizationID, UserID: p.UserID, Connector: in.Connector, Status: in.Status, Limit: in.Limit, Cursor: in.Cursor, IncludeShared: true}
	if in.Organization {
		if !p.IsAdmin() {
			return connectors.ConnectionPage{}, connectors.Errorf(connectors.EForbidden, "only an organization admin may list the whole organization")
		}
		f.UserID, f.IncludeShared = "", false
	}
	page, err := s.store.ListConnections(ctx, f)
	if err != nil {
		if connectors.ErrorCode(err) == connectors.EInvalid {
			return page, err
		}
		return page, fmt.Errorf("list connections: %w", err)
	}
	return page, nil
}

// Get returns a connection the caller may see: one of theirs, any of the
// organization's for an admin, or one shared with the organization.
func (s *Service) Get(ctx context.Context, p connectors.Principal, id string) (*connectors.Connection, error) {
	return s.visible(ctx, p, id)
}

// managed loads a connection the caller may change: theirs, or any of the
// organization's for an admin. A connection shared with the caller's
// organization is read-only to its members (forbidden); any other answers
// not found, exactly like a connection that does not exist.
func (s *Service) managed(ctx context.Context, p connectors.Principal, id string) (*connectors.Connection, error) {
	c, err := s.visible(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !c.OwnedBy(p) {
		return nil, connectors.Errorf(connectors.EForbidden, "connection %s is shared with the organization read-only; only its owner or an admin may change it", c.ID)
	}
	return c, nil
}

// visible loads a connection the caller may see (Connection.VisibleTo);
// any other answers not found, exactly like a connection that does not
// exist.
func (s *Service) visible(ctx context.Context, p connectors.Principal, id string) (*connectors.Connection, error) {
	notFound := connectors.Errorf(connectors.ENotFound, "connection %s not found", id)
	if id == "" || len(id) > 256 {
		return nil, notFound
	}
	c, err := s.store.GetConnection(ctx, p.OrganizationID, id)
	if errors.Is(err, connectors.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("load connection %s: %w", id, err)
	}
	if !c.VisibleTo(p) {
		return nil, notFound
	}
	return c, nil
}

// Delete removes a connection at its provider and in the store.
func (s *Service) Delete(ctx context.Context, p connectors.Principal, id string) (err error) {
	c, err := s.managed(ctx, p, id)
	if err != nil {
		return err
	}
	detail := ""
	defer func() { s.auditDetail(ctx, p, "delete", c.ID, c.Connector, detail, err) }()
	prov, err := s.tokens.Provider(c)
	if err != nil {
		return err
	}
	var held *connectors.Token
	if len(c.SealedToken) > 0 {
		if t, err := s.tokens.OpenToken(ctx, c); err == nil {
			held = &t
		}
	}
	if detail, err = prov.Revoke(ctx, c, held); err != nil {
		return err
	}
	if err := s.store.DeleteConnection(ctx, c.OrganizationID, c.ID); err != nil {
		return fmt.Errorf("delete connection %s: %w", c.ID, err)
	}
	return nil
}
