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
def test_a_bad_setting_stops_the_benchmark_with_a_message(real_video, argv, message):
    args = real_video._parse(argv)
    with pytest.raises(SystemExit) as stop:
        real_video.tracker_settings_given(args)
    assert message in str(stop.value)
