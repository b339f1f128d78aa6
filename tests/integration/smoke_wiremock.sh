#!/usr/bin/env bash
# WireMock is the SendGrid double: /v3/mail/send answers 202 with an
# X-Message-Id, the request journal holds exactly what was sent, and the
# fault stubs (chosen by API key) answer 429 with rate-limit headers, 500,
# 429-then-202, and reset the connection.
. "$(dirname "$0")/lib.sh"
body=$(jq -cn --arg id "$RUN_ID" '{personalizations:[{to:[{email:"ops@example.com"}],
  custom_args:{run:$id}}], from:{email:"herald@example.com"}, subject:"smoke",
  content:[{type:"text/plain",value:"x"}]}')
send() { # KEY -> writes $WORK/h (headers), $WORK/b (body); prints status
  curl -sS -o "$WORK/b" -D "$WORK/h" -w '%{http_code}' -XPOST "$WIREMOCK_URL/v3/mail/send" \
    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' --data-raw "$body"
}
hdr() { sed -n "s/^$1: \(.*\)\r$/\1/Ip" "$WORK/h" | head -1; }

assert_eq "accepted" 202 "$(send "SG.smoke-$RUN_ID")"
assert_match "X-Message-Id" '^[A-Za-z0-9]{22}$' "$(hdr X-Message-Id)"
# The journal: find our request by its unique custom_args.
curl -fsS -XPOST "$WIREMOCK_URL/__admin/requests/find" \
  -d "{\"method\":\"POST\",\"url\":\"/v3/mail/send\",\"bodyPatterns\":[{\"matchesJsonPath\":\"\$.personalizations[0].custom_args[?(@.run == '$RUN_ID')]\"}]}" \
  >"$WORK/found.json"
assert_eq "journal entries for this run" 1 "$(jq '.requests | length' "$WORK/found.json")"
assert_eq "journal body" "$body" "$(jq -r '.requests[0].body' "$WORK/found.json")"
assert_eq "journal auth header" "Bearer SG.smoke-$RUN_ID" \
  "$(jq -r '.requests[0].headers.Authorization' "$WORK/found.json")"

sandbox=$(jq -c '.mail_settings = {sandbox_mode: {enable: true}}' <<<"$body")
assert_eq "sandbox mode" 200 "$(curl -sS -o /dev/null -w '%{http_code}' -XPOST "$WIREMOCK_URL/v3/mail/send" \
  -H "Authorization: Bearer SG.smoke" --data-raw "$sandbox")"

assert_eq "429 status" 429 "$(send SG.test-429)"
assert_eq "429 Retry-After" 2 "$(hdr Retry-After)"
assert_eq "429 X-RateLimit-Remaining" 0 "$(hdr X-RateLimit-Remaining)"
reset=$(hdr X-RateLimit-Reset); now=$(date +%s)
assert_match "429 X-RateLimit-Reset epoch" '^[0-9]{10}$' "$reset"
[ "$reset" -ge "$now" ] && [ "$reset" -le $((now + 3)) ] || fail "X-RateLimit-Reset $reset not within 3 s of $now"
assert_eq "429 error body" "too many requests" "$(jq -r '.errors[0].message' "$WORK/b")"

assert_eq "500 status" 500 "$(send SG.test-500)"
assert_eq "400 status" 400 "$(send SG.test-400)"
assert_eq "400 error field" from.email "$(jq -r '.errors[0].field' "$WORK/b")"
assert_eq "no token" 401 "$(curl -sS -o /dev/null -w '%{http_code}' -XPOST "$WIREMOCK_URL/v3/mail/send" --data-raw "$body")"

# Stateful scenario: 429 once, then 202. Reset it first (tests may reuse it).
curl -fsS -XPOST "$WIREMOCK_URL/__admin/scenarios/reset" >/dev/null
assert_eq "429-once first" 429 "$(send SG.test-429-once)"
assert_eq "429-once second" 202 "$(send SG.test-429-once)"

# Latency: at least 3 s.
t=$(curl -sS -o /dev/null -w '%{time_total}' -XPOST "$WIREMOCK_URL/v3/mail/send" \
  -H 'Authorization: Bearer SG.test-slow' --data-raw "$body")
assert_eq "slow stub took >= 3 s" 1 "$(awk -v t="$t" 'BEGIN{print (t >= 3.0) ? 1 : 0}')"

# Connection reset: curl fails with "recv failure" (56) and no status.
set +e
curl -sS -o /dev/null -XPOST "$WIREMOCK_URL/v3/mail/send" -H 'Authorization: Bearer SG.test-reset' \
  --data-raw "$body" 2>"$WORK/err"; rc=$?
set -e
assert_eq "reset: curl exit code (recv failure)" 56 "$rc"

# Runtime stubs work too (non-persistent, removed afterwards).
stub=$(curl -fsS -XPOST "$WIREMOCK_URL/__admin/mappings" -d "{\"priority\":1,
  \"request\":{\"method\":\"POST\",\"urlPath\":\"/v3/mail/send\",\"headers\":{\"Authorization\":{\"equalTo\":\"Bearer SG.rt-$RUN_ID\"}}},
  \"response\":{\"status\":503}}" | jq -r .id)
assert_eq "runtime stub" 503 "$(send "SG.rt-$RUN_ID")"
curl -fsS -XDELETE "$WIREMOCK_URL/__admin/mappings/$stub" >/dev/null
done_ok
