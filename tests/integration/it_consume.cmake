# Issue 4: the consume path against the real stack (decode, at-least-once,
# rebalance, poison records, registry outage). Included by python.cmake.
herald_py_test(decode_anomalies decode_anomalies.py TIMEOUT 120)
herald_py_test(golden_alltypes golden_alltypes.py TIMEOUT 120)
herald_py_test(stop_after stop_after.py TIMEOUT 120)
herald_py_test(at_least_once at_least_once.py TIMEOUT 150)
herald_py_test(poison_records poison_records.py TIMEOUT 150)
herald_py_test(rebalance rebalance.py TIMEOUT 200)
herald_py_test(registry_outage registry_outage.py TIMEOUT 150)
herald_py_test(decode_budget decode_budget.py TIMEOUT 150)
