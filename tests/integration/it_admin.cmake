# The admin HTTP endpoint (healthz, readyz, metrics, connectors) against the
# real broker. Included by python.cmake.
herald_py_test(admin_endpoint admin_endpoint.py TIMEOUT 120)
