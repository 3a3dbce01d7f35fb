# Two entry points: `make start` runs everything on embedded defaults, `make test` runs every check.
# Both install what they need (npm packages, Temporal binaries) on a fresh clone.
.PHONY: start dev build test deps typecheck lint unit clean chromium prometheus schemathesis

NODE_STAMP := node_modules/.install-stamp
TEMPORAL_STAMP := .tools/temporal/bin/temporal
SCHEMATHESIS_STAMP := .tools/schemathesis/bin/schemathesis
BUILD_STAMP := dist/.build-stamp
# What the production build is made from: rebuilt only when one of these changed since the last build.
BUILD_INPUTS := $(shell find api activities admin domain edge lib scripts services store web worker workflows -type f) \
	package.json package-lock.json tsconfig.json tsconfig.build.json

# The production build (npm run build: compiled services, the workflow bundle prebuilt), as a fleet runs it.
start: deps build
	node scripts/service.js stack --build=dist

# The TypeScript sources, each service restarting when a file it loads changes.
dev: deps
	node scripts/service.js stack --build=tsx --dev

build: $(BUILD_STAMP)

$(BUILD_STAMP): $(NODE_STAMP) $(BUILD_INPUTS)
	npm run build
	touch $@

test: deps typecheck lint chromium prometheus schemathesis
	npm test

# Debian's Chromium for the browser tests; where apt cannot install it, those tests skip and say why.
chromium:
	./scripts/install-chromium.sh

# Debian's Prometheus (server and promtool) for the rule checks and the live-alert test (test/deploy/prometheus);
# where apt cannot install it, those tests skip and say why.
prometheus:
	./scripts/install-prometheus.sh

# The OpenAPI fuzzer test/e2e/schemathesis.test.ts runs against the edge: pinned, from PyPI, into .tools/.
schemathesis: $(SCHEMATHESIS_STAMP)

$(SCHEMATHESIS_STAMP): scripts/install-schemathesis.sh scripts/schemathesis-requirements.txt
	./scripts/install-schemathesis.sh

typecheck: deps
	npx tsc --noEmit

# knip: unused files, exports and dependencies (knip.jsonc names the entry points).
lint: deps
	npx eslint .
	npx prettier --check .
	npx knip

deps: $(NODE_STAMP) $(TEMPORAL_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(TEMPORAL_STAMP): scripts/install-temporal.sh
	./scripts/install-temporal.sh

clean:
	rm -rf node_modules .tools .data dist test-results
