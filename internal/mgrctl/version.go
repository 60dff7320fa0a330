package mgrctl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/buildinfo"
)

func (a *app) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print mgrctl's version and, if it is running, the daemon's",
		Long: `version prints mgrctl's version and, when the daemon answers, its id,
role and version. When it does not (no daemon running, or one that does not
answer within 3 s or --timeout), version says so on stderr (and, with -f
json, in "daemon_error") and still exits 0: mgrctl's own version was
printed, which is what the command is for, and scripts use it to check the
client whether or not a daemon runs. "mgrctl call version" runs the
daemon's own version command instead, and fails like any command when the
daemon does not answer.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return usageError(cmd, "version takes no arguments (did you mean 'mgrctl call version %s'?)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkGlobals(cmd); err != nil {
				return err
			}
			var daemon *api.Status
			var unanswered error
			if sock := a.socketPath(); a.g.conf == "" && sock != "" {
				c := api.NewClient(sock)
				defer c.Close()
				ctx, cancel := a.within(cmd.Context(), a.g.timeout, "timeout")
				defer cancel()
				ctx, cancel2 := context.WithTimeout(ctx, 3*time.Second)
				defer cancel2()
				s, err := c.Status(ctx)
				if err == nil {
					daemon = &s
				} else {
					unanswered = versionError(ctx, sock, (&daemonConn{c: c, hint: a.startHint()}).explain(err))
					fmt.Fprintf(a.stderr, "mgrctl: %v\n", unanswered)
				}
			}
			switch a.g.format {
			case "json", "json-pretty":
				v := map[string]any{"mgrctl": buildinfo.Full()}
				if daemon != nil {
					v["daemon"] = daemon
				}
				if unanswered != nil {
					v["daemon_error"] = unanswered.Error()
				}
				var b []byte
				if a.g.format == "json" {
					b, _ = json.Marshal(v)
				} else {
					b, _ = json.MarshalIndent(v, "", "    ")
				}
				fmt.Fprintln(a.stdout, string(b))
			default:
				fmt.Fprintln(a.stdout, "mgrctl:", buildinfo.Full())
				if daemon != nil {
					fmt.Fprintf(a.stdout, "ceph-mgr mgr.%s (%s, pid %d): %s\n", daemon.ID, daemon.Role, daemon.PID, daemon.Version)
				}
			}
			return nil
		},
	}
}

// versionError says why the daemon at sock gave version no status.
func versionError(ctx context.Context, sock string, err error) error {
	if te := timedOut(ctx, err); te != nil {
		return te
	}
	if ctx.Err() != nil {
		return fmt.Errorf("the daemon at %s did not answer within 3s", sock)
	}
	if !strings.Contains(err.Error(), sock) {
		return fmt.Errorf("the daemon at %s: %w", sock, err)
	}
	return err
}
