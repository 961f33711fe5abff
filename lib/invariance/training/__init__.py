"""Training small CIFAR-10 networks, seeded and resumable (cnn), and where training puts objects on
a canvas (placement)."""
