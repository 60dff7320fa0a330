package clusterbackend

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// clusterLogQueue bounds the cluster log entries waiting for the monitors:
// past it new entries are dropped (and counted) rather than block a module
// or grow without bound while the monitors are away.
const clusterLogQueue = 256

// clusterLogMaxText bounds one entry's text (a longer one is cut, and says
// so), so the queue holds at most 16 MiB.
const clusterLogMaxText = 64 << 10

// clusterLog sends modules' cluster log entries to the monitors with the
// `log` command, in order, from one goroutine: the entries queued behind
// the one it takes go in the same command, one per line (see batch). At
// Close what is still queued gets up to a second to go out.
//
// The `log` command is the only way into the cluster log that a librados
// client has (a real mgr sends MLog messages through its LogClient), and
// the monitors record its text on the "cluster" channel at INF under the
// client's name. So that nothing is lost, an entry for another channel or
// level carries them at the front of its text: "[audit WRN] ...".
type clusterLog struct {
	b     *Backend
	queue chan string

	mu sync.Mutex
	// dropped counts the entries dropped since the last warning about
	// it; lost counts them all.
	dropped, lost int
}

func newClusterLog(b *Backend) *clusterLog {
	return &clusterLog{b: b, queue: make(chan string, clusterLogQueue)}
}

// ClusterLog implements backend.ClusterLogger.
func (b *Backend) ClusterLog(channel string, prio slog.Level, msg string) {
	b.clog.add(clusterLogText(channel, prio, msg))
}

// clusterLogText is the text of the `log` command for an entry.
func clusterLogText(channel string, prio slog.Level, msg string) string {
	if channel == "" {
		channel = "cluster"
	}
	p := clogPriorityName(prio)
	text := msg
	if channel != "cluster" || p != "INF" {
		text = fmt.Sprintf("[%s %s] %s", channel, p, msg)
	}
	if len(text) > clusterLogMaxText {
		const cut = " [... cut: longer than 64 KiB]"
		text = strings.ToValidUTF8(text[:clusterLogMaxText-len(cut)], "") + cut
	}
	return text
}

// clogPriorityName is Ceph's short name of the priority a slog level maps
// to (as clog_type_to_string without the brackets).
func clogPriorityName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DBG"
	case l < slog.LevelWarn:
		return "INF"
	case l < slog.LevelError:
		return "WRN"
	}
	return "ERR"
}

func (c *clusterLog) add(text string) {
	select {
	case c.queue <- text:
	default:
		c.mu.Lock()
		c.dropped++
		c.lost++
		c.mu.Unlock()
	}
}

// run sends queued entries until stop is closed, then what is still
// queued for at most clusterLogFlush more (a module's last records, at
// shutdown); only then is a send in flight cancelled.
func (c *clusterLog) run(stop <-chan struct{}) {
	abort, done := make(chan struct{}), make(chan struct{})
	defer close(done)
	go func() {
		defer close(abort)
		<-stop
		t := time.NewTimer(min(clusterLogFlush, c.b.opts.OpTimeout))
		defer t.Stop()
		select {
		case <-t.C:
		case <-done:
		}
	}()
	for {
		select {
		case <-stop:
			c.flush(abort)
			return
		case text := <-c.queue:
			c.reportDrops()
			c.sendFrom(abort, text)
		}
	}
}

// clusterLogFlush bounds the sending of what is still queued at Close.
const clusterLogFlush = time.Second

// flush sends the queued entries until the queue is empty or abort.
func (c *clusterLog) flush(abort <-chan struct{}) {
	for {
		select {
		case <-abort:
			return
		case text := <-c.queue:
			c.sendFrom(abort, text)
		default:
			return
		}
	}
}

// sendFrom sends first and the entries queued behind it, in batches.
func (c *clusterLog) sendFrom(abort <-chan struct{}, first string) {
	for text := first; text != ""; {
		var batch string
		batch, text = c.batch(text)
		c.send(abort, batch)
	}
}

// batch joins first with the entries queued behind it, one per line, up
// to clusterLogMaxText, and returns the entry that did not fit ("" if
// none): the monitors commit one `log` command at a time (each waits for
// a paxos proposal, a second by default), so one entry per command would
// fall behind a module that logs a few records a second.
func (c *clusterLog) batch(first string) (batch, next string) {
	var b strings.Builder
	b.WriteString(first)
	for {
		select {
		case text := <-c.queue:
			if b.Len()+1+len(text) > clusterLogMaxText {
				return b.String(), text
			}
			b.WriteByte('\n')
			b.WriteString(text)
		default:
			return b.String(), ""
		}
	}
}

func (c *clusterLog) reportDrops() {
	c.mu.Lock()
	dropped := c.dropped
	c.dropped = 0
	c.mu.Unlock()
	if dropped > 0 {
		c.b.log.Warn("cluster log entries dropped: the monitors were too slow", "dropped", dropped)
	}
}

// send sends one `log` command; a closed abort cancels it (silently).
func (c *clusterLog) send(abort <-chan struct{}, text string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.b.opts.OpTimeout)
	defer cancel()
	go func() {
		select {
		case <-abort:
			cancel()
		case <-ctx.Done():
		}
	}()
	res := c.b.mon(ctx, map[string]any{"prefix": "log", "logtext": []string{text}}, nil)
	if res.Retval != 0 && ctx.Err() != context.Canceled {
		const keep = 200
		c.b.log.Warn("cluster log entry not sent", "retval", res.Retval, "err", res.Stderr,
			"msg", strings.ToValidUTF8(text[:min(len(text), keep)], ""), "bytes", len(text))
	}
}
