package bridge

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// laneShim connects a lane (a peer that answers nothing) and says its
// hello with token.
func laneShim(t *testing.T, sock, token string) (*peer, error) {
	c, err := net.Dial("unix", sock)
	require.NoError(t, err)
	p := newPeer(c, nil)
	go p.run(context.Background())
	t.Cleanup(p.close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p, p.call(ctx, "hello", map[string]any{"lane": token}, nil)
}

// A shim that takes lanes gets a token in its hello's reply; a
// connection that presents it serves that module's commands (whose calls
// of the real mgr go over the shim's connection), nothing else, and ends
// with the shim's connection.
func TestCommandLane(t *testing.T) {
	sock, _ := startBridged(t)
	shim := rvFakeShim(t, sock)
	h := helloArgs("place", map[string]*string{"place": str("Mars")})
	h["features"] = []string{"raw_stdout", "lane"}
	var reply struct{ Lane string }
	require.NoError(t, shim.call(context.Background(), "hello", h, &reply))
	require.Len(t, reply.Lane, 32, "a token of 128 bits, in hex")

	_, err := laneShim(t, sock, "not-"+reply.Lane)
	var we *wireError
	require.True(t, errors.As(err, &we), "%v", err)
	assert.Equal(t, -2, we.Errno, "an unknown token is refused")

	lane, err := laneShim(t, sock, reply.Lane)
	require.NoError(t, err)
	r, err := command(t, lane, "rv place")
	require.NoError(t, err)
	assert.Equal(t, 0, r.Retval)
	out, err := base64.StdEncoding.DecodeString(r.Stdout)
	require.NoError(t, err)
	assert.Equal(t, "Mars", string(out))
	r, err = command(t, lane, "rv get") // calls the real mgr: over the shim's connection
	require.NoError(t, err)
	assert.Equal(t, 0, r.Retval, r.Stderr)

	err = lane.call(context.Background(), "notify", map[string]any{"type": "osd_map", "id": ""}, nil)
	require.True(t, errors.As(err, &we), "%v", err)
	assert.Equal(t, -22, we.Errno, "a lane takes only commands")

	shim.close()
	select {
	case <-lane.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the lane outlived its shim's connection")
	}
	_, err = laneShim(t, sock, reply.Lane)
	assert.Error(t, err, "the token went with its connection")
}

// A shim that does not say it takes lanes gets no token.
func TestNoLaneUnasked(t *testing.T) {
	sock, _ := startBridged(t)
	shim := rvFakeShim(t, sock)
	var reply map[string]any
	require.NoError(t, shim.call(context.Background(), "hello", helloArgs("place", nil), &reply))
	assert.Empty(t, reply)
}
