# The few verbs a newcomer needs. `make demo` and `make test` are the README's two commands.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export OPENBLAS_NUM_THREADS := 1

DEMO_DIR ?= var/demo
DB ?= var/liner.db
ARTIFACTS ?= var/artifacts
PORT ?= 50051
WEB_PORT ?= 8080

.PHONY: setup system-deps clients demo serve test test-robustness test-ray check proto proto-check bench clean

setup: $(VENV)/.installed

# Debian packages the tests and the integrity suite use (root, or sudo, needed once).
SYSTEM_PACKAGES := ffmpeg sox libchromaprint-tools wesnoth-1.16-music hyperrogue-music asc-music \
	chromium chromium-driver protobuf-compiler postgresql

## The TypeScript client's toolchain (npm registry), for its drift check in `make check`.
clients:
	cd clients/typescript && npm ci --no-audit --no-fund

system-deps:
	@if dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then echo "system packages present"; \
	else SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES); fi

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# obp is the off-policy tests' oracle only: it pins Python < 3.11 and old numpy/torch, and
	# its slate estimators need nothing we lack (tests/offline_eval/off_policy/test_obp_oracle.py)
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python obp==0.5.7
	$(PY) -m recsys.audio_warmup
	touch $@

## The main job: generate the demo world, ingest and screen it, build artifacts, serve.
## A second run reuses what the first made: the world, the ingest (same folder: skipped) and
## every build step whose inputs did not change. benchmarks/demo.py times it.
DEMO_TRACKS ?= 1500
DEMO_LISTENERS ?= 400
demo: setup
	@echo "== demo: world"
	@if [ -f $(DEMO_DIR)/items.csv ]; then echo "demo world already in $(DEMO_DIR)"; \
	else $(BIN)/liner demo-data --out $(DEMO_DIR) --seed 7 --tracks $(DEMO_TRACKS) \
	  --listeners $(DEMO_LISTENERS); fi
	@echo "== demo: ingest"
	@sum=$$(cd $(DEMO_DIR) && ls | grep -v '^audio$$' | sort | xargs cat | sha256sum | cut -c1-64); \
	if [ -f $(DB) ] && [ "$$(cat $(DB).demo-ingested 2>/dev/null)" = "$$sum" ]; then \
	  echo "$(DEMO_DIR) already ingested into $(DB)"; \
	else $(BIN)/liner ingest $(DEMO_DIR) --db $(DB) && echo "$$sum" > $(DB).demo-ingested; fi
	@echo "== demo: build"
	$(BIN)/liner build --db $(DB) --out $(ARTIFACTS)
	@echo "== demo: serve"
	@echo ""
	@echo "Starting the service. Open http://127.0.0.1:$(WEB_PORT)/ (rights view token: demo-rights)."
	@echo "In another terminal try:"
	@echo "  .venv/bin/liner agent 'upbeat indie for a run, human artists only' --listener u_00001"
	@echo "  .venv/bin/python examples/call_service.py 127.0.0.1:$(PORT)"
	LINER_RIGHTS_TOKENS='["demo-rights"]' $(BIN)/liner serve --artifacts $(ARTIFACTS) --db $(DB) \
		--port $(PORT) --web-port $(WEB_PORT) --web-origin '*' --experiments experiments \
		--allow-anonymous-events

serve: setup
	LINER_RIGHTS_TOKENS='["demo-rights"]' $(BIN)/liner serve --artifacts $(ARTIFACTS) --db $(DB) \
		--port $(PORT) --web-port $(WEB_PORT) --web-origin '*' --experiments experiments \
		--allow-anonymous-events

test: setup
	$(BIN)/pytest -q

## A real service on a small demo world: overload, bad reloads, a soak, protobuf fuzzing,
## kill -9 of a writing server and of `liner ingest`. SOAK=600 for the long soak.
SOAK ?= 20
test-robustness: setup
	LINER_ROBUSTNESS=1 $(BIN)/pytest -q -s -p no:cacheprovider tests/robustness --soak $(SOAK)

## `liner build --ray` against the local build on a Ray cluster the test starts (installs the
## optional extra `.[ray]` first; about a minute).
test-ray: setup
	$(PY) -m pip install --quiet -e '.[ray]'
	LINER_RAY_TESTS=1 $(BIN)/pytest -q -p no:cacheprovider tests/recsys/distributed

check: setup proto-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

proto: setup
	$(PY) -m recsys.api.generate

proto-check: setup
	@if [ -f recsys/api/generate.py ]; then $(PY) -m recsys.api.generate --check; fi

bench: setup
	$(PY) -m benchmarks.ingest --quick
	$(PY) -m benchmarks.retrieval --quick
	$(PY) -m benchmarks.pipeline --quick
	$(PY) -m benchmarks.service --quick

clean:
	rm -rf var .mypy_cache .ruff_cache .pytest_cache
