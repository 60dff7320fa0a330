package prometheus

import (
	"context"
	"fmt"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

var _ module.Commander = (*Module)(nil)

// historyFormat is the --format of `healthcheck history ls` (Pacific's
// Format enum).
type historyFormat string

// Choices are Pacific's Format values.
func (historyFormat) Choices() []string { return []string{"plain", "json", "json-pretty", "yaml"} }

type fileSDConfigArgs struct {
	clicommand.Read `prefix:"prometheus file_sd_config" desc:"Return file_sd compatible prometheus config for mgr cluster"`
}

type historyLsArgs struct {
	clicommand.Read `prefix:"healthcheck history ls" desc:"List all the healthchecks being tracked"`
	Format          *historyFormat
}

type historyClearArgs struct {
	clicommand.Write `prefix:"healthcheck history clear" desc:"Clear the healthcheck history"`
}

// Commands are Pacific's: prometheus file_sd_config, healthcheck history
// ls and clear.
func (m *Module) Commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.ErrorResponseHandler(m.fileSDConfig),
		clicommand.ErrorResponseHandler(m.historyLs),
		clicommand.ErrorResponseHandler(m.historyClear),
	}
}

// fileSDConfig is Pacific's get_file_sd_config: a Prometheus file_sd
// target list of every mgr list_servers knows, host:server_port (each
// mgr's localized port), as one line of JSON in Pacific's key order.
func (m *Module) fileSDConfig(ctx context.Context, _ *fileSDConfigArgs) (objectformat.Result, error) {
	servers, err := m.mgr.ListServers(ctx)
	if err != nil {
		return objectformat.Result{}, fmt.Errorf("list_servers: %w", err)
	}
	targets := []string{}
	for _, srv := range servers {
		host := asString(srv["hostname"])
		for _, s := range asList(srv["services"]) {
			svc := asMap(s)
			if asString(svc["type"]) != "mgr" {
				continue
			}
			port, err := m.mgr.LocalizedOptionOf(asString(svc["id"]), "server_port")
			if err != nil {
				return objectformat.Result{}, fmt.Errorf("server_port of mgr.%s: %w", asString(svc["id"]), err)
			}
			if port == nil {
				port = DefaultPort
			}
			targets = append(targets, host+":"+asString(port))
		}
	}
	list, err := objectformat.EncodeJSON(targets, -1)
	if err != nil {
		return objectformat.Result{}, err
	}
	return objectformat.OK(`[{"targets": ` + string(list) + `, "labels": {}}]`), nil
}

// historyLs is Pacific's _list_healthchecks: the history as a table
// (plain, the default), JSON or YAML.
func (m *Module) historyLs(_ context.Context, a *historyLsArgs) (objectformat.Result, error) {
	format := historyFormat("plain")
	if a.Format != nil {
		format = *a.Format
	}
	var out []byte
	var err error
	switch format {
	case "plain":
		out = []byte(m.history.String())
	case "yaml":
		out, err = m.history.YAML()
	default:
		out, err = m.history.JSON(format == "json-pretty")
	}
	if err != nil {
		return objectformat.Result{}, fmt.Errorf("healthcheck history: %w", err)
	}
	return objectformat.Result{Stdout: out}, nil
}

// historyClear is Pacific's _clear_healthchecks.
func (m *Module) historyClear(ctx context.Context, _ *historyClearArgs) (objectformat.Result, error) {
	if err := m.history.reset(ctx, m.mgr); err != nil {
		return objectformat.Result{}, fmt.Errorf("clearing the healthcheck history: %w", err)
	}
	return objectformat.OK("healthcheck history cleared"), nil
}
