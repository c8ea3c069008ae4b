"""Records a tracking node's Detection2DArray stream from its own process: one JSON line per message.

The system tests start it as a third process beside the node and the camera, so the node's output is seen
as any consumer on the robot sees it (across DDS, reliable, deep queue so that nothing is dropped here).
It prints ``recording`` once a publisher is matched and runs until SIGINT/SIGTERM. With ``--diagnostics`` it
also keeps the frame counters of the node's latest /diagnostics status (what reached the node, what it dropped
as busy) in a JSON file, so a test can tell transport losses from frames the node skipped.

    python test/system/recorder.py --topic /ns/mixformerv2_tracker/detections --out detections.jsonl \
        [--diagnostics counters.json]
"""
from __future__ import annotations

import argparse
import json
import signal
import time

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from diagnostic_msgs.msg import DiagnosticArray
from vision_msgs.msg import Detection2DArray


def _stamp_ns(header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def _record(msg: Detection2DArray) -> dict:
    detections = []
    for detection in msg.detections:
        cx, cy = detection.bbox.center.position.x, detection.bbox.center.position.y
        w, h = detection.bbox.size_x, detection.bbox.size_y
        hypothesis = detection.results[0].hypothesis if detection.results else None
        detections.append({
            "id": detection.id, "stamp_ns": _stamp_ns(detection.header), "frame_id": detection.header.frame_id,
            "box": [cx - w / 2.0, cy - h / 2.0, w, h],
            "class_id": hypothesis.class_id if hypothesis else None,
            "score": hypothesis.score if hypothesis else None,
        })
    return {"stamp_ns": _stamp_ns(msg.header), "frame_id": msg.header.frame_id, "received_ns": time.time_ns(),
            "detections": detections}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topic", required=True, help="vision_msgs/Detection2DArray topic")
    parser.add_argument("--out", required=True, help="JSON lines file to write")
    parser.add_argument("--diagnostics", help="JSON file for the node's latest frames_* diagnostics counters")
    args = parser.parse_args()
    node_name = args.topic.rsplit("/", 1)[0]  # the node publishes its status with its full name as hardware_id

    stopping = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.append(True))
    context = rclpy.Context()
    rclpy.init(context=context, signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("detection_recorder", context=context)
    with open(args.out, "w", encoding="utf-8") as out:
        def on_array(msg: Detection2DArray) -> None:
            out.write(json.dumps(_record(msg)) + "\n")
            out.flush()

        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000, reliability=ReliabilityPolicy.RELIABLE)
        node.create_subscription(Detection2DArray, args.topic, on_array, qos)

        def on_diagnostics(msg: DiagnosticArray) -> None:
            for status in msg.status:
                if status.hardware_id == node_name:
                    counters = {kv.key: kv.value for kv in status.values if kv.key.startswith("frames_")}
                    with open(args.diagnostics, "w", encoding="utf-8") as handle:
                        json.dump(counters, handle)

        if args.diagnostics:
            node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 100)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        announced = False
        while not stopping:
            executor.spin_once(timeout_sec=0.05)
            if not announced and node.count_publishers(args.topic) > 0:
                print("recording", flush=True)
                announced = True
        executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown(context=context)


if __name__ == "__main__":
    main()
