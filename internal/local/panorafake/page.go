package panorafake

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
)

// page is the fake's magic-link page, at ConnectURL()/?uniqueLink=<id>, as
// Panora's is at https://connect.panora.dev/?uniqueLink=<id>
// (apps/magic-link/src/lib/ProviderModal.tsx reads the `uniqueLink` query
// parameter). Without `provider` it lists the apps to connect; with
// `provider` (a slug) and `vertical` it connects that app for the link's
// linked user at once (CompleteMagicLink, where Panora's page would run the
// app's OAuth flow), answering JSON, or a small page to a browser. It never
// shows the connection token.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("uniqueLink")
	s.mu.Lock()
	_, ok := s.links[id]
	apps := s.opts.Apps
	s.mu.Unlock()
	browser := strings.Contains(r.Header.Get("Accept"), "text/html")
	if !ok {
		if browser {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, "<!doctype html><title>Panora sandbox</title><p>This magic link does not exist.</p>")
			return
		}
		writeError(w, r, http.StatusNotFound, "Magic link undefined")
		return
	}
	slug, vertical := q.Get("provider"), q.Get("vertical")
	if slug == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		var b strings.Builder
		b.WriteString("<!doctype html><title>Panora sandbox</title><h1>Connect an app</h1><ul>")
		for _, a := range apps {
			link := "?" + url.Values{"uniqueLink": {id}, "provider": {a.Slug}, "vertical": {a.Vertical}}.Encode()
			fmt.Fprintf(&b, `<li><a href="%s">%s (%s)</a></li>`, html.EscapeString(link), html.EscapeString(a.Slug), html.EscapeString(a.Vertical))
		}
		b.WriteString("</ul>")
		fmt.Fprint(w, b.String())
		return
	}
	c, err := s.CompleteMagicLink(id, vertical, slug)
	if err != nil {
		writeError(w, r, http.StatusNotFound, err.Error())
		return
	}
	if browser {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>Panora sandbox</title><p>Connected %s (%s). Connection %s.</p>",
			html.EscapeString(c.Slug), html.EscapeString(c.Vertical), html.EscapeString(c.ID))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id_connection": c.ID, "provider_slug": c.Slug, "vertical": c.Vertical, "status": c.Status})
}
