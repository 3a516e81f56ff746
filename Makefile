# Automators Connectors. `make help` lists the targets.
#
# sam build also uses this file: every function in template.yaml has
# `Metadata: BuildMethod: makefile`, and SAM runs `make build-<LogicalId>`
# with ARTIFACTS_DIR set. See README "Why the Makefile build method".

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO     ?= go
PIP    ?= python3 -m pip
PORT   ?= 3000

# The Lambda Runtime Interface Emulator, pinned, installed into ./bin.
# internal/tstest/lambdarie carries the same version (lambdarie.RIEVersion).
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE_MODULE  := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE         := bin/aws-lambda-rie
RIE_STAMP   := bin/.aws-lambda-rie-$(RIE_VERSION)

# The state machine runner's npm packages (aws-local-stepfunctions, pinned in
# its package-lock.json): reinstalled only when node_modules is missing or
# the lock changed. npm ci writes node_modules/.package-lock.json; touch
# makes it newer than the lock even when npm keeps its time.
SFN_DIR   := internal/statemachine
SFN_STAMP := $(SFN_DIR)/node_modules/.package-lock.json

# The browser test's npm packages, pinned in its package-lock.json: Nango's
# official frontend SDK (@nangohq/frontend) and Nango's provider catalogue
# (@nangohq/providers, whose providers.yaml the registry tests read when
# ../shared/reference is absent).
WEB_DIR   := internal/tstest/browsertest
WEB_STAMP := $(WEB_DIR)/node_modules/.package-lock.json

# The deploy build of a bootstrap (DESIGN §1): static, no RPC mode, no paths,
# no symbols, no build id (reproducible). Lambda runs it on Graviton (arm64).
LAMBDA_GOENV := CGO_ENABLED=0 GOOS=linux GOARCH=arm64
LAMBDA_FLAGS := -trimpath -tags lambda.norpc -ldflags '-s -w -buildid='

# lambda-build,<folder>: builds functions/<folder> into $(ARTIFACTS_DIR)/bootstrap.
define lambda-build
$(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set (sam build sets it; or use make build)))
$(LAMBDA_GOENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(1)
endef

# Logical ids of template.yaml, in order. Folder = id without "Function", in
# kebab case (internal/local/samtemplate.FolderFor); the tests check both lists.
LAMBDAS := NangoAuthorizeFunction NangoCallbackFunction NangoRefreshFunction \
	NangoListConnectionsFunction NangoGetConnectionFunction NangoDeleteConnectionFunction \
	NangoCreateConnectionFunction NangoRotateCredentialsFunction NangoUpdateConnectionFunction \
	NangoListConnectorsFunction NangoGetConnectorFunction \
	NangoListExecutionsFunction NangoWebhookFunction ExecuteConnectorFunction ConnectionSweeperFunction

build-NangoAuthorizeFunction:         ; $(call lambda-build,nango-authorize)
build-NangoCallbackFunction:          ; $(call lambda-build,nango-callback)
build-NangoRefreshFunction:           ; $(call lambda-build,nango-refresh)
build-NangoListConnectionsFunction:   ; $(call lambda-build,nango-list-connections)
build-NangoGetConnectionFunction:     ; $(call lambda-build,nango-get-connection)
build-NangoDeleteConnectionFunction:  ; $(call lambda-build,nango-delete-connection)
build-NangoCreateConnectionFunction:  ; $(call lambda-build,nango-create-connection)
build-NangoRotateCredentialsFunction: ; $(call lambda-build,nango-rotate-credentials)
build-NangoUpdateConnectionFunction:  ; $(call lambda-build,nango-update-connection)
build-NangoListConnectorsFunction:    ; $(call lambda-build,nango-list-connectors)
build-NangoGetConnectorFunction:      ; $(call lambda-build,nango-get-connector)
build-NangoListExecutionsFunction:    ; $(call lambda-build,nango-list-executions)
build-NangoWebhookFunction:           ; $(call lambda-build,nango-webhook)
build-ExecuteConnectorFunction:       ; $(call lambda-build,execute-connector)
build-ConnectionSweeperFunction:      ; $(call lambda-build,connection-sweeper)

.PHONY: help run token test tools vet fmt-check lint-template bench build sizes invoke secrets fuzz load clean \
	$(addprefix build-,$(LAMBDAS))

help: ## Lists the targets.
	@grep -E '^[a-z][a-zA-Z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-14s %s\n", $$1, $$2 }'

run: ## Serves the API of template.yaml on 127.0.0.1:$(PORT) (embedded store, offline Nango sandbox).
	PORT=$(PORT) $(GO) run ./internal/cmd/localapi

# USER is also the login name in every shell, which make imports: only a USER
# given on the command line counts, so `make token ORG=o1` cannot silently
# sign a token for "root".
token: ## Prints a development JWT: make token USER=u1 ORG=o1 [ROLES=admin]
	$(if $(filter command line,$(origin USER)),,$(error USER must be given on the command line: make token USER=u1 ORG=o1 [ROLES=admin]))
	$(if $(ORG),,$(error ORG is required: make token USER=u1 ORG=o1 [ROLES=admin]))
	@$(GO) run ./internal/cmd/devtoken -user '$(USER)' -org '$(ORG)' $(if $(ROLES),-roles '$(ROLES)')

# The fuzz budget of make test is a count, not a duration: Go 1.26's fuzz
# coordinator can report "context deadline exceeded" as a failure when a
# duration ends under CPU contention (golang/go#75804, fixed in Go 1.27).
test: tools vet fmt-check lint-template ## Everything CI runs: vet, gofmt, cfn-lint, all tests (moto and emulator included), 2000 executions of each fuzz target.
	$(GO) test -count=1 -timeout 20m ./...
	@$(MAKE) --no-print-directory fuzz FUZZ_TIME=2000x

tools: $(RIE_STAMP) $(SFN_STAMP) $(WEB_STAMP) ## Installs what the tests need: aws-lambda-rie into ./bin; the npm packages; moto, cfn-lint and chromium only where missing.
	@command -v chromium >/dev/null || { echo "installing chromium (Debian package, for the browser test)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@command -v moto_server >/dev/null || { echo "installing moto[server]"; $(PIP) install 'moto[server]'; }
	@command -v cfn-lint >/dev/null || { echo "installing cfn-lint"; $(PIP) install cfn-lint aws-sam-translator; }

$(RIE_STAMP):
	GOBIN=$(CURDIR)/bin $(GO) install $(RIE_MODULE)@$(RIE_VERSION)
	rm -f bin/.aws-lambda-rie-* && touch $@

$(SFN_STAMP): $(SFN_DIR)/package.json $(SFN_DIR)/package-lock.json
	npm ci --prefix $(SFN_DIR) --no-audit --no-fund
	touch $@

$(WEB_STAMP): $(WEB_DIR)/package.json $(WEB_DIR)/package-lock.json
	npm ci --prefix $(WEB_DIR) --no-audit --no-fund
	touch $@

vet: ## go vet of every package.
	$(GO) vet ./...

fmt-check: ## Fails when a Go file is not gofmt-formatted.
	@out=$$(find . -name '*.go' -not -path './bin/*' -not -path './.aws-sam/*' -not -path './node_modules/*' -not -path './.local/*' -print0 | xargs -0 gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# --include-checks I: informational findings (such as I3011, a stateful
# resource without explicit deletion policies) fail too. (-i would be
# --ignore-checks.)
lint-template: ## cfn-lint template.yaml, informational checks included (any finding fails).
	cfn-lint --include-checks I -- template.yaml

bench: ## Runs every benchmark.
	$(GO) test -run '^$$' -bench . -benchmem ./...

.PHONY: coldstart
coldstart: ## Init of each function (process start to its first Runtime API /next, moto), and its ratio to the SDK-init floor (x-floor; issue: <= 1.25).
	$(GO) test -run '^$$' -bench . -benchtime 5x ./internal/tstest/coldstart/

build: ## Builds every arm64 bootstrap as sam build does, into .aws-sam/build/<LogicalId>/.
	@for id in $(LAMBDAS); do \
		$(MAKE) --no-print-directory build-$$id ARTIFACTS_DIR=$(CURDIR)/.aws-sam/build/$$id; \
	done

sizes: build ## Prints the size of each arm64 bootstrap (deploy flags).
	@for id in $(LAMBDAS); do \
		f=.aws-sam/build/$$id/bootstrap; \
		stat -c '%s' $$f | awk -v id=$$id '{ printf "%-32s %10d bytes  %6.2f MiB\n", id, $$1, $$1 / 1048576 }'; \
	done

# make secrets STACK=<stack> KEY=value ...: every other variable given on
# the command line is a KEY=value for internal/cmd/secrets, which merges them
# into the stack's secret (read, change, write) and refuses unknown keys.
# KEY=- reads that value from stdin, out of the shell's history.
SECRETS_VARS = $(filter-out STACK SECRET_ID,$(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v))))
secrets: ## Merges values into the deployed secret: make secrets STACK=automators-connectors-dev nango_secret_key=... [KEY=value ...]
	$(if $(STACK)$(SECRET_ID),,$(error STACK is required: make secrets STACK=automators-connectors-dev nango_secret_key=...))
	$(if $(SECRETS_VARS),,$(error give at least one KEY=value, e.g. nango_secret_key=...))
	@$(GO) run ./internal/cmd/secrets $(if $(STACK),-stack '$(STACK)',-secret-id '$(SECRET_ID)') $(foreach v,$(SECRETS_VARS),'$(v)=$(value $(v))')

invoke: $(RIE_STAMP) ## One invocation under the emulator with moto: make invoke FN=nango-list-connections EVENT=events/nango-list-connections.json
	$(if $(FN),,$(error FN is required, e.g. FN=nango-list-connections))
	$(GO) run ./internal/cmd/invoke -fn '$(FN)' $(if $(EVENT),-event '$(EVENT)')

# Runs every Fuzz* target of the module for FUZZ_TIME each, a duration or
# a count of executions (make test runs 2000 of each). Seeds are in each package's testdata/fuzz; a failure
# found is written there too, and then runs as a regression test.
FUZZ_TIME ?= 30s
fuzz: ## Runs each Fuzz* test for FUZZ_TIME (default 30s).
	@found=0; \
	for file in $$(grep -rl --include='*_test.go' -E '^func Fuzz[A-Z0-9_]' internal functions 2>/dev/null); do \
		for fn in $$(grep -oE '^func Fuzz[A-Za-z0-9_]*' $$file | cut -d' ' -f2); do \
			found=1; echo "== $$fn ($$(dirname $$file))"; \
			$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZ_TIME) ./$$(dirname $$file); \
		done; \
	done; \
	[ $$found = 1 ] || { echo "fuzz: no Fuzz targets found"; exit 1; }

# make load C=8 D=10s: the local API and the executor under C concurrent
# callers for D each, on loopback (internal/cmd/load).
C ?= 8
D ?= 10s
load: ## Bounded load test on loopback: requests/s, p50/p99 and errors of the local API and the executor.
	$(GO) run ./internal/cmd/load -c $(C) -d $(D)

clean: ## Removes build outputs and ./bin (keeps .local, the local state).
	rm -rf .aws-sam bin
