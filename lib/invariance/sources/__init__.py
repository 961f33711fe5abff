"""Where inputs come from: robust image decoding (images), the ImageNet sample and val folders
(datasets), CIFAR-10 (cifar), video clips (video), networks with their preprocessing (models) and the
paper's published numbers (paper)."""
