package modhost

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
)

// queueRaceMod counts notifications.
type queueRaceMod struct{ n *atomic.Int64 }

func (m queueRaceMod) Notify(context.Context, module.Notification) { m.n.Add(1) }

// Notifications sent while a module stops must neither panic nor race
// with the close of its queue (run with -race).
func TestNotifyWhileStopping(t *testing.T) {
	var n atomic.Int64
	reg := NewRegistry()
	if err := reg.Register(module.Info{Name: "q", New: func() module.Module { return queueRaceMod{&n} }, NotifyTypes: []module.NotifyType{module.NotifyOSDMap}}); err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(Config{MgrID: "x", Registry: reg, Backend: backend.NewMemoryBackend(), ShutdownTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					m.Notify(module.Notification{Type: module.NotifyOSDMap})
				}
			}
		}()
	}
	for range 20 {
		if _, err := m.Enable(ctx, "q", false); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
		if _, err := m.Disable(ctx, "q"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Enable(ctx, "q", false); err != nil {
		t.Fatal(err)
	}
	m.Close()
	close(stop)
	wg.Wait()
	if n.Load() == 0 {
		t.Error("no notification was delivered")
	}
}

func TestSubscribers(t *testing.T) {
	var s backend.Subscribers
	var got []string
	a := s.Subscribe(func(ev backend.Event) { got = append(got, "a:"+ev.Key) })
	s.Subscribe(func(ev backend.Event) { got = append(got, "b:"+ev.Key) })
	s.Emit(backend.Event{Key: "1"})
	a()
	s.Emit(backend.Event{Key: "2"})
	if strings.Join(got, ",") != "a:1,b:1,b:2" {
		t.Fatalf("got %v", got)
	}
}

func (queueRaceMod) Init(*module.Handle) error { return nil }
