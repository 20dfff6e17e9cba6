"""Time the IJB-C 1:1 evaluation at the real benchmark size.

Example::

    python tools/analysis/benchmark_eval.py
    python tools/analysis/benchmark_eval.py --reference \\
        --reference-repo /path/to/insightface \\
        --reference-python /path/to/venv-with-sklearn/bin/python

Generates seeded random data of IJB-C's size and layout (469,375
flip-summed image features of 512 dims with face scores; 23,124 templates
of 3,531 subjects made of stills and video frames: one gallery template
per subject and 19,593 probe templates; 15,658,489 gallery x probe
template pairs of which 19,557 genuine; features = subject centre + media
offset + image noise, so the ROC is not trivial) and times facessl's
:mod:`facessl.evaluation.ijb_protocol`:

- ``templates``: face-score weighting, media means, template sums, L2
  normalisation (``template_features``);
- ``scores``: template lookup and the cosine of every pair
  (``pair_scores``);
- ``roc_tar``: the ROC and TAR at FAR 1e-6 ... 1e-1 (``tar_at_far``).

Each pipeline runs in its own subprocess (this script with ``--worker``),
which regenerates the same data and reports its resident memory after
generating the data and its peak resident memory while running the
pipeline (Linux ``VmHWM``, reset after the data generation; elsewhere
``ru_maxrss``, which includes the generation).

``--reference`` also runs insightface's own code on the same data: the
functions ``image2template_feature`` and ``verification`` and the TAR pick
(the ``min(zip(abs(fpr - far), ...))`` statement) are read from
``recognition/_evaluation_/ijb/ijb_11.py`` of ``--reference-repo`` (a
checkout, or a bare git directory: ``git show HEAD:...``) with ``ast`` and
executed as they are, after ``sklearn.metrics.roc_curve`` and their
``np.flipud``; none of their code is part of facessl. The reference needs
scikit-learn: give a Python that has it with ``--reference-python`` (it
needs only NumPy and scikit-learn, not facessl). The script checks that the
data are identical, that both TAR tables are identical, and that facessl's
``tar_at_far`` on insightface's own scores reproduces insightface's TARs.
"""
import argparse
import ast
import contextlib
import hashlib
import io
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

FARS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
IJB_11 = 'recognition/_evaluation_/ijb/ijb_11.py'
SIZES = dict(
    num_images=469375,
    num_templates=23124,
    num_subjects=3531,
    num_pairs=15658489,
    num_genuine=19557,
    dim=512)


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Time the IJB-C 1:1 evaluation on IJB-C-sized data.')
    for key, value in SIZES.items():
        parser.add_argument(
            '--' + key.replace('_', '-'),
            type=int,
            default=value,
            help=f'default {value} (IJB-C)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--reference',
        action='store_true',
        help="also run insightface's functions and compare")
    parser.add_argument(
        '--reference-repo', help='insightface checkout or bare git dir')
    parser.add_argument(
        '--reference-python',
        default=sys.executable,
        help='Python with numpy + scikit-learn for the reference')
    parser.add_argument(
        '--threads',
        type=int,
        help='OMP/OpenBLAS/MKL threads of both workers (default: as set)')
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--worker', choices=('ours', 'reference'),
                        help=argparse.SUPPRESS)
    parser.add_argument('--out-dir', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- data (NumPy only: the reference worker runs without facessl) ------
def make_data(num_images, num_templates, num_subjects, num_pairs,
              num_genuine, dim, seed):
    """Seeded IJB-like data.

    Returns:
        dict: ``feats`` (N, D) float32, ``scores`` (N,) float32,
        ``templates``/``medias`` (N,) int64 ids, pairs ``p1``/``p2`` (P,)
        int64 template ids and ``label`` (P,) int64.
    """
    rng = np.random.default_rng(seed)
    if num_templates < num_subjects or num_images < 2 * num_templates:
        raise ValueError('need num_templates >= num_subjects and '
                         'num_images >= 2 * num_templates')
    # template k < S: the gallery template of subject k; then probes
    subject = np.concatenate([
        np.arange(num_subjects),
        rng.integers(0, num_subjects, num_templates - num_subjects)
    ])
    # media per template: stills and videos; frames go to the videos
    num_media = np.minimum(1 + rng.poisson(2.5, num_templates),
                           num_images // num_templates)
    media_template = np.repeat(np.arange(num_templates), num_media)
    video = rng.random(len(media_template)) < 0.35
    video[~video.any()] = True
    weight = rng.exponential(size=len(video)) * video
    frames = 1 + rng.multinomial(num_images - len(video),
                                 weight / weight.sum())
    row_media = np.repeat(np.arange(len(video)), frames)
    template_ids = rng.choice(10 * num_templates, num_templates,
                              replace=False) + 1
    media_ids = rng.permutation(len(video)) * 3 + 7
    # features: subject centre + template-scaled media offset + noise
    centres = rng.standard_normal((num_subjects, dim), dtype=np.float32)
    offsets = rng.standard_normal((len(video), dim), dtype=np.float32)
    spread = rng.uniform(.5, 4., num_templates).astype(np.float32)
    norm = rng.uniform(5., 30., num_images).astype(np.float32)
    feats = np.empty((num_images, dim), np.float32)
    for start in range(0, num_images, 65536):
        m = row_media[start:start + 65536]
        t = media_template[m]
        chunk = centres[subject[t]] + spread[t, None] * offsets[m]
        chunk += rng.standard_normal(chunk.shape, dtype=np.float32)
        chunk *= (norm[start:start + len(m)] /
                  np.sqrt((chunk**2).sum(1)))[:, None]
        feats[start:start + len(m)] = chunk
    scores = rng.uniform(0.3, 1.0, num_images).astype(np.float32)
    p1, p2, label = _pairs(rng, subject, num_subjects, num_pairs,
                           num_genuine)
    return dict(
        feats=feats,
        scores=scores,
        templates=template_ids[media_template[row_media]],
        medias=media_ids[row_media],
        p1=template_ids[p1],
        p2=template_ids[p2],
        label=label)


def _pairs(rng, subject, num_subjects, num_pairs, num_genuine):
    """IJB-C's 1:1 layout: gallery template x probe template pairs.

    Templates ``0..S-1`` are the gallery (one per subject, as IJB-C's
    G1 + G2), the others probes. Genuine pairs join probes to their
    subject's gallery template, impostor pairs random gallery templates to
    probes of other subjects; the order is shuffled.
    """
    probes = np.arange(num_subjects, len(subject))
    if num_genuine > len(probes):
        raise ValueError(f'num_genuine {num_genuine} > {len(probes)} probes')
    mated = rng.choice(probes, num_genuine, replace=False)
    num_imp = num_pairs - num_genuine
    gallery = rng.integers(0, num_subjects, num_imp)
    probe = rng.choice(probes, num_imp)
    same = subject[gallery] == subject[probe]
    while same.any():
        gallery[same] = rng.integers(0, num_subjects, same.sum())
        same = subject[gallery] == subject[probe]
    p1 = np.concatenate([subject[mated], gallery])
    p2 = np.concatenate([mated, probe])
    label = np.concatenate([np.ones(num_genuine, np.int64),
                            np.zeros(num_imp, np.int64)])
    perm = rng.permutation(num_pairs)
    return p1[perm], p2[perm], label[perm]


def checksum(data):
    """A short digest of all generated arrays."""
    digest = hashlib.sha1()
    for key in sorted(data):
        digest.update(np.ascontiguousarray(data[key]).tobytes())
    return digest.hexdigest()[:16]


def _status_mb(field):
    """A memory field of /proc/self/status in MB (None if unavailable)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak():
    """Reset the peak-RSS mark (Linux ``clear_refs``); True on success."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def peak_mb():
    """Peak resident memory (since :func:`reset_peak`), in MB."""
    peak = _status_mb('VmHWM')
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


# --- workers --------------------------------------------------------------
def load_protocol():
    """facessl's ``ijb_protocol`` module, loaded from its file.

    The module needs only NumPy and SciPy; importing it through the
    ``facessl.evaluation`` package would also load PyTorch and MMEngine
    (~0.8 GB of resident libraries, which an evaluation process holds
    anyway) and blur the memory comparison.
    """
    import importlib.util
    path = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
        __file__)))), 'facessl', 'evaluation', 'ijb_protocol.py')
    spec = importlib.util.spec_from_file_location('ijb_protocol', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_ours(data):
    """facessl's pipeline; returns per-stage seconds and the TARs."""
    protocol = load_protocol()
    lookup, pair_scores = protocol.lookup, protocol.pair_scores
    tar_at_far, template_features = (protocol.tar_at_far,
                                     protocol.template_features)
    seconds = {}
    start = time.perf_counter()
    templates, feats = template_features(data['feats'], data['templates'],
                                         data['medias'], data['scores'])
    seconds['templates'] = time.perf_counter() - start
    start = time.perf_counter()
    rows1 = lookup(templates, data['p1'])
    rows2 = lookup(templates, data['p2'])
    scores = pair_scores(feats, rows1, rows2)
    del rows1, rows2
    seconds['scores'] = time.perf_counter() - start
    start = time.perf_counter()
    tar = tar_at_far(data['label'], scores, FARS)['tar']
    seconds['roc_tar'] = time.perf_counter() - start
    return seconds, [float(t) for t in tar]


def load_reference(repo):
    """insightface's ``image2template_feature``, ``verification`` and TAR
    pick statement, compiled from ``ijb_11.py`` of ``repo``."""
    path = osp.join(repo, IJB_11)
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            source = f.read()
    else:
        try:
            source = subprocess.run(
                ['git', '--git-dir', repo, 'show', f'HEAD:{IJB_11}'],
                check=True, capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError) as err:
            raise FileNotFoundError(
                f'{path} not found and "git show HEAD:{IJB_11}" failed in '
                f'{repo}: {err}') from None
    tree = ast.parse(source)
    wanted = {'image2template_feature', 'verification'}
    defs = [n for n in tree.body
            if isinstance(n, ast.FunctionDef) and n.name in wanted]
    pick = [
        n for n in ast.walk(tree) if isinstance(n, ast.Assign)
        and 'min_index' in ast.unparse(n.targets[0])
    ]
    if len(defs) != 2 or len(pick) != 1:
        raise ValueError(f'{repo}/{IJB_11}: expected the functions '
                         f'{sorted(wanted)} and one "min_index = ..." '
                         'statement')
    import sklearn.preprocessing  # noqa: F401 (used by their code)
    scope = dict(np=np, sklearn=sys.modules['sklearn'])
    exec(compile(ast.Module(defs, []), path, 'exec'), scope)
    pick_code = compile(ast.Expression(pick[0].value), path, 'eval')
    return scope['image2template_feature'], scope['verification'], pick_code


def run_reference(data, repo, out_dir):
    """insightface's pipeline on the same data."""
    from sklearn.metrics import roc_curve
    image2template, verification, pick = load_reference(repo)
    quiet = contextlib.redirect_stdout(io.StringIO())
    seconds = {}
    start = time.perf_counter()
    with quiet:  # their use_detector_score=True step, then pooling
        feats = data['feats'] * data['scores'][:, np.newaxis]
        template_feats, unique = image2template(feats, data['templates'],
                                                data['medias'])
    del feats
    seconds['templates'] = time.perf_counter() - start
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        scores = verification(template_feats, unique, data['p1'],
                              data['p2'])
    seconds['scores'] = time.perf_counter() - start
    start = time.perf_counter()
    fpr, tpr, _ = roc_curve(data['label'], scores)
    fpr, tpr = np.flipud(fpr), np.flipud(tpr)
    tar = []
    for i in range(len(FARS)):
        _, index = eval(pick, dict(fpr=fpr, x_labels=FARS, fpr_iter=i))
        tar.append(float(tpr[index]))
    seconds['roc_tar'] = time.perf_counter() - start
    np.save(osp.join(out_dir, 'reference_scores.npy'), scores)
    np.save(osp.join(out_dir, 'labels.npy'), data['label'].astype(np.int8))
    return seconds, tar


def worker(args):
    """Generate the data, run one pipeline, print one JSON line."""
    sizes = {k: getattr(args, k) for k in SIZES}
    start = time.perf_counter()
    data = make_data(seed=args.seed, **sizes)
    gen_seconds = time.perf_counter() - start
    digest = checksum(data)
    base = _status_mb('VmRSS') or peak_mb()
    if not reset_peak():
        print('warning: cannot reset the peak RSS mark; the peak includes '
              'the data generation', file=sys.stderr)
    if args.worker == 'ours':
        seconds, tar = run_ours(data)
    else:
        seconds, tar = run_reference(data, args.reference_repo,
                                        args.out_dir)
    print(json.dumps(dict(
        seconds=seconds, total=sum(seconds.values()), tar=tar,
        peak_rss_mb=peak_mb(), data_rss_mb=base, checksum=digest,
        generate_seconds=gen_seconds)))


# --- driver ---------------------------------------------------------------
def spawn(args, which, python, out_dir):
    """Run a worker subprocess; return its JSON result."""
    cmd = [python, osp.abspath(__file__), '--worker', which,
           '--seed', str(args.seed), '--out-dir', out_dir]
    for key in SIZES:
        cmd += ['--' + key.replace('_', '-'), str(getattr(args, key))]
    if which == 'reference':
        cmd += ['--reference-repo', args.reference_repo]
    env = dict(os.environ)
    if args.threads:
        for var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS',
                    'MKL_NUM_THREADS'):
            env[var] = str(args.threads)
    run = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f'error: the {which} worker failed:\n{run.stderr[-3000:]}')
    return json.loads(run.stdout.strip().splitlines()[-1])


def report(results):
    """Print the timing/memory table and the TARs."""
    names = list(results)
    print(f'{"":16}' + ''.join(f'{n:>14}' for n in names))
    for stage in ('templates', 'scores', 'roc_tar'):
        print(f'{stage + " (s)":16}' + ''.join(
            f'{results[n]["seconds"][stage]:14.2f}' for n in names))
    for key, label in (('total', 'total (s)'), ('peak_rss_mb', 'peak RSS MB'),
                       ('data_rss_mb', 'data RSS MB')):
        print(f'{label:16}' + ''.join(f'{results[n][key]:14.1f}'
                                      for n in names))
    for i, far in enumerate(FARS):
        name = f'tar@far={far:.0e}'.replace('e-0', 'e-')
        print(f'{name:16}' + ''.join(f'{results[n]["tar"][i]:14.6f}'
                                     for n in names))


def main(argv=None):
    """Run the workers and compare."""
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    if args.reference and not args.reference_repo:
        sys.exit('error: --reference needs --reference-repo')
    with tempfile.TemporaryDirectory() as out_dir:
        results = dict(facessl=spawn(args, 'ours', sys.executable, out_dir))
        checks = {}
        if args.reference:
            ref = spawn(args, 'reference', args.reference_python, out_dir)
            results['insightface'] = ref
            ours = results['facessl']
            checks['same_data'] = ours['checksum'] == ref['checksum']
            checks['identical_tars'] = ours['tar'] == ref['tar']
            from facessl.evaluation.ijb_protocol import tar_at_far
            own_roc = tar_at_far(
                np.load(osp.join(out_dir, 'labels.npy')),
                np.load(osp.join(out_dir, 'reference_scores.npy')), FARS)
            checks['our_roc_on_their_scores'] = [
                float(t) for t in own_roc['tar']
            ] == ref['tar']
            checks['speedup'] = ref['total'] / ours['total']
            checks['memory_ratio'] = ours['peak_rss_mb'] / ref['peak_rss_mb']
    report(results)
    for key, value in checks.items():
        print(f'{key}: {value}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(ours=results['facessl'],
                           reference=results.get('insightface'),
                           checks=checks), f, indent=1)


if __name__ == '__main__':
    main()
