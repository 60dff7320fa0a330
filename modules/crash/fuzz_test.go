package crash

import (
	"testing"
)

// FuzzValidate feeds crash post's parser arbitrary input: it must answer
// an error or a report that survives being stored and read back, never
// panic.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `7`, `["crash_id"]`, `"crash_id timestamp"`,
		`{"crash_id": "a", "timestamp": "2020-01-01T00:00:00.1Z"}`,
		`{"crash_id": 5, "timestamp": "2020-01-01 00:00:00.123456", "backtrace": ["(f+0x1) [0x2]"]}`,
		`{"crash_id": "a", "timestamp": "2020-02-30 00:00:00.1"}`,
		`{"crash_id": "a", "timestamp": "2020-01-01 00:00:00.1234567"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := validate(data)
		if err != nil {
			return
		}
		enc, err := md.encode()
		if err != nil {
			return // values Python cannot encode either (none from JSON input)
		}
		v, err := decodeJSON([]byte(enc))
		if err != nil {
			t.Fatalf("stored value %q does not read back: %v", enc, err)
		}
		back, ok := v.(*meta)
		if !ok {
			t.Fatalf("stored value %q is not an object", enc)
		}
		if _, err := back.timestamp(); err != nil {
			t.Fatalf("stored value %q: %v", enc, err)
		}
		if len(back.keys) != len(md.keys) {
			t.Fatalf("stored value %q: keys %v, want %v", enc, back.keys, md.keys)
		}
	})
}

// FuzzTimeFromString checks the timestamp parser never panics and that
// what it accepts prints back in the current format.
func FuzzTimeFromString(f *testing.F) {
	for _, s := range []string{"2018-06-22T20:35:38.058818Z", "2018-06-22 20:35:38.058818Z", "2018-6-2 1:3:8.5", "0000-01-01 00:00:00.0", "2018-06-22t20:35:38.0ZZ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := timeFromString(s)
		if err != nil {
			return
		}
		again, err := timeFromString(ts.Format("2006-01-02T15:04:05.000000Z"))
		if err != nil || !again.Equal(ts) {
			t.Fatalf("%q read as %v, which reads back as %v, %v", s, ts, again, err)
		}
	})
}

func TestTimeFromString(t *testing.T) {
	for _, s := range []string{"2018-06-22T20:35:38.058818Z", "2018-06-22 20:35:38.058818Z"} {
		ts, err := timeFromString(s)
		if err != nil || ts.Format("2006-01-02 15:04:05.000000") != "2018-06-22 20:35:38.058818" {
			t.Errorf("%s: %v, %v", s, ts, err)
		}
	}
}
