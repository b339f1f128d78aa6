#!/usr/bin/env bash
# Mailpit is real: a message sent by curl over STARTTLS with AUTH (checked
# against $MAILPIT_CA) arrives, raw text included; AUTH before STARTTLS and a
# wrong password are refused; the plain listener takes mail without TLS.
. "$(dirname "$0")/lib.sh"
subject="smoke $RUN_ID"
cat >"$WORK/msg.eml" <<EOM
From: Herald <herald@example.com>
To: Ops <ops@example.com>
Subject: $subject
Message-ID: <$RUN_ID@herald.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Card 358579699410099: 3 attempts, 232.41 in total.
EOM
sed -i 's/$/\r/' "$WORK/msg.eml"

# 1. STARTTLS + AUTH, certificate verified against our CA.
curl -sS --fail --ssl-reqd --cacert "$MAILPIT_CA" "smtp://$MAILPIT_SMTP_TLS" \
  --user "$MAILPIT_USER:$MAILPIT_PASS" --login-options AUTH=PLAIN \
  --mail-from herald@example.com --mail-rcpt ops@example.com --upload-file "$WORK/msg.eml"
echo "ok - curl STARTTLS+AUTH send"
search() { curl -fsS -G "$1/api/v1/search" --data-urlencode "query=subject:\"$2\""; }
for _ in $(seq 50); do
  n=$(search "$MAILPIT_TLS_API" "$subject" | jq -r .messages_count)
  [ "$n" -ge 1 ] && break; sleep 0.1
done
search "$MAILPIT_TLS_API" "$subject" >"$WORK/found.json"
assert_eq "messages with our subject" 1 "$(jq -r .messages_count "$WORK/found.json")"
assert_eq "from" herald@example.com "$(jq -r '.messages[0].From.Address' "$WORK/found.json")"
assert_eq "to" ops@example.com "$(jq -r '.messages[0].To[0].Address' "$WORK/found.json")"
assert_eq "subject" "$subject" "$(jq -r '.messages[0].Subject' "$WORK/found.json")"
assert_eq "auth username recorded" "$MAILPIT_USER" "$(jq -r '.messages[0].Username // empty' "$WORK/found.json")"
id=$(jq -r '.messages[0].ID' "$WORK/found.json")
curl -fsS "$MAILPIT_TLS_API/api/v1/message/$id/raw" >"$WORK/raw.eml"
assert_eq "raw message has our body" 1 \
  "$(grep -c "^Card 358579699410099: 3 attempts, 232.41 in total." "$WORK/raw.eml")"
assert_eq "raw message-id" "<$RUN_ID@herald.test>" \
  "$(sed -n 's/^Message-ID: \(.*\)\r$/\1/p' "$WORK/raw.eml")"

# 2. The server's view of the protocol: STARTTLS offered, AUTH refused
#    before it, wrong password refused after it.
"$STACK_PY" - "$MAILPIT_SMTP_TLS_PORT" "$MAILPIT_CA" "$MAILPIT_USER" "$MAILPIT_PASS" <<'PY'
import base64, smtplib, ssl, sys
port, ca, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = smtplib.SMTP("127.0.0.1", port, timeout=10)
s.ehlo("herald.test")
assert s.has_extn("starttls"), s.esmtp_features
plain = base64.b64encode(f"\0{user}\0{pw}".encode()).decode()
code, msg = s.docmd("AUTH", "PLAIN " + plain)
assert 500 <= code < 600, (code, msg)
print(f"ok - AUTH before STARTTLS refused: {code} {msg.decode()}")
code, msg = s.docmd("MAIL", "FROM:<herald@example.com>")
assert 500 <= code < 600, (code, msg)
print(f"ok - MAIL before STARTTLS refused: {code} {msg.decode()}")
s.starttls(context=ssl.create_default_context(cafile=ca))
s.ehlo("herald.test")
assert s.has_extn("auth"), s.esmtp_features
try:
    s.login(user, pw + "-wrong")
    raise SystemExit("wrong password accepted")
except smtplib.SMTPAuthenticationError as e:
    print(f"ok - wrong password refused: {e.smtp_code}")
    assert e.smtp_code == 535, e.smtp_code
s.quit()
# Certificate is for 127.0.0.1 and checked: a default context (system CAs
# only) must fail the handshake.
s = smtplib.SMTP("127.0.0.1", port, timeout=10)
try:
    s.starttls(context=ssl.create_default_context())
    raise SystemExit("untrusted certificate accepted")
except ssl.SSLCertVerificationError as e:
    print(f"ok - certificate not trusted without MAILPIT_CA ({e.verify_message})")
PY
CHECKS=$((CHECKS + 4))

# 3. Plain listener: no TLS, no AUTH needed.
curl -sS --fail "smtp://$MAILPIT_SMTP" --mail-from herald@example.com \
  --mail-rcpt plain@example.com --upload-file "$WORK/msg.eml"
for _ in $(seq 50); do
  n=$(search "$MAILPIT_API" "$subject" | jq -r .messages_count)
  [ "$n" -ge 1 ] && break; sleep 0.1
done
search "$MAILPIT_API" "$subject" >"$WORK/plain.json"
assert_eq "plain listener: messages with our subject" 1 "$(jq -r .messages_count "$WORK/plain.json")"
assert_eq "plain listener: no auth user" "" "$(jq -r '.messages[0].Username // empty' "$WORK/plain.json")"
# Two separate instances: the STARTTLS one still holds only its own copy.
assert_eq "STARTTLS instance unchanged" 1 "$(search "$MAILPIT_TLS_API" "$subject" | jq -r .messages_count)"
done_ok
