# Issue 10, item 3: a channel that refuses herald's credential (SMTP 535 from
# the STARTTLS+AUTH Mailpit, SendGrid 401 from WireMock) pauses the
# connector, commits and rejects nothing, and delivers everything once the
# credential is fixed. The smtp case restarts mailpit_tls (and restores it,
# even on failure); ctest runs the suite one test at a time. Included by
# python.cmake.
herald_py_test(channel_unavailable_smtp     channel_unavailable.py ARGS smtp     TIMEOUT 240)
herald_py_test(channel_unavailable_sendgrid channel_unavailable.py ARGS sendgrid TIMEOUT 180)
