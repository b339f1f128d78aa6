# Included by the top-level Makefile.
# make bench-consume: herald (null sink) vs kcat on 1M records (bench/consume.sh).
bench-consume: build
	bench/consume.sh $(BUILD)
