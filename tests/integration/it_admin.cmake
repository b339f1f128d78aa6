# The admin HTTP endpoint (healthz, readyz, metrics, connectors) against the
# real broker. Included by python.cmake.
herald_py_test(it7_admin it7_admin.py TIMEOUT 120)
