# Thin wrapper over CMake: deps, build, test, demo, benchmarks.
BUILD   ?= build
ASAN    ?= build-asan
JOBS    ?= $(shell nproc)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DHERALD_WERROR=ON
endif

.PHONY: all deps build test test-unit test-asan test-valgrind demo clean bench-consume bench-notify format

all: build

deps:
	@scripts/deps.sh

build:
	@cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The whole suite: unit and integration tests (the latter start the test
# stack themselves), then the unit suite again under ASan+UBSan.
test: deps build
	cd $(BUILD) && ctest --output-on-failure -j 1
	$(MAKE) test-asan

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

demo: deps build
	./$(BUILD)/herald demo -c config/demo.yaml

# Benchmarks (bench/*.mk): make bench-consume, make bench-notify.
-include $(wildcard bench/*.mk)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN)
