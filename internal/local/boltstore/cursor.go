package boltstore

import "github.com/automators/connectors/internal/cursor"

// cursorCodec turns the bucket key of a page's last item into an opaque page
// cursor and back (see package cursor).
type cursorCodec struct{ cursor.Codec }

func (c cursorCodec) encode(scope []string, last []byte) string { return c.Seal(scope, last) }

func (c cursorCodec) decode(scope []string, cur string) ([]byte, error) { return c.Open(scope, cur) }
