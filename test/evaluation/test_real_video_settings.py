"""benchmarks/real_video.py takes the shared tracker options: what the user sets reaches every MixFormerV2
tracker it builds, what the user leaves unset stays the weights file's, and a bad value stops it before anything
is loaded.
"""
import pytest

from mixformerv2_core.demo_model import DEMO_WEIGHTS


def _trackers(real_video, *argv):
    args = real_video._parse(["--trackers", "demo", "--weights", f"mine={DEMO_WEIGHTS}", *argv])
    makers = real_video._factories(args, ["demo"], **real_video.tracker_settings_given(args))
    return {name: make() for name, make in makers.items()}


def test_a_setting_given_reaches_every_mixformer_tracker(real_video):
    plain = _trackers(real_video)
    tuned = _trackers(real_video, "--tight-search-factor", "3.5", "--search-factor", "4.2")
    for name in ("demo", "mine"):
        assert tuned[name].params.tight_search_factor == 3.5 and tuned[name].params.search_factor == 4.2
        # what was not set is the weights file's, as without the options
        assert tuned[name].params.template_factor == plain[name].params.template_factor
    assert plain["demo"].params.search_factor != 4.2


@pytest.mark.parametrize("argv, message", [(["--tight-search-factor", "-1"], "tight_search_factor must be >= 0"),
                                           (["--preset", "nope"], "unknown --preset 'nope'")])
def test_a_bad_setting_stops_the_benchmark_with_a_message(real_video, argv, message, capsys):
    assert real_video.main(["--trackers", "static", "--threads", "1", *argv]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("real_video.py: error: ") and message in err and "Traceback" not in err and "AUC" not in out


def test_the_first_reading_of_the_arguments_imports_no_cv2_so_csrt_can_come_from_opencv_contrib():
    """CSRT and KCF exist only in opencv-contrib's cv2, which main() puts on sys.path after reading
    --opencv-contrib; the tracker options import the project, and with it cv2, so they are read afterwards.
    """
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "real_video.py"
    probe = (f"import importlib.util, sys\n"
             f"spec = importlib.util.spec_from_file_location('rv', {str(script)!r})\n"
             "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
             "args, _ = module._parser(tracker_options=False).parse_known_args(['--trackers', 'csrt', "
             "'--tight-search-factor', '3.5'])\n"
             "assert args.trackers == 'csrt', args\n"
             "print('cv2' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
