# Runtime shared by every facessl config.
default_scope = 'facessl'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # 'local_atomic' writes to a temporary file and renames it into place,
    # so a crash during a save never leaves a half-written checkpoint; the
    # facessl hook also writes `last_checkpoint` atomically and removes the
    # temporaries of an earlier killed save at start-up.
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        backend_args=dict(backend='local_atomic')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

custom_hooks = [
    # Stops on a NaN/inf loss or weight before the checkpoint hook can
    # save it.
    dict(type='NaNGuardHook'),
    # Reseeds every epoch from (seed, rank, epoch), so a resumed run
    # continues exactly as an uninterrupted one.
    dict(type='EpochSeedHook'),
    # Partial FC heads: checkpoints hold the whole optimiser state of the
    # sharded class centres (does nothing for other models).
    dict(type='PartialFCCheckpointHook'),
    # On SIGTERM/SIGINT: finish the iteration, save a checkpoint that
    # resumes bit for bit (also mid-epoch), exit with 128 + signal.
    dict(type='PreemptionHook'),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend'),
]
# no fixed `name`: MMEngine names the visualiser after the experiment, so
# several runners in one process (tools, tests) each write to their own
# work dir instead of sharing the first runner's instance
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_processor = dict(window_size=10)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
