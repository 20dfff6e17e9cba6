# LAFS fine-tuning at paper scale on 10 % of WebFace4M's identities with
# all their images; everything else as the 1 % config.
_base_ = ['./lafs-ft_part-fvit-b_cosface_2xb200-34e_webface4m-1pct.py']

fraction = 0.1
num_classes = 20599  # round(0.1 x 205,990 identities)
model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    head=dict(num_classes=num_classes))
train_dataloader = dict(
    dataset=dict(
        fraction=fraction,
        subset_file='data/webface4m/webface4m-10pct-all.json'))
