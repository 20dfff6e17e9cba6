# LAFS few-shot fine-tuning: 10 % of the identities x 2 image(s) each
# (100 identities of the 1000-identity synthetic source); see the base.
_base_ = ['./lafs-ft_part-fvit-t_cosface_1xb16-5e_synthetic-faces.py']

fraction = 0.1
shots = 2
num_classes = 100  # round(fraction x 1000 source identities)
model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    head=dict(num_classes=num_classes))
train_dataloader = dict(
    dataset=dict(
        fraction=fraction,
        shots=shots,
        subset_file='work_dirs/lafs-ft_part-fvit-t_cosface_1xb16-5e_'
        'synthetic-faces-10pct-2shot/few_shot_subset.json'))
