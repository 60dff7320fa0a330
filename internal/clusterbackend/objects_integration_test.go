package clusterbackend_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/clusterbackend"
	"github.com/gomgr/gomgr/internal/objstore/objstoretest"
)

// The object-store conformance table (the embedded store passes the same
// one, internal/embedded) against librados, through the gomgr-rados
// helper as an attached daemon uses it.
func TestClusterObjectsConformance(t *testing.T) {
	c := needCluster(t)
	b, _, err := c.attacher(clusterbackend.AttachOptions{}).Open(context.Background(), "objconf", slog.New(slog.NewTextHandler(newLogBuffer(t), nil)))
	require.NoError(t, err)
	defer b.Close()
	s := backend.ObjectStore(b)
	require.NotNil(t, s, "the attached backend has an object store")
	start := time.Now()
	objstoretest.Run(t, s, fmt.Sprintf("gomgr-conformance-%d", os.Getpid()))
	t.Logf("conformance table in %s", time.Since(start).Round(time.Millisecond))
}
