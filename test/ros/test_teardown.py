"""A node process ends a deadline after ROS shut down, even where its own teardown never finishes.

Each case is a real process with a real rclpy context: shutdown comes from rclpy itself or from SIGINT through
rclpy's signal handling, while the main thread is held elsewhere, as a hung teardown would hold it.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time

PREAMBLE = """
import sys, threading, time, rclpy
from mixformerv2_ros.teardown import TeardownWatchdog
rclpy.init()
watchdog = TeardownWatchdog(rclpy.get_default_context(), "probe", deadline_s=0.5)
"""
READY = 'print("ready", flush=True)\n'



def run_probe(body: str, interrupt: bool = False) -> tuple[int, str, float]:
    """Runs PREAMBLE + ``body`` (which prints "ready" when set); returns exit status, output and seconds."""
    process = subprocess.Popen([sys.executable, "-c", PREAMBLE + body], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout.readline().strip() == "ready"
    started = time.monotonic()
    if interrupt:
        process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=20.0)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, output, time.monotonic() - started


def test_a_teardown_that_never_ends_is_left_after_the_deadline_with_every_threads_stack():
    returncode, output, elapsed = run_probe(READY + "rclpy.shutdown()\nthreading.Event().wait(60)\n")
    assert returncode == 0, output
    assert "probe: warning: teardown still running 0.5 s after shutdown" in output
    assert "in <module>" in output  # faulthandler's dump shows where the main thread waited
    assert elapsed < 10.0


def test_a_sigint_the_main_thread_never_acts_on_still_ends_the_process():
    body = "while True:\n    try:\n        print('ready', flush=True)\n        time.sleep(60)\n" \
           "    except KeyboardInterrupt:\n        pass\n"  # ready only once the interrupt is caught
    returncode, output, _ = run_probe(body, interrupt=True)
    assert returncode == 0 and "teardown still running" in output, output


def test_the_watchdog_does_not_wait_for_the_context_lock_a_stuck_shutdown_holds():
    body = "rclpy.get_default_context()._lock.acquire()\n" \
           "while True:\n    try:\n        print('ready', flush=True)\n        time.sleep(60)\n" \
           "    except KeyboardInterrupt:\n        pass\n"
    returncode, output, _ = run_probe(body, interrupt=True)
    assert returncode == 0 and "teardown still running" in output, output


def test_a_disarmed_watchdog_leaves_the_process_its_own_exit_status():
    returncode, output, _ = run_probe(READY + "watchdog.disarm()\nrclpy.shutdown()\ntime.sleep(1.5)\nsys.exit(3)\n")
    assert returncode == 3 and "teardown still running" not in output, output


def test_a_process_that_stays_up_is_not_touched():
    returncode, output, _ = run_probe(READY + "time.sleep(1.5)\nrclpy.shutdown()\n")
    assert returncode == 0 and "teardown still running" not in output, output
