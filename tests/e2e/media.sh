# Generates real media for tests and benchmarks. Source it.
#   sb_gen_jpeg FILE SEED "YYYY:MM:DD HH:MM:SS" [WxH]   JPEG with EXIF DateTimeOriginal
#   sb_gen_mp4 FILE SEED SECONDS                         short H.264 MP4
#   sb_gen_random FILE BYTES                             random bytes
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
