package connectors

import (
	"context"
	"fmt"
	"time"
)

// DataKey is one organization's data key as stored: wrapped (encrypted) by a
// key service, never in plaintext. Sealed values name the DataKey they need
// by ID, so an organization may hold several (rotation): the newest seals,
// all open. Deleting an organization's data keys makes its sealed values
// unreadable (crypto-shredding).
type DataKey struct {
	OrganizationID string
	// ID names the key inside sealed values. It is the key's generation,
	// fixed width (see DataKeyID), so that ids sort oldest first and the
	// next generation is a predictable name two containers can race for.
	ID        string
	Wrapped   []byte // the data key encrypted by WrappedBy, bound to the organization
	WrappedBy string // the wrapping key (a KMS key ARN, "local:..."); informational
	CreatedAt time.Time
}

// DataKeyID is the id of an organization's data key of generation gen (1 for
// the first): zero-padded, so that string order is generation order.
func DataKeyID(gen int) string { return fmt.Sprintf("%08d", gen) }

// ParseDataKeyID returns the generation of a DataKeyID, or false when id is
// not one.
func ParseDataKeyID(id string) (int, bool) {
	if len(id) != 8 {
		return 0, false
	}
	n := 0
	for _, c := range id {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n > 0
}

// DataKeyStore keeps organizations' wrapped data keys (table item
// PK=KEY#<orgId>, SK=<key id>).
type DataKeyStore interface {
	// CreateDataKey stores k if the organization has no key with its id;
	// otherwise it returns an ErrConflict error and changes nothing, so two
	// containers creating the same generation at once agree on one key.
	CreateDataKey(ctx context.Context, k *DataKey) error
	// GetDataKey returns the organization's key id, or an ErrNotFound error.
	GetDataKey(ctx context.Context, orgID, id string) (*DataKey, error)
	// LatestDataKey returns the organization's newest key (highest
	// generation), or an ErrNotFound error when it has none.
	LatestDataKey(ctx context.Context, orgID string) (*DataKey, error)
	// DeleteDataKeys deletes every data key of the organization and returns
	// how many it deleted. Its sealed values can no longer be opened.
	DeleteDataKeys(ctx context.Context, orgID string) (int, error)
}

// KeyWrapper makes and unwraps data keys: AWS KMS when deployed, a local
// wrapping key for `make run`. Each data key is bound to its organization
// (KMS encryption context {"organization": orgID}), so a wrapped key copied
// to another organization does not unwrap.
type KeyWrapper interface {
	// GenerateDataKey returns a fresh 32-byte data key in plaintext and
	// wrapped. The caller keeps the plaintext in memory only.
	GenerateDataKey(ctx context.Context, orgID string) (plaintext, wrapped []byte, err error)
	// DecryptDataKey unwraps a key made by GenerateDataKey for orgID.
	DecryptDataKey(ctx context.Context, orgID string, wrapped []byte) ([]byte, error)
	// KeyName names the wrapping key, for DataKey.WrappedBy and logs; it is
	// not secret.
	KeyName() string
}
