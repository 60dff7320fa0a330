package cmddesc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

type helloArgs struct {
	clicommand.Read `prefix:"hello" desc:"Say hello"`
	PersonName      *string
}

type wormholeListArgs struct {
	clicommand.Read `prefix:"antigravity list wormholes" desc:"List wormholes associated with the supplied oid."`
	OID             string
	Details         bool
}

type wormhole struct{ Name string }

// A Matcher turns command-line words into a JSON command the way the ceph
// CLI does, with Ceph's messages when the words do not fit.
func ExampleMatcher() {
	hello := clicommand.Func(func(context.Context, *helloArgs) objectformat.Result { return objectformat.Result{} })
	list := clicommand.Responder(func(context.Context, *wormholeListArgs) ([]wormhole, error) { return nil, nil })
	m, _ := cmddesc.NewMatcher([]cmddesc.Description{
		hello.Spec().Describe("hello", cmddesc.DescribeOptions{}),
		list.Spec().Describe("antigravity", cmddesc.DescribeOptions{}),
	})

	got, _ := m.Match(strings.Fields("antigravity list wormholes rocket --details"))
	fmt.Println(got.Cmd)
	_, err := m.Match(strings.Fields("antigravity list wormholes"))
	fmt.Println(err)
	var me *cmddesc.MatchError
	_, err = m.Match(strings.Fields("helo Bob"))
	fmt.Println(errors.As(err, &me), me.Closest)
	// Output:
	// map[details:true oid:rocket prefix:antigravity list wormholes]
	// Invalid command: missing required parameter oid(<string>)
	// antigravity list wormholes <oid> [--details] [--format <value>] :  List wormholes associated with the supplied oid.
	// true [hello [<person_name>] antigravity list wormholes <oid> [--details] [--format <value>]]
}
