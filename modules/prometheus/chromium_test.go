package prometheus_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/module/moduletest"
)

// chromiumTimeout bounds one run of the browser.
const chromiumTimeout = 60 * time.Second

// chromium runs Debian's chromium headless on url with extra flags (its
// own profile directory under dir) and returns its standard output; the
// process group is killed at the timeout, and after the run (a child it
// left behind).
func chromium(t *testing.T, bin, dir, url string, flags ...string) string {
	t.Helper()
	profile, err := os.MkdirTemp(dir, "profile")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), chromiumTimeout)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile}, flags...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("chromium %v did not finish within %s; stderr:\n%s", flags, chromiumTimeout, tail(errb.String()))
	}
	require.NoError(t, err, "chromium %v; stderr:\n%s", flags, tail(errb.String()))
	return out.String()
}

// tail is the last 8 KiB of s.
func tail(s string) string {
	if len(s) > 8<<10 {
		return s[len(s)-8<<10:]
	}
	return s
}

// dom is what the test reads of a page's DOM.
type dom struct {
	title string
	h1    []string
	links []string // the a elements' href
}

// parseDOM walks Chromium's serialized DOM (--dump-dom) with the XML
// decoder in its HTML mode.
func parseDOM(t *testing.T, text string) dom {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(text))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	var out dom
	var open []string // the element stack's names
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err, "the DOM:\n%s", text)
		switch x := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(x.Name.Local)
			open = append(open, name)
			if name == "a" {
				for _, a := range x.Attr {
					if strings.EqualFold(a.Name.Local, "href") {
						out.links = append(out.links, a.Value)
					}
				}
			}
			if name == "h1" {
				out.h1 = append(out.h1, "")
			}
		case xml.EndElement:
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		case xml.CharData:
			if len(open) == 0 {
				continue
			}
			switch open[len(open)-1] {
			case "title":
				out.title += string(x)
			case "h1":
				out.h1[len(out.h1)-1] += string(x)
			}
		}
	}
}

// TestLandingPageInChromium: the landing page, loaded in headless
// Chromium, has Pacific's title, heading and a link that resolves to the
// module's metrics; its screenshot is a PNG of the window's size with the
// page drawn on it (not one background colour).
func TestLandingPageInChromium(t *testing.T) {
	bin := testutil.NeedTool(t, "chromium", "chromium")
	port := freePort(t)
	moduletest.Start(t, "prometheus", moduletest.WithOption("server_addr", "127.0.0.1"),
		moduletest.WithOption("server_port", strconv.Itoa(port)), moduletest.WithOption("cache", "false"))
	page := fmt.Sprintf("http://127.0.0.1:%d/", port)
	code, _, _ := get(t, page) // listening
	require.Equal(t, http.StatusOK, code)
	dir := t.TempDir()

	text := chromium(t, bin, dir, page, "--dump-dom")
	d := parseDOM(t, text)
	require.Equal(t, "Ceph Exporter", strings.TrimSpace(d.title), "the DOM:\n%s", text)
	require.Len(t, d.h1, 1, "the DOM:\n%s", text)
	require.Equal(t, "Ceph Exporter", strings.TrimSpace(d.h1[0]))
	require.Len(t, d.links, 1, "the DOM:\n%s", text)
	require.True(t, strings.HasSuffix(d.links[0], "metrics"), "the link %q", d.links[0])
	base, err := url.Parse(page)
	require.NoError(t, err)
	ref, err := url.Parse(d.links[0])
	require.NoError(t, err)
	target := base.ResolveReference(ref).String()
	require.Equal(t, page+"metrics", target, "the link resolves to the module's metrics")
	code, hdr, body := get(t, target)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, hdr.Get("Content-Type"), "text/plain")
	require.Contains(t, body, "# TYPE ceph_health_status ")

	const w, h = 800, 600
	shot := filepath.Join(dir, "landing.png")
	chromium(t, bin, dir, page, "--screenshot="+shot, fmt.Sprintf("--window-size=%d,%d", w, h), "--hide-scrollbars")
	if p := os.Getenv("GOMGR_SCREENSHOT"); p != "" { // to look at it
		b, err := os.ReadFile(shot)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, b, 0o644))
	}
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	require.Equal(t, "image/png", http.DetectContentType(head[:n]))
	_, err = f.Seek(0, io.SeekStart)
	require.NoError(t, err)
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, w, h), img.Bounds())
	bg := img.At(w-1, h-1) // the page's background, far from the text
	drawn, dark := 0, 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := img.At(x, y)
			if c != bg {
				drawn++
			}
			if r, g, b, _ := c.RGBA(); r+g+b < 3*0x4000 {
				dark++ // the heading's black text
			}
		}
	}
	require.Greater(t, drawn, 500, "the screenshot shows the page, not only its background")
	require.Greater(t, dark, 200, "the heading is drawn in dark text")
}
