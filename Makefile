# Inlay — the two commands are `make run` (the whole platform on this machine) and `make test`
# (everything CI checks). See README.md.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

GO       ?= go
# -trimpath: object files hold no absolute directory, so Go's build cache keys do not depend on where
# the repository is checked out, and a fresh clone (CI's) reuses what an earlier build compiled
# (unit tests from a new clone on two cores: 235 s without it, 134 s with it and a warm cache).
GOFLAGS += -trimpath
export GOFLAGS
BIN      := bin
PROCFILE := deploy/Procfile
DEV_ENV  := .inlay/dev.env
TEAMS_ENV := .inlay/teams.env
RUN_ENV   := .inlay/run.env
# make run: INLAY_TRACING=1 also starts Jaeger all-in-one (tools/jaeger/go.mod) and sends every
# process's spans to it (UI http://localhost:16686); LOG_FORMAT is the processes' log format.
INLAY_TRACING ?=
LOG_FORMAT    ?= text
JAEGER        := $(BIN)/jaeger
# Every process binary: the main packages under */cmd/ of the shell, the services and the BFFs.
CMD_PKGS  = $(shell $(GO) list -e -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' ./shell/... ./services/... ./bff/... | grep /cmd/)
# `go test` budget for the unit and integration tests; `make test` from a clean clone takes 302–598 s on a two-core machine whose build cache is warm, 932–1,574 s on one that has built nothing (CI allows 15 minutes).
TEST_TIMEOUT ?= 6m
# Test binaries run at once (go test -p; its default is the number of CPUs). Most integration tests
# wait on PostgreSQL, RabbitMQ and their own conditions rather than compute (the whole suite takes
# about 5.6 CPU-minutes), so four at a time on two cores shortens the run.
TEST_P ?= 4
# The e2e suite's budget: 4-6 minutes on two quiet cores, 8 when they are shared (session 5: 484 s with
# two busy loops beside it, against the 9 minutes allowed then).
E2E_TIMEOUT  ?= 12m

# Benchmarks owned by other parts (see `bench`). Each must exist once its part has landed: a missing
# one is an error, never a silent skip.
EVENTS_BENCH  ?= ./services/kit/events/cmd/eventbench
SHELL_BENCH   ?= shell/bench/run.sh
SHELL_CPU_BENCH ?= shell/bench/cpu.sh
GO_BENCH_PKGS ?= ./shell/... ./fragments/... ./bff/embed/...
BENCH_DIR     ?= .inlay/bench
# make load: new shopper sessions per second, for how long, against which storefront (see README, Load).
RATE     ?= 20
DURATION ?= 60s
TARGET   ?= http://127.0.0.1:8080
LOAD_DIR ?= .inlay/load
LOAD_FLAGS ?=

.PHONY: help run tracing jaeger build generate test unit e2e faults bench bench-compose bench-tracing bench-staleness load lint vet fmt-check templ-fmt-check tidy-check lint-go generated-check services-up \
	services-check chromium proxies clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

run: services-check build $(DEV_ENV) $(if $(filter 1,$(INLAY_TRACING)),jaeger) ## generate, build, check the stores, start every process of deploy/Procfile (Ctrl-C stops all); INLAY_TRACING=1 adds Jaeger
	@echo "Inlay: storefront at http://localhost:8080 (Ctrl-C stops every process)"
	scripts/teams-env.sh $(PROCFILE) > $(TEAMS_ENV)
	echo "LOG_FORMAT=$(LOG_FORMAT)" > $(RUN_ENV)
	if [ "$(INLAY_TRACING)" = 1 ]; then \
		printf '%s\n' OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_TRACES_SAMPLER=parentbased_always_on >> $(RUN_ENV); \
		$(JAEGER) > .inlay/jaeger.log 2>&1 & jaeger=$$!; trap 'kill $$jaeger' EXIT; \
		echo "Jaeger: traces at http://localhost:16686 (log .inlay/jaeger.log)"; \
	fi; \
	$(GO) tool goreman -f $(PROCFILE) -env $(DEV_ENV),$(TEAMS_ENV),$(RUN_ENV) -set-ports=false -rpc-server=false start

jaeger: ## build Jaeger all-in-one v1.76.0 (pinned in tools/jaeger/go.mod, its own module) into bin/; not part of make test
	@mkdir -p $(BIN)
	$(GO) build -modfile=tools/jaeger/go.mod -o $(JAEGER) github.com/jaegertracing/jaeger/cmd/jaeger

tracing: jaeger ## Jaeger alone: UI http://localhost:16686, OTLP/HTTP on 127.0.0.1:4318 (point OTEL_EXPORTER_OTLP_ENDPOINT at it)
	$(JAEGER)

build: generate ## build every process binary into bin/
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(CMD_PKGS)

generate: ## generate templ components (go tool templ; files that are current are left untouched)
	scripts/templ-generate.sh

$(DEV_ENV): scripts/keygen/main.go ## local Ed25519 key pairs (shell, embed) so signed contexts verify at every team; remade when keygen changes
	@mkdir -p $(dir $@)
	$(GO) run ./scripts/keygen > $@.tmp && mv $@.tmp $@

# go vet's checks run within lint-go (golangci-lint's govet, with the e2e tag), so test does not run vet again.
test: services-up chromium proxies fmt-check templ-fmt-check tidy-check generated-check lint-go unit e2e ## format, tidy, lint (go vet's checks included) and generated-code checks, unit/integration and end-to-end tests

unit: ## unit and integration tests against the real local stores, with the race detector (always run: -count=1)
	scripts/go-test.sh .inlay/unit.log $(GO) test -race -count=1 -p $(TEST_P) -timeout $(TEST_TIMEOUT) ./...

e2e: chromium proxies ## end-to-end: build and start the platform on free ports, drive headless Chromium
	scripts/go-test.sh .inlay/e2e.log $(GO) test -race -tags e2e -count=1 -timeout $(E2E_TIMEOUT) ./e2e/...

# The fault suite runs within `unit` (the shell's goroutines after 1,000 pages, nesting and cycles,
# in process) and `e2e` (the timed fragment cases against shelld, and the stores' cases); this
# target runs it alone and shows each case's measured figure and bound (full log in .inlay/faults.log).
FAULT_TESTS_UNIT := TestFiveFragmentsDown|TestNestingAndCycle
FAULT_TESTS_E2E  := TestFaults

faults: services-up ## the fault suite alone, with its figures: toxiproxy between the shell and fragments, and between the services and their stores
	@mkdir -p .inlay
	{ $(GO) test -race -count=1 -v -run '$(FAULT_TESTS_UNIT)' ./shell/server/ && \
	  $(GO) test -race -tags e2e -count=1 -v -timeout $(E2E_TIMEOUT) -run '$(FAULT_TESTS_E2E)' ./e2e/; } 2>&1 | \
	  tee .inlay/faults.log | grep -E 'bound|five down|^(--- |ok|FAIL)|    --- '

bench: services-up proxies ## benchmarks: the event backbone, the order saga, the engine's Go benchmarks, the shell against nginx SSI and Tailor, tracing's cost, the partner pages, the mobile BFF's product screen, price staleness
	@mkdir -p $(BENCH_DIR)
	# --- events (owner: helper "events"): events/s end to end and publish-to-handled latency at 1,000/s
	@test -d $(EVENTS_BENCH) || { echo "missing events benchmark $(EVENTS_BENCH)" >&2; exit 1; }
	$(GO) run $(EVENTS_BENCH) | tee $(BENCH_DIR)/events.md
	scripts/record-bench.sh events $(BENCH_DIR)/events.md
	# --- the order saga alone (issue 20): order.placed → payments → inventory → stock.reserved, three hops through RabbitMQ, one order at a time and 8 at once
	$(GO) test -count=1 -run '^$$' -bench '^BenchmarkSaga$$' -benchtime 100x ./services/payments/cmd/paymentsd | tee $(BENCH_DIR)/saga.txt
	# --- Go benchmarks of the composition engine and the fragment library (allocations per page)
	$(GO) test -run '^$$' -bench . -benchmem $(GO_BENCH_PKGS) | tee $(BENCH_DIR)/go.txt
	{ echo '```'; grep -E '^(Benchmark|goos|goarch|cpu|pkg)' $(BENCH_DIR)/go.txt; echo '```'; } >$(BENCH_DIR)/go.md
	scripts/record-bench.sh go $(BENCH_DIR)/go.md
	# --- shell composition side by side (owner: helper "shell-engine"): shell/bench/run-anchors.sh
	@test -x $(SHELL_BENCH) || { echo "missing shell benchmark script $(SHELL_BENCH)" >&2; exit 1; }
	BENCH_OUT=$(BENCH_DIR)/shell.md $(SHELL_BENCH)
	scripts/record-bench.sh shell $(BENCH_DIR)/shell.md
	@test -x $(SHELL_CPU_BENCH) || { echo "missing shell CPU benchmark script $(SHELL_CPU_BENCH)" >&2; exit 1; }
	$(SHELL_CPU_BENCH) | tee $(BENCH_DIR)/shell-cpu.md
	scripts/record-bench.sh shell-cpu $(BENCH_DIR)/shell-cpu.md
	# --- tracing's cost (issue 19): the shell uncached with tracing off, sampling 0, the default 10% and sampling 1
	BENCH_OUT=$(BENCH_DIR)/tracing.md shell/bench/tracing.sh
	scripts/record-bench.sh tracing $(BENCH_DIR)/tracing.md
	# --- partners (issue 15): bff/embed's Product Card, the nginx SSI and Varnish ESI pages, beside the shell
	scripts/bench-partner.sh $(BENCH_DIR)/partner.md
	scripts/record-bench.sh partner $(BENCH_DIR)/partner.md
	# --- mobile BFF (issue 14): the product screen, all teams up and with inspire slowed to 1 s (e2e/mobile_bench_test.go)
	MOBILE_BENCH_OUT=$(abspath $(BENCH_DIR))/mobile.md $(GO) test -tags e2e -count=1 -timeout 15m -run '^$$' -bench '^BenchmarkMobileProductScreen$$' -benchtime 1x ./e2e/
	scripts/record-bench.sh mobile $(BENCH_DIR)/mobile.md
	# --- price staleness (issue 18): a price change at decide to every page showing it, and the purges' exactness
	$(MAKE) bench-staleness
	@echo "tables in $(BENCH_DIR)/ and in BENCHMARKS.md (the make-bench sections)"

bench-staleness: services-up ## price staleness alone (about 2 min): decide's price change to every page showing it, under uniform product pages, 100 changes a minute; p50/p99 and cache misses per change
	@mkdir -p $(BENCH_DIR)
	STALENESS_BENCH_OUT=$(abspath $(BENCH_DIR))/staleness.md $(GO) test -tags e2e -count=1 -timeout 10m -run '^$$' -bench '^BenchmarkPriceStaleness$$' -benchtime 1x ./e2e/
	scripts/record-bench.sh staleness $(BENCH_DIR)/staleness.md

bench-compose: services-up ## the composition table alone (< 4 min): inlay, inlay-returning, floor, floor-contract, floor-features, inlay-cached, static and static-go, median ratios of 3 interleaved rounds
	@mkdir -p $(BENCH_DIR)
	BENCH_OUT=$(BENCH_DIR)/compose.md shell/bench/compose.sh
	scripts/record-bench.sh compose $(BENCH_DIR)/compose.md

bench-tracing: services-up ## what tracing costs the shell (about 6 min): uncached pages with tracing off, off again (the control), sampling 0, the default (parent-based 10%) and sampling 1, beside the floor; shells pinned to one core, the load to the other; medians and spreads of 12 rotated rounds, CPU per page
	@mkdir -p $(BENCH_DIR)
	BENCH_OUT=$(BENCH_DIR)/tracing.md shell/bench/tracing.sh
	scripts/record-bench.sh tracing $(BENCH_DIR)/tracing.md

load: ## shoppers against the storefront of `make run` (RATE, DURATION, TARGET, LOAD_FLAGS); report and chart in .inlay/load/
	$(GO) run ./tools/load/cmd/loadgen -target $(TARGET) -rate $(RATE) -duration $(DURATION) -out $(LOAD_DIR) $(LOAD_FLAGS)

lint: vet fmt-check templ-fmt-check tidy-check lint-go ## go vet, gofmt, templ fmt, go mod tidy and golangci-lint

templ-fmt-check: ## fail when templ fmt would change a .templ file
	$(GO) tool templ fmt -fail .

tidy-check: ## fail when go.mod or go.sum is not what go mod tidy makes
	$(GO) mod tidy -diff

lint-go: ## golangci-lint (pinned in tools/golangci-lint/go.mod) with .golangci.yml
	$(GO) tool -modfile=tools/golangci-lint/go.mod golangci-lint run ./...

vet: ## go vet every package, the e2e ones included
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...

fmt-check: ## fail when gofmt would change a file
	scripts/check-gofmt.sh

generated-check: ## fail when templ's generated code is not current
	scripts/templ-generate.sh --check

services-up: ## start PostgreSQL, Redis and RabbitMQ when stopped, and wait for them
	scripts/ensure-services.sh start

services-check: ## say which local store is unreachable and how to start it (or run them with compose)
	scripts/ensure-services.sh check

chromium: ## install Debian's chromium when missing (for the e2e tests)
	scripts/ensure-chromium.sh

proxies: ## install Debian's nginx and varnish when missing (the e2e tests' partner pages)
	scripts/ensure-proxies.sh

clean: ## remove build output and the local dev key pair
	rm -rf $(BIN) .inlay
