# Included by the top-level Makefile.
# make bench-consume: herald (null sink) vs kcat on 1M records (bench/consume.sh,
# which uses the running test stack or starts Kafka and the registry for it).
bench-consume: deps build
	bench/consume.sh $(BUILD)
