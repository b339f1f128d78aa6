# Issue 12: the example channels (examples/plugins/webhook, pagerduty),
# built out of tree against herald installed into a temporary prefix and
# run by the installed herald against WireMock. Included by python.cmake.
herald_py_test(out_of_tree_channels out_of_tree_channels.py TIMEOUT 300)
