"""Data-parallel training with torchrun (gloo on CPU): two ranks of batch 8 end with the same weights as one
process of batch 16, because each step's samples are the same 16 and DDP averages the gradients. (The student
has only LayerNorms; a teacher's corner-head BatchNorms see each rank's own batch, as usual without SyncBN.)
"""
import os
import subprocess
import sys

from mixformerv2_core import load_model

COMMON = ["--config", "tiny_dense_to_sparse", "--threads", "1", "stage=student", "init.checkpoint=null",
          "data.samples_per_epoch=64", "data.num_workers=0", "train.epochs=1", "train.log_interval=1", "train.max_steps=3"]


def _train(args: list[str], output_dir, timeout: int = 300) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, *args, "--output-dir", str(output_dir)], env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]


def test_two_ranks_match_one_process_with_the_combined_batch(tmp_path):
    _train(["-m", "mixformerv2_training.cli", *COMMON, "data.batch_size=16"], tmp_path / "single")
    _train(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "mixformerv2_training.cli",
            *COMMON, "data.batch_size=8"], tmp_path / "ddp")
    single = load_model(str(tmp_path / "single" / "final.pt")).state_dict()
    ddp = load_model(str(tmp_path / "ddp" / "final.pt")).state_dict()
    differences = {k: (single[k] - ddp[k]).abs().max().item() for k in single}
    assert max(differences.values()) < 1e-4, sorted(differences.items(), key=lambda kv: kv[1])[-3:]
    assert (tmp_path / "ddp" / "log.jsonl").read_text().count("\n") == 3  # only rank 0 logs, once per step
