"""Raw-pixel features and per-query kNN correctness."""
import torch

from facessl.evaluation.baselines import raw_pixel_features
from facessl.evaluation.metrics.knn import knn_accuracy, knn_correct
from facessl.registry import DATASETS


def test_raw_pixel_features_are_the_normalised_images():
    dataset = DATASETS.build(
        dict(type='SyntheticFaces', num_identities=2, images_per_identity=2,
             img_size=16, pipeline=[dict(type='PackInputs')]))
    feats, labels = raw_pixel_features(dataset, batch_size=3)
    assert feats.shape == (4, 3 * 16 * 16)
    assert labels.tolist() == [int(dataset[i]['data_samples'].gt_label)
                               for i in range(4)]
    img = dataset[2]['inputs'].float()
    assert torch.allclose(feats[2], ((img - 127.5) / 127.5).flatten())


def test_knn_correct_per_query():
    # two tight clusters; the last point sits in the wrong cluster
    feats = torch.tensor([[1., 0.], [1., .02], [1., -.02], [0., 1.],
                          [.02, 1.], [1., .3]])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    correct = knn_correct(feats, labels, k=2)
    assert correct.tolist() == [True, True, True, True, True, False]
    top1 = knn_accuracy(feats, labels, k=2)['top1']
    assert correct.float().mean().item() * 100 == top1
