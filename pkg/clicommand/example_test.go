package clicommand_test

import (
	"context"
	"fmt"
	"syscall"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// The argument struct declares the command: prefix, permission and help on
// the embedded marker, one field per argument.
type wormholeListArgs struct {
	clicommand.Read `prefix:"antigravity list wormholes" desc:"List wormholes associated with the supplied oid."`
	OID             string
	Details         bool
}

type wormhole struct {
	Name        string `json:"name"`
	Age         int    `json:"age,omitempty"`
	Destination string `json:"destination,omitempty"`
}

// A Responder command returns a value; the framework renders it as JSON
// (default) or YAML and turns errors into errno results.
func Example_responder() {
	list := func(ctx context.Context, a *wormholeListArgs) ([]wormhole, error) {
		if a.OID != "rocket" {
			return nil, objectformat.NewErrorResponseCode("Unknown oid: "+a.OID, -int(syscall.ENOENT))
		}
		if !a.Details {
			return []wormhole{{Name: "w1"}}, nil
		}
		return []wormhole{{Name: "w1", Age: 3, Destination: "andromeda"}}, nil
	}
	command := clicommand.Responder(list)

	c := command
	fmt.Println(c.Spec().CmdString())
	fmt.Println(c.Spec().Usage())

	run := func(cmd map[string]any) {
		res := command.Call(context.Background(), clicommand.Call{Perm: "rw", Cmd: cmd})
		fmt.Printf("%d %s %q\n", res.Retval, res.Stdout, res.Stderr)
	}
	run(map[string]any{"prefix": "antigravity list wormholes", "oid": "rocket"})
	run(map[string]any{"prefix": "antigravity list wormholes", "oid": "rocket", "details": true, "format": "yaml"})
	run(map[string]any{"prefix": "antigravity list wormholes", "oid": "moon"})
	// Output:
	// antigravity list wormholes name=oid,type=CephString name=details,req=false,positional=false,type=CephBool name=format,req=false,positional=false,type=CephString
	// antigravity list wormholes <oid> [--details] [--format <value>]
	// 0 [
	//   {
	//     "name": "w1"
	//   }
	// ] ""
	// 0 - age: 3
	//   destination: andromeda
	//   name: w1
	//  ""
	// -2  "Unknown oid: moon"
}

type dumpConfigArgs struct {
	clicommand.Read `prefix:"antigravity dump config" desc:"Dump configuration"`
	OID             string
}

// An ErrorResponseHandler command builds its own result (raw output) and
// reports failures as errors.
func Example_errorResponseHandler() {
	blobs := map[string]string{"rocket": "thrust=9000\n"}
	dump := func(ctx context.Context, a *dumpConfigArgs) (objectformat.Result, error) {
		blob, ok := blobs[a.OID]
		if !ok {
			return objectformat.Result{}, objectformat.NewErrorResponseCode("Blob does not exist", -int(syscall.ENOENT))
		}
		return objectformat.OK(blob), nil
	}
	command := clicommand.ErrorResponseHandler(dump)
	for _, oid := range []string{"rocket", "moon"} {
		res := command.Call(context.Background(), clicommand.Call{Perm: "rw", Cmd: map[string]any{"prefix": "antigravity dump config", "oid": oid}})
		fmt.Printf("%d %q %q\n", res.Retval, res.Stdout, res.Stderr)
	}
	// Output:
	// 0 "thrust=9000\n" ""
	// -2 "" "Blob does not exist"
}

type createWormholeArgs struct {
	clicommand.Write `prefix:"antigravity create wormhole" desc:"Create a new wormhole."`
	OID              string
	Name             string `ceph:"goodchars=[a-z0-9-]"`
}

// An EmptyResponder command prints nothing on success; an ordinary error
// that carries an errno keeps it.
func Example_emptyResponder() {
	created := map[string]bool{}
	create := func(ctx context.Context, a *createWormholeArgs) error {
		if created[a.Name] {
			return fmt.Errorf("wormhole %s: %w", a.Name, syscall.EEXIST)
		}
		created[a.Name] = true
		return nil
	}
	command := clicommand.EmptyResponder(create)
	for _, name := range []string{"w1", "w1", "Bad Name"} {
		res := command.Call(context.Background(), clicommand.Call{
			Cmd:  map[string]any{"prefix": "antigravity create wormhole", "oid": "rocket", "name": name},
			Perm: "rw",
		})
		fmt.Printf("%d %q %q\n", res.Retval, res.Stdout, res.Stderr)
	}
	// Output:
	// 0 "" ""
	// -17 "" "wormhole w1: file exists"
	// -22 "" "Invalid command: argument 'name': invalid chars B N in Bad Name"
}

type helloArgs struct {
	clicommand.Read `prefix:"hello" desc:"Say hello"`
	PersonName      *string
}

// A Func command returns the result triple directly, like a plain Python
// handler returning HandleCommandResult.
func Example_func() {
	hello := func(ctx context.Context, a *helloArgs) objectformat.Result {
		if a.PersonName == nil {
			return objectformat.OK("Hello world!")
		}
		return objectformat.OK("Hello, " + *a.PersonName + "!")
	}
	command := clicommand.Func(hello)
	for _, cmd := range []map[string]any{{"prefix": "hello"}, {"prefix": "hello", "person_name": "Bob"}} {
		res := command.Call(context.Background(), clicommand.Call{Perm: "rw", Cmd: cmd})
		fmt.Println(string(res.Stdout))
	}
	// Output:
	// Hello world!
	// Hello, Bob!
}

// Legacy registers a Python-style COMMANDS entry: a Ceph cmd string and a
// handler that reads the validated command.
func Example_legacy() {
	h := objectformat.HandlerFunc(func(ctx context.Context, req *objectformat.Request) objectformat.Result {
		return objectformat.OK(fmt.Sprintf("myarg=%v", req.Cmd["myarg"]))
	})
	command := clicommand.Legacy("foobar name=myarg,type=CephInt,range=1|9", "Do something awesome", "rw", h)
	res := command.Call(context.Background(), clicommand.Call{Perm: "rw", Cmd: map[string]any{"prefix": "foobar", "myarg": "7"}})
	fmt.Println(string(res.Stdout))
	res = command.Call(context.Background(), clicommand.Call{Perm: "rw", Cmd: map[string]any{"prefix": "foobar", "myarg": 10}})
	fmt.Println(res.Retval, res.Stderr)
	// Output:
	// myarg=7
	// -22 Invalid command: argument 'myarg': 10 not in range [1, 9]
}
