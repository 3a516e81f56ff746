package actions

import (
	"net/url"
	"strings"
)

// seg escapes one URL path segment.
func seg(s string) string { return url.PathEscape(s) }

func joinComma(s []string) string { return strings.Join(s, ",") }

// defaultInt returns the integer parameter k, or def when it is absent.
func defaultInt(a args, k string, def int64) int64 {
	if a.has(k) {
		return a.int(k)
	}
	return def
}

// graphQuery builds a Microsoft Graph query string. OData system options
// keep their literal '$' as Graph documents them; values are escaped with
// %20 for spaces, which OData reads unambiguously.
func graphQuery(opts [][2]string) string {
	var b strings.Builder
	for _, o := range opts {
		if o[1] == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(o[0])
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(url.QueryEscape(o[1]), "+", "%20"))
	}
	return b.String()
}
