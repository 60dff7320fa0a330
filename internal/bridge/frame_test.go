package bridge

import (
	"encoding/json"
	"reflect"
	"testing"
)

// sameAsUnmarshal fails t where decodeMessage and json.Unmarshal into a
// message disagree on a frame: both refuse it, or both give the same
// message.
func sameAsUnmarshal(t *testing.T, frame []byte) {
	t.Helper()
	var want message
	werr := json.Unmarshal(frame, &want)
	got, gerr := decodeMessage(frame)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("decodeMessage(%q): error %v, json.Unmarshal's %v", frame, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeMessage(%q) = %+v (err %+v), json.Unmarshal's %+v (err %+v)", frame, got, got.Err, want, want.Err)
	}
}

// TestDecodeMessageIsUnmarshal: the frames of the protocol and their
// corners (null, duplicates, case, types, escapes) decode as
// json.Unmarshal decodes them.
func TestDecodeMessageIsUnmarshal(t *testing.T) {
	for _, in := range []string{
		`{"id":1,"op":"hello","args":{}}`, `{"re":1,"ok":null}`, `{"re":1,"err":{"errno":-5,"msg":"x"}}`,
		`{"re":2,"ok":{"a":[1,2.5,"\u00e9"]},"raw":12}`, `{}`, `null`, ` {"id" : 3 } `, `{"ID":4,"Op":"x","OK":1,"Args":[]}`,
		`{"id":1,"id":2}`, `{"err":{"errno":1,"msg":"a"},"err":{"msg":"b"}}`, `{"err":{"errno":1},"err":null}`,
		`{"op":"\u0063ommand"}`, `{"\u0069d":5}`, `{"op":null,"id":null,"args":null,"err":null}`, `{"raw":null}`,
		`{"id":1.5}`, `{"id":"1"}`, `{"id":1e2}`, `{"id":-0}`, `{"id":9223372036854775807}`, `{"id":9223372036854775808}`,
		`{"id":true}`, `{"op":1}`, `{"op":{}}`, `{"err":1}`, `{"err":{"errno":"x"}}`, `{"err":[]}`, `{"raw":-1}`,
		`{"other":{"deep":[1,2,3]},"id":7}`, `[]`, `1`, `"x"`, ``, `{`, `{"id":1}x`, `{"id":1,}`, `{"op":"\x"}`,
		"{\"op\":\"\xff\"}", `{"argſ":{"a":1}}`, `{"ıd":1}`, `{"Re":1,"rE":2}`,
	} {
		sameAsUnmarshal(t, []byte(in))
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{`{"id":1,"op":"hello","args":{}}`, `{"re":1,"ok":null}`,
		`{"re":1,"err":{"errno":-5,"msg":"x"}}`, `{"re":2,"ok":{"a":[1]},"raw":3}`, `null`, `{"ID":1,"id":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) { sameAsUnmarshal(t, frame) })
}

// BenchmarkDecodeMessage: a 16 KB reply frame (a get_many's size on the
// loopback cluster), decodeMessage against json.Unmarshal.
func BenchmarkDecodeMessage(b *testing.B) {
	ok := []byte(`{"osd_map": {"epoch": 12, "pools": [`)
	for i := range 60 {
		if i > 0 {
			ok = append(ok, ',')
		}
		ok = append(ok, `{"pool": 1, "pool_name": "device_health_metrics", "size": 3, "pg_num": 32, "flags_names": "hashpspool", "ratio": 0.5, "application_metadata": {"mgr_devicehealth": {}}}`...)
	}
	ok = append(ok, `]}}`...)
	frame, err := json.Marshal(message{Re: 42, OK: ok})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		fn   func([]byte) error
	}{
		{"decodeMessage", func(f []byte) error { _, err := decodeMessage(f); return err }},
		{"json.Unmarshal", func(f []byte) error { var m message; return json.Unmarshal(f, &m) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.fn(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
