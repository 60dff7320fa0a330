package bridge

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// TestPythonShim runs the shim's own tests (python3, a stand-in
// mgr_module and a fake Go side speaking the protocol).
func TestPythonShim(t *testing.T) {
	testutil.NeedTool(t, "python3", "python3")
	cmd := exec.Command("python3", filepath.Join("python", "test_gomgr_bridge.py"))
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

func frame(b []byte) []byte {
	out := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(out, uint32(len(b)))
	copy(out[4:], b)
	return out
}

// TestPeerRoundTrip: requests both ways, replies matched by id, errors
// with their errno, one-way messages, and callers answered at once when
// the connection goes.
func TestPeerRoundTrip(t *testing.T) {
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 4)
	pa := newPeer(a, func(_ context.Context, op string, args json.RawMessage) (any, error) {
		got <- op + " " + string(args)
		return map[string]int{"n": 1}, nil
	})
	pb := newPeer(b, func(_ context.Context, op string, _ json.RawMessage) (any, error) {
		return nil, &wireError{Errno: -2, Msg: "no " + op}
	})
	go pa.run(ctx)
	go pb.run(ctx)
	var r struct{ N int }
	require.NoError(t, pb.call(ctx, "ping", map[string]any{"x": 1}, &r))
	assert.Equal(t, 1, r.N)
	assert.Equal(t, `ping {"x":1}`, <-got)
	err := pa.call(ctx, "nothing", map[string]any{}, nil)
	require.Error(t, err)
	assert.Equal(t, "no nothing", err.Error())
	require.NoError(t, pb.send("notify", map[string]any{"type": "osd_map"}))
	assert.Equal(t, `notify {"type":"osd_map"}`, <-got)

	pa.close()
	start := time.Now()
	require.ErrorIs(t, pb.call(ctx, "ping", nil, nil), errClosed)
	assert.Less(t, time.Since(start), time.Second)
}

// A call whose context has ended, or is about to, fails alone: the
// connection stays up for the other callers (a write cut short by the
// caller's deadline would leave half a frame and close it).
func TestPeerCallPastItsDeadline(t *testing.T) {
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pa := newPeer(a, func(_ context.Context, op string, _ json.RawMessage) (any, error) {
		time.Sleep(50 * time.Millisecond) // the reply comes after the short deadline
		return op, nil
	})
	pb := newPeer(b, nil)
	go pa.run(ctx)
	go pb.run(ctx)
	expired, cancelExpired := context.WithTimeout(ctx, -time.Second)
	defer cancelExpired()
	err := pb.call(expired, "late", nil, nil)
	var coded interface{ ErrorCode() int }
	require.ErrorAs(t, err, &coded)
	assert.Equal(t, -int(syscall.ETIMEDOUT), coded.ErrorCode())
	short, cancelShort := context.WithTimeout(ctx, time.Millisecond)
	defer cancelShort()
	err = pb.call(short, "short", nil, nil)
	require.ErrorAs(t, err, &coded)
	assert.Equal(t, -int(syscall.ETIMEDOUT), coded.ErrorCode())
	assert.False(t, pb.isClosed(), "the connection is still up")
	var out string
	require.NoError(t, pb.call(ctx, "ping", nil, &out))
	assert.Equal(t, "ping", out)
}

// FuzzReadFrame: a frame reader never panics, and refuses oversized and
// malformed frames.
func FuzzReadFrame(f *testing.F) {
	f.Add(frame([]byte(`{"id":1,"op":"hello","args":{}}`)))
	f.Add(frame([]byte(`{"re":1,"ok":null}`)))
	f.Add(frame([]byte(`{"re":1,"err":{"errno":-5,"msg":"x"}}`)))
	f.Add(frame([]byte(`not json`)))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := net.Pipe()
		defer a.Close()
		go func() { b.Write(data); b.Close() }()
		p := newPeer(a, nil)
		for i := 0; i < 4; i++ {
			if _, err := p.readFrame(); err != nil {
				return
			}
		}
	})
}

func TestReadFrameRefusesOversized(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	go func() { b.Write([]byte{0x04, 0x00, 0x00, 0x01}); b.Close() }()
	_, err := newPeer(a, nil).readFrame()
	require.ErrorContains(t, err, "the limit is 67108864")
}

// TestEncodeFrameIsJSONMarshal: the frames written by hand are the bytes
// json.Marshal made of the same messages, and a command's reply the JSON
// of its commandReply.
func TestEncodeFrameIsJSONMarshal(t *testing.T) {
	for _, m := range []message{
		{ID: 7, Op: "command", Args: json.RawMessage(`{"cmd":{"prefix":"hello"},"inbuf_b64":""}`)},
		{ID: 1, Op: "a<b>&\"c\"\u2028"},
		{Op: "notify", Args: json.RawMessage(`{"type":"osd_map","id":""}`)},
		{Re: 3, OK: json.RawMessage(`{"n":1}`)},
		{Re: 4, Err: &wireError{Errno: -2, Msg: "no <such> thing\n"}},
		{Re: 5},
		{},
	} {
		want, err := json.Marshal(m)
		require.NoError(t, err)
		got, err := encodeFrame(m)
		require.NoError(t, err)
		assert.Equal(t, frame(want), got)
	}
	for _, r := range []objectformat.Result{
		{},
		{Retval: -22, Stderr: "bad <thing> \"x\"\n\x01"},
		{Retval: 0, Stdout: []byte("Hello, Bob!\n\xff\x00")},
	} {
		want, err := json.Marshal(commandReply{Retval: r.Retval, Stdout: base64.StdEncoding.EncodeToString(r.Stdout), Stderr: r.Stderr})
		require.NoError(t, err)
		assert.Equal(t, string(want), string(encodeCommandReply(r)))
	}
	_, err := encodeFrame(message{Re: 1, OK: make(json.RawMessage, maxFrame)})
	require.Error(t, err, "over the frame limit")
}

// TestRawBytesFollowTheFrame: a message's raw bytes are written after its
// frame and read back with it, the stream in step after them.
func TestRawBytesFollowTheFrame(t *testing.T) {
	a, b := unixPair(t)
	pa := newPeer(a, func(_ context.Context, op string, _ json.RawMessage) (any, error) {
		if op == "raw" {
			return rawReply{ok: preencoded(`{"n":1}`), data: []byte("\x00raw\xff")}, nil
		}
		return map[string]int{"n": 2}, nil
	})
	pb := newPeer(b, func(context.Context, string, json.RawMessage) (any, error) { return nil, nil })
	ctx := context.Background()
	go pa.run(ctx)
	go pb.run(ctx)
	for i := 0; i < 2; i++ {
		var r commandReply
		require.NoError(t, pb.call(ctx, "raw", nil, &r))
		assert.Equal(t, []byte("\x00raw\xff"), r.raw)
		var n struct{ N int }
		require.NoError(t, pb.call(ctx, "plain", nil, &n))
		assert.Equal(t, 2, n.N)
	}
	f, err := encodeFrame(message{Re: 1, OK: json.RawMessage(`{}`), data: []byte("abc")})
	require.NoError(t, err)
	assert.Equal(t, frame([]byte(`{"re":1,"ok":{},"raw":3}`)), f, "the frame says how many raw bytes follow")
}
