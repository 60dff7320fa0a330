package bridge

import (
	"context"
	"encoding/json"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// inlinePeers connects a peer whose commands run handler to one
// answering every request with "x" (after 50 ms for "slow"); the latter
// sends the commands.
func inlinePeers(t *testing.T, handler func(pa *peer, ctx context.Context) (any, error)) (pa, pb *peer) {
	a, b := unixPair(t)
	pa = newPeer(a, func(ctx context.Context, op string, _ json.RawMessage) (any, error) {
		return handler(pa, ctx)
	})
	pb = newPeer(b, func(_ context.Context, op string, _ json.RawMessage) (any, error) {
		if op == "slow" {
			time.Sleep(50 * time.Millisecond)
		}
		return "x", nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	ends := make(chan error, 2)
	go func() { ends <- pa.run(ctx) }()
	go func() { ends <- pb.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		pa.close()
		pb.close()
		for i := 0; i < 2; i++ {
			select {
			case <-ends:
			case <-time.After(5 * time.Second):
				t.Error("a peer's run did not return after close")
			}
		}
	})
	return pa, pb
}

// noWatchdog makes the watchdog too slow to matter in a test.
func noWatchdog(t *testing.T) {
	old := watchInterval
	watchInterval = time.Hour
	t.Cleanup(func() { watchInterval = old })
}

// A command runs on the reader; when it calls the other side, the reading
// moves to another goroutine at once (not by the watchdog, made too slow
// here), so the reply reaches it.
func TestInlineCommandCallsBack(t *testing.T) {
	noWatchdog(t)
	_, pb := inlinePeers(t, func(pa *peer, ctx context.Context) (any, error) {
		var got string
		err := pa.call(ctx, "get", map[string]any{}, &got)
		return got + "!", err
	})
	for i := 0; i < 3; i++ { // the reading has moved; it moves again
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var res string
		err := pb.call(ctx, "command", map[string]any{}, &res)
		cancel()
		require.NoError(t, err)
		assert.Equal(t, "x!", res)
	}
}

// A command that waits for another goroutine's call, made while the
// command runs, still ends: the call hands the reading off.
func TestInlineCommandWaitsForAnotherCaller(t *testing.T) {
	noWatchdog(t)
	_, pb := inlinePeers(t, func(pa *peer, ctx context.Context) (any, error) {
		done := make(chan error, 1)
		go func() { done <- pa.call(context.Background(), "get", map[string]any{}, nil) }()
		select {
		case err := <-done:
			return "waited", err
		case <-time.After(10 * time.Second):
			return nil, context.DeadlineExceeded
		}
	})
	start := time.Now()
	var res string
	require.NoError(t, pb.call(context.Background(), "command", map[string]any{}, &res))
	assert.Equal(t, "waited", res)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// A command that waits for the reply to a call made before it began
// still ends: the command hands the reading off at its start.
func TestInlineCommandWaitsForEarlierCall(t *testing.T) {
	noWatchdog(t)
	done := make(chan error, 1)
	pa, pb := inlinePeers(t, func(pa *peer, ctx context.Context) (any, error) {
		select {
		case err := <-done:
			return "waited", err
		case <-time.After(10 * time.Second):
			return nil, context.DeadlineExceeded
		}
	})
	go func() { done <- pa.call(context.Background(), "slow", map[string]any{}, nil) }()
	deadline := time.Now().Add(5 * time.Second)
	for { // the call is waiting for its reply
		pa.mu.Lock()
		n := len(pa.pending)
		pa.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	var res string
	require.NoError(t, pb.call(context.Background(), "command", map[string]any{}, &res))
	assert.Equal(t, "waited", res)
}

// Commands that run long are handed off (by the watchdog) one by one and run at once, up
// to the concurrency limit, with the reader reading on.
func TestInlineCommandsRunConcurrently(t *testing.T) {
	var mu sync.Mutex
	running, most := 0, 0
	release := make(chan struct{})
	_, pb := inlinePeers(t, func(pa *peer, ctx context.Context) (any, error) {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		<-release
		mu.Lock()
		running--
		mu.Unlock()
		return "ok", nil
	})
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pb.call(context.Background(), "command", map[string]any{}, nil)
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		r := running
		mu.Unlock()
		if r == n || time.Now().After(deadline) {
			break
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, n, most, "all commands ran at once")
}
