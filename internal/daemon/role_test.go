package daemon

import "testing"

func TestRoleString(t *testing.T) {
	for r, want := range map[Role]string{RoleStarting: "starting", RoleStandby: "standby", RoleActive: "active", RoleStopping: "stopping", Role(99): "Role(99)"} {
		if got := r.String(); got != want {
			t.Errorf("Role(%d).String() = %q, want %q", r, got, want)
		}
	}
	var v roleValue
	if v.Load() != RoleStarting {
		t.Errorf("the zero roleValue holds %v", v.Load())
	}
	v.Store(RoleActive)
	if v.Load() != RoleActive {
		t.Errorf("stored active, loaded %v", v.Load())
	}
}
