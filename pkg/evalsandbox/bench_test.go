package evalsandbox

import (
	"context"
	"strconv"
	"testing"
)

func benchSession(b *testing.B) *Session {
	s, err := New(Config{Name: "bench", Globals: testGlobals(&host{})})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s
}

func benchEval(b *testing.B, s *Session, src string) {
	if _, err := s.Eval(context.Background(), src); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFirstEval is a session's first eval: the worker's start-up.
func BenchmarkFirstEval(b *testing.B) {
	for b.Loop() {
		s := benchSession(b)
		benchEval(b, s, "1")
		s.Close()
	}
}

// BenchmarkEval is an eval in a running session.
func BenchmarkEval(b *testing.B) {
	s := benchSession(b)
	benchEval(b, s, "1")
	for b.Loop() {
		benchEval(b, s, "x = 1 + 1")
	}
}

// BenchmarkHostCall is one call of a parent's method from the worker.
func BenchmarkHostCall(b *testing.B) {
	s := benchSession(b)
	benchEval(b, s, "1")
	b.ResetTimer()
	benchEval(b, s, "for i in range("+itoa(b.N)+"):\n  host.echo(i)\n")
}

func itoa(n int) string { return strconv.Itoa(n) }
