# LAFS few-shot fine-tuning: 1 % of the identities x 4 image(s) each
# (10 identities of the 1000-identity synthetic source); see the base.
_base_ = ['./lafs-ft_part-fvit-t_cosface_1xb16-5e_synthetic-faces.py']

fraction = 0.01
shots = 4
num_classes = 10  # round(fraction x 1000 source identities)
model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    head=dict(num_classes=num_classes))
train_dataloader = dict(
    dataset=dict(
        fraction=fraction,
        shots=shots,
        subset_file='work_dirs/lafs-ft_part-fvit-t_cosface_1xb16-5e_'
        'synthetic-faces-1pct-4shot/few_shot_subset.json'))
