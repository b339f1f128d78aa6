# make bench-notify: the notify channels' throughput (bench/notify.sh),
# against the integration test stack (started with scripts/stack/up.sh).
bench-notify: build
	BUILD=$(BUILD) bench/notify.sh
