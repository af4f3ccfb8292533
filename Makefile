SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

SPEC := api-spec/openapi.json
GUILD := cargo run -q -p guild-api --bin guild --

.PHONY: help run test lint spec spec-check spec-lint fuzz ts-check deny migrate db-start db-stop db-psql bench bench-report

help: ## List the targets
	@printf 'Usage: make <target>\n\n'
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN { FS = ":.*## " } { printf "  %-11s %s\n", $$1, $$2 }'
	@printf '\nWithout DATABASE_URL, run/migrate/db-* use a project-local PostgreSQL on 127.0.0.1:55432.\n'

run: ## Build and serve the API on :8080 (local PostgreSQL unless DATABASE_URL is set)
	@bash scripts/run.sh serve

test: ## Run every test with cargo-nextest (finds or starts PostgreSQL and Redis)
	@bash scripts/test.sh

lint: ## cargo fmt --check, clippy with warnings as errors, the benchmark scripts' self-tests
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	python3 scripts/bench/report.py --self-test
	python3 scripts/bench/capture.py --self-test
	python3 scripts/bench/pgbench_json.py --self-test

spec: ## Regenerate api-spec/openapi.json and the TypeScript client's types
	@mkdir -p $(dir $(SPEC))
	$(GUILD) openapi > $(SPEC).tmp || { rm -f $(SPEC).tmp; exit 1; }
	@mv $(SPEC).tmp $(SPEC)
	@echo "wrote $(SPEC)"
	@bash scripts/ts-client.sh gen

spec-check: ## Fail if api-spec/openapi.json (or the client's types) differs from what the code generates
	@if [[ ! -f $(SPEC) ]]; then \
		echo "$(SPEC) is missing: run 'make spec' and commit the result." >&2; exit 1; \
	fi; \
	tmp="$$(mktemp)"; trap 'rm -f "$$tmp"' EXIT; \
	$(GUILD) openapi > "$$tmp"; \
	if ! diff -u $(SPEC) "$$tmp"; then \
		echo >&2; \
		echo "$(SPEC) is out of date: run 'make spec' and commit the result." >&2; exit 1; \
	fi; \
	echo "$(SPEC) is up to date"
	@bash scripts/ts-client.sh stale

spec-lint: ## Lint api-spec/openapi.json with Spectral and Redocly (fails on any warning)
	@bash scripts/spec-lint.sh

fuzz: ## Fuzz a fresh server with schemathesis against the spec (every check; about 5 min)
	@bash scripts/fuzz.sh

ts-check: ## Type-check the TypeScript client and its examples (tsc --noEmit)
	@bash scripts/ts-client.sh check

bench: ## Benchmark suite: release build, data set, pgbench and wrk scenarios (about 15 min)
	@bash scripts/bench/run.sh

bench-report: ## Rebuild target/bench/report.md from the last run's results
	@python3 scripts/bench/report.py target/bench

deny: ## Check licences, banned crates and sources with cargo-deny
	@command -v cargo-deny >/dev/null 2>&1 || cargo install cargo-deny --locked
	cargo deny check licenses bans sources

migrate: ## Apply migrations (local PostgreSQL unless DATABASE_URL is set)
	@bash scripts/run.sh migrate

db-start: ## Start the project-local PostgreSQL and create the guild database
	@bash scripts/db.sh start

db-stop: ## Stop the project-local PostgreSQL (and Redis, if the tests started one)
	@bash scripts/db.sh stop

db-psql: ## Open psql on the project-local guild database
	@bash scripts/db.sh psql
