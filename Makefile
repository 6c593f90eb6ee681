# ipeval: make run | build | test | lint | bench | fuzz | clean

VERSION     := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
# staticcheck 2026.2.2; a release tag such as 2025.1.1 does not resolve
# through the module proxy, so name its semver module version.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 30s

.PHONY: run build test lint bench fuzz clean

run:
	go run ./cmd/ipeval serve --demo

build:
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/ipeval ./cmd/ipeval

test:
	go test -count=1 -p 2 -timeout 15m ./...

lint:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -l: these files need formatting:"; echo "$$unformatted"; exit 1; fi
	go mod tidy -diff
	go vet ./...
	go run $(STATICCHECK) ./...

bench:
	go test -run '^$$' -bench . -benchmem ./...

# Runs each fuzz target for FUZZTIME (go test fuzzes one target per run).
fuzz:
	@set -e; grep -rHo --include='*_test.go' --exclude-dir=node_modules '^func Fuzz[A-Za-z0-9_]*' . | sort -u | \
	while IFS=: read -r file fn; do \
		fn=$${fn#func }; echo "== $$(dirname $$file) $$fn"; \
		go test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) "$$(dirname $$file)"; \
	done

clean:
	rm -rf bin/
	go clean -testcache
