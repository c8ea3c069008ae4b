"""Start, remove or reset targets of a running tracking node from a shell, without a GUI.

    mixformerv2-init --id person --box 280,160,80,160          # x,y,w,h in image pixels
    mixformerv2-init --remove person
    mixformerv2-init --reset
    mixformerv2-init --node /robot1/mixformerv2_tracker --id 0 --box 10,20,30,40
    ros2 run mixformerv2_ros init --id person --box 280,160,80,160

The init message is a stamped ``vision_msgs/Detection2D`` (stamp now, unless --stamp gives one: the node starts
the target on the frame with that stamp, or on its latest frame). The command waits until the node's ``~/init``
subscription matches and the node acknowledged the message (reliable QoS), and fails with exit status 2 when
nothing listens within --timeout.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Optional, Sequence

from mixformerv2_core.cli.runner import run_command
from mixformerv2_core.errors import MixFormerV2Error

DEFAULT_NODE = "/mixformerv2_tracker"


class InitToolError(MixFormerV2Error, RuntimeError):
    """A request that could not be delivered (no node listening, service failed)."""


def parse_box(text: str) -> tuple[float, float, float, float]:
    """'x,y,w,h' -> floats; width and height must be positive and every value finite."""
    parts = text.split(",")
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"box '{text}' is not four numbers x,y,w,h") from None
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"box '{text}' has {len(values)} values, expected x,y,w,h")
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"box '{text}' has a non-finite value")
    if values[2] <= 0 or values[3] <= 0:
        raise argparse.ArgumentTypeError(f"box '{text}' needs a positive width and height")
    return values  # type: ignore[return-value]


def parse_stamp(text: str) -> tuple[int, int]:
    """'SEC.NANOSEC' or 'SEC' (an image header's stamp) -> (sec, nanosec)."""
    sec, _, nanosec = text.partition(".")
    try:
        values = int(sec), int(nanosec.ljust(9, "0")[:9]) if nanosec else 0
    except ValueError:
        raise argparse.ArgumentTypeError(f"stamp '{text}' is not SEC or SEC.NANOSEC") from None
    if values[0] < 0:
        raise argparse.ArgumentTypeError(f"stamp '{text}' is negative")
    return values


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"timeout must be positive, got '{text}'")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixformerv2-init", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:8]))
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--box", type=parse_box, metavar="X,Y,W,H", help="start (or restart) target --id here")
    action.add_argument("--remove", metavar="ID", help="stop tracking this target (a zero-size box)")
    action.add_argument("--reset", action="store_true", help="drop every target (the node's ~/reset service)")
    parser.add_argument("--id", default="0", help="target id for --box (default: 0)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--node", default=DEFAULT_NODE, help=f"the tracking node's full name (default {DEFAULT_NODE})")
    where.add_argument("--topic", help="init topic, instead of <node>/init (not with --reset)")
    parser.add_argument("--stamp", type=parse_stamp, metavar="SEC[.NANOSEC]",
                        help="header stamp of the frame the box belongs to (default: now)")
    parser.add_argument("--frame-id", default="", help="header.frame_id of the message")
    parser.add_argument("--timeout", type=positive_seconds, default=5.0,
                        help="seconds to wait for the node (default 5)")
    return parser


def _node_name(name: str) -> str:
    return "/" + name.strip("/")


def send_init(node, topic: str, detection, timeout: float) -> None:
    """Publishes ``detection`` once the node's subscription matched; waits for its acknowledgement (each wait
    has ``timeout``: on a busy machine discovery alone can take most of it).
    """
    from rclpy.duration import Duration
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from vision_msgs.msg import Detection2D

    publisher = node.create_publisher(Detection2D, topic, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    deadline = time.monotonic() + timeout
    while publisher.get_subscription_count() == 0:
        if time.monotonic() > deadline:
            raise InitToolError(f"nothing subscribes to {topic} (waited {timeout:g} s): is the tracking node "
                                "running and active, and is --node/--topic its name?")
        time.sleep(0.02)
    publisher.publish(detection)
    if not publisher.wait_for_all_acked(Duration(seconds=timeout)):
        raise InitToolError(f"the subscriber of {topic} did not acknowledge the message within {timeout:g} s")


def call_reset(node, service: str, timeout: float) -> str:
    """Calls the node's std_srvs/Trigger reset; returns its message."""
    import rclpy
    from std_srvs.srv import Trigger

    client = node.create_client(Trigger, service)
    if not client.wait_for_service(timeout_sec=timeout):
        raise InitToolError(f"service {service} is not available (waited {timeout:g} s): is the tracking node "
                            "running and configured, and is --node its name?")
    future = client.call_async(Trigger.Request())
    rclpy.spin_until_future_complete(node, future, timeout_sec=timeout)
    if not future.done():
        raise InitToolError(f"{service} did not answer within {timeout:g} s")
    response = future.result()
    if not response.success:
        raise InitToolError(f"{service} refused: {response.message}")
    return response.message


def run(args: argparse.Namespace, ros_args: Sequence[str]) -> str:
    """Does what ``args`` ask; returns a line for the user. Raises InitToolError when nothing was delivered."""
    import rclpy
    from std_msgs.msg import Header

    from .detection_messages import detection_from_box
    from .ros_args import init_ros

    init_ros(["mixformerv2-init", *ros_args])
    try:
        node = rclpy.create_node("mixformerv2_init", start_parameter_services=False)
        try:
            if args.reset:
                message = call_reset(node, _node_name(args.node) + "/reset", args.timeout)
                return f"reset {_node_name(args.node)}" + (f": {message}" if message else "")
            topic = args.topic or _node_name(args.node) + "/init"
            header = Header(frame_id=args.frame_id)
            if args.stamp is None:
                header.stamp = node.get_clock().now().to_msg()
            else:
                header.stamp.sec, header.stamp.nanosec = args.stamp
            if args.remove is not None:
                send_init(node, topic, detection_from_box(header, args.remove, (0.0, 0.0, 0.0, 0.0), 0.0, "init"),
                          args.timeout)
                return f"sent remove of '{args.remove}' to {topic}"
            send_init(node, topic, detection_from_box(header, args.id, args.box, 1.0, "init"), args.timeout)
            x, y, w, h = args.box
            return f"sent '{args.id}' box x={x:g} y={y:g} w={w:g} h={h:g} to {topic}"
        finally:
            node.destroy_node()
    finally:
        if rclpy.ok():
            rclpy.shutdown()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    raw = list(sys.argv[1:] if argv is None else argv)
    ros_args: list[str] = []
    if "--ros-args" in raw:  # ros2 run passes remappings etc. after --ros-args
        index = raw.index("--ros-args")
        raw, ros_args = raw[:index], raw[index:]
    args = parser.parse_args(raw)
    if args.reset and args.topic:
        parser.error("--reset calls <node>/reset; give --node, not --topic")
    return run_command(parser.prog, lambda: print(run(args, ros_args)))


if __name__ == "__main__":
    sys.exit(main())
