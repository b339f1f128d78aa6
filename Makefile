# Thin wrapper over CMake: deps, build, test, demo, benchmarks.
BUILD   ?= build
ASAN    ?= build-asan
FUZZ    ?= build-fuzz
# Seconds each libFuzzer target runs in `make fuzz`; `make test` runs them
# for FUZZ_SHORT_TIME each.
FUZZ_TIME ?= 600
FUZZ_SHORT_TIME ?= 20
DEB     ?= build-deb
PREFIX  ?= /usr/local
JOBS    ?= $(shell nproc)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DHERALD_WERROR=ON
endif

.PHONY: all deps build test test-unit test-asan test-valgrind demo clean bench-consume bench-notify format \
	format-check fuzz fuzz-build fuzz-short \
	install package test-package

all: build

deps:
	@scripts/deps.sh

build:
	@cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The whole suite: formatting, unit and integration tests (the latter start
# the test stack themselves), the unit suite again under ASan+UBSan (which
# replays every fuzz corpus), then every fuzz target for a short time.
test: deps format-check build
	cd $(BUILD) && ctest --output-on-failure -j 1
	$(MAKE) test-asan
	$(MAKE) fuzz-short
	$(MAKE) test-package

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

test-asan:
	@cmake -S . -B $(ASAN) -G Ninja -DHERALD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -L unit

# Every unit test under valgrind's memcheck: no leak, no invalid access.
test-valgrind: build
	@cd $(BUILD) && ctest -L unit -N -V | sed -n 's/^[0-9]*: Test command: //p' | \
	while read -r cmd; do echo "valgrind $$cmd"; \
		CMOCKA_MESSAGE_OUTPUT=stdout valgrind -q --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=9 $$cmd >/dev/null || exit 1; \
	done

# make install PREFIX=/opt/herald [DESTDIR=/stage]: bin/herald,
# lib/herald/plugins, the SDK (include/, lib/pkgconfig, lib/cmake), the man
# page and share/herald (example configs). The installed binary finds its
# plugins relative to itself.
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

# The Debian packages $(DEB)/herald_*.deb and herald-dev_*.deb: a /usr
# build with Debian's hardening flags, staged and packed by CPack.
package: deps
	@export DEB_BUILD_MAINT_OPTIONS=hardening=+all; \
	CFLAGS="$$(dpkg-buildflags --get CFLAGS) $$(dpkg-buildflags --get CPPFLAGS)" \
	LDFLAGS="$$(dpkg-buildflags --get LDFLAGS)" \
	cmake -S . -B $(DEB) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_INSTALL_PREFIX=/usr -DHERALD_PACKAGE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(DEB) -j $(JOBS)
	@rm -f $(DEB)/*.deb
	cd $(DEB) && cpack -G DEB

# The packages' contents, metadata, lintian, systemd-analyze verify, and the
# unpacked binary loading its packaged plugins.
test-package: package
	tests/package/test_package.sh $(DEB) .

demo: deps build
	./$(BUILD)/herald demo -c config/demo.yaml

# Benchmarks (bench/*.mk): make bench-consume, make bench-notify.
-include $(wildcard bench/*.mk)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# Fails (listing the files) if any tracked C file differs from .clang-format.
format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

# libFuzzer targets (tests/fuzz/fuzz_*.c) with ASan+UBSan, built with clang
# in their own tree, each run FUZZ_TIME seconds from a fresh copy of its
# corpus (tests/fuzz/run.sh: table of execs and crashes; crash inputs kept
# under $(FUZZ)/fuzz-work/<target>/crashes/; fails on any crash).
fuzz-build:
	@CC=clang cmake -S . -B $(FUZZ) -G Ninja -DHERALD_FUZZ=ON \
		-DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ) -j $(JOBS) --target fuzz_all

fuzz: fuzz-build
	FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run.sh $(FUZZ) $(FUZZ_TARGETS)

fuzz-short: fuzz-build
	FUZZ_TIME=$(FUZZ_SHORT_TIME) tests/fuzz/run.sh $(FUZZ) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ) $(DEB)
