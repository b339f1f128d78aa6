# Included by the top-level Makefile.
# make bench-consume: herald (null_walk sink) vs kcat and Kafka Connect on
# 1M records, Avro and JSON (bench/consume.sh, which uses the running test
# stack or starts Kafka and the registry for it, and fetches Connect).
bench-consume: deps build
	bench/consume.sh $(BUILD)
