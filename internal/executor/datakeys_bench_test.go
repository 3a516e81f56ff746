package executor_test

import (
	"context"

	"github.com/automators/connectors/internal/connectors"
)

// The benchmarks' memStore seals with token_encryption_keys only: it keeps no
// data keys.

func (s *memStore) CreateDataKey(context.Context, *connectors.DataKey) error { return errNotImpl }
func (s *memStore) GetDataKey(context.Context, string, string) (*connectors.DataKey, error) {
	return nil, errNotImpl
}
func (s *memStore) LatestDataKey(context.Context, string) (*connectors.DataKey, error) {
	return nil, errNotImpl
}
func (s *memStore) DeleteDataKeys(context.Context, string) (int, error) { return 0, errNotImpl }
