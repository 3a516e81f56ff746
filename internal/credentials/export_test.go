package credentials

import (
	"context"

	"github.com/automators/connectors/internal/connectors"
)

// RefreshKept lets the tests refresh a kept token and see the token saved.
func (l *Lifecycle) RefreshKept(ctx context.Context, c *connectors.Connection) (*connectors.Connection, connectors.Token, error) {
	p, err := l.Provider(c)
	if err != nil {
		return nil, connectors.Token{}, err
	}
	return l.refreshKept(ctx, p, c)
}
