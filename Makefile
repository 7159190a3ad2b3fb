# Operator workflow of the seed document, wrapping the CLI. Override CONFIG and NS:
#   make federation-sync CONFIG=/etc/vmsh NS=dao:vaultmesh
# Operator targets never build: they run the installed `vmsh-federation` when it is on PATH,
# else this checkout's bin/ once dist/ exists (`make build` first in a development tree).
CONFIG ?= $(if $(VMSH_CONFIG_DIR),$(VMSH_CONFIG_DIR),vmsh/config)
NS ?= dao:vaultmesh
VMSH ?= $(or $(shell command -v vmsh-federation 2>/dev/null),$(if $(wildcard dist/commands/main.js),node bin/vmsh-federation.js))
CLI = $(if $(VMSH),$(VMSH),$(error no vmsh-federation on PATH and no dist/ here: install the package or run make build)) --config $(CONFIG)

.PHONY: build test bench federation federation-status federation-sync verify-online

build:
	npm run build

test:
	npm test

bench:
	npm run bench

# Start the federation daemon (HTTP server on mesh.listen.http, default 127.0.0.1:8088).
federation:
	$(CLI) serve

federation-status:
	$(CLI) status

federation-sync:
	$(CLI) sync --namespace $(NS)

# Re-verify every stored anchor, local and federated, against the live endpoints.
verify-online:
	$(CLI) verify-online
