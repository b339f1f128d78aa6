#!/usr/bin/env bash
# Prism validates requests against the official SendGrid description: a
# valid mail/send body is accepted (202), one that breaks the description is
# rejected with the violations named, and a missing bearer token is a 401.
. "$(dirname "$0")/lib.sh"
post() { # BODY [AUTH] -> status; headers in $WORK/h
  local auth=(-H "Authorization: Bearer SG.prism")
  [ "${2:-auth}" = noauth ] && auth=()
  curl -sS -o "$WORK/b" -D "$WORK/h" -w '%{http_code}' -XPOST "$PRISM_URL/v3/mail/send" \
    "${auth[@]}" -H 'Content-Type: application/json' --data-raw "$1"
}
valid='{"personalizations":[{"to":[{"email":"ops@example.com","name":"Ops"}],
   "custom_args":{"dedup":"358579699410099:1587525570000"}}],
 "from":{"email":"herald@example.com","name":"Herald"},"subject":"Possible anomaly",
 "content":[{"type":"text/plain","value":"Card 358579699410099: 3 attempts"}],
 "categories":["anomaly"],
 "headers":{"X-Herald":"1"},"mail_settings":{"sandbox_mode":{"enable":false}}}'
assert_eq "valid body" 202 "$(post "$valid")"

# No personalizations, bad from address.
assert_eq "invalid body" 400 "$(post '{"from":{"email":"not-an-address"},"subject":"x","content":[{"type":"text/plain","value":"x"}]}')"
v=$(sed -n 's/^sl-violations: \(.*\)\r$/\1/Ip' "$WORK/h")
assert_eq "violation: personalizations required" 1 \
  "$(jq '[.[] | select(.code == "required" and (.message | test("personalizations")))] | length' <<<"$v")"
assert_eq "violation: from.email format" 1 \
  "$(jq '[.[] | select(.code == "format" and (.location | join(".")) == "request.body.from.email")] | length' <<<"$v")"

# Content value must be a string; an empty personalizations list is invalid.
assert_eq "wrong type" 400 "$(post '{"personalizations":[{"to":[{"email":"a@example.com"}]}],"from":{"email":"h@example.com"},"subject":"x","content":[{"type":"text/plain","value":5}]}')"
# A quirk of the description worth pinning: top-level custom_args is a
# *string*; the object form belongs in personalizations[].custom_args.
assert_eq "top-level custom_args object" 400 "$(post "$(jq -c '.custom_args = {"a":"b"}' <<<"$valid")")"
assert_eq "violation: custom_args type" "Request body property custom_args must be string" \
  "$(sed -n 's/^sl-violations: \(.*\)\r$/\1/Ip' "$WORK/h" | jq -r '.[0].message')"
assert_eq "missing auth" 401 "$(post "$valid" noauth)"
done_ok
