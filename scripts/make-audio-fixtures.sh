#!/usr/bin/env bash
# Audio fixtures for Tests/TranscribeKitTests/Audio*.swift.
#
# One source signal, 0.2 s of stereo at 44.1 kHz, encoded in every container the
# audio layer reads, so the tests can check that they all decode to the same samples.
#   left  = 0.4 sin(2π 440 t)  + 0.2 sweep(t)
#   right = 0.4 sin(2π 1000 t) + 0.2 sweep(t)
#   sweep = linear chirp 200 Hz -> 4 kHz, so the signal never repeats and a
#           cross-correlation finds one lag (the codec's delay), not a period.
#
# Regenerate (needs ffmpeg with libvorbis, libopus, libmp3lame):
#   scripts/make-audio-fixtures.sh        # rewrites Tests/Fixtures/audio/, same bytes each run
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/Tests/Fixtures/audio"
mkdir -p "$out"

rate=44100
seconds=0.2
sweep="0.2*sin(2*PI*(200*t + (4000-200)/(2*$seconds)*t*t))"
left="0.4*sin(2*PI*440*t) + $sweep"
right="0.4*sin(2*PI*1000*t) + $sweep"

# -bitexact and no metadata keep the output byte-identical from run to run.
encode() {
    local name="$1"
    shift
    ffmpeg -hide_banner -loglevel error -y \
        -f lavfi -i "aevalsrc=exprs=$left|$right:sample_rate=$rate:duration=$seconds:channel_layout=stereo" \
        -map_metadata -1 -fflags +bitexact -flags:a +bitexact \
        "$@" "$out/$name"
}

encode stereo-f32.wav -c:a pcm_f32le
encode stereo-s32.wav -c:a pcm_s32le
encode stereo-s24.wav -c:a pcm_s24le
encode stereo-s16.wav -c:a pcm_s16le
encode stereo-u8.wav -c:a pcm_u8
encode stereo.flac -c:a flac -sample_fmt s16
encode stereo.ogg -c:a libvorbis -q:a 4
encode stereo.opus -c:a libopus -b:a 96k
encode stereo.mp3 -c:a libmp3lame -b:a 128k

ls -l "$out"
