# weft's front door: every target installs what is missing (Debian packages, as
# root or through sudo), then hands over to CMake. See README.md.
#
#   make demo     build (Release) and run `weft tour`
#   make test     the whole suite under ASan+UBSan, then under TSan
#   make bench    Release build, benchmarks and peers side by side
#   make install  install headers, libraries, weft.pc and the CMake package
#
# Build trees live under build/ (BUILD=... to move them); PREFIX for install.

BUILD   ?= build
PREFIX  ?= /usr/local
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE   ?= cmake
CTEST_FLAGS ?= --output-on-failure -j $(JOBS)

# Debian packages each target needs.
BUILD_PKGS := build-essential cmake pkg-config libcmocka-dev
BENCH_PKGS := $(BUILD_PKGS) python3 golang-go libglib2.0-dev
FUZZ_PKGS  := clang libclang-rt-14-dev
FUZZ_SECONDS ?= 20

.PHONY: all demo test test-asan test-tsan test-install test-fuzz bench install deps deps-bench clean format

all: deps
	$(CMAKE) -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=Release
	$(CMAKE) --build $(BUILD)/release -j $(JOBS)

deps:
	@sh tools/ensure-packages.sh $(BUILD_PKGS)

deps-bench:
	@sh tools/ensure-packages.sh $(BENCH_PKGS)

demo: all
	$(BUILD)/release/weft tour

test: test-asan test-tsan test-install test-fuzz

test-asan: deps
	$(CMAKE) -S . -B $(BUILD)/asan -DCMAKE_BUILD_TYPE=Debug -DWEFT_SANITIZE=address -DWEFT_BENCH=OFF
	$(CMAKE) --build $(BUILD)/asan -j $(JOBS)
	cd $(BUILD)/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_FLAGS)

# TSan needs a fixed address-space layout on kernels with many random mmap bits;
# tools/tsan-run.sh re-executes without ASLR when that is needed.
test-tsan: deps
	$(CMAKE) -S . -B $(BUILD)/tsan -DCMAKE_BUILD_TYPE=Debug -DWEFT_SANITIZE=thread -DWEFT_BENCH=OFF
	$(CMAKE) --build $(BUILD)/tsan -j $(JOBS)
	cd $(BUILD)/tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:atexit_sleep_ms=0 \
	  sh $(CURDIR)/tools/tsan-run.sh ctest $(CTEST_FLAGS)

# `make install` as a user sees it: install a Release build into a scratch
# prefix, then build programs against it with pkg-config and find_package.
test-install: all
	sh tests/install/check-install.sh $(BUILD)/release

# libFuzzer targets (tests/fuzz/), each for FUZZ_SECONDS from its seed corpus.
test-fuzz:
	@sh tools/ensure-packages.sh $(FUZZ_PKGS)
	sh tools/fuzz.sh $(FUZZ_SECONDS)

bench: deps-bench
	$(CMAKE) -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=Release
	$(CMAKE) --build $(BUILD)/release -j $(JOBS)
	sh bench/run.sh $(BUILD)/release

install: all
	$(CMAKE) --install $(BUILD)/release --prefix $(PREFIX)

format:
	clang-format -i include/*.h include/weft/*.h src/*/*.[ch] tests/*/*.[ch] \
	  examples/seed/*.[ch] tools/*.c bench/*.[ch]

clean:
	rm -rf $(BUILD)
