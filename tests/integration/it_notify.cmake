# Issue 5: notify channels (SMTP, SendGrid), templates, shipped examples and
# the demo, against the real-service stack. Included by python.cmake.
herald_py_test(it5_smtp_starttls it5_smtp_starttls.py TIMEOUT 300)
herald_py_test(it5_sendgrid      it5_sendgrid.py      TIMEOUT 180)
herald_py_test(it5_channel_swap  it5_channel_swap.py  TIMEOUT 180)
herald_py_test(it5_injection     it5_injection.py     TIMEOUT 120)
herald_py_test(it5_examples      it5_examples.py      TIMEOUT 300)
herald_py_test(it5_demo          it5_demo.py          TIMEOUT 120)
herald_py_test(it5_smtp_faults   it5_smtp_faults.py   TIMEOUT 120)
