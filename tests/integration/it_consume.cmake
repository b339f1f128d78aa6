# Issue 4: the consume path against the real stack (decode, at-least-once,
# rebalance, poison records, registry outage). Included by python.cmake.
herald_py_test(it4_decode_anomalies it4_decode_anomalies.py TIMEOUT 120)
herald_py_test(it4_golden_alltypes it4_golden_alltypes.py TIMEOUT 120)
herald_py_test(it4_stop_after it4_stop_after.py TIMEOUT 120)
herald_py_test(it4_at_least_once it4_at_least_once.py TIMEOUT 150)
herald_py_test(it4_poison it4_poison.py TIMEOUT 150)
herald_py_test(it4_rebalance it4_rebalance.py TIMEOUT 200)
herald_py_test(it4_registry_outage it4_registry_outage.py TIMEOUT 150)
herald_py_test(it4_decode_budget it4_decode_budget.py TIMEOUT 150)
