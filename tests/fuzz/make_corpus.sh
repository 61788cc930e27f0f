#!/usr/bin/env bash
# Writes the seed corpora under tests/fuzz/corpus/<target>/: a few
# hand-written inputs per target, in the byte layout each target reads
# (FuzzedDataProvider takes integers and booleans from the end of the input,
# strings from the front). The files are committed; run this again after
# changing a layout. Request seeds are text protos encoded with protoc.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf corpus
mkdir -p corpus

seed() {  # seed TARGET NAME PRINTF_FORMAT [ARGS...]
  local target=$1 name=$2
  shift 2
  mkdir -p "corpus/$target"
  # shellcheck disable=SC2059
  printf -- "$@" >"corpus/$target/$name"
}

uuid=123e4567-e89b-12d3-a456-426614174000

# validation_fuzz: the text itself (the first 8 bytes are also a token).
seed validation_fuzz uuid '%s' "$uuid"
seed validation_fuzz uuid_upper '%s' "${uuid^^}"
seed validation_fuzz uuid_braced '{%s}' "$uuid"
seed validation_fuzz worker_id 'finalizer-7@host-a'
seed validation_fuzz worker_id_korean '작업자-1'
seed validation_fuzz reason 'exchange timeout\nretry later'
seed validation_fuzz blank ' \t '
seed validation_fuzz long_utf8 '%s작업자' "$(printf 'x%.0s' {1..38})"
seed validation_fuzz nul 'a\0b'

# decimal_fuzz: [text][mode 0 = text][scale][precision - 1], or for mode 1
# (a value written out) 17 bytes of value and sign, then the same three.
seed decimal_fuzz krw '1234.5678\x00\x04\x13'
seed decimal_fuzz krw_max '9999999999999999.9999\x00\x04\x13'
seed decimal_fuzz krw_over '10000000000000000\x00\x04\x13'
seed decimal_fuzz percent_negative '-999999.9999\x00\x04\x09'
seed decimal_fuzz plus_leading_zeros '+0001.5\x00\x04\x13'
seed decimal_fuzz rounded '1.23456\x00\x04\x13'
seed decimal_fuzz exponent '1e5\x00\x04\x13'
seed decimal_fuzz value '\x01\x00\x00\x00\x00\x00\x00\x30\x39\x00\x00\x00\x00\x00\x00\x00\x07\x01\x04\x13'

# duration_fuzz: all integers, from the end: policy, present, seconds, nanos,
# retry count.
seed duration_fuzz zeros '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
seed duration_fuzz five_minutes '\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x01\x2c\x01\x01\x00\x00\x00\x0a\x00\x00\x00\x05\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x27\x10\x00\x00\x0e\x10\x00\x00'
seed duration_fuzz negative_nanos '\x00\x00\x00\x07\xff\xff\xff\x9c\x00\x00\x00\x00\x00\x00\x00\x02\x00\x01\x00\x00\x00\x0a\x00\x00\x00\x05\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x27\x10\x00\x00\x0e\x10'
seed duration_fuzz huge '\x7f\xff\xff\xff\x3b\x9a\xc9\xff\x7f\xff\xff\xff\xff\xff\xff\xff\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff'

# page_token_fuzz: a token (the end also makes a position).
token() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
seed page_token_fuzz token '%s' "$(token "1733330000000000/$uuid")"
seed page_token_fuzz token_padded '%s' "$(printf '%s' "1733330000000000/$uuid" | base64 -w0 | tr '+/' '-_')"
seed page_token_fuzz token_negative_time '%s' "$(token "-62135596800000000/$uuid")"
seed page_token_fuzz token_upper_uuid '%s' "$(token "0/${uuid^^}")"
seed page_token_fuzz token_three_parts '%s' "$(token "1/2/$uuid")"
seed page_token_fuzz not_base64 'not a token!'

# token_file_fuzz: [authorization metadata]\\<byte>[file text].
seed token_file_fuzz worker_and_admin 'Bearer worker-token-0123456789\\\n# tokens\nworker worker-token-0123456789\n\nadmin  admin-token-0123456789ab\n'
seed token_file_fuzz admin_call 'Bearer admin-token-0123456789ab\\\nadmin\tadmin-token-0123456789ab\r\n'
seed token_file_fuzz short_token 'Bearer short\\\nworker short\n'
seed token_file_fuzz unknown_role 'x\\\nreader reader-token-0123456789\n'
seed token_file_fuzz both_roles 'Bearer same-token-0123456789ab\\\nadmin same-token-0123456789ab\nworker same-token-0123456789ab\n'

# environment_fuzz: NAME=value lines; "$<byte>" names table entry <byte>.
seed environment_fuzz typical 'POOL_SIZE=8\nDEFAULT_LEASE=5m\nMAX_LEASE=1h\nCOALESCE=true\nDATABASE_URL=postgresql://kimp:secret@db:5432/kimp\n'
seed environment_fuzz durations 'MAX_WAIT_TIMEOUT=1m30s\nSHUTDOWN_GRACE=10s\nSTATEMENT_TIMEOUT=0\nRETRY_BASE_DELAY=1.5h\nSTATS_INTERVAL=inf\n'
seed environment_fuzz numbers 'MAX_MESSAGE_BYTES=0x400000\nMAX_LONG_POLLS=-1\nDEMO_CYCLES=99999999999\nPREPARED_STATEMENTS=no\n'
seed environment_fuzz by_index '$\x03=250ms\n$\x08=yes\n$\x16=!refused\n--database_url=host=db dbname=kimp\n'
seed environment_fuzz bad_urls 'DATABASE_URL=postgresql://kimp:secret@[::1/kimp\nDIRECT_DATABASE_URL=host=db password=secret port\n'

# database_url_fuzz: [text][mode], mode 0 = URL, 1 = password\\<byte>URL
# rest, 2 = secret\\<byte>message.
seed database_url_fuzz url 'postgresql://kimp:secret@db:5432/kimp?sslmode=require&application_name=claimer\x00'
seed database_url_fuzz keywords "host=db port=5432 dbname=kimp user=kimp password='se cret' connect_timeout=5\\x00"
seed database_url_fuzz ipv6_open 'postgresql://kimp:secret@[::1/kimp\x00'
seed database_url_fuzz percent 'postgresql://kimp:se%%zzcret@db/kimp\x00'
seed database_url_fuzz query 'postgresql://kimp@db/kimp?sslmode\x00'
seed database_url_fuzz unterminated "host=db password='secret\\x00"
seed database_url_fuzz multi_host 'postgresql://db1:5432,db2:5433/kimp?target_session_attrs=read-write\x00'
seed database_url_fuzz password_rest 'hunter2-s3cret\\\n[::1/kimp\x01'
seed database_url_fuzz redact 'password=hunter2\\\nmissing "=" after "hunter2" in connection info string\x02'

# requests_fuzz: [kind][binary request], kind = request type (see the target).
encode() {  # encode KIND NAME MESSAGE TEXT
  mkdir -p corpus/requests_fuzz
  {
    printf "\\x$(printf %02x "$1")"
    printf '%s' "$4" | protoc --proto_path=../../proto --proto_path=/usr/include \
      --encode="kimp.cycles.v1.$3" kimp/cycles/v1/cycles.proto
  } >"corpus/requests_fuzz/$2"
}
encode 0 claim ClaimNextCycleRequest \
  'worker_id: "alice" lease_duration { seconds: 120 } wait_timeout { seconds: 5 } request_id: "r-1"'
encode 0 claim_wait_too_long ClaimNextCycleRequest \
  'worker_id: "alice" wait_timeout { seconds: 61 }'
encode 0 claim_bad_duration ClaimNextCycleRequest \
  'worker_id: "alice" lease_duration { seconds: 1 nanos: -5 }'
encode 1 claim_batch ClaimCyclesRequest \
  'worker_id: "작업자-1" lease_duration { seconds: 300 } max_cycles: 10'
encode 2 renew RenewLeaseRequest \
  "cycle_id: \"$uuid\" lease_token: 3 lease_duration { seconds: 600 }"
encode 3 complete CompleteCycleRequest \
  "cycle_id: \"${uuid^^}\" lease_token: 1 rebalance_trade_id: \"$uuid\" total_net_profit_krw: \"15000.25\" total_net_profit_percent: \"1.5\""
encode 4 fail FailCycleRequest \
  "cycle_id: \"$uuid\" lease_token: 2 reason: \"exchange timeout\" permanent: true"
encode 5 release ReleaseCycleRequest "cycle_id: \"$uuid\" lease_token: 1"
encode 6 complete_batch CompleteCyclesRequest \
  "completions { cycle_id: \"$uuid\" lease_token: 1 } completions { cycle_id: \"${uuid^^}\" lease_token: 2 } completions { cycle_id: \"bad\" lease_token: 0 }"
encode 7 create CreateCycleRequest \
  "initial_trade_id: \"$uuid\" initial_investment_krw: \"1000000\" status: CYCLE_STATUS_STARTED"
encode 8 list ListCyclesRequest \
  "statuses: CYCLE_STATUS_DEAD_LETTER statuses: CYCLE_STATUS_FAILED page_size: 20 page_token: \"$(token "1733330000000000/$uuid")\""
encode 9 get GetCycleRequest "id: \"$uuid\""
encode 10 requeue RequeueCycleRequest "id: \"$uuid\""
