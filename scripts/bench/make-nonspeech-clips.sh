#!/usr/bin/env bash
# Minutes-long audio with no speech in it, for scripts/bench/hallucination.py: whatever words a
# recognizer writes for these clips it made up.
#
# Every clip is 16 kHz mono 16-bit PCM WAV made by sox alone, 2 to 5 minutes long: white, pink and
# brown noise at several levels, mains hum, a pure tone, chords, clicks, fan-like noise, dithered and
# digital silence (the table below). -R (repeatable) seeds sox's random generators (noise, dither)
# with a fixed number, and -D turns dither off except where the clip is about dither, so a rerun with
# the same SoX writes the same bytes (made with SoX 14.4.2). As in scripts/fixtures/make-vad-clips.sh,
# a level is the sox `vol` gain on a full-scale generator (dB re full scale, of the peak); clips.tsv
# gives each clip's measured peak and RMS.
#
# OUTDIR gets the clips and clips.tsv (file, kind, level, seconds, peak_dbfs, rms_dbfs, description).
# A clip already there with the same bytes is left alone (its time stamp too); one that differs is
# replaced. --seconds S makes every clip S seconds long instead (a smoke run; use another OUTDIR).
#
# Run (apt-get install -y sox):
#   scripts/bench/make-nonspeech-clips.sh bench-out/nonspeech              # 15 clips, 42 minutes, 77 MiB
#   scripts/bench/make-nonspeech-clips.sh --seconds 20 bench-out/nonspeech-20s
set -euo pipefail

readonly RATE=16000
usage() { echo "usage: make-nonspeech-clips.sh [--seconds S] OUTDIR" >&2; exit 2; }
seconds_override=""
if [[ "${1:-}" == "--seconds" ]]; then
    [[ $# -ge 2 && "$2" =~ ^[0-9]+([.][0-9]+)?$ ]] || usage
    seconds_override="$2"
    shift 2
fi
[[ $# -eq 1 ]] || usage
out="$1"

for tool in sox soxi; do
    command -v "$tool" >/dev/null || { echo "make-nonspeech-clips: $tool not found (apt-get install -y sox)" >&2; exit 1; }
done
mkdir -p "$out"
scratch="$(mktemp -d "$out/.scratch.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# file|kind|level (dB, the vol gain)|seconds|description
clips=(
    "white-noise_-20dB.wav|white noise|-20|180|flat spectrum, loud"
    "white-noise_-35dB.wav|white noise|-35|150|flat spectrum"
    "white-noise_-50dB.wav|white noise|-50|120|flat spectrum, quiet"
    "pink-noise_-20dB.wav|pink noise|-20|180|-3 dB/octave, the tilt of speech, loud"
    "pink-noise_-35dB.wav|pink noise|-35|150|-3 dB/octave"
    "pink-noise_-50dB.wav|pink noise|-50|120|-3 dB/octave, quiet"
    "brown-noise_-20dB.wav|brown noise|-20|150|-6 dB/octave, rumble"
    "brown-noise_-35dB.wav|brown noise|-35|120|-6 dB/octave, quiet rumble"
    "hum-50hz.wav|mains hum|-26|180|50 Hz with its 2nd, 3rd and 5th harmonics"
    "tone-1khz.wav|pure tone|-20|120|a steady 1 kHz sine"
    "music-chords.wav|chords|-14|240|C, F, G, A minor triads of sines, 3 s each, 6 Hz tremolo, fades"
    "clicks.wav|clicks|-6|150|a 4 ms decaying noise burst twice a second"
    "fan.wav|fan|-20|240|pink noise band-passed to 100-1200 Hz with a 25 Hz flutter"
    "dithered-silence.wav|dithered silence||300|zeros with sox's TPDF dither to 16 bits: -1, 0, +1 LSB"
    "digital-silence.wav|digital silence||120|every sample 0"
)

piece() {  # piece NAME EFFECTS...: synthesize 32-bit float $scratch/NAME.wav, nothing rounded yet
    local name="$1"
    shift
    sox -R -D -V1 -n -r "$RATE" -c 1 -b 32 -e floating-point "$scratch/$name.wav" "$@"
}
wav16() {  # wav16 [-D] INPUT OUTPUT: INPUT as 16-bit PCM WAV (-D: without dither)
    sox -R -V1 "${@:1:$#-2}" "${@: -2:1}" -r "$RATE" -c 1 -b 16 -e signed-integer -t wav "${@: -1}"
}

make_clip() {  # make_clip FILE LEVEL SECONDS: $scratch/FILE
    local file="$1" level="$2" seconds="$3" target="$scratch/$1"
    case "$file" in
        *-noise_*)
            piece body synth "$seconds" "${file%%-*}noise" vol "${level}dB"
            ;;
        hum-50hz.wav)
            piece body synth "$seconds" sine 50 sine mix 100 sine mix 150 sine mix 250 vol "${level}dB"
            ;;
        tone-1khz.wav)
            piece body synth "$seconds" sine 1000 vol "${level}dB"
            ;;
        music-chords.wav)
            # %n is n semitones from A4 = 440 Hz. The four chords are repeated and cut to length.
            local chords=("%-9 %-5 %-2" "%-4 %0 %3" "%-2 %2 %5" "%-12 %-9 %-5") index root third fifth
            for index in "${!chords[@]}"; do
                read -r root third fifth <<<"${chords[$index]}"
                piece "chord$index" synth 3 sine "$root" sine mix "$third" sine mix "$fifth" \
                    tremolo 6 50 fade h 0.05 3 0.3 vol "${level}dB"
            done
            sox -V1 "$scratch"/chord{0,1,2,3}.wav "$scratch/body.wav" repeat "$(awk -v s="$seconds" 'BEGIN { print int(s / 12) }')" \
                trim 0 "$seconds"
            ;;
        clicks.wav)
            piece body synth 0.004 whitenoise fade l 0 0.004 0.004 vol "${level}dB" pad 0.1 0.396 \
                repeat "$(awk -v s="$seconds" 'BEGIN { print int(2 * s) }')" trim 0 "$seconds"
            ;;
        fan.wav)
            piece body synth "$seconds" pinknoise sinc 100-1200 tremolo 25 10 vol "${level}dB"
            ;;
        dithered-silence.wav)
            piece body trim 0 "$seconds"
            wav16 "$scratch/body.wav" "$target"
            return
            ;;
        digital-silence.wav)
            piece body trim 0 "$seconds"
            ;;
        *)
            echo "make-nonspeech-clips: no recipe for $file" >&2
            exit 1
            ;;
    esac
    wav16 -D "$scratch/body.wav" "$target"
}

stats() {  # stats FILE: "PEAK<tab>RMS" in dBFS, as sox's stats effect measures them
    sox "$1" -n stats 2>&1 | awk '/^Pk lev dB/ { peak = $4 } /^RMS lev dB/ { rms = $4 } END { printf "%s\t%s", peak, rms }'
}

install_file() {  # install_file NEW DEST: DEST becomes NEW unless it already has the same bytes
    if cmp -s "$1" "$2"; then
        rm -f "$1"
        echo unchanged
    else
        mv "$1" "$2"
        echo written
    fi
}

printf 'file\tkind\tlevel\tseconds\tpeak_dbfs\trms_dbfs\tdescription\n' >"$scratch/clips.tsv"
for clip in "${clips[@]}"; do
    IFS='|' read -r file kind level seconds description <<<"$clip"
    seconds="${seconds_override:-$seconds}"
    make_clip "$file" "$level" "$seconds"
    samples="$(soxi -s "$scratch/$file")"
    expected="$(awk -v s="$seconds" -v r="$RATE" 'BEGIN { printf "%d", s * r + 0.5 }')"
    if [[ "$samples" != "$expected" ]]; then
        echo "make-nonspeech-clips: $file has $samples samples, not $expected" >&2
        exit 1
    fi
    measured="$(stats "$scratch/$file")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$file" "$kind" "$level" "$seconds" "$measured" "$description" >>"$scratch/clips.tsv"
    state="$(install_file "$scratch/$file" "$out/$file")"
    printf '%-24s %-17s %4s dB %5s s  peak %7s  RMS %7s dBFS  %s\n' "$file" "$kind" "${level:-–}" "$seconds" \
        "${measured%%$'\t'*}" "${measured##*$'\t'}" "$state"
done
echo "clips.tsv $(install_file "$scratch/clips.tsv" "$out/clips.tsv")"
