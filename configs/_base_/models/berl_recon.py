# 3D-BERL's reconstruction branch (He et al., CVPR 2022), shared by the
# stage-2/3 configs in configs/berl: the IRA network decodes canonical
# depth and albedo (64 x 64) from IResNet's stage-3 map (256 x 14 x 14),
# the IIA network estimates view and light from the input resized to
# 64 x 64, and the Unsup3D-style renderer (FOV 10 degrees, object at 1 m,
# depth in [0.9, 1.1] m) re-renders the face. Plain variables: a stage
# config puts them into its BERL model.
berl_ira = dict(type='IRANet', in_channels=256, in_size=14, nf=64, zdim=256,
                min_depth=0.9, max_depth=1.1)
berl_iia = dict(type='IIANet', image_size=64)
berl_renderer = dict(
    type='DepthMapRenderer', image_size=64, fov=10., obj_distance=1.,
    min_depth=0.9, max_depth=1.1)
# the two optimisers' parameter groups (BERL.train_step steps 'fr' in
# stages 1 and 3, 'recon' in stages 2 and 3)
berl_fr_modules = ['backbone', 'head']
berl_recon_modules = ['ira', 'iia']
