"""Measuring: the protocols that make frame sequences (protocols), model x protocol x images -> pair
table (evaluate), the resumable result cache (cache) and torchrun sharding (distributed)."""
