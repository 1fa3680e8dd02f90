# Generates real media for tests and benchmarks. Source it.
#   sb_gen_jpeg FILE SEED "YYYY:MM:DD HH:MM:SS" [WxH]   JPEG with EXIF DateTimeOriginal
#   sb_gen_mp4 FILE SEED SECONDS                         short H.264 MP4
#   sb_gen_random FILE BYTES                             random bytes
#   sb_gen_awkward_names DIR                             the awkward names of issue 18
IM_CONVERT="${IM_CONVERT:-$(command -v convert-im6.q16 || command -v convert)}"

sb_gen_jpeg() {
  local f=$1 seed=$2 date=$3 size=${4:-800x600}
  "$IM_CONVERT" -seed "$seed" -size "$size" plasma:fractal -quality 92 "$f"
  exiftool -q -overwrite_original "-DateTimeOriginal=$date" "-Make=Shoebox" "-Model=Test $seed" "$f"
}

sb_gen_mp4() {
  local f=$1 seed=$2 secs=${3:-2}
  ffmpeg -loglevel error -y -f lavfi -i "testsrc2=duration=$secs:size=320x240:rate=25" \
    -f lavfi -i "sine=frequency=$((200 + seed * 37)):duration=$secs" \
    -vf "drawtext=text='$seed':x=10:y=10:fontsize=24:fontcolor=white" \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest "$f" 2>/dev/null \
  || ffmpeg -loglevel error -y -f lavfi -i "testsrc2=duration=$secs:size=320x240:rate=25" \
    -f lavfi -i "sine=frequency=$((200 + seed * 37)):duration=$secs" \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest "$f"
}

sb_gen_random() {
  head -c "$2" /dev/urandom >"$1"
}

# Files with the names that break naive backup tools (issue 18), small random
# contents: a Latin-1 (non-UTF-8) name, NFC and NFD twins, a 255-byte name, a
# deep path, a leading dash and a leading space, '%', quotes and an emoji.
# tests/coordinator/names_test.cc delivers the same names to every kind.
sb_gen_awkward_names() {
  local d=$1 deep="" i
  mkdir -p "$d"
  for ((i = 0; i < 24; i++)); do deep+="level-$i-of-a-deep-tree/"; done
  mkdir -p "$d/$deep"
  local names=(
    "$(printf 'latin1-\xe9t\xe9.jpg')"
    "$(printf 'caf\xc3\xa9.jpg')"
    "$(printf 'cafe\xcc\x81.jpg')"
    "$(printf 'n%.0s' {1..251}).jpg"
    "${deep}deep.jpg"
    "-dash.jpg"
    " space.jpg"
    "100%25 %zz.jpg"
    "quote's \"double\".jpg"
    "$(printf '\xf0\x9f\x93\xb7') camera.jpg"
  )
  for i in "${names[@]}"; do
    head -c $((2000 + RANDOM % 5000)) /dev/urandom >"$d/$i"
  done
}
