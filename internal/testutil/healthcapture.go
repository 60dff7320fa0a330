package testutil

import (
	_ "embed"
	"encoding/json"
	"testing"
)

// cephHealthJSON is a Ceph 16.2.15 monitor's replies to its health
// commands for a few sets of checks, captured from a loopback cluster by
// testdata/health/capture.py (its header says how to run it again).
//
//go:embed testdata/health/ceph-16.2.15.json
var cephHealthJSON []byte

// CephHealthScenario is one captured set of checks: the monitor's replies
// (output buffers byte for byte, keyed by command: "health",
// "health detail -f json-pretty", ..., and "status", the health block of
// its plain status) and, decoded from "health detail -f json" with
// encoding/json, the checks and mutes that produced them.
type CephHealthScenario struct {
	Replies map[string]string
	Status  string
	Checks  map[string]CephHealthCheck
	Mutes   []CephHealthMute
}

// CephHealthCheck is a captured check. Severity is "warning" or "error",
// as a module raises it.
type CephHealthCheck struct {
	Severity string
	Summary  string
	Count    int
	Detail   []string
}

// CephHealthMute is a captured mute.
type CephHealthMute struct {
	Code    string `json:"code"`
	Sticky  bool   `json:"sticky"`
	Summary string `json:"summary"`
	Count   int    `json:"count"`
}

// CephHealthCapture returns the captured scenarios by name ("ok", "warn",
// "err", and "muted", the only one with mutes).
func CephHealthCapture(t testing.TB) map[string]CephHealthScenario {
	t.Helper()
	var file struct {
		Scenarios map[string]map[string]string `json:"scenarios"`
	}
	if err := json.Unmarshal(cephHealthJSON, &file); err != nil {
		t.Fatalf("health capture: %v", err)
	}
	out := map[string]CephHealthScenario{}
	for name, replies := range file.Scenarios {
		var mon struct {
			Status string `json:"status"`
			Checks map[string]struct {
				Severity string `json:"severity"`
				Summary  struct {
					Message string `json:"message"`
					Count   int    `json:"count"`
				} `json:"summary"`
				Detail []struct {
					Message string `json:"message"`
				} `json:"detail"`
			} `json:"checks"`
			Mutes []CephHealthMute `json:"mutes"`
		}
		if err := json.Unmarshal([]byte(replies["health detail -f json"]), &mon); err != nil {
			t.Fatalf("health capture %s: %v", name, err)
		}
		s := CephHealthScenario{Replies: replies, Status: mon.Status, Checks: map[string]CephHealthCheck{}, Mutes: mon.Mutes}
		for code, c := range mon.Checks {
			hc := CephHealthCheck{Severity: "warning", Summary: c.Summary.Message, Count: c.Summary.Count, Detail: []string{}}
			if c.Severity == "HEALTH_ERR" {
				hc.Severity = "error"
			}
			for _, d := range c.Detail {
				hc.Detail = append(hc.Detail, d.Message)
			}
			s.Checks[code] = hc
		}
		out[name] = s
	}
	for _, want := range []string{"ok", "warn", "err", "muted"} {
		if _, ok := out[want]; !ok {
			t.Fatalf("health capture: no scenario %q", want)
		}
	}
	return out
}
