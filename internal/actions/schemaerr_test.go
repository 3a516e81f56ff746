package actions

import (
	"errors"
	"testing"
)

// TestSchemaErrorWords holds the schema validator's failures to messages
// a workflow author can act on, each naming the field.
func TestSchemaErrorWords(t *testing.T) {
	cat := testCatalogue(t)
	tests := []struct {
		connector, action string
		params            map[string]any
		field, problem    string
	}{
		{"slack", "send_message", map[string]any{"text": "hi"}, "channel", "is required"},
		{"slack", "send_message", map[string]any{"channel": "C1", "text": "hi", "chanel": "x"}, "chanel", "is not a parameter of this action"},
		{"slack", "send_message", map[string]any{"channel": 5.0, "text": "hi"}, "channel", "must be a string, got number"},
		{"slack", "send_message", map[string]any{"channel": " ", "text": "hi"}, "channel", "must not be blank"},
		{"slack", "send_message", map[string]any{"channel": "C1", "blocks": []any{"x"}}, "blocks[0]", "must be an object, got string"},
		{"slack", "list_channels", map[string]any{"limit": 0.0}, "limit", "must be between 1 and 1000, got 0"},
		{"slack", "list_channels", map[string]any{"limit": "10"}, "limit", "must be an integer, got string"},
		{"slack", "list_channels", map[string]any{"types": "dm"}, "types", `must be one of public_channel, private_channel, mpim, im, got "dm"`},
		{"slack", "list_channels", map[string]any{"types": []any{"im", "dm"}}, "types[1]", `must be one of public_channel, private_channel, mpim, im, got "dm"`},
		{"gmail", "send_email", map[string]any{"to": "a@example.com", "subject": "s\r\nBcc: v@example.com", "body": "b"}, "subject", "must be a single line"},
		{"google-sheets", "append_values", map[string]any{"spreadsheet_id": "..", "range": "A1", "values": []any{[]any{"a"}}}, "spreadsheet_id", `must be an identifier, got ".."`},
		{"google-sheets", "append_values", map[string]any{"spreadsheet_id": "s", "range": "A1", "values": []any{}}, "values", "must not be empty"},
		// Rules the parameters break together, worded from the action's constraints.
		{"stripe", "create_refund", map[string]any{"charge": "ch_1", "payment_intent": "pi_1"}, "charge", "cannot be given with payment_intent: give exactly one"},
		{"stripe", "create_invoice", map[string]any{"customer": "cus_1", "days_until_due": 30.0}, "days_until_due", "is not allowed with the other parameters given"},
		{"gmail", "get_message", map[string]any{"message_id": "m1", "format": "full", "metadata_headers": []any{"From"}}, "format", `must be metadata, got "full"`},
	}
	for _, tt := range tests {
		a, _ := cat.Lookup(tt.connector, tt.action)
		err := a.Validate(tt.params)
		var pe *ParamError
		if !errors.As(err, &pe) {
			t.Errorf("%s.%s %v: err = %v, want a ParamError", tt.connector, tt.action, tt.params, err)
			continue
		}
		if pe.Field != tt.field || pe.Problem != tt.problem {
			t.Errorf("%s.%s: %q %q, want %q %q", tt.connector, tt.action, pe.Field, pe.Problem, tt.field, tt.problem)
		}
	}
}
