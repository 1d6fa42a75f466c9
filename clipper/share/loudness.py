"""ffmpeg: EBU R128 loudness normalisation in two passes, as ffmpeg-normalize does it.

The first pass measures the clip's audio (``loudnorm`` with ``print_format=json``: integrated loudness, true peak,
loudness range, gating threshold); the second applies ``loudnorm`` with those measured values and ``linear=true``:
one gain for the whole clip when that reaches the target without the true peak passing TRUE_PEAK, else
loudnorm's dynamic mode (what ffmpeg itself falls back to; ``describe`` says which and why). loudnorm works at
192 kHz; the clip's audio is resampled to SAMPLE_RATE after it, and given a channel layout (ffmpeg 5.1's loudnorm
leaves it unset, which encoders refuse): mono stays mono, more channels become stereo (what phones play).

The applying filter is built before the measurement exists (it is a step's argv, which the dry run prints): it
holds shell variables (``${LOUDNORM_I}``, ...) that the runner fills from the measurement (``fill``) and the dry
run's script from the measuring command's output (``script_lines``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from clipper.core.errors import CutError
from clipper.media.cut_args import seconds_arg
from clipper.media.probe import file_arg

TRUE_PEAK = -1.0  # dBTP: what phone feeds ask for
LOUDNESS_RANGE = 11.0  # LU: loudnorm's dynamic mode keeps speech within this
SAMPLE_RATE = 48000
# loudnorm's JSON key -> its option for the second pass -> the shell variable that carries it in the dry run.
MEASURED = (
    ("input_i", "measured_I", "LOUDNORM_I"),
    ("input_tp", "measured_TP", "LOUDNORM_TP"),
    ("input_lra", "measured_LRA", "LOUDNORM_LRA"),
    ("input_thresh", "measured_thresh", "LOUDNORM_THRESH"),
    ("target_offset", "offset", "LOUDNORM_OFFSET"),
)
SCRIPT_VARIABLE = "LOUDNORM"  # the dry run's script keeps the measuring command's output in it
_FILLED_RE = re.compile(r"[A-Za-z0-9_=:.,|${}-]*")
_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?")
QUIETEST = -70.0  # LUFS: below it (or -inf) the clip is silence: its level is left alone

Measurement = Mapping[str, str]


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _targets(target: float) -> str:
    return f"I={_number(target)}:TP={_number(TRUE_PEAK)}:LRA={_number(LOUDNESS_RANGE)}"


def measure_argv(source: str, start: float, seconds: float, target: float) -> list[str]:
    """The first pass: the audio of [start, start + seconds) (timestamps) measured, nothing written. Its
    loudness report is written to stderr at the info log level."""
    return ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "info", "-progress", "pipe:1", "-nostats",
            "-seek_timestamp", "1", "-ss", seconds_arg(start), "-t", seconds_arg(seconds), "-i", file_arg(source),
            "-map", "0:a:0", "-vn", "-sn", "-dn", "-af", f"loudnorm={_targets(target)}:print_format=json",
            "-f", "null", "-"]  # fmt: skip


def apply_filter(target: float) -> str:
    """The second pass's audio filter, its measured values shell variables until ``fill`` fills them."""
    measured = ":".join(f"{option}=${{{variable}}}" for _, option, variable in MEASURED)
    return (f"loudnorm={_targets(target)}:{measured}:linear=true,aresample={SAMPLE_RATE},"
            "aformat=channel_layouts=mono|stereo")  # fmt: skip


def parse_measurement(stderr: str) -> dict[str, str]:
    """The measured values from the first pass's stderr (loudnorm's JSON report, the last ``{...}`` in it)."""
    start, end = stderr.rfind("{"), stderr.rfind("}")
    try:
        data = json.loads(stderr[start : end + 1]) if 0 <= start < end else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or any(not isinstance(data.get(key), str) for key, _, _ in MEASURED):
        raise CutError("the loudness measurement gave no report")
    return {key: str(data[key]) for key, _, _ in MEASURED} | {"normalization_type": str(data.get("normalization_type"))}


def is_silent(measurement: Measurement) -> bool:
    value = measurement.get("input_i", "-inf")
    return not _NUMBER_RE.fullmatch(value) or float(value) < QUIETEST


def fill(template: str, measurement: Measurement) -> str:
    """``apply_filter``'s text with the measured values in place; a silent clip keeps its level (loudnorm would
    raise its noise by up to 99 dB)."""
    if is_silent(measurement):
        return re.sub(r"^loudnorm=[^,]*,", "", template)
    filled = template
    for key, _, variable in MEASURED:
        value = measurement[key]
        if not _NUMBER_RE.fullmatch(value):
            raise CutError(f"the loudness measurement's {key} is {value!r}, not a number")
        filled = filled.replace(f"${{{variable}}}", value)
    return filled


def normalisation(measurement: Measurement, target: float) -> tuple[str, str]:
    """How loudnorm's second pass treats the clip (it decides so from the measured values): ``linear`` (one gain),
    ``dynamic`` (and why not linear) or ``kept`` (silence)."""
    if is_silent(measurement):
        return "kept", "silent (under -70 LUFS): its level is kept"
    loudness, peak, spread = (float(measurement[key]) for key in ("input_i", "input_tp", "input_lra"))
    gain = target - loudness
    if peak + gain > TRUE_PEAK:
        return "dynamic", (f"one gain of {gain:+.1f} dB would take the true peak to {peak + gain:+.1f} dBTP, over "
                           f"{_number(TRUE_PEAK)}")  # fmt: skip
    if spread > LOUDNESS_RANGE:
        return "dynamic", f"its loudness range is over {_number(LOUDNESS_RANGE)} LU"
    return "linear", f"{gain:+.1f} dB"


def describe(measurement: Measurement, target: float) -> str:
    """What the second pass does to the clip, for the log: the measured loudness and the gain, linear or not."""
    kind, why = normalisation(measurement, target)
    if kind == "kept":
        return why
    text = (f"{float(measurement['input_i']):.1f} LUFS (true peak {float(measurement['input_tp']):.1f} dBTP, range "
            f"{float(measurement['input_lra']):.1f} LU) -> {_number(target)} LUFS: ")  # fmt: skip
    return text + (f"{why}, linear" if kind == "linear" else f"dynamic ({why})")


def record(measurement: Measurement, target: float) -> dict[str, object]:
    """What the manifest says of a clip's loudness."""

    def number(key: str) -> float | None:
        value = measurement.get(key, "")
        return float(value) if _NUMBER_RE.fullmatch(value) else None

    return {"target": target, "measured": number("input_i"), "true_peak": number("input_tp"),
            "range": number("input_lra"), "normalisation": normalisation(measurement, target)[0]}  # fmt: skip


def script_lines(measure_command: str, target: float) -> list[str]:
    """The dry run's script: the measuring command, its report kept in a variable, the values taken out of it.

    A silent clip (-inf, or under QUIETEST) keeps its level, as ``fill`` keeps it: its measured loudness is
    set to the target, so the linear pass applies no gain (loudnorm refuses -inf)."""
    lines = [f"{SCRIPT_VARIABLE}=$({measure_command} 2>&1 >/dev/null)"]
    for key, _, variable in MEASURED:
        pattern = f's/.*"{key}" : "\\([^"]*\\)".*/\\1/p'
        lines.append(f"{variable}=$(printf '%s\\n' \"${SCRIPT_VARIABLE}\" | sed -n '{pattern}')")
    level, peak, spread, threshold, offset = (variable for _, _, variable in MEASURED)
    lines.append(f'case "${level}" in *[0-9]*) ;; *) {level}=-99 ;; esac  # -inf or nothing: silence')
    lines.append(f'if awk "BEGIN {{ exit !(${level} < {_number(QUIETEST)}) }}"; then  # silence: keep its level\n'
                 f"  {level}={_number(target)}; {peak}=-99; {spread}=0; {threshold}=-70; {offset}=0\nfi")  # fmt: skip
    return lines


def shell_word(template: str) -> str:
    """``apply_filter``'s text as one word of the script: in double quotes, so its variables are filled."""
    if not _FILLED_RE.fullmatch(template):
        raise ValueError(f"not a loudness filter: {template!r}")
    return f'"{template}"'
