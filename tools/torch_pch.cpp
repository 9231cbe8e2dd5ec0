// Holds the precompiled <torch/torch.h> that other torch targets reuse.
