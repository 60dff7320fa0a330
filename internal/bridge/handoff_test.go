package bridge

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runWithCommand runs pa (its run must return by itself once the test
// has closed b) and sends it one command from its other end b.
func runWithCommand(t *testing.T, pa *peer, b net.Conn) {
	t.Helper()
	ran := make(chan error, 1)
	go func() { ran <- pa.run(context.Background()) }()
	t.Cleanup(func() {
		defer pa.close()
		select { // the test has closed b: run returns by itself
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Error("run did not return after the connection ended")
		}
	})
	frame, err := encodeFrame(message{ID: 1, Op: "command", Args: json.RawMessage(`{}`)})
	require.NoError(t, err)
	_, err = b.Write(frame)
	require.NoError(t, err)
}

// A command that has been handed off by the watchdog while it runs on
// run's own goroutine must still see the connection end: its context
// ends and run returns when the other side goes away (as it did when
// commands ran on workers).
func TestHandedOffCommandSeesConnectionEnd(t *testing.T) {
	a, b := unixPair(t)
	started := make(chan struct{})
	sawEnd := make(chan bool, 1)
	pa := newPeer(a, func(ctx context.Context, op string, _ json.RawMessage) (any, error) {
		close(started)
		select {
		case <-ctx.Done():
			sawEnd <- true
		case <-time.After(5 * time.Second):
			sawEnd <- false
		}
		return "x", nil
	})
	runWithCommand(t, pa, b)
	<-started
	time.Sleep(100 * time.Millisecond) // the watchdog has handed it off
	require.NoError(t, b.Close())      // the shim goes

	select {
	case ok := <-sawEnd:
		assert.True(t, ok, "the command's context did not end with its connection")
	case <-time.After(10 * time.Second):
		t.Fatal("handler never returned")
	}
}

// The same, for a command that calls the other side (handed off at once
// by call): the call must fail when the connection ends, not hang.
func TestHandedOffCallFailsAtConnectionEnd(t *testing.T) {
	a, b := unixPair(t)
	noWatchdog(t)
	called := make(chan struct{})
	res := make(chan error, 1)
	var pa *peer
	pa = newPeer(a, func(ctx context.Context, op string, _ json.RawMessage) (any, error) {
		go func() {
			time.Sleep(50 * time.Millisecond)
			close(called)
		}()
		err := pa.call(context.Background(), "get", map[string]any{}, nil) // no deadline
		res <- err
		return nil, err
	})
	runWithCommand(t, pa, b)
	<-called
	require.NoError(t, b.Close()) // the shim goes without answering

	select {
	case err := <-res:
		assert.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the command's call of the other side hangs after the connection ended")
	}
}

// At the server: a shim whose connection ends while a command (sent over
// the connection) waits for the real mgr's reply. The connection's end
// must end the command's wait, detach it and close its lane at once; a
// command on run's own goroutine keeps the connection's run going (until
// the command's 5 minute timeout), and with it the lane.
func TestLaneEndsWithConnectionDuringCommand(t *testing.T) {
	sock, _ := startBridged(t)
	c, err := net.Dial("unix", sock)
	require.NoError(t, err)
	asked := make(chan struct{}, 1)
	shim := newPeer(c, func(ctx context.Context, op string, args json.RawMessage) (any, error) {
		var a struct{ Name string }
		_ = json.Unmarshal(args, &a)
		if op == "get" && a.Name == "mon_map" {
			return map[string]any{"fsid": "f"}, nil
		}
		if op == "get" {
			select {
			case asked <- struct{}{}:
			default:
			}
			<-ctx.Done() // the real mgr never answers
		}
		return map[string]any{}, nil
	})
	go shim.run(context.Background())
	t.Cleanup(shim.close)
	h := helloArgs("place", map[string]*string{"place": str("Mars")})
	h["features"] = []string{"raw_stdout", "lane"}
	var reply struct{ Lane string }
	require.NoError(t, shim.call(context.Background(), "hello", h, &reply))
	lane, err := laneShim(t, sock, reply.Lane)
	require.NoError(t, err)

	go command(t, shim, "rv get") // over the connection: runs on its reader
	<-asked
	shim.close()
	select {
	case <-lane.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the lane outlived its shim's connection (a command it ran was still waiting)")
	}
}
