# Operator workflow of the seed document, wrapping the CLI. Override CONFIG and NS:
#   make federation-sync CONFIG=/etc/vmsh NS=dao:vaultmesh
CONFIG ?= $(if $(VMSH_CONFIG_DIR),$(VMSH_CONFIG_DIR),vmsh/config)
NS ?= dao:vaultmesh
CLI := node bin/vmsh-federation.js --config $(CONFIG)

.PHONY: build test bench federation federation-status federation-sync verify-online

build:
	npm run build

test:
	npm test

bench:
	npm run bench

# Start the federation daemon (HTTP server on mesh.listen.http, default 127.0.0.1:8088).
federation: build
	$(CLI) serve

federation-status: build
	$(CLI) status

federation-sync: build
	$(CLI) sync --namespace $(NS)

# Re-verify every stored anchor, local and federated, against the live endpoints.
verify-online: build
	$(CLI) verify-online
