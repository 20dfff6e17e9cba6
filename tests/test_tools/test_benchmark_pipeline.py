"""benchmark_pipeline.py, gpu_check.sh, benchmark_official_dino.py: runs."""
import json
import os
import os.path as osp
import subprocess
import sys

from mmengine.config import Config

from facessl.models.utils.photometric_preprocessor import (
    per_image_view_pipeline, split_view_pipeline)

DINO_BASE = 'configs/_base_/datasets/synthetic_faces_dino.py'
DEMO = 'configs/dino/dino_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py'


def test_split_and_per_image_pipelines_are_inverse(repo_root):
    cfg = Config.fromfile(osp.join(repo_root, DINO_BASE))
    for per_image, group in [(cfg.global_pipeline1, cfg.global_photometric1),
                             (cfg.global_pipeline2, cfg.global_photometric2),
                             (cfg.local_pipeline, cfg.local_photometric)]:
        geometric, split = split_view_pipeline(per_image)
        assert [t['type'] for t in geometric] == ['RandomResizedCrop',
                                                 'RandomFlip']
        rebuilt = per_image_view_pipeline(geometric, split)
        assert rebuilt == [dict(t) for t in per_image]
        # the config's batched groups are the same recipe
        assert per_image_view_pipeline(geometric, group) == rebuilt


def test_benchmark_pipeline_reports_all_paths(repo_root, tmp_path,
                                              subprocess_env):
    out = tmp_path / 'pipe.json'
    proc = subprocess.run(
        [sys.executable,
         osp.join(repo_root, 'tools/analysis/benchmark_pipeline.py'),
         osp.join(repo_root, DEMO), '--images', '4', '--rounds', '2',
         '--batch-size', '2', '--device', 'cpu', '--json', str(out)],
        capture_output=True, text=True, env=subprocess_env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert set(res['img_per_s']) == {'per-image', 'batched worker',
                                     'mmpretrain', 'batched preprocessor'}
    assert all(len(v) == 2 and min(v) > 0 for v in res['runs'].values())
    assert res['batched_worker_vs_mmpretrain'] == (
        res['img_per_s']['batched worker'] / res['img_per_s']['mmpretrain'])
    assert 'batched worker / mmpretrain' in proc.stdout


def test_gpu_check_exits_cleanly_without_cuda(repo_root, subprocess_env):
    import torch
    if torch.cuda.is_available():
        import pytest
        pytest.skip('a CUDA device is present: run the script itself')
    env = dict(subprocess_env, PYTHON=sys.executable)
    proc = subprocess.run(
        ['bash', osp.join(repo_root, 'tools/analysis/gpu_check.sh')],
        capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0
    assert 'no CUDA device' in proc.stdout


FAKE_DINO = {
    # a stand-in with the API the tool uses (the real repository is a
    # local checkout the user gives; it is not part of facessl)
    'vision_transformer.py': '''
import torch
class ViT(torch.nn.Module):
    def __init__(self, patch_size=8, drop_path_rate=0.):
        super().__init__()
        self.proj = torch.nn.Conv2d(3, 384, patch_size, patch_size)
    def forward(self, x):
        return self.proj(x).mean((2, 3))
def vit_small(patch_size=8, drop_path_rate=0.):
    return ViT(patch_size, drop_path_rate)
class DINOHead(torch.nn.Linear):
    def __init__(self, dim, out_dim, norm_last_layer=True):
        super().__init__(dim, out_dim)
''',
    'utils.py': '''
import torch
class MultiCropWrapper(torch.nn.Module):
    def __init__(self, backbone, head):
        super().__init__()
        self.backbone, self.head = backbone, head
    def forward(self, crops):
        return torch.cat([self.head(self.backbone(c)) for c in crops])
def get_params_groups(model):
    return [{'params': list(model.parameters())}]
def clip_gradients(model, clip):
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
''',
    'main_dino.py': '''
import torch
class DINOLoss(torch.nn.Module):
    def __init__(self, out_dim, ncrops, *args):
        super().__init__()
    def forward(self, student, teacher, epoch):
        return (student.mean() - teacher.mean()) ** 2 + student.var()
''',
}


def test_official_dino_tool_alternates_rounds(repo_root, tmp_path,
                                              subprocess_env):
    repo = tmp_path / 'dino'
    repo.mkdir()
    for name, text in FAKE_DINO.items():
        (repo / name).write_text(text)
    out = tmp_path / 'official.json'
    env = dict(subprocess_env, MASTER_PORT=str(29500 + os.getpid() % 1000))
    proc = subprocess.run(
        [sys.executable,
         osp.join(repo_root, 'tools/analysis/benchmark_official_dino.py'),
         '--dino-repo', str(repo), '--config', 'none', '--batch', '1',
         '--steps', '1', '--rounds', '2', '--out-dim', '8', '--device',
         'cpu', '--json', str(out)],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert len(res['rounds']) == 2 and res['rounds'][0]['official'] > 0
    bad = subprocess.run(
        [sys.executable,
         osp.join(repo_root, 'tools/analysis/benchmark_official_dino.py'),
         '--dino-repo', str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode != 0 and 'main_dino.py' in bad.stderr


def test_lafs_paths(repo_root):
    """A LAFS config's paths, batched or per-image: the per-image one
    keeps two images per view, the batched worker one (with landmarks)
    and its preprocessor appends it; mmpretrain's has one per view."""
    import importlib.util

    import torch
    from mmengine.dataset import default_collate

    from facessl.datasets import SyntheticFaces
    from facessl.registry import MODELS
    spec = importlib.util.spec_from_file_location(
        'benchmark_pipeline',
        osp.join(repo_root, 'tools/analysis/benchmark_pipeline.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    face = SyntheticFaces(num_identities=1, images_per_identity=1,
                          img_size=112, seed=0, pipeline=[])[0]
    for path in ('configs/lafs/lafs_part-fvit-t_1xb16-coslr-2e_'
                 'synthetic-faces.py',
                 'configs/_base_/datasets/synthetic_faces_lafs.py'):
        cfg = Config.fromfile(osp.join(repo_root, path))
        per_image, worker, prep_cfg, mmpre = tool.build_paths(cfg)
        views = sum(cfg.train_dataloader.dataset.pipeline[0].num_views)
        assert len(per_image(tool.sample(face))['img']) == 2 * views
        crops = worker(tool.sample(face))
        assert len(crops['img']) == views
        assert crops['landmarks'].shape == (views, 68, 2)
        assert len(mmpre(tool.sample(face))['img']) == views
        assert prep_cfg['append_unaugmented']
        prep = MODELS.build(prep_cfg)
        batch = default_collate([[torch.from_numpy(
            v.transpose(2, 0, 1).copy()) for v in crops['img']]])
        out = prep(dict(inputs=batch, data_samples=None), training=True)
        assert len(out['inputs']) == 2 * views
