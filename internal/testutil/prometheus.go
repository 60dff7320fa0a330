package testutil

// A real Prometheus server (Debian's prometheus package) for tests of the
// prometheus module: it scrapes the module and is queried over its HTTP
// API.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
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
)

// PrometheusServer is a Prometheus server a test started; it is stopped
// when the test ends, and its log is shown if the test failed.
type PrometheusServer struct {
	// URL is the server's base URL, http://127.0.0.1:<port>.
	URL string
	log string // the server's log file
	cmd *exec.Cmd
}

// PromSample is one sample of an instant query's answer.
type PromSample struct {
	Labels map[string]string
	Value  string
}

// Bounds of the server's start, stop and each API request.
const (
	promStartTimeout = 60 * time.Second
	promStopTimeout  = 10 * time.Second
	promHTTPTimeout  = 10 * time.Second
	promMaxAnswer    = 16 << 20
	promLogTail      = 64 << 10
)

// StartPrometheus starts Debian's prometheus in its own temporary
// directory, listening on a free port of 127.0.0.1, scraping job's
// targets (host:port) at metricsPath every second, and waits until it is
// ready. Without prometheus installed the test is skipped (failed under
// CI).
func StartPrometheus(t testing.TB, job string, targets []string, metricsPath string) *PrometheusServer {
	t.Helper()
	bin := NeedTool(t, "prometheus", "prometheus")
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = strconv.Quote(tg)
	}
	// JSON is YAML: the strings are quoted.
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: %s
    metrics_path: %s
    static_configs:
      - targets: [%s]
`, strconv.Quote(job), strconv.Quote(metricsPath), strings.Join(quoted, ", "))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatalf("writing the Prometheus config: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port for Prometheus: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	logPath := filepath.Join(dir, "prometheus.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating Prometheus's log: %v", err)
	}
	defer logf.Close()
	p := &PrometheusServer{URL: "http://" + addr, log: logPath}
	p.cmd = exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--storage.tsdb.retention.time=1h", "--log.level=info")
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(promStopTimeout):
			_ = p.cmd.Process.Kill()
			<-exited
			t.Errorf("prometheus did not stop within %s of SIGTERM; killed", promStopTimeout)
		}
		if t.Failed() {
			t.Logf("prometheus's config:\n%s\nprometheus's log (tail):\n%s", cfg, p.LogTail())
		}
	})
	client := &http.Client{Timeout: promHTTPTimeout}
	deadline := time.Now().Add(promStartTimeout)
	for {
		res, err := client.Get(p.URL + "/-/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<10))
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("prometheus exited before it was ready (%v); its log:\n%s", err, p.LogTail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus was not ready within %s; its log:\n%s", promStartTimeout, p.LogTail())
		}
	}
}

// LogTail is the last 64 KiB of the server's log.
func (p *PrometheusServer) LogTail() string {
	f, err := os.Open(p.log)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > promLogTail {
		_, _ = f.Seek(st.Size()-promLogTail, io.SeekStart)
	}
	b, err := io.ReadAll(io.LimitReader(f, promLogTail))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Query runs an instant query through the HTTP API (/api/v1/query) and
// returns its samples; the answer must be a vector.
func (p *PrometheusServer) Query(ctx context.Context, query string) ([]PromSample, error) {
	ctx, cancel := context.WithTimeout(ctx, promHTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", query, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", query, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, promMaxAnswer))
	if err != nil {
		return nil, fmt.Errorf("query %q: reading the answer: %w", query, err)
	}
	var ans struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("query %q: %s: %w: %.300s", query, res.Status, err, body)
	}
	if ans.Status != "success" {
		return nil, fmt.Errorf("query %q: %s: %s", query, res.Status, ans.Error)
	}
	if ans.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: the answer is a %s, not a vector", query, ans.Data.ResultType)
	}
	out := make([]PromSample, 0, len(ans.Data.Result))
	for _, r := range ans.Data.Result {
		v, ok := r.Value[1].(string)
		if !ok {
			return nil, fmt.Errorf("query %q: a sample's value is %T, not a string", query, r.Value[1])
		}
		out = append(out, PromSample{Labels: r.Metric, Value: v})
	}
	return out, nil
}

// WaitQuery runs query every 500 ms until ok accepts its samples, and
// returns them; past timeout it fails the test with the last answer.
func (p *PrometheusServer) WaitQuery(t testing.TB, query string, timeout time.Duration, ok func([]PromSample) bool) []PromSample {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last []PromSample
	var err error
	for {
		last, err = p.Query(context.Background(), query)
		if err == nil && ok(last) {
			return last
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("not the answer expected")
			}
			t.Fatalf("Prometheus query %q within %s: %v; last answer: %v; targets: %s", query, timeout, err, last, p.targets())
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// targets is the server's view of its scrape targets (health, last
// error), for a failure's message.
func (p *PrometheusServer) targets() string {
	c := &http.Client{Timeout: promHTTPTimeout}
	res, err := c.Get(p.URL + "/api/v1/targets")
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return string(b)
}
