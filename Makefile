# Every target runs over every module listed in go.work.
MODULES := $(shell go work edit -json | sed -n 's/.*"DiskPath": "\(.*\)".*/\1/p')
GO      ?= go
FUZZTIME ?= 10s
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: kill-test openapi-lint test unit portal-test-deps fuzz vet workflowcheck build build-standalone docs docs-check bench bench-bus clean

## test: everything CI runs — vet, standalone module builds, race tests, doc drift, OpenAPI lint, short fuzz runs, the dev stack killed under load
test: vet workflowcheck build-standalone unit docs-check openapi-lint fuzz kill-test

## openapi-lint: the committed OpenAPI documents are valid OpenAPI (libopenapi-validator; its own module, outside go.work)
openapi-lint:
	cd deploy/openapilint && GOWORK=off $(GO) vet ./... && GOWORK=off $(GO) test -count=1 ./...

## unit: race-enabled tests of every module (the portal's browser tests need axe-core: portal-test-deps)
unit: portal-test-deps
	@set -e; for m in $(MODULES); do echo "== go test $$m"; (cd $$m && $(GO) test -race -count=1 -timeout 20m ./...); done

## portal-test-deps: axe-core for the portal's browser tests, from the npm registry into .cache/ (once)
portal-test-deps:
	@bash scripts/portal-test-deps.sh

## vet: go vet over every module
vet:
	@set -e; for m in $(MODULES); do echo "== go vet $$m"; (cd $$m && $(GO) vet ./...); done

## workflowcheck: workflow code must be deterministic (no clock, no map ranging, no I/O)
workflowcheck:
	cd workflows && GOWORK=off $(GO) run go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0 ./...

## build-standalone: each module builds on its own (GOWORK=off), so none leans on the workspace
build-standalone:
	@set -e; for m in $(MODULES); do echo "== GOWORK=off go build $$m"; (cd $$m && GOWORK=off $(GO) build ./...); done

## fuzz: short runs of every fuzz target (smoke; longer runs with FUZZTIME=10m)
fuzz:
	cd pkg && $(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./events/
	cd pkg && $(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./httpapi/
	cd pkg && $(GO) test -run='^$$' -fuzz='^FuzzParseCSV$$' -fuzztime=$(FUZZTIME) ./directory/

## build: the deiops binary (bin/deiops) and the production variant without embedded servers
build:
	cd cmd/deiops && $(GO) build -ldflags '$(LDFLAGS)' -o ../../bin/deiops .
	cd cmd/deiops && CGO_ENABLED=0 $(GO) build -tags nodev -ldflags '$(LDFLAGS)' -o ../../bin/deiops-server .

## docs: regenerate the committed event catalog documents
docs:
	$(GO) run ./cmd/deiops asyncapi --out docs/events
	$(GO) run ./cmd/deiops openapi --out docs/openapi

## docs-check: fail when committed documents drift from the code
docs-check:
	$(GO) run ./cmd/deiops asyncapi --check --out docs/events
	$(GO) run ./cmd/deiops openapi --check --out docs/openapi

## bench: benchmarks (never in CI); see BENCHMARKS.md
bench:
	@set -e; for m in $(MODULES); do echo "== go test -bench $$m"; (cd $$m && $(GO) test -run='^$$' -bench=. -benchmem -benchtime=20000x ./...); done

## bench-bus: the event bus side by side with Watermill, the CloudEvents SDK, the plain client with the bus's headers (wire) and without (raw); one interleaved run, tables at the end (BENCHMARKS.md). ARGS='-rounds=5 -n=20000 -wave=50000'
bench-bus:
	cd bench/bus && GOWORK=off $(GO) run . $(ARGS)

clean:
	rm -rf bin

## chart: only the deployment checks (they also run in `make unit`) — Helm chart (lint, schema, strict decoding, golden manifests), compose, NATS accounts, Dockerfile; builds a pinned helm once into deploy/chartcheck/.bin
.PHONY: chart
chart:
	cd deploy/chartcheck && $(GO) test -count=1 ./...

## kill-test: deiops dev killed with SIGKILL 5 times under 10 reports/s, serving again within 10 s of each restart (scripts/dev-kill-test.sh; about 2 minutes)
kill-test:
	cd cmd/deiops && $(GO) build -o $(CURDIR)/.cache/deiops .
	bash scripts/dev-kill-test.sh $(CURDIR)/.cache/deiops
