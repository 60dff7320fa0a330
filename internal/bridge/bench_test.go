package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

type benchEchoArgs struct {
	clicommand.Read `prefix:"becho" desc:"echo"`
	Text            string
}

type benchEcho struct{}

func (benchEcho) Init(*module.Handle) error { return nil }
func (benchEcho) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Func(func(_ context.Context, a *benchEchoArgs) objectformat.Result { return objectformat.OK(a.Text) })}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkBridgedCommand: a one-word command's round trip through the
// Go side of the bridge (Run), from a Go shim (peer) on its socket; both
// sides in this process.
func BenchmarkBridgedCommand(b *testing.B) {
	dir := b.TempDir()
	reg := modhost.NewRegistry()
	if err := reg.Register(module.Info{Name: "becho", New: func() module.Module { return benchEcho{} }}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunOptions{RunDir: dir, MgrID: "x", Registry: reg, Log: discard{}, Idle: time.Hour})
	}()
	defer func() { cancel(); <-done }()
	var c net.Conn
	var err error
	for i := 0; i < 100; i++ {
		if c, err = net.Dial("unix", filepath.Join(dir, SocketName)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		b.Fatal(err)
	}
	p := newPeer(c, func(context.Context, string, json.RawMessage) (any, error) { return nil, nil })
	go p.run(context.Background())
	defer p.close()
	if err := p.call(ctx, "hello", helloArgs("becho", nil), nil); err != nil {
		b.Fatal(err)
	}
	args := map[string]any{"cmd": map[string]any{"prefix": "becho", "text": "x"}, "inbuf_b64": ""}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var r commandReply
		if err := p.call(ctx, "command", args, &r); err != nil || r.Retval != 0 {
			b.Fatal(err, r)
		}
	}
}

// BenchmarkLargeReplyEncoding: the Go side's encoding of a command's 12
// MB stdout into its reply frame.
func BenchmarkLargeReplyEncoding(b *testing.B) {
	res := objectformat.OK(string(bytes.Repeat([]byte(`    "name": "obj-12345",`+"\n"), 12<<20/25)))
	b.SetBytes(int64(len(res.Stdout)))
	for i := 0; i < b.N; i++ {
		if _, err := encodeFrame(message{Re: 1, OK: json.RawMessage(encodeCommandReply(res))}); err != nil {
			b.Fatal(err)
		}
	}
}
