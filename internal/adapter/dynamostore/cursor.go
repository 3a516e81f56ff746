package dynamostore

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/cursor"
)

// cursorCodec turns a DynamoDB LastEvaluatedKey into an opaque page cursor
// and back: the key as JSON, sealed by package cursor.
type cursorCodec struct{ cursor.Codec }

// encode returns the cursor for key under scope, or "" when key is empty
// (the last page).
func (c cursorCodec) encode(scope []string, key map[string]types.AttributeValue) (string, error) {
	if len(key) == 0 {
		return "", nil
	}
	plain := make(map[string]string, len(key))
	for name, v := range key {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("encode cursor: key attribute %s is %T, want a string", name, v)
		}
		plain[name] = s.Value
	}
	payload, err := json.Marshal(plain)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return c.Seal(scope, payload), nil
}

// decode returns the key a cursor made by encode under the same scope holds,
// nil for "", and an EInvalid error for anything else.
func (c cursorCodec) decode(scope []string, cur string) (map[string]types.AttributeValue, error) {
	payload, err := c.Open(scope, cur)
	if err != nil || payload == nil {
		return nil, err
	}
	var plain map[string]string
	if err := json.Unmarshal(payload, &plain); err != nil || len(plain) == 0 {
		return nil, connectors.Errorf(connectors.EInvalid, "invalid cursor")
	}
	key := make(map[string]types.AttributeValue, len(plain))
	for name, v := range plain {
		key[name] = &types.AttributeValueMemberS{Value: v}
	}
	return key, nil
}
