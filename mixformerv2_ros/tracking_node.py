"""The MixFormerV2 tracking node: a managed (lifecycle) rclpy node around mixformerv2_core.MultiTargetTracker.

Lifecycle: configure loads the model (a bad weights file fails the transition, the process stays up), activate
subscribes and starts the worker, deactivate unsubscribes, cleanup releases the model.

Threading: image callbacks only store the newest message in a one-slot mailbox (counting the one they replace
as dropped); one worker thread takes the newest frame, runs one batched tracker step for all targets and
publishes. A slow model therefore always works on the latest frame instead of a growing queue.

Robustness: every callback (image, init, click, reset service, diagnostics timer, worker) catches what the
tracker or a decoder raises (MemoryError included) at its boundary, counts it on /diagnostics and keeps the
node alive. Images larger than ``max_image_side`` are refused before decoding; init boxes are intersected with
the image; a resolution change drops the targets with a warning instead of tracking in the wrong coordinates.
Uses only rclpy API available since Humble.
"""
from __future__ import annotations

import functools
import os
import sys
import threading
import time
from typing import Any, Callable, Optional

import rclpy
import rclpy.exceptions
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2D, Detection2DArray

from mixformerv2_core import MultiTargetTracker, TargetState
from mixformerv2_core.backends import available_backends
from mixformerv2_core.backends.selection import check_backend_choice
from mixformerv2_core.cli.runner import run_command
from mixformerv2_core.cli.tracker_options import SETTINGS as COMMAND_SETTINGS
from mixformerv2_core.demo_model import demo_weights_warning
from mixformerv2_core.geometry import intersect_with_image

from .click_box import ClickBoxBuilder
from .debug_drawing import draw_targets
from .detection_messages import check_box_size, detections_from_results, init_request_from_detection
from .executors import ResilientMultiThreadedExecutor, favour_executor_threads
from .frame_buffer import FrameRingBuffer
from .ros_args import init_ros
from .teardown import TeardownWatchdog
from .stamps import stamp_to_ns
from .image_conversion import (
    ImageConversionError, check_message_size, compressed_to_frame, frame_to_image, image_to_frame)
from .node_status import FrameStats, ProblemReporter, build_diagnostics
from .parameters import (PARAMETERS, SPECS, STATE_SETTINGS, UNSET_AT_RUNTIME, check_value, is_unset,
                         tracker_overrides)

NODE_NAME = "mixformerv2_tracker"
PROG = "mixformerv2-tracking-node"
_PARAMETER_ERRORS = tuple(getattr(rclpy.exceptions, name) for name in (
    "ParameterException", "InvalidParameterValueException", "InvalidParameterTypeException")
    if hasattr(rclpy.exceptions, name))

WORKER_JOIN_TIMEOUT_S = 2.0  # well inside launch's 5 s SIGINT grace period


def _guarded(callback: Callable) -> Callable:
    """Runs a callback so that nothing it raises (MemoryError included) leaves it: the node reports the error
    on /diagnostics (``problem.callback_error``) and stays alive.
    """
    @functools.wraps(callback)
    def wrapper(self: "TrackingNode", *args: Any) -> Any:
        try:
            return callback(self, *args)
        except Exception as error:  # noqa: BLE001 - the boundary: no message may take the node down
            self._callback_failed(callback.__name__, error)
            return None
    return wrapper


class TrackingNode(LifecycleNode):
    """Tracks targets initialised on ~/init (or by two rqt_image_view clicks) in the ``image`` stream."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self._bad_parameters = self._declare_parameters()
        self.add_on_set_parameters_callback(self._on_set_parameters)

        self.stats = FrameStats()
        self.problems = ProblemReporter(self.get_logger().warning, self._param("warn_throttle_sec"))
        self._tracker: Optional[MultiTargetTracker] = None
        self._tracker_lock = threading.Lock()
        self._frame_size: Optional[tuple[int, int]] = None  # (height, width) the targets' boxes refer to
        self._failure: Optional[str] = None
        self._state_label = "unconfigured"
        self._active = False
        self._clicks = ClickBoxBuilder()
        self._last_states: dict = {}  # target id -> its state on the previous frame (state events)
        self._frames = FrameRingBuffer(self._param("frame_buffer_size"))
        self._mailbox: Optional[tuple[Any, float]] = None
        self._mailbox_ready = threading.Condition()
        self._worker: Optional[threading.Thread] = None
        self._inputs: list = []
        self._outputs: dict[str, Any] = {}
        self._reset_service = None
        self._io_group = ReentrantCallbackGroup()
        self._timer_group = MutuallyExclusiveCallbackGroup()

        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._diagnostics_timer = self.create_timer(
            self._param("diagnostics_period"), self._publish_diagnostics, callback_group=self._timer_group)

        if self._param("autostart"):
            if self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
                self.trigger_activate()

    # ----------------------------------------------------------------------------------------------------
    # parameters
    def _declare_parameters(self) -> dict[str, str]:
        """Declares every parameter; a value of the wrong type or range falls back to the default and is
        reported (configure then fails with the reason) instead of taking the process down.
        """
        bad = {}
        for spec in PARAMETERS:
            try:
                self.declare_parameter(spec.name, spec.default, spec.descriptor())
            except _PARAMETER_ERRORS as error:
                bad[spec.name] = str(error)
                self.declare_parameter(spec.name, spec.default, spec.descriptor(), ignore_override=True)
                self.get_logger().error(f"bad parameter, default {spec.default!r} used instead: {error}")
        return bad

    def _param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _on_set_parameters(self, parameters) -> SetParametersResult:
        for parameter in parameters:
            spec = SPECS.get(parameter.name)
            if spec is None:
                continue
            reason = check_value(parameter.name, parameter.value, available_backends())
            if reason is None and spec.stage == "configure" and self._tracker is not None:
                reason = f"{parameter.name} is read on configure: clean the node up before changing it"
            if reason is None and spec.stage == "start":
                reason = f"{parameter.name} is read at start-up only: restart the node to change it"
            if reason is None and spec.stage == "activate" and self._active:
                reason = f"{parameter.name} is read on activate: deactivate the node before changing it"
            if reason is None and self._tracker is not None and is_unset(parameter.name, parameter.value):
                reason = f"{parameter.name} {UNSET_AT_RUNTIME}"
            if reason is not None:
                return SetParametersResult(successful=False, reason=reason)
        state_changes = {p.name: p.value for p in parameters if p.name in STATE_SETTINGS}
        if state_changes and self._tracker is not None:
            try:  # validated and applied as one (nothing changes on a bad combination)
                with self._tracker_lock:
                    self._tracker.set_state_settings(**tracker_overrides(state_changes.get, tuple(state_changes)))
            except ValueError as error:
                return SetParametersResult(successful=False, reason=str(error))
        for parameter in parameters:  # accepted: apply what the tracker reads every frame
            self._bad_parameters.pop(parameter.name, None)
            if parameter.name in ("update_interval", "update_threshold") and self._tracker is not None:
                with self._tracker_lock:
                    setattr(self._tracker.params, parameter.name, parameter.value)
            if parameter.name == "warn_throttle_sec":
                self.problems.period = parameter.value
        return SetParametersResult(successful=True)

    def _check_all_parameters(self) -> Optional[str]:
        backends = available_backends()
        for spec in PARAMETERS:
            reason = check_value(spec.name, self._param(spec.name), backends)
            if reason:
                return reason
        return None

    # ----------------------------------------------------------------------------------------------------
    # lifecycle
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        problem = "; ".join(self._bad_parameters.values()) or self._check_all_parameters()
        weights = self._param("weights")
        if problem is None and not weights:
            problem = "parameter 'weights' is empty: give the path of a MixFormerV2 weights file"
        if problem is None:
            try:
                self._tracker = MultiTargetTracker.from_checkpoint(
                    weights,
                    variant=self._param("variant") or None,
                    device=self._param("device"),
                    backend=self._param("backend"),
                    precision=self._param("precision") or None,
                    backend_options=self._backend_options(),
                    color_order=self._param("color_order"),
                    **tracker_overrides(self._param),  # None for every unset one: the core resolves it
                )
                self._tracker.warm_up()  # the first frames after an init then run at full rate
            except Exception as error:  # noqa: BLE001 - any load failure must fail the transition, not the process
                problem = f"cannot load the tracker from '{weights}': {error}"
        if problem is not None:
            self._failure = f"configure failed: {problem}"
            self.get_logger().error(self._failure)
            return TransitionCallbackReturn.FAILURE
        self._failure = None
        self._create_outputs()
        self._state_label = "inactive"
        config = self._tracker.config
        settings = ", ".join(f"{key} {value}" for key, value in self.tracker_settings().items())
        self.get_logger().info(
            f"loaded {weights} (embed {config.embed_dim}, depth {config.depth}, search {config.search_size}px) "
            f"on {self._param('device')} with backend {self._param('backend')}; tracker: {settings}")
        notice = demo_weights_warning(weights)  # the node cannot tell generated input from a real camera
        if notice:
            self.get_logger().warning(notice)
        return TransitionCallbackReturn.SUCCESS

    @property
    def model_loaded(self) -> bool:
        """Whether a model is loaded (configured, until cleanup)."""
        return self._tracker is not None

    def last_results(self) -> dict:
        """Target id -> its latest ``TrackResult`` (the init box until its first frame)."""
        with self._tracker_lock:
            tracker = self._tracker
            if tracker is None:
                return {}
            return {target_id: tracker.last_result(target_id) for target_id in tracker.target_ids}

    def tracker_settings(self) -> dict[str, str]:
        """The tracker settings in use after resolution (also on /diagnostics as ``tracker.<name>``)."""
        with self._tracker_lock:
            params = self._tracker.params if self._tracker is not None else None
        if params is None:
            return {}
        return {name: str(getattr(params, name)) for name in COMMAND_SETTINGS + STATE_SETTINGS}

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        try:
            self._frames = FrameRingBuffer(self._param("frame_buffer_size"))
            self._create_inputs()
        except Exception as error:  # noqa: BLE001
            self._failure = f"activate failed: {error}"
            self.get_logger().error(self._failure)
            self._destroy_inputs()
            return TransitionCallbackReturn.FAILURE
        self._active = True
        self._worker = threading.Thread(target=self._work, name="mixformerv2_worker", daemon=True)
        self._worker.start()
        self._state_label = "active"
        super().on_activate(state)  # enables the lifecycle publishers
        self.get_logger().info(f"active: tracking frames from {self._image_topic()} "
                               f"({self._param('image_transport')})")
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._stop_worker()
        self._destroy_inputs()
        self._state_label = "inactive"
        return super().on_deactivate(state)  # disables the lifecycle publishers

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self._release()
        self._state_label = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self._teardown()
        self._state_label = "finalized"
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: State) -> TransitionCallbackReturn:
        self._teardown()
        self._state_label = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def _teardown(self) -> None:
        self._stop_worker()
        self._destroy_inputs()
        self._release()

    def _release(self) -> None:
        with self._tracker_lock:
            self._tracker = None
            self._frame_size = None
        destroy = getattr(self, "destroy_lifecycle_publisher", self.destroy_publisher)
        for publisher in self._outputs.values():
            destroy(publisher)
        self._outputs = {}
        if self._reset_service is not None:
            self.destroy_service(self._reset_service)
            self._reset_service = None

    # ----------------------------------------------------------------------------------------------------
    # topics
    def _image_topic(self) -> str:
        """The fully resolved (remapped) name of ``image``; the compressed and mouse topics derive from it."""
        return self.resolve_topic_name("image")  # applies remappings (rclpy has it since Humble)

    def _image_qos(self) -> QoSProfile:
        reliability = (ReliabilityPolicy.RELIABLE if self._param("qos_reliability") == "reliable"
                       else ReliabilityPolicy.BEST_EFFORT)
        return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=self._param("qos_depth"), reliability=reliability)

    def _create_outputs(self) -> None:
        """Lifecycle publishers (enabled on activate, disabled on deactivate), as ros2/demos lifecycle_py."""
        create = getattr(self, "create_lifecycle_publisher", self.create_publisher)
        self._outputs = {
            "detections": create(Detection2DArray, "~/detections", 10),
            "detection": create(Detection2D, "~/detection", 10),
            "debug_image": create(Image, "~/debug_image", 1),
        }
        self._reset_service = self.create_service(Trigger, "~/reset", self._on_reset, callback_group=self._io_group)

    def _create_inputs(self) -> None:
        image_topic = self._image_topic()
        if self._param("image_transport") == "compressed":
            image_sub = self.create_subscription(CompressedImage, image_topic + "/compressed", self._on_image,
                                                 self._image_qos(), callback_group=self._io_group)
        else:
            image_sub = self.create_subscription(Image, image_topic, self._on_image, self._image_qos(),
                                                 callback_group=self._io_group)
        mouse_topic = self._param("mouse_topic") or image_topic + "_mouse_left"
        self._clicks.reset()
        self._inputs = [
            image_sub,
            self.create_subscription(Detection2D, "~/init", self._on_init, 10, callback_group=self._io_group),
            self.create_subscription(Point, mouse_topic, self._on_click, 10, callback_group=self._io_group),
        ]

    def _destroy_inputs(self) -> None:
        for subscription in self._inputs:
            self.destroy_subscription(subscription)
        self._inputs = []

    # ----------------------------------------------------------------------------------------------------
    # input callbacks (short: they never run the model)
    def _callback_failed(self, name: str, error: BaseException) -> None:
        try:
            self.problems.report("callback_error", f"{name} failed: {type(error).__name__}: {error}")
        except Exception:  # noqa: BLE001 - even reporting can fail under memory pressure; stay alive regardless
            pass

    @_guarded
    def _on_image(self, msg) -> None:
        self.stats.received_frame(stamp_to_ns(msg.header.stamp))
        try:  # before buffering: the ring buffer may not hold frame_buffer_size oversized messages
            check_message_size(msg, self._param("max_image_side"))
        except ImageConversionError as error:
            self.stats.count("bad")
            self.problems.report(error.reason, f"frame skipped: {error}")
            return
        self._frames.push(msg)
        with self._mailbox_ready:
            if self._mailbox is not None:
                self.stats.count("dropped")
            self._mailbox = (msg, time.monotonic())
            self._mailbox_ready.notify()

    def _decode(self, msg):
        color_order, max_side = self._param("color_order"), self._param("max_image_side")
        if isinstance(msg, CompressedImage):
            return compressed_to_frame(msg, color_order, max_side)
        return image_to_frame(msg, color_order, max_side)

    @_guarded
    def _on_init(self, msg: Detection2D) -> None:
        try:
            request = init_request_from_detection(msg)
        except ValueError as error:
            self.problems.report("bad_init", f"init ignored: {error}")
            return
        if request.box_xywh is None:
            with self._tracker_lock:
                removed = self._tracker is not None and self._tracker.remove(request.target_id)
            self.get_logger().info(f"target '{request.target_id}' " + ("removed" if removed else "was not tracked"))
            return
        frame_msg, exact = self._frames.find(msg.header.stamp)
        if frame_msg is None:
            self.problems.report("init_before_image", f"init of '{request.target_id}' ignored: no image received yet")
            return
        self._start_target(request.target_id, frame_msg, request.box_xywh,
                           "the frame with the same stamp" if exact else "the latest frame (no frame with its stamp)")

    @_guarded
    def _on_click(self, msg: Point) -> None:
        try:
            box = self._clicks.click(msg.x, msg.y)
        except ValueError as error:
            self.problems.report("bad_click", f"click ignored: {error}")
            return
        if box is None:
            self.get_logger().info(f"first corner at ({msg.x:.0f}, {msg.y:.0f}); click the opposite corner")
            return
        frame_msg = self._frames.latest()
        if frame_msg is None:
            self.problems.report("init_before_image", "click box ignored: no image received yet")
            return
        self._start_target(self._param("click_target_id"), frame_msg, box, "the latest frame (mouse clicks)")

    def _start_target(self, target_id: str, frame_msg, box_xywh, source: str) -> None:
        try:
            frame = self._decode(frame_msg)
        except ImageConversionError as error:
            self.problems.report(error.reason, f"init of '{target_id}' ignored: {error}")
            return
        height, width = frame.shape[:2]
        box = intersect_with_image(box_xywh, height, width)
        try:
            check_box_size(target_id, box_xywh[2], box_xywh[3])  # as given (clicks), then what lies inside
            if box is None:
                raise ValueError(f"init box {tuple(round(v, 1) for v in box_xywh)} of '{target_id}' lies outside "
                                 f"the {width}x{height} image")
            check_box_size(target_id, box[2], box[3])
        except ValueError as error:
            self.problems.report("bad_init", f"init ignored: {error}")
            return
        if box != tuple(float(v) for v in box_xywh):
            source += ", clipped to the image"
        with self._tracker_lock:
            if self._tracker is None:
                self.problems.report("not_configured", f"init of '{target_id}' ignored: no model loaded")
                return
            if target_id not in self._tracker.target_ids and len(self._tracker) >= self._param("max_targets"):
                self.problems.report(
                    "too_many_targets",
                    f"init of '{target_id}' ignored: already tracking max_targets={self._param('max_targets')}")
                return
            self._adopt_frame_size((height, width))
            try:
                result = self._tracker.add(target_id, frame, box)
            except ValueError as error:
                self.problems.report("bad_init", f"init of '{target_id}' ignored: {error}")
                return
        x, y, w, h = result.box
        self.get_logger().info(f"tracking '{target_id}' from box x={x:.1f} y={y:.1f} w={w:.1f} h={h:.1f} "
                               f"on {source}")

    def _adopt_frame_size(self, size: tuple[int, int]) -> None:
        """Called under the tracker lock with the size of the frame about to be used: a different size than
        the targets' drops them (their boxes are in the old image's pixels) with a warning.
        """
        previous, self._frame_size = self._frame_size, size
        if previous is None or previous == size or self._tracker is None or not len(self._tracker):
            return
        count = len(self._tracker)
        self._tracker.reset()
        self._clicks.reset()
        self.problems.report(
            "resolution_changed", f"image size changed from {previous[1]}x{previous[0]} to {size[1]}x{size[0]}: "
                                  f"{count} target(s) dropped; initialise them again")

    def _on_reset(self, request, response):
        try:
            with self._tracker_lock:
                count = len(self._tracker) if self._tracker is not None else 0
                if self._tracker is not None:
                    self._tracker.reset()
            self._clicks.reset()
            response.success = True
            response.message = f"removed {count} target(s)"
            self.get_logger().info(response.message)
        except Exception as error:  # noqa: BLE001 - the boundary, as in _guarded, but the caller needs a reply
            self._callback_failed("_on_reset", error)
            response.success = False
            response.message = f"reset failed: {type(error).__name__}: {error}"
        return response

    # ----------------------------------------------------------------------------------------------------
    # worker: newest frame -> one batched tracker step -> outputs
    def _work(self) -> None:
        while True:
            with self._mailbox_ready:
                while self._mailbox is None and self._active:
                    self._mailbox_ready.wait(timeout=0.5)
                if not self._active:
                    return
                msg, received_at = self._mailbox
                self._mailbox = None
            try:
                self._process(msg, received_at)
            except Exception as error:  # noqa: BLE001 - a frame must never take the node down (MemoryError too)
                try:
                    self.stats.count("bad")
                    self.problems.report("processing_error", f"frame skipped: {type(error).__name__}: {error}")
                except Exception:  # noqa: BLE001
                    pass

    def stop(self) -> None:
        """Stops the worker thread (waits at most WORKER_JOIN_TIMEOUT_S); call before destroy_node()."""
        self._stop_worker()

    def _stop_worker(self) -> None:
        self._active = False
        with self._mailbox_ready:
            self._mailbox = None
            self._mailbox_ready.notify_all()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(timeout=WORKER_JOIN_TIMEOUT_S)
        self._worker = None

    def _process(self, msg, received_at: float) -> None:
        try:
            frame = self._decode(msg)
        except ImageConversionError as error:
            self.stats.count("bad")
            self.problems.report(error.reason, f"frame skipped: {error}")
            return
        with self._tracker_lock:
            tracker = self._tracker
            if tracker is None:
                return
            self._adopt_frame_size(frame.shape[:2])
            results = tracker.track(frame) if len(tracker) else {}
        self._count_state_events(results.values())
        array = detections_from_results(msg.header, results.values(), self._param("label"))
        publishers = self._outputs
        if not publishers:
            return
        publishers["detections"].publish(array)
        if array.detections:
            publishers["detection"].publish(array.detections[0])
        self.stats.processed_frame(time.monotonic() - received_at)
        debug = publishers["debug_image"]
        if debug.get_subscription_count() > 0:
            color_order = self._param("color_order")
            canvas = draw_targets(frame, results.values(), self._param("debug_image_scale"),
                                  color_order)
            debug.publish(frame_to_image(canvas, msg.header, color_order))
            self.stats.count("debug_images")

    # ----------------------------------------------------------------------------------------------------
    def _backend_options(self) -> dict:
        """The commands' one check of backend, precision, threads and bundle (InputError fails configure)."""
        threads = self._param("backend_threads") or None
        bundle = check_backend_choice(self._param("backend"), self._param("precision") or None,
                                      bundle=self._param("onnx_bundle_dir") or None, threads=threads)
        return {key: value for key, value in (("threads", threads), ("bundle_dir", bundle)) if value is not None}

    def _count_state_events(self, results) -> None:
        """Counts targets turning lost and being re-acquired (reported on /diagnostics)."""
        previous, self._last_states = self._last_states, {r.target_id: r.state for r in results}
        for target_id, state in self._last_states.items():
            before = previous.get(target_id, TargetState.TRACKING)  # a new target starts tracking its init box
            if state is TargetState.LOST and before is not TargetState.LOST:
                self.stats.count("lost_events")
            elif state is TargetState.REACQUIRED and before is not TargetState.REACQUIRED:
                self.stats.count("reacquired_events")

    @_guarded
    def _publish_diagnostics(self) -> None:
        with self._tracker_lock:
            tracker = self._tracker
            results = [tracker.last_result(target_id) for target_id in tracker.target_ids] if tracker else []
            targets = [(str(result.target_id), result.state.value, result.score) for result in results]
        extra = {f"tracker.{name}": value for name, value in self.tracker_settings().items()}
        self._diagnostics_pub.publish(build_diagnostics(
            self.get_clock().now().to_msg(), f"{self.get_name()}: tracking", self.get_fully_qualified_name(),
            self._state_label, self.stats, self.problems, targets, self._failure,
            self._param("loss_warn_share"), extra))


def main(args: Optional[list] = None, exit_process: bool = True) -> int:
    """Entry point of ``ros2 run mixformerv2_ros tracking_node`` and ``mixformerv2-tracking-node``.

    Malformed ``--ros-args`` end the command (``prog: error: ...``, exit 2); bad parameter values and weights
    that cannot be loaded leave the node running, unconfigured, with the reason in its log and on
    ``/diagnostics`` (it can be reconfigured). After the node is destroyed and rclpy is shut
    down, the process ends at once (``exit_process``): the interpreter's own teardown of torch takes seconds
    on a busy CPU (2.3 s measured here), which would eat launch's 5 s SIGINT grace period for nothing.
    """
    return run_command(PROG, lambda: _serve(args, exit_process))


def _serve(args: Optional[list], exit_process: bool) -> int:
    init_ros(args)
    favour_executor_threads()
    watchdog = TeardownWatchdog(rclpy.get_default_context(), PROG) if exit_process else None
    try:
        _spin_node()
    except BaseException:
        if watchdog is not None:
            watchdog.disarm()
        raise  # an unexpected error keeps its traceback and exit status
    _leave(exit_process)
    return 0


def _spin_node() -> None:
    try:
        node = TrackingNode()  # with autostart this loads the model: SIGINT may come meanwhile
    except KeyboardInterrupt:
        rclpy.try_shutdown()
        return
    executor = ResilientMultiThreadedExecutor(num_threads=3)  # deactivate destroys subscriptions mid-spin
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass  # SIGINT / SIGTERM: leave quickly, well inside launch's grace period
    finally:
        node.stop()
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.try_shutdown()


def _leave(exit_process: bool) -> None:
    if exit_process:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
