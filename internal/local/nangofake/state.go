package nangofake

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"
)

// The sandbox of `make run` keeps its state in a file (Options.StateFile) so
// that a restart keeps every connection the local store knows usable: the
// store's records survive in .local, and a fake that forgot its connections
// would answer the next refresh with "unknown connection" and flip the
// record to reauth_required for good.

// savedState is the file's content. Sessions are short-lived and not kept.
type savedState struct {
	NextID      int64             `json:"nextId"`
	Connections []savedConnection `json:"connections"`
}

type savedConnection struct {
	ID                 int64             `json:"id"`
	ConnectionID       string            `json:"connectionId"`
	Key                string            `json:"providerConfigKey"`
	Provider           string            `json:"provider"`
	AuthMode           string            `json:"authMode"`
	Tags               map[string]string `json:"tags"`
	EndUser            map[string]any    `json:"endUser,omitempty"`
	Metadata           map[string]any    `json:"metadata"`
	Created            time.Time         `json:"created"`
	Updated            time.Time         `json:"updated"`
	LastFetched        time.Time         `json:"lastFetched,omitzero"`
	AccessToken        string            `json:"accessToken"`
	RefreshToken       string            `json:"refreshToken,omitempty"`
	ExpiresAt          time.Time         `json:"expiresAt,omitzero"`
	TokenSecret        string            `json:"tokenSecret,omitempty"`
	WebhookURLOverride *string           `json:"webhookUrlOverride,omitempty"`
}

// loadState reads Options.StateFile; a missing file is an empty state.
func (s *Server) loadState() error {
	b, err := os.ReadFile(s.opts.StateFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("nangofake: read state: %w", err)
	}
	var st savedState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("nangofake: decode state %s: %w", s.opts.StateFile, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID = st.NextID
	for _, c := range st.Connections {
		s.conns[connKey{c.Key, c.ConnectionID}] = &connection{
			id: c.ID, connectionID: c.ConnectionID, key: c.Key, provider: c.Provider, authMode: c.AuthMode,
			tags: c.Tags, endUser: c.EndUser, metadata: c.Metadata, created: c.Created, updated: c.Updated,
			lastFetched: c.LastFetched, accessToken: c.AccessToken, refreshToken: c.RefreshToken,
			expiresAt: c.ExpiresAt, tokenSecret: c.TokenSecret, webhookURLOverride: c.WebhookURLOverride,
		}
	}
	return nil
}

// saveLocked writes the state file, atomically (a crash mid-write keeps the
// previous state). Called with s.mu held, after each change.
func (s *Server) saveLocked() error {
	if s.opts.StateFile == "" {
		return nil
	}
	st := savedState{NextID: s.nextID, Connections: []savedConnection{}}
	for _, c := range s.conns {
		st.Connections = append(st.Connections, savedConnection{
			ID: c.id, ConnectionID: c.connectionID, Key: c.key, Provider: c.provider, AuthMode: c.authMode,
			Tags: c.tags, EndUser: c.endUser, Metadata: maps.Clone(c.metadata), Created: c.created, Updated: c.updated,
			LastFetched: c.lastFetched, AccessToken: c.accessToken, RefreshToken: c.refreshToken,
			ExpiresAt: c.expiresAt, TokenSecret: c.tokenSecret, WebhookURLOverride: c.webhookURLOverride,
		})
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("nangofake: encode state: %w", err)
	}
	tmp := s.opts.StateFile + ".tmp"
	if err := os.MkdirAll(filepath.Dir(tmp), 0o700); err != nil {
		return fmt.Errorf("nangofake: state directory: %w", err)
	}
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("nangofake: write state: %w", err)
	}
	if err := os.Rename(tmp, s.opts.StateFile); err != nil {
		return fmt.Errorf("nangofake: write state: %w", err)
	}
	return nil
}

// Open is New for a fake with a StateFile: it loads the connections saved
// there. New ignores the file's content.
func Open(opts Options) (*Server, error) {
	s := New(opts)
	if opts.StateFile == "" {
		return s, nil
	}
	if err := s.loadState(); err != nil {
		return nil, err
	}
	return s, nil
}
