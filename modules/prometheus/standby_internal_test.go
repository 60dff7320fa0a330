package prometheus

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStandbyHandler: what a standby answers for each active URI it may
// be given, good or unusable, and each behaviour.
func TestStandbyHandler(t *testing.T) {
	for _, tc := range []struct {
		name, behaviour, uri, path string
		code                       int
		location, body             string
	}{
		{name: "redirect", uri: "http://10.0.0.1:9283/", path: "/metrics", code: 307, location: "http://10.0.0.1:9283/metrics"},
		{name: "redirect keeps the query", uri: "http://10.0.0.1:9283/", path: "/metrics?x=1", code: 307, location: "http://10.0.0.1:9283/metrics?x=1"},
		{name: "a URI without its slash", uri: "https://[::1]:9283", path: "/metrics", code: 307, location: "https://[::1]:9283/metrics"},
		{name: "page", uri: "http://10.0.0.1:9283/", path: "/", code: 200, body: "<a href='http://10.0.0.1:9283/metrics'>Metrics</a>"},
		{name: "page escapes the URI", uri: "http://h:1/'><script>/", path: "/", code: 200, body: "<a href='http://h:1/&#39;&gt;&lt;script&gt;/metrics'>"},
		{name: "no URI", uri: "", path: "/metrics", code: 503, body: standbyUnknown},
		{name: "no URI, page", uri: "", path: "/", code: 503, body: standbyUnknown},
		{name: "not a URL", uri: "10.0.0.1:9283", path: "/metrics", code: 503, body: standbyUnknown},
		{name: "not http", uri: "ftp://h/", path: "/metrics", code: 503, body: standbyUnknown},
		{name: "no host", uri: "http:///x/", path: "/metrics", code: 503, body: standbyUnknown},
		{name: "error", behaviour: "error", uri: "http://h:1/", path: "/metrics", code: 429, body: "Keep on looking"},
		{name: "error, page", behaviour: "error", uri: "", path: "/", code: 429, body: "Keep on looking"},
		{name: "other path", uri: "http://h:1/", path: "/x", code: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.behaviour
			if b == "" {
				b = "default"
			}
			h := standbyHandler(func() Config { return Config{StandbyBehaviour: b, StandbyErrorStatusCode: 429} },
				func() string { return tc.uri })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			require.Equal(t, tc.code, rec.Code, rec.Body.String())
			require.Equal(t, tc.location, rec.Header().Get("Location"))
			require.Contains(t, rec.Body.String(), tc.body)
		})
	}
}
