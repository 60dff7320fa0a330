package objstore

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

func TestCheck(t *testing.T) {
	big := func(n int) []byte { return make([]byte, n) }
	for _, tc := range []struct {
		name  string
		op    Op
		errno syscall.Errno
	}{
		{"list pools", Op{Kind: ListPools}, 0},
		{"unknown", Op{Kind: "x", Pool: "p"}, syscall.EINVAL},
		{"no pool", Op{Kind: PoolStat}, syscall.EINVAL},
		{"pool too long", Op{Kind: PoolStat, Pool: strings.Repeat("p", MaxPoolNameLen+1)}, syscall.ENAMETOOLONG},
		{"pool not UTF-8", Op{Kind: CreatePool, Pool: "\xff"}, syscall.EINVAL},
		{"no object", Op{Kind: Stat, Pool: "p"}, syscall.EINVAL},
		{"object not UTF-8", Op{Kind: Stat, Pool: "p", OID: "\xfe"}, syscall.EINVAL},
		{"namespace too long", Op{Kind: Stat, Pool: "p", OID: "o", Namespace: strings.Repeat("n", MaxNamespaceLen+1)}, syscall.ENAMETOOLONG},
		{"all namespaces lists", Op{Kind: List, Pool: "p", Namespace: AllNamespaces}, 0},
		{"all namespaces stat", Op{Kind: Stat, Pool: "p", OID: "o", Namespace: AllNamespaces}, syscall.EINVAL},
		{"read too long", Op{Kind: Read, Pool: "p", OID: "o", Length: MaxObjectSize + 1}, syscall.EINVAL},
		{"write at the limit", Op{Kind: Write, Pool: "p", OID: "o", Offset: MaxObjectSize - 1, Data: big(1)}, 0},
		{"write past the limit", Op{Kind: Write, Pool: "p", OID: "o", Offset: MaxObjectSize - 1, Data: big(2)}, syscall.EFBIG},
		{"write at a huge offset", Op{Kind: Write, Pool: "p", OID: "o", Offset: 1<<64 - 1, Data: big(1)}, syscall.EFBIG},
		{"append too large", Op{Kind: Append, Pool: "p", OID: "o", Data: big(MaxObjectSize + 1)}, syscall.EFBIG},
		{"omap max 0", Op{Kind: OmapGet, Pool: "p", OID: "o"}, syscall.EINVAL},
		{"omap max too large", Op{Kind: OmapGet, Pool: "p", OID: "o", Max: MaxList + 1}, syscall.EINVAL},
		{"omap empty key", Op{Kind: OmapSet, Pool: "p", OID: "o", Vals: map[string][]byte{"": nil}}, syscall.EINVAL},
		{"omap key not UTF-8", Op{Kind: OmapRemove, Pool: "p", OID: "o", Keys: []string{"\xff"}}, syscall.EINVAL},
		{"omap key too long", Op{Kind: OmapGetByKeys, Pool: "p", OID: "o", Keys: []string{strings.Repeat("k", MaxOmapKeyLen+1)}}, syscall.ENAMETOOLONG},
		{"omap set too large", Op{Kind: OmapSet, Pool: "p", OID: "o", Vals: map[string][]byte{"k": big(MaxObjectSize)}}, syscall.E2BIG},
		{"xattr unnamed", Op{Kind: XattrGet, Pool: "p", OID: "o"}, syscall.EINVAL},
		{"xattr name too long", Op{Kind: XattrSet, Pool: "p", OID: "o", Name: strings.Repeat("x", MaxXattrNameLen+1)}, syscall.ENAMETOOLONG},
		{"xattr too large", Op{Kind: XattrSet, Pool: "p", OID: "o", Name: "x", Data: big(MaxXattrSize + 1)}, syscall.E2BIG},
		{"exec without a method", Op{Kind: Exec, Pool: "p", OID: "o", Class: "hello"}, syscall.EINVAL},
		{"exec", Op{Kind: Exec, Pool: "p", OID: "o", Class: "hello", Method: "say_hello"}, 0},
	} {
		err := Check(tc.op)
		if got := objectformat.ErrnoOf(err); err == nil && tc.errno != 0 || err != nil && got != -int(tc.errno) {
			t.Errorf("%s: %v (errno %d), want errno %d", tc.name, err, got, -int(tc.errno))
		}
	}
}

func TestErrors(t *testing.T) {
	err := Fail(Read, syscall.ENOENT, "object '%s' does not exist", "o")
	if !errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EIO) {
		t.Errorf("errors.Is on %v", err)
	}
	if got := err.Error(); got != "rados read: object 'o' does not exist (ENOENT)" {
		t.Errorf("text %q", got)
	}
	if got := Wrap(Stat, context.DeadlineExceeded); objectformat.ErrnoOf(got) != -int(syscall.ETIMEDOUT) {
		t.Errorf("a deadline is -ETIMEDOUT: %v", got)
	}
	if got := Wrap(Stat, err); got != err {
		t.Errorf("an *Error is kept as it is: %v", got)
	}
	if _, err := Do(context.Background(), nil, Op{Kind: ListPools}); objectformat.ErrnoOf(err) != -int(syscall.EOPNOTSUPP) {
		t.Errorf("no store: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Do(ctx, nil, Op{Kind: Read}); objectformat.ErrnoOf(err) != -int(syscall.EINVAL) {
		t.Errorf("a bad op is refused first: %v", err)
	}
}
