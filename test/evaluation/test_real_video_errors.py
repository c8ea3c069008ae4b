"""benchmarks/real_video.py fails as the project's commands do (``real_video.py: error: ...``, exit 2, no
traceback), and before its minutes of tracking rather than after them.
"""
import pytest


def test_a_weights_file_that_is_not_there_stops_the_run_before_any_tracking(real_video, tmp_path, capsys):
    missing = tmp_path / "student.pt"
    assert real_video.main(["--trackers", "static", "--weights", f"mine={missing}", "--threads", "1"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("real_video.py: error: ") and str(missing) in err and "Traceback" not in err
    assert "AUC" not in out  # the static box never ran


def test_a_json_report_that_cannot_be_written_stops_the_run_before_any_tracking(real_video, tmp_path, capsys):
    folder = tmp_path / "report.json"
    folder.mkdir()
    assert real_video.main(["--trackers", "static", "--json", str(folder), "--threads", "1"]) == 2
    out, err = capsys.readouterr()
    assert "real_video.py: error: " in err and "is a directory" in err and "AUC" not in out


@pytest.mark.parametrize("argv, message", [
    (["--trackers", "static,mosse"], "unknown trackers ['mosse']"),
    (["--trackers", "static", "--weights", "no-equals-sign"], "--weights takes NAME=PATH"),
    (["--trackers", "static", "--clips", "nope"], "no labelled clip named ['nope']"),
])
def test_a_wrong_argument_is_one_line_and_exit_2(real_video, argv, message, capsys):
    try:
        code = real_video.main(argv)
    except SystemExit as stop:  # argparse's own checks exit from the parser
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and f"real_video.py: error: {message}" in err and "Traceback" not in err
