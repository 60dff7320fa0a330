# gomgr - Ceph's manager-module framework in Go.
#
#   make run     build and start ceph-mgr on the embedded default state
#   make test    install what the tests need, then lint and run every test
#   make bench   benchmarks side by side (Python, the real mgr): the table of
#                ratios and its plots, bench-*.svg (see BENCHMARKS.md)
#   make fuzz    run every fuzz target for FUZZTIME (default 60s) each
#   make install put ceph-mgr, mgrctl, gomgr-rados and mgrctl's shell
#                completions under PREFIX (default /usr/local; DESTDIR too)
#
# Set-up is automatic: scripts/install-deps.sh installs the Debian packages
# (Ceph, librados-dev, tmux, zsh) and scripts/ensure-go.sh fetches a Go
# toolchain from the module proxy when the installed one is too old.

SHELL := /bin/bash
GO = $(shell scripts/ensure-go.sh)
export GOFLAGS := -tags=pacific
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 60s
RUN_DIR ?= $(CURDIR)/run
ID ?= x

.PHONY: all build run test gotest lint deps bench fuzz completions install clean

all: build

deps:
	scripts/install-deps.sh

build:
	$(GO) build -o bin/ ./cmd/...

# make run: build, then start the daemon in the foreground on the embedded
# state under ./run (Ctrl-C stops it). It prints how to talk to it.
# The sockets go where mgrctl looks by default ($XDG_RUNTIME_DIR/gomgr, or
# /run/gomgr for root), so `mgrctl mgr module ls` finds the daemon with no
# flags; without either, they go in $(RUN_DIR) (mgrctl --run-dir $(RUN_DIR)).
run: deps build
	mkdir -p -m 0700 $(RUN_DIR)
	./bin/ceph-mgr -i $(ID) --data $(RUN_DIR)/data --log-dir $(RUN_DIR) \
	  $$( [ "$$(id -u)" = 0 ] || [ -n "$$XDG_RUNTIME_DIR" ] || echo --run-dir $(RUN_DIR) )

test: deps lint gotest

# Packages with concurrent code run under the race detector; the rest run
# without it (it would only slow them down). internal/repocheck checks that
# every test file that asks for -race is in this list.
RACE_PKGS := ./pkg/module/... ./internal/modhost/... ./internal/cmdroute/... ./internal/bridge/... ./pkg/objectformat/... ./pkg/evalsandbox/... ./pkg/evalcmd/... ./internal/api/... ./internal/asok/... \
	./internal/daemon/... ./internal/embedded/... ./internal/radosproc/... ./internal/privdir/... \
	./internal/mgrctl/repl/... ./modules/... ./pkg/mgr/...

# go mod download: every module go.mod requires, in the module cache
# (a build fetches only what it compiles on this platform); the tests that
# build an author's module out of tree (pkg/mgr, mgrctl new-module) do so
# offline, from this cache.
gotest:
	$(GO) mod download
	$(GO) test -race -count=1 -timeout 60m $(RACE_PKGS)
	$(GO) test -count=1 -timeout 60m $$($(GO) list ./... | grep -vxFf <($(GO) list $(RACE_PKGS)))

lint:
	@unformatted=$$($(GO)fmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench: deps build
	$(GO) run ./internal/bench/cmd/benchtable -go $(GO)

fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test $$pkg -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME); \
	  done; \
	done

completions: build
	./bin/mgrctl completion bash > completions/mgrctl.bash
	./bin/mgrctl completion zsh > completions/_mgrctl
	./bin/mgrctl completion fish > completions/mgrctl.fish
	./bin/mgrctl completion powershell > completions/mgrctl.ps1

# The completions go where bash-completion, zsh (site-functions) and fish
# look for them under PREFIX.
PREFIX ?= /usr/local
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 bin/ceph-mgr bin/mgrctl bin/gomgr-rados $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 completions/mgrctl.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mgrctl
	install -m 0644 completions/_mgrctl $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_mgrctl
	install -m 0644 completions/mgrctl.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/mgrctl.fish

clean:
	rm -rf bin run
