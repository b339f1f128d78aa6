# Issue 6: delivery guarantees (dedup of refinements across restarts and
# rebalances, kill -9, dead letters, graceful stop, idempotency keys on the
# wire, SendGrid faults and a blackout) against the real-service stack.
# Included by python.cmake.
herald_py_test(it6_refinements it6_refinements.py TIMEOUT 240)
herald_py_test(it6_crash       it6_crash.py       TIMEOUT 600)
herald_py_test(it6_scale       it6_scale.py       TIMEOUT 240)
herald_py_test(it6_dead_letters it6_dead_letters.py TIMEOUT 120)
herald_py_test(it6_graceful_stop it6_graceful_stop.py TIMEOUT 150)
herald_py_test(it6_idempotency it6_idempotency.py TIMEOUT 120)
herald_py_test(it6_sendgrid_faults it6_sendgrid_faults.py TIMEOUT 120)
# Fault tests stop and start services of the shared stack (always started
# again, even on failure); ctest runs the suite one test at a time.
herald_py_test(it6_fault_mailpit  it6_faults.py ARGS mailpit  TIMEOUT 240)
herald_py_test(it6_fault_registry it6_faults.py ARGS registry TIMEOUT 240)
herald_py_test(it6_fault_broker   it6_faults.py ARGS broker   TIMEOUT 240)
# Issue 11: SIGINT within 1 s while connectors start (unreachable broker,
# marks topic being created), committing nothing.
herald_py_test(stop_while_starting stop_while_starting.py TIMEOUT 180)
