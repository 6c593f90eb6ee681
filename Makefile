# ipeval: make run | build | test | test-race | lint | vulndb | deps | bench | loadtest | fuzz | assets | clean

# The Go toolchain is the one go.mod's go line names, taken from the module
# proxy: machines start with GOTOOLCHAIN=local and an older Go, which would
# refuse this module. `make GOTOOLCHAIN=local` uses an installed Go as new.
GO_VERSION  := $(shell awk '$$1 == "go" { print $$2 }' go.mod)
export GOTOOLCHAIN := go$(GO_VERSION)

VERSION     := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
# staticcheck 2026.2.2; a release tag such as 2025.1.1 does not resolve
# through the module proxy, so name its semver module version.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0
# The Go vulnerability database, built by `make vulndb` from this pinned
# version of golang.org/x/vulndb, which the module proxy serves like any
# module (its data/osv holds every report). Raising the pin is this line.
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
VULNDB_DIR  := .cache/vulndb/$(VULNDB_VERSION)
# What govulncheck reads: the local build unless GOVULNDB names a mirror.
GOVULNDB    ?= file://$(CURDIR)/$(VULNDB_DIR)
FUZZTIME    ?= 30s

.PHONY: run build test test-race lint vulncheck vulndb deps bench loadtest fuzz fuzz-brief assets clean

# Browser assets the binary embeds (reports/static/vendor), fetched from the
# npm registry by the committed lockfile; never committed themselves.
VENDOR := reports/static/vendor

run: assets
	go run ./cmd/ipeval serve --demo

build: assets
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/ipeval ./cmd/ipeval

test: assets
	go test -count=1 -p 2 -timeout 15m ./...

# The HTTP edge, the jobs and authentication under the race detector, one
# package at a time: these are where request goroutines, workers and caches
# share memory. CI runs it after make test.
test-race: assets
	go test -race -count=1 -p 1 -timeout 45m ./internal/httpapi/... ./internal/web/... ./internal/site/... ./jobs/... ./auth/...

# The toolchain's own gofmt, not whichever the PATH finds first.
lint:
	@unformatted="$$("$$(go env GOROOT)/bin/gofmt" -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -l: these files need formatting:"; echo "$$unformatted"; exit 1; fi
	go mod tidy -diff
	go vet ./...
	go run $(STATICCHECK) ./...
	@$(MAKE) --no-print-directory vulncheck

# govulncheck exits non-zero on a known vulnerability that the code reaches,
# and on a database it cannot read: either fails lint. The local database is
# built first unless GOVULNDB names another.
vulncheck: $(if $(filter file://$(CURDIR)/$(VULNDB_DIR),$(GOVULNDB)),vulndb)
	go run $(GOVULNCHECK) -db '$(GOVULNDB)' ./...

# Builds the database once per pin: golang.org/x/vulndb's own indexdb turns
# its OSV reports into the layout `govulncheck -db file://DIR` reads. It
# lands in a temporary directory first, so an interrupted build is redone.
vulndb: $(VULNDB_DIR)/index/db.json

$(VULNDB_DIR)/index/db.json:
	@set -e; src="$$(go mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p')"; \
	test -d "$$src/data/osv" || { echo "vulndb: no data/osv in golang.org/x/vulndb@$(VULNDB_VERSION)"; exit 1; }; \
	rm -rf '$(VULNDB_DIR).tmp'; mkdir -p '$(dir $(VULNDB_DIR))'; \
	echo "vulndb: indexing $$(ls "$$src/data/osv" | wc -l) reports of golang.org/x/vulndb@$(VULNDB_VERSION)"; \
	go run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns "$$src/data/osv" -out '$(VULNDB_DIR).tmp'; \
	rm -rf '$(VULNDB_DIR)'; mv '$(VULNDB_DIR).tmp' '$(VULNDB_DIR)'

# The direct dependencies for which the module proxy serves a newer version.
# Informational: a newer version is taken only once the build machines'
# package notes approve it (README, Supply chain).
deps:
	@go list -m -u -f '{{if and (not .Indirect) (not .Main) .Update}}{{.Path}} {{.Version}} -> {{.Update.Version}}{{end}}' all

# Every benchmark, then one table of the figures beside their references
# (cmd/benchtable), one package at a time so that no two compete for
# the cores. The API and survey figures need MariaDB and Redis
# (IPEVAL_TEST_MYSQL_DSN, IPEVAL_TEST_REDIS), as in .ci/run.
bench: assets
	go test -p 1 -run '^$$' -bench . -benchmem -timeout 60m ./... 2>&1 | go run ./cmd/benchtable

# About a minute of mixed load on MySQL and Redis over loopback
# (cmd/ipeval/load_test.go): prints its table, fails on any 5xx, failed
# request or lost write.
loadtest: assets
	IPEVAL_LOADTEST=1 go test -count=1 -run '^TestLoad$$' -v -timeout 10m ./cmd/ipeval

# Runs each fuzz target for FUZZTIME (go test fuzzes one target per run).
fuzz:
	@set -e; grep -rHo --include='*_test.go' --exclude-dir=node_modules '^func Fuzz[A-Za-z0-9_]*' . | sort -u | \
	while IFS=: read -r file fn; do \
		fn=$${fn#func }; echo "== $$(dirname $$file) $$fn"; \
		go test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) "$$(dirname $$file)"; \
	done

# The parsers of user input that CI fuzzes briefly on every change, from
# their committed seed corpora (testdata/fuzz): survey CSV and XLSX, the
# values workbook, the scheme loader, the rule expressions and the files
# `ipeval evaluate` reads.
FUZZ_BRIEF := ./surveys/responsefile:FuzzReadCSV ./surveys/responsefile:FuzzReadXLSX \
	./indicators/sheet:FuzzParse ./indicators/scheme:FuzzParse ./indicators/scheme:FuzzRuleExpression \
	./evaluation/filemode:FuzzReadInput

fuzz-brief:
	@set -e; for t in $(FUZZ_BRIEF); do \
		pkg=$${t%%:*}; fn=$${t#*:}; echo "== $$pkg $$fn"; \
		timeout 300 go test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done

# node_modules/axe-core is for the browser tests' accessibility check
# (internal/testing/browsertest); it is not served. npm gives unpacked files
# a fixed old time, so the touch keeps make from reinstalling every run.
AXE := node_modules/axe-core/axe.min.js

assets: $(VENDOR)/echarts.min.js $(VENDOR)/maps/shanxi.js $(AXE)

$(VENDOR)/echarts.min.js $(VENDOR)/maps/shanxi.js $(AXE) &: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(AXE)
	mkdir -p $(VENDOR)/maps
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts.min.js
	cp node_modules/echarts-maps-v4/map/js/province/shanxi.js $(VENDOR)/maps/shanxi.js
	cp node_modules/echarts/LICENSE $(VENDOR)/ECHARTS-LICENSE

clean:
	rm -rf bin/ node_modules/
	find $(VENDOR) -mindepth 1 ! -name README.md -delete
	go clean -testcache
