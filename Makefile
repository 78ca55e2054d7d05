# Attune — the two commands:
#
#   make demo   install what is missing, build, start the private database,
#               migrate, load the demo study (once: `attune demo` does nothing
#               when it exists), and serve on 127.0.0.1:8080
#   make test   install what is missing, build, run the whole suite; the last
#               line reads "N passed, N failed"
#
# With CI=true, warnings are errors and the suite also runs in an
# AddressSanitizer + UndefinedBehaviorSanitizer build.

BUILD ?= build
SAN_BUILD ?= build-sanitize
ATTUNE = $(BUILD)/attune

ifeq ($(CI),true)
MESON_WERROR = -Dwerror=true
TEST_BUILDS = $(BUILD) $(SAN_BUILD)
else
MESON_WERROR = -Dwerror=false
TEST_BUILDS = $(BUILD)
endif

# Sanitizer runs stop at the first report and print where it came from.
export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS ?= halt_on_error=1:print_stacktrace=1

.PHONY: all deps deps-test build build-sanitize demo test test-sanitize test-unit valgrind \
        format clean npm fuzz bench

all: build

deps:
	@tools/deps.sh build

deps-test:
	@tools/deps.sh test

# Front-end packages (the charting library the dashboards serve, and
# playwright-core for the browser tests), exactly as package-lock.json pins them.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

npm: deps node_modules/.package-lock.json

# meson setup once; afterwards only the werror setting is brought in line.
build: deps
	@if [ -f $(BUILD)/build.ninja ]; then meson configure $(BUILD) $(MESON_WERROR) >/dev/null; \
	 else meson setup $(BUILD) $(MESON_WERROR); fi
	ninja -C $(BUILD)

build-sanitize: deps
	@if [ -f $(SAN_BUILD)/build.ninja ]; then meson configure $(SAN_BUILD) $(MESON_WERROR) >/dev/null; \
	 else meson setup $(SAN_BUILD) $(MESON_WERROR) -Db_sanitize=address,undefined \
	      -Db_lundef=false -Dbuildtype=debug; fi
	ninja -C $(SAN_BUILD)

demo: build npm
	$(ATTUNE) db start
	$(ATTUNE) migrate
	$(ATTUNE) demo
	@echo "Open http://127.0.0.1:8080/ (stop with Ctrl-C)"
	exec $(ATTUNE) serve

# Runs every build's suite even when one fails, then counts all of them.
test: deps-test npm build $(if $(filter true,$(CI)),build-sanitize)
	@for b in $(TEST_BUILDS); do \
	   echo "== test suite in $$b"; \
	   meson test -C $$b --print-errorlogs || true; \
	 done
	@python3 tests/summary.py $(TEST_BUILDS)

test-sanitize: deps-test npm build-sanitize
	meson test -C $(SAN_BUILD) --print-errorlogs || true
	@python3 tests/summary.py $(SAN_BUILD)

test-unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs || true
	@python3 tests/summary.py $(BUILD)

# The unit suite under valgrind: no leaks, no errors.
valgrind: build
	meson test -C $(BUILD) --suite unit --wrapper 'valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --quiet' || true
	@python3 tests/summary.py $(BUILD)

# Every benchmark in bench/benchmarks.txt, one table at the end (also in
# $(BUILD)/bench/results.md). See bench/run.py.
bench: build npm
	@tools/deps.sh bench
	ATTUNE_BUILD=$(BUILD) python3 bench/run.py

# libFuzzer: every target for FUZZ_SECONDS each (default 60), starting from
# the seed corpus in tests/fuzz/corpus/<target>. New inputs go to
# $(FUZZ_BUILD)/corpus/<target>, crashes to $(FUZZ_BUILD)/crashes/<target>/;
# copy a crash into tests/fuzz/corpus/<target>/ to make it a regression test.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz:
	@tools/deps.sh fuzz
	@if [ ! -f $(FUZZ_BUILD)/build.ninja ]; then CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true \
	   -Db_sanitize=address,undefined -Db_lundef=false -Dintegration_tests=false; fi
	ninja -C $(FUZZ_BUILD)
	@status=0; for f in $(FUZZ_BUILD)/tests/fuzz/fuzz_*; do \
	   case $$f in *_replay|*.p) continue;; esac; \
	   name=$${f##*/fuzz_}; mkdir -p $(FUZZ_BUILD)/corpus/$$name $(FUZZ_BUILD)/crashes/$$name; \
	   echo "== fuzz $$name for $(FUZZ_SECONDS)s"; \
	   $$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	     -artifact_prefix=$(FUZZ_BUILD)/crashes/$$name/ \
	     $(FUZZ_BUILD)/corpus/$$name tests/fuzz/corpus/$$name || status=1; \
	 done; exit $$status

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
