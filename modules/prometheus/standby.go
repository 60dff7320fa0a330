package prometheus

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/gomgr/gomgr/pkg/module"
)

// Standby is the module on a standby mgr (Pacific's StandbyModule), with
// one deliberate difference: with standby_behaviour "default" its
// /metrics redirects to the active's, where Pacific's answers an empty
// 200 (README.md says why).
type Standby struct {
	mgr      *module.StandbyHandle
	stopOnce sync.Once
	stop     chan struct{}
}

var (
	_ module.Server     = (*Standby)(nil)
	_ module.Shutdowner = (*Standby)(nil)
)

// InitStandby keeps the handle.
func (s *Standby) InitStandby(h *module.StandbyHandle) error {
	s.mgr = h
	s.stop = make(chan struct{})
	return nil
}

// Serve runs the standby's HTTP server until the module stops.
func (s *Standby) Serve(ctx context.Context) error {
	srv, _, _, err := startServer(s.mgr.Log(), s.mgr.LocalizedOption, s.handler())
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-s.stop:
	case err := <-srv.done:
		return fmt.Errorf("HTTP server: %w", err)
	}
	return srv.stop()
}

// Shutdown stops the standby's HTTP server.
func (s *Standby) Shutdown(context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	return nil
}

// handler is the standby's HTTP handler over its handle.
func (s *Standby) handler() http.Handler {
	return standbyHandler(func() Config { return options.GetStandby(s.mgr) }, s.mgr.ActiveURI)
}

// standbyUnknown is the 503 a standby answers when it knows no usable
// URI of the active's module.
const standbyUnknown = "this mgr is a standby and the active mgr's prometheus URI is not known " +
	"(no active mgr, or its prometheus module is not serving)"

// standbyHandler answers as a standby: with standby_behaviour "default",
// / is Pacific's page linking to the active's <uri>metrics and /metrics a
// 307 redirect there (503 while no active URI is known, rather than a
// link or redirect to nowhere); with "error" both answer
// standby_error_status_code with Pacific's "Keep on looking". Other paths
// are not found. cfg and activeURI are read on every request, so a change
// of the options or of the active applies at once.
func standbyHandler(cfg func() Config, activeURI func() string) http.Handler {
	// target answers the "error" behaviour, or the 503 when there is no
	// usable active URI, or returns the active's URI, ending in "/".
	target := func(w http.ResponseWriter) (string, bool) {
		if c := cfg(); c.StandbyBehaviour == "error" {
			http.Error(w, "Keep on looking", int(c.StandbyErrorStatusCode))
			return "", false
		}
		uri := activeURI()
		u, err := url.Parse(uri)
		if uri == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			http.Error(w, standbyUnknown, http.StatusServiceUnavailable)
			return "", false
		}
		if !strings.HasSuffix(uri, "/") {
			uri += "/"
		}
		return uri, true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		uri, ok := target(w)
		if !ok {
			return
		}
		to := uri + "metrics"
		if r.URL.RawQuery != "" {
			to += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, to, http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		uri, ok := target(w)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		fmt.Fprintf(w, landingPage, html.EscapeString(uri))
	})
	return withServerHeader(mux)
}
