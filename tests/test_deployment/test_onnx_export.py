"""ONNX export in insightface's layout: parity with PyTorch and with
insightface's own loader, for every recognition backbone."""
import numpy as np
import pytest
import torch

from facessl.deployment import (build_embedding_net, cosine_rows,
                                embedding_net, export_onnx, export_program,
                                export_torchscript, faces_to_input,
                                insightface_layout, onnx_parity,
                                reference_faces)
from facessl.registry import MODELS

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')
arcface_onnx = pytest.importorskip('insightface.model_zoo.arcface_onnx')

PRE = dict(type='ClsDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3,
           to_rgb=True)
TINY = dict(embed_dims=64, num_layers=2, num_heads=2,
            feedforward_channels=128)
BACKBONES = {
    'vit': (dict(type='FastVisionTransformer', arch=TINY, img_size=112,
                 patch_size=16, out_type='cls_token'), None, 64),
    'part_fvit': (dict(type='PartFViT', arch=TINY, num_landmarks=49,
                       landmark_cnn=dict(type='LandmarkCNN',
                                         num_landmarks=49)), None, 64),
    'iresnet': (dict(type='IResNet', arch=[1, 1, 1, 1], embed_dims=128,
                     out_indices=(2, 4)), None, 128),
    'resnet': (dict(type='ResNet', depth=18, stem_channels=16,
                    base_channels=16), dict(type='GlobalAveragePooling'),
               128),
}


def recognizer(name):
    """A tiny FaceRecognizer with random weights."""
    backbone, neck, dim = BACKBONES[name]
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='FaceRecognizer', data_preprocessor=PRE, backbone=backbone,
        neck=neck, head=dict(type='CosFaceHead', num_classes=4,
                             in_channels=dim)))
    return model.eval()


@pytest.fixture(scope='module')
def faces():
    return reference_faces(4)


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_onnx_matches_pytorch_and_insightface(name, faces, tmp_path):
    model = recognizer(name)
    net = embedding_net(model)
    x = faces_to_input(faces)
    # the exported network is the embedding predict() gives the metrics
    with torch.no_grad():
        feats = torch.stack([s.feat for s in model.predict(x)])
        torch.testing.assert_close(net(x), feats)
    path = str(tmp_path / f'{name}.onnx')
    info = export_onnx(net, path)  # traced with a batch of 2
    assert info['input_shape'] == ['batch', 3, 112, 112]
    assert info['output_shape'] == ['batch', BACKBONES[name][2]]
    cos = onnx_parity(net, path, x)  # a batch of 4: the batch is dynamic
    assert cos.shape == (4, ) and cos.min() >= 0.9999
    # insightface's own loader: BGR uint8 crops in, its normalisation
    rec = arcface_onnx.ArcFaceONNX(model_file=path)
    assert (rec.input_mean, rec.input_std) == (127.5, 127.5)
    assert rec.input_size == (112, 112)
    got = rec.get_feat(faces)
    assert got.shape == (4, BACKBONES[name][2])
    # facessl's own path: BGR uint8 crops -> data preprocessor -> predict
    bgr = torch.from_numpy(np.stack(faces)).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=list(bgr)), False)
        ours = torch.stack([s.feat for s in model.predict(data['inputs'])])
    assert cosine_rows(got, ours.numpy()).min() >= 0.999
    one = rec.get_feat(faces[0])  # a single image too
    assert cosine_rows(one, feats[:1].numpy())[0] >= 0.999


def test_teacher_student_exports_the_teacher(faces, tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='DINO',
        data_preprocessor=dict(type='SelfSupDataPreprocessor',
                               mean=[127.5] * 3, std=[127.5] * 3,
                               to_rgb=True),
        backbone=BACKBONES['vit'][0],
        head=dict(type='DINOHead', in_channels=64, out_dim=32,
                  hidden_dim=32, bottleneck_dim=16),
        loss=dict(type='DINOLoss', out_dim=32))).eval()
    with torch.no_grad():  # teacher and student differ
        for p in model.teacher.parameters():
            p.add_(0.05 * torch.randn_like(p))
    x = faces_to_input(faces)
    teacher = torch.stack([s.feat for s in model.predict(x)])
    net, student = embedding_net(model), embedding_net(model, 'student')
    with torch.no_grad():
        torch.testing.assert_close(net(x), teacher)
        assert not torch.allclose(student(x), teacher)
    path = str(tmp_path / 'dino.onnx')
    export_onnx(net, path)
    got = arcface_onnx.ArcFaceONNX(model_file=path).get_feat(faces)
    assert cosine_rows(got, teacher.numpy()).min() >= 0.999
    with pytest.raises(ValueError, match='has no teacher'):
        embedding_net(recognizer('iresnet'), 'student')


def test_input_adapter_reproduces_another_preprocessor(faces):
    """A model trained on BGR with ImageNet statistics still takes
    insightface's RGB input."""
    torch.manual_seed(0)
    mean, std = [103.5, 116.3, 123.7], [57.4, 57.1, 58.4]
    model = MODELS.build(dict(
        type='FaceRecognizer',
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=mean,
                               std=std, to_rgb=False),
        backbone=BACKBONES['iresnet'][0],
        head=dict(type='CosFaceHead', num_classes=4,
                  in_channels=128))).eval()
    bgr = torch.from_numpy(np.stack(faces)).permute(0, 3, 1, 2).float()
    data = model.data_preprocessor(dict(inputs=list(bgr)), False)
    with torch.no_grad():
        want = torch.stack([s.feat for s in model.predict(data['inputs'])])
    net = embedding_net(model)
    assert net.adapter is not None and net.adapter.bgr
    x = faces_to_input(faces)
    with torch.no_grad():
        got, unadapted = net(x), net.backbone(x)[-1]
    assert cosine_rows(got.numpy(), want.numpy()).min() > 0.99999
    assert cosine_rows(unadapted.numpy(), want.numpy()).min() < 0.99
    assert embedding_net(recognizer('iresnet')).adapter is None


def test_mxnet_like_node_names_are_renamed(tmp_path):
    """ArcFaceONNX feeds raw pixels to graphs whose first nodes are named
    Sub*/Mul*; the exporter's names never trigger it."""
    path = str(tmp_path / 'net.onnx')
    net = embedding_net(recognizer('resnet'))
    export_onnx(net, path)
    model = onnx.load(path)
    model.graph.node[0].name, model.graph.node[1].name = 'Sub_0', 'Mul_1'
    onnx.save(model, path)
    assert arcface_onnx.ArcFaceONNX(model_file=path).input_mean == 0.0
    with pytest.raises(ValueError, match='MXNet'):
        insightface_layout(path)
    from facessl.deployment.onnx_export import _rename_mxnet_lookalikes
    assert _rename_mxnet_lookalikes(model) == 2
    onnx.save(model, path)
    assert arcface_onnx.ArcFaceONNX(model_file=path).input_mean == 127.5
    assert insightface_layout(path)['input_mean'] == 127.5


def test_torchscript_keeps_a_dynamic_batch(faces, tmp_path):
    net = embedding_net(recognizer('part_fvit'))
    path = str(tmp_path / 'net.pt')
    export_torchscript(net, path)
    traced = torch.jit.load(path)
    x = faces_to_input(faces[:3])
    with torch.no_grad():
        torch.testing.assert_close(traced(x), net(x))


def test_torch_export_program_keeps_a_dynamic_batch(faces, tmp_path):
    net = embedding_net(recognizer('resnet'))
    path = str(tmp_path / 'net.pt2')
    export_program(net, path)
    program = torch.export.load(path).module()
    for x in (faces_to_input(faces[:1]), faces_to_input(faces[:3])):
        with torch.no_grad():
            torch.testing.assert_close(program(x), net(x))


def test_export_loads_checkpoints_strictly(tmp_path, repo_root):
    from facessl.deployment import build_model
    cfg = (f'{repo_root}/configs/berl/berl-stage1_iresnet18_'
           'curricularface_1xb16-3e_synthetic-faces.py')
    opts = {'model.backbone.arch': [1, 1, 1, 1]}
    path = str(tmp_path / 'ckpt.pth')
    state = build_model(cfg, opts).state_dict()
    torch.save({'state_dict': state, 'meta': {}}, path)
    assert build_embedding_net(cfg, path, cfg_options=opts).backbone
    head = [k for k in state if k.startswith('head.')]
    torch.save({'state_dict': {k: v for k, v in state.items()
                               if k not in head}}, path)
    with pytest.raises(KeyError, match=rf'ckpt.pth does not match '
                       rf"FaceRecognizer: missing \['{head[0]}'"):
        build_embedding_net(cfg, path, cfg_options=opts)
    other = recognizer('iresnet')  # another embedding size
    torch.save({'state_dict': other.state_dict()}, path)
    with pytest.raises(ValueError, match='ckpt.pth does not fit'):
        build_embedding_net(cfg, path, cfg_options=opts)
