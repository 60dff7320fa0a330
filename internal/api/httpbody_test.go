package api

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// refBody decodes a request body as encoding/json would, for the fuzz
// target: exact member names, numbers as json.Number, nothing but white
// space after the object.
func refBody(body []byte) (map[string]any, []byte, error) {
	var members map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&members); err != nil {
		return nil, nil, err
	}
	if len(bytes.Trim(body[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, nil, errSentinel
	}
	var cmd map[string]any
	cd := json.NewDecoder(bytes.NewReader(members["cmd"]))
	cd.UseNumber()
	if err := cd.Decode(&cmd); err != nil {
		return nil, nil, err
	}
	var inbuf []byte
	if raw, ok := members["inbuf"]; ok {
		if err := json.Unmarshal(raw, &inbuf); err != nil {
			return nil, nil, err
		}
	}
	return cmd, inbuf, nil
}

var bodySeeds = []string{
	`{"cmd": {"prefix": "hi"}, "inbuf": "aGk="}`, `{"cmd":{"prefix":"hi","n":[1,2.5e3,null]}}`, `{"cmd": {"prefix": "hi"}, "inbuf": null}`,
	`{"x": [1, {"y": "}\"]"}], "cmd": {"prefix": "hi"}, "z": "\u00e9"}`, `{"cmd": {"prefix": "hi"}, "inbuf": "a\u0047\nk="}`,
	`{"cmd": {"prefix": "hi"}, "inbuf": "\/w=="}`, `{"cmd": {"prefix": "hi"}} x`, `{"inbuf": "aGk=", "cmd": {}}`, `{"cmd": {}, "cmd": {}}`,
	`{"cmd": {"prefix": "hi"}, "inbuf": "aGk"}`, `{"cmd": {"prefix": "hi"}, "inbuf": "aA==aGk="}`, `{"cmd": {"k": "\udcff"}}`, `{}`, `{"cmd": null}`,
	`{"cmd": {"prefix": "hi"}, "inbuf": ""}`, `{"cmd": {"prefix": "hi"}, "inbuf": "` + "AAAA" + `", "Inbuf": "aGk="}`, `{"CMD": {}}`,
}

// FuzzReadBody: what the streaming body reader accepts, encoding/json
// decodes to the same command and input; it never panics, and gives back
// the in-flight budget it takes.
func FuzzReadBody(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, sized bool) {
		s := &Server{h: &fakeHandler{}, o: ServerOptions{Perm: "rw", MaxRequest: 1 << 20, Inflight: NewBudget(1 << 20)}}
		length := int64(-1)
		if sized {
			length = int64(len(body))
		}
		req, err := s.readBody(context.Background(), bytes.NewReader(body), length, "rw")
		s.o.Inflight.Release(req.reserved)
		require.Zero(t, s.o.Inflight.InUse())
		if err != nil {
			return
		}
		require.Nil(t, req.refusal)
		cmd, inbuf, werr := refBody(body)
		require.NoError(t, werr, "%q: accepted, but encoding/json refuses it", body)
		require.Equal(t, cmd, req.cmd, "%q", body)
		require.Equal(t, len(inbuf), len(req.inbuf), "%q", body)
		require.True(t, bytes.Equal(inbuf, req.inbuf), "%q", body)
	})
}
