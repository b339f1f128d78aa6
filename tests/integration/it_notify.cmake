# Issue 5: notify channels (SMTP, SendGrid), templates, shipped examples and
# the demo, against the real-service stack. Included by python.cmake.
herald_py_test(smtp_starttls smtp_starttls.py TIMEOUT 300)
herald_py_test(sendgrid_delivery sendgrid_delivery.py TIMEOUT 180)
herald_py_test(channel_swap channel_swap.py TIMEOUT 180)
herald_py_test(header_injection header_injection.py TIMEOUT 120)
herald_py_test(shipped_examples shipped_examples.py TIMEOUT 300)
herald_py_test(demo demo.py TIMEOUT 120)
herald_py_test(smtp_faults smtp_faults.py TIMEOUT 120)
