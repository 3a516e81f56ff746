package connect

import (
	"context"

	"github.com/automators/connectors/internal/connectors"
)

// Share shares one of the organization's connections with its members, or
// stops sharing it. Only an organization admin may; members' workflows
// with no connection of their own for the connector then use it (routing
// step 3), and members see it read-only.
func (s *Service) Share(ctx context.Context, p connectors.Principal, id string, shared bool) (c *connectors.Connection, err error) {
	connector := ""
	action := "unshare"
	if shared {
		action = "share"
	}
	defer func() { s.audit(ctx, p, action, id, connector, err) }()
	c, err = s.managed(ctx, p, id)
	if err != nil {
		return nil, err
	}
	connector = c.Connector
	if !p.IsAdmin() {
		return nil, connectors.Errorf(connectors.EForbidden, "only an organization admin may share or unshare a connection")
	}
	if c.Shared == shared {
		return c, nil // already so: a retry writes nothing
	}
	return s.tokens.Save(ctx, c, func(c *connectors.Connection) error {
		c.Shared = shared
		return nil
	})
}
