"""Pure tensor code, tested against slow per-image references: batched resize/paste/windows
(transforms), the official inpainting (inpaint), polyphase downsampling (polyphase), and the metrics
(P(top-1 change), MAC, CIs, table reshapes)."""
