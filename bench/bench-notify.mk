# make bench-notify: the notify channels' throughput (bench/notify.sh),
# against the integration test stack (the running one, or one started for
# the benchmark and stopped after it).
bench-notify: deps build
	BUILD=$(BUILD) bench/with-stack.sh bench/notify.sh
