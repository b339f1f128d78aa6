# Issue 6: delivery guarantees (dedup of refinements across restarts and
# rebalances, kill -9, dead letters, graceful stop, idempotency keys on the
# wire, SendGrid faults and a blackout) against the real-service stack.
# Included by python.cmake.
herald_py_test(refinements refinements.py TIMEOUT 240)
herald_py_test(crash_recovery crash_recovery.py TIMEOUT 600)
herald_py_test(scale_out scale_out.py TIMEOUT 240)
herald_py_test(dead_letters dead_letters.py TIMEOUT 120)
herald_py_test(graceful_stop graceful_stop.py TIMEOUT 150)
herald_py_test(idempotency idempotency.py TIMEOUT 120)
herald_py_test(sendgrid_faults sendgrid_faults.py TIMEOUT 120)
# Fault tests stop and start services of the shared stack (always started
# again, even on failure); ctest runs the suite one test at a time.
herald_py_test(service_fault_mailpit service_faults.py ARGS mailpit TIMEOUT 240)
herald_py_test(service_fault_registry service_faults.py ARGS registry TIMEOUT 240)
herald_py_test(service_fault_broker service_faults.py ARGS broker TIMEOUT 240)
# Issue 11: SIGINT within 1 s while connectors start (unreachable broker,
# marks topic being created), committing nothing.
herald_py_test(stop_while_starting stop_while_starting.py TIMEOUT 180)
