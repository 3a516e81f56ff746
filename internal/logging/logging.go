// Package logging builds the service's log/slog loggers: JSON, with the
// request id and function name on every line, and a redaction rule so that
// authorization headers, tokens and secrets cannot reach the logs.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
)

// Redacted replaces every value the redaction rule hides.
const Redacted = "[REDACTED]"

// Keys of the attributes WithRequest adds.
const (
	KeyRequestID = "request_id"
	KeyFunction  = "function"
)

// New returns a JSON logger writing to w at level (see ParseLevel; an
// unknown level logs at info and says so), with attrs on every line, and the
// redaction rule of Redact.
func New(w io.Writer, level string, attrs ...slog.Attr) *slog.Logger {
	lvl, err := ParseLevel(level)
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl, ReplaceAttr: Redact})
	logger := slog.New(h.WithAttrs(attrs))
	if err != nil {
		logger.Warn("unknown log level, logging at info", "error", err)
	}
	return logger
}

// ParseLevel parses LOG_LEVEL: debug, info, warn (or warning) or error, in
// any case. "" is info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("logging: level %q is not one of debug, info, warn, error", s)
}

type ctxKey struct{}

// WithRequest returns a context carrying logger with the request id and the
// function name added, for FromContext.
func WithRequest(ctx context.Context, logger *slog.Logger, requestID, function string) context.Context {
	if logger == nil {
		logger = Discard()
	}
	l := logger.With(KeyRequestID, requestID)
	if function != "" {
		l = l.With(KeyFunction, function)
	}
	return context.WithValue(ctx, ctxKey{}, l)
}

// FromContext returns the logger WithRequest stored in ctx, or a logger that
// discards everything, so that code called without one (tests, tools) never
// has to check for nil and never logs unredacted to a default output.
func FromContext(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return Discard()
}

// Discard returns a logger that writes nothing.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// sensitiveExact are keys that are secret only as a whole word: "code" is an
// OAuth code, "status_code" is not.
var sensitiveExact = map[string]bool{
	"code": true, "state": true, "auth": true, "jwt": true, "sig": true,
}

// sensitiveParts are key fragments that mark a secret wherever they appear:
// "access_token", "X-Nango-Signature", "nango_secret_key", "Set-Cookie".
var sensitiveParts = []string{
	"authorization", "cookie", "token", "secret", "password", "passwd",
	"apikey", "signature", "credential", "privatekey", "sessionkey",
}

// SensitiveKey reports whether an attribute key names a secret. Case,
// "-", "_", "." and spaces are ignored, so "Access-Token" and "accessToken"
// match alike.
func SensitiveKey(key string) bool {
	k := normalizeKey(key)
	if sensitiveExact[k] {
		return true
	}
	for _, p := range sensitiveParts {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}

func normalizeKey(key string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '.', ' ':
			return -1
		}
		return r
	}, strings.ToLower(key))
}

var (
	// bearerRE finds "Bearer <credential>" anywhere in a string.
	bearerRE = regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*`)
	// jwtRE finds JWTs anywhere in a string: a base64url JSON header (always
	// "eyJ", the encoding of `{"`) and two more segments (the signature may
	// be empty, as with alg none).
	jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
	// tokenRE matches a whole value of three long base64url segments: signed
	// tokens of other kinds (the OAuth state, session tokens).
	tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}$`)
)

// RedactString hides bearer credentials and JWT-shaped tokens inside s,
// keeping the rest, so that an error message quoting a header stays useful.
func RedactString(s string) string {
	if len(s) < 10 {
		return s
	}
	if tokenRE.MatchString(s) {
		return Redacted
	}
	s = bearerRE.ReplaceAllString(s, Redacted)
	return jwtRE.ReplaceAllString(s, Redacted)
}

// Redact is the slog ReplaceAttr rule: an attribute whose key, or the key of
// any group around it, names a secret is replaced by Redacted; strings,
// errors and maps (header maps, decoded JSON) are searched for secrets
// whatever their key. Other values (structs) are logged as they are: give
// them a LogValue method.
func Redact(groups []string, a slog.Attr) slog.Attr {
	for _, g := range groups {
		if SensitiveKey(g) {
			return slog.String(a.Key, Redacted)
		}
	}
	if SensitiveKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); RedactString(s) != s {
			return slog.String(a.Key, RedactString(s))
		}
	case slog.KindAny:
		if v, ok := redactAny(a.Value.Any()); ok {
			return slog.Any(a.Key, v)
		}
	}
	return a
}

// redactAny returns a redacted copy of v and true when v is a kind of value
// that can hold secrets under its own keys.
func redactAny(v any) (any, bool) {
	switch x := v.(type) {
	case error:
		return RedactString(x.Error()), true
	case string:
		return RedactString(x), true
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, s := range x {
			out[k] = redactValue(k, s)
		}
		return out, true
	case http.Header:
		return redactStrings(x), true
	case map[string][]string:
		return redactStrings(x), true
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if SensitiveKey(k) {
				out[k] = Redacted
			} else if r, ok := redactAny(e); ok {
				out[k] = r
			} else {
				out[k] = e
			}
		}
		return out, true
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = RedactString(e)
		}
		return out, true
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			if r, ok := redactAny(e); ok {
				out[i] = r
			} else {
				out[i] = e
			}
		}
		return out, true
	}
	return nil, false
}

func redactValue(key, s string) string {
	if SensitiveKey(key) {
		return Redacted
	}
	return RedactString(s)
}

func redactStrings(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, vs := range m {
		rs := make([]string, len(vs))
		for i, s := range vs {
			rs[i] = redactValue(k, s)
		}
		out[k] = rs
	}
	return out
}
