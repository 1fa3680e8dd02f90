# shellcheck shell=bash
# Generates the benchmark library for bench/compare.sh. Source it after
# deploy/lib.sh and tests/e2e/media.sh, then call:
#   cmp_gen_library DIR SIZE_MB
# DIR/src-a (device A) and DIR/src-b (device B; about a third of A's files are
# copied into DIR/src-b/from-laptop). Total size about SIZE_MB * 10^6 bytes:
#   device A: 6/11 of the total, by bytes ~30% real JPEGs (1-8 MB, EXIF dates),
#             ~35% random-content RAW (.dng/.cr2, 8-25 MB), ~35% videos
#             (random-content .mov/.mp4 of 100-500 MB scaled by SIZE_MB/2000,
#             at least 2 MB, plus one real short H.264 MP4);
#   device B: the copied third of A, then its own files of the same mix
#             until the total is reached.
# Deterministic for a given SIZE_MB (bash RANDOM seeded); writes
# DIR/.complete when done, so a finished library is reused.

_cmp_rand() {  # _cmp_rand LO HI: sets R to an integer in [LO, HI] (no subshell, so RANDOM advances)
  R=$(( $1 + ( (RANDOM << 15 | RANDOM) % ($2 - $1 + 1) ) ))
}

# A real JPEG of realistic size: a small plasma scaled up with a little noise
# (detail like a camera's), EXIF date and camera set with exiftool as
# sb_gen_jpeg does. 2-6 s each on this machine.
_cmp_jpeg() {  # _cmp_jpeg FILE SEED DATE
  local f=$1 seed=$2 date=$3 dims atten
  # Noise amount per size, so that files land between about 1 and 8 MB.
  case $((seed % 3)) in
    0) dims=2400x1600; _cmp_rand 8 22 ;;
    1) dims=3000x2000; _cmp_rand 5 16 ;;
    *) dims=4000x3000; _cmp_rand 3 9 ;;
  esac
  atten=0.$(printf '%02d' "$R")
  "$IM_CONVERT" -seed "$seed" -size 480x320 plasma:fractal -resize "$dims!" \
    -attenuate "$atten" +noise Random -quality 92 "$f"
  exiftool -q -overwrite_original "-DateTimeOriginal=$date" "-Make=Shoebox" "-Model=Bench $seed" "$f"
}

_cmp_size() { stat -c %s "$1"; }

# _cmp_fill DIR PREFIX BUDGET_BYTES SCALE_PERMILLE SEED0: one device's own files.
_cmp_fill() {
  local dir=$1 p=$2 budget=$3 scale=$4 seed=$5 used=0 n=0 f sz lo hi month
  local vb=$((budget * 35 / 100)) rb=$((budget * 35 / 100)) jb
  mkdir -p "$dir/Videos"
  # One real short MP4, then random-content videos until their share is used.
  sb_gen_mp4 "$dir/Videos/${p}MVI_$seed.mp4" $((seed / 1000)) 3
  used=$(_cmp_size "$dir/Videos/${p}MVI_$seed.mp4")
  lo=$((100 * scale)); hi=$((500 * scale))   # KB: (100..500 MB) * scale / 1000
  ((lo < 2000)) && lo=2000; ((hi < lo)) && hi=$lo
  while ((used < vb)); do
    _cmp_rand "$lo" "$hi"; sz=$((R * 1000))
    ((sz > vb - used + 1000000)) && sz=$((vb - used + 1000000))
    if ((n % 2)); then f="$dir/Videos/${p}MVI_$((seed + n)).mov"; else f="$dir/Videos/${p}VID_$((seed + n)).mp4"; fi
    sb_gen_random "$f" "$sz"; used=$((used + sz)); n=$((n + 1))
  done
  rb=$((used + rb))
  mkdir -p "$dir/RAW"
  while ((used < rb)); do
    _cmp_rand 8000000 25000000; sz=$R
    if ((n % 2)); then f="$dir/RAW/${p}IMG_$((seed + n)).cr2"; else f="$dir/RAW/${p}DSC_$((seed + n)).dng"; fi
    sb_gen_random "$f" "$sz"; used=$((used + sz)); n=$((n + 1))
  done
  # JPEGs for the rest of the budget, at least two per device.
  jb=$budget; local jn=0
  while ((used < jb || jn < 2)); do
    month=$(( (seed + n) % 12 + 1 ))
    mkdir -p "$dir/Photos/2024-$(printf %02d $month)"
    f="$dir/Photos/2024-$(printf %02d $month)/${p}IMG_$((seed + n)).jpg"
    _cmp_jpeg "$f" $((seed + n)) "2024:$(printf %02d $month):$(printf %02d $((n % 28 + 1))) 10:$((n % 60)):00"
    used=$((used + $(_cmp_size "$f"))); n=$((n + 1)); jn=$((jn + 1))
  done
}

cmp_gen_library() {
  local dir=$1 mb=$2 total a_budget scale used_a shared_bytes b_budget i f rel
  if [[ -f $dir/.complete && $(cat "$dir/.complete") == "$mb" ]]; then
    sb_log "reusing the library in $dir ($mb MB)"; return 0
  fi
  rm -rf "$dir"; mkdir -p "$dir/src-a" "$dir/src-b"
  RANDOM=$((mb * 7 + 1))
  total=$((mb * 1000000)); a_budget=$((total * 6 / 11)); scale=$((mb * 1000 / 2000))
  ((scale < 1)) && scale=1
  sb_log "generating device A (~$((a_budget / 1000000)) MB) in $dir/src-a"
  _cmp_fill "$dir/src-a" "" "$a_budget" "$scale" 1000
  # Every third file of A (sorted by path) also lives on device B.
  i=0; shared_bytes=0
  mkdir -p "$dir/src-b/from-laptop"
  while IFS= read -r f; do
    if ((i % 3 == 0)); then
      rel=${f#"$dir/src-a/"}
      mkdir -p "$dir/src-b/from-laptop/$(dirname "$rel")"
      cp -p "$f" "$dir/src-b/from-laptop/$rel"
      shared_bytes=$((shared_bytes + $(_cmp_size "$f")))
    fi
    i=$((i + 1))
  done < <(find "$dir/src-a" -type f | LC_ALL=C sort)
  used_a=$(du -sb "$dir/src-a" | cut -f1)
  b_budget=$((total - used_a - shared_bytes))
  ((b_budget < total / 10)) && b_budget=$((total / 10))
  sb_log "generating device B's own files (~$((b_budget / 1000000)) MB) in $dir/src-b"
  _cmp_fill "$dir/src-b/Camera" "B_" "$b_budget" "$scale" 5000
  echo "$mb" >"$dir/.complete"
}
