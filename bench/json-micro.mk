# Included by the top-level Makefile.
# make bench-json-micro: the json format's decode, jansson against yyjson
# into an arena (bench/json_micro.c), timed in one run and its allocations
# counted in another (bench/malloc_count.c preloaded).
JSON_MICRO_N ?= 1000000
.PHONY: bench-json-micro

bench-json-micro: build
	@cmake --build $(BUILD) --target json_micro
	@cc -O2 -shared -fPIC -o $(BUILD)/malloc_count.so bench/malloc_count.c
	$(BUILD)/bench/json_micro $(JSON_MICRO_N)
	HERALD_MALLOC_COUNT=$(BUILD)/json_micro.counts \
		LD_PRELOAD=$(abspath $(BUILD))/malloc_count.so \
		$(BUILD)/bench/json_micro $(JSON_MICRO_N)
