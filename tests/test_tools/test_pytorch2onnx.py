"""tools/deployment/pytorch2onnx.py as a user runs it."""
import os.path as osp
import subprocess
import sys

import pytest
import torch

pytest.importorskip('onnxruntime')
arcface_onnx = pytest.importorskip('insightface.model_zoo.arcface_onnx')

CONFIG = ('configs/berl/berl-stage1_iresnet18_curricularface_1xb16-3e_'
          'synthetic-faces.py')
OPTS = ['--cfg-options', 'model.backbone.arch=[1,1,1,1]']


def test_pytorch2onnx_cli(tmp_path, repo_root, subprocess_env):
    from facessl.deployment import (build_embedding_net, build_model,
                                    cosine_rows, faces_to_input,
                                    reference_faces)
    cfg = osp.join(repo_root, CONFIG)
    opts = {'model.backbone.arch': [1, 1, 1, 1]}
    ckpt = str(tmp_path / 'epoch_3.pth')
    torch.save({'state_dict': build_model(cfg, opts).state_dict()}, ckpt)
    out, pt = str(tmp_path / 'onnx' / 'r.onnx'), str(tmp_path / 'r.pt')
    pt2 = str(tmp_path / 'r.pt2')
    proc = subprocess.run(
        [sys.executable, 'tools/deployment/pytorch2onnx.py', CONFIG, ckpt,
         '--out', out, '--torchscript', pt, '--exported-program', pt2]
        + OPTS,
        cwd=repo_root, env=subprocess_env, capture_output=True, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "['batch', 3, 112, 112]" in proc.stdout
    assert "output embedding ['batch', 512]" in proc.stdout
    assert 'onnxruntime vs PyTorch on 4 real face crops' in proc.stdout
    faces = reference_faces(2)
    net = build_embedding_net(cfg, ckpt, cfg_options=opts)
    with torch.no_grad():
        want = net(faces_to_input(faces))
        torch.testing.assert_close(
            torch.jit.load(pt)(faces_to_input(faces)), want)
        torch.testing.assert_close(
            torch.export.load(pt2).module()(faces_to_input(faces)), want)
    got = arcface_onnx.ArcFaceONNX(model_file=out).get_feat(faces)
    assert cosine_rows(got, want.numpy()).min() >= 0.999

    missing = subprocess.run(
        [sys.executable, 'tools/deployment/pytorch2onnx.py', CONFIG,
         str(tmp_path / 'nope.pth'), '--out', out],
        cwd=repo_root, env=subprocess_env, capture_output=True, text=True,
        timeout=600)
    assert missing.returncode != 0
    assert 'nope.pth does not exist' in missing.stderr
