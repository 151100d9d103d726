#!/bin/sh
# tests/fuzz/run.sh OUTDIR SECONDS — build the libFuzzer targets with clang
# (ASan + UBSan) and run each for SECONDS. Any crash, sanitizer report or
# broken property fails (libFuzzer exits non-zero and leaves a crash-* file
# in OUTDIR). Run by ctest as the "fuzz" test.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$SRC/build-fuzz}
SECS=${2:-20}
mkdir -p "$OUT"
CC="clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
CC="$CC -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED -I$SRC/core -I$SRC/core/crypto -I$SRC/core/proto -I$SRC/core/domain -I$SRC/qr"
# mc_session.c (sid rules) needs mc_crypto.c (CSPRNG, base32), hence -lcrypto;
# mc_cms.c needs mc_crypto.c (signature verify), mc_x509.c (its strict DER
# checks and the chain check of verify) and libcrypto; mc_proto.c
# checks renewal ids with mc_renew.c (whose dated ids are mc_pay.c's).
BASE="$SRC/core/domain/mc_session.c $SRC/core/domain/mc_ua.c $SRC/core/mc_buf.c $SRC/core/mc_err.c $SRC/core/crypto/mc_crypto.c"
$CC "$SRC/tests/fuzz/fuzz_proto.c" "$SRC/core/proto/mc_proto.c" \
  "$SRC/core/proto/mc_enroll_proto.c" "$SRC/core/proto/mc_results.c" \
  "$SRC/core/domain/mc_renew.c" "$SRC/core/domain/mc_pay.c" $BASE -lmsgpackc -lcrypto \
  -o "$OUT/fuzz_proto"
$CC "$SRC/tests/fuzz/fuzz_qr.c" "$SRC/qr/mc_qr_payload.c" $BASE -lcrypto -o "$OUT/fuzz_qr"
$CC "$SRC/tests/fuzz/fuzz_cms.c" "$SRC/core/crypto/mc_cms.c" "$SRC/core/crypto/mc_crypto.c" \
  "$SRC/core/crypto/mc_x509.c" \
  "$SRC/core/mc_buf.c" "$SRC/core/mc_err.c" -lcrypto -o "$OUT/fuzz_cms"
cd "$OUT"
# fuzz_cms starts from a SignedData of our profile: `openssl cms -sign` without
# S/MIME capabilities makes exactly that (P-256; it cannot make SM2 ones).
mkdir -p corpus_fuzz_cms
if [ ! -s corpus_fuzz_cms/seed.der ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=seed \
    -days 1 -keyout seed.key -out seed.crt 2>/dev/null
  echo seed >seed.doc
  openssl cms -sign -binary -nosmimecap -md sha256 -signer seed.crt -inkey seed.key \
    -in seed.doc -outform DER -out corpus_fuzz_cms/seed.der
fi
fails=0
for t in fuzz_proto fuzz_qr fuzz_cms; do
  mkdir -p "corpus_$t"
  echo "== $t, $SECS s"
  if "./$t" -max_total_time="$SECS" -max_len=20000 -print_final_stats=1 "corpus_$t" >"$t.log" 2>&1; then
    grep -E "^Done|stat::(number_of_executed_units|new_units_added)" "$t.log"
  else
    tail -40 "$t.log"; fails=$((fails + 1))
  fi
done
[ "$fails" -eq 0 ]
